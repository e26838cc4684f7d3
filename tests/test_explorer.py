"""vaegan_utils.explorer: the decoder the page runs, against Keras (the browser tests run the
JavaScript itself; here its float16 weights and layer order are checked with a NumPy oracle)."""

from __future__ import annotations

import base64
import json
import re

import keras
import numpy as np
import pytest

from vaegan_utils import explorer, vae


def _decoder(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return vae.build_decoder(2, (16, 32))


def _payload(html: str, cls: str) -> dict:
    match = re.search(rf'<script type="application/json" class="{cls}">(.*?)</script>', html, re.S)
    assert match, cls
    return json.loads(match.group(1))


def _halves(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f2").astype(np.float32)


def test_the_inlined_float16_decoder_draws_what_keras_draws() -> None:
    decoder = _decoder()
    codes = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    html = explorer.latent_explorer(decoder, codes, np.arange(50) % 10, reference_points=codes[:5])
    payload = _payload(html, "vaegan-payload")
    assert [layer["activation"] for layer in payload["layers"]] == ["relu", "relu", "linear"]
    x = codes[:5]
    for layer in payload["layers"]:  # the same arithmetic as explorer.js, in NumPy
        kernel = _halves(layer["kernel"]).reshape(layer["shape"])
        x = x @ kernel + _halves(layer["bias"])
        x = np.maximum(x, 0) if layer["activation"] == "relu" else x
    page = 1 / (1 + np.exp(-x))
    reference = _payload(html, "vaegan-reference")
    np.testing.assert_allclose(reference["points"], codes[:5])
    keras_pixels = np.asarray(reference["pixels"])
    assert keras_pixels.shape == (5, 784)
    assert np.abs(page - keras_pixels).max() <= 1e-2
    assert np.abs(page - keras_pixels).max() > 0  # float16 weights: close, not identical
    points = _halves(payload["points"]).reshape(-1, 2)  # shuffled, each with its own label
    index = np.abs(points[:, None] - codes[None]).sum(-1).argmin(1)
    assert sorted(index) == list(range(50))
    assert payload["labels"] == (index % 10).tolist()


def test_the_explorer_subsamples_codes_and_hides_without_javascript() -> None:
    codes = np.random.default_rng(1).normal(size=(500, 2))
    html = explorer.latent_explorer(_decoder(), codes, np.zeros(500, int), max_points=100)
    assert len(_payload(html, "vaegan-payload")["labels"]) == 100
    assert 'style="display:none"' in html and "<noscript>" in html
    assert "vaeganExplorer(" in html and "function vaeganExplorer" in html
    assert "import " not in html and "fetch(" not in html  # classic script, nothing fetched


def test_the_explorer_rejects_what_it_cannot_draw() -> None:
    codes, labels = np.zeros((3, 2)), np.zeros(3, int)
    with pytest.raises(ValueError, match="2-D"):
        explorer.latent_explorer(vae.build_decoder(3, (4,)), codes, labels)
    with pytest.raises(ValueError, match="codes"):
        explorer.latent_explorer(_decoder(), np.zeros((3, 3)), labels)
    with pytest.raises(ValueError, match="labels"):
        explorer.latent_explorer(_decoder(), codes, labels[:2])
    conv = keras.Sequential([keras.Input((2,)), keras.layers.Reshape((1, 1, 2)),
                             keras.layers.Conv2DTranspose(1, 28, padding="valid")])  # fmt: skip
    with pytest.raises(ValueError, match="cannot run in the browser"):
        explorer.dense_stack(conv)


def test_frame_slider_inlines_every_frame() -> None:
    frames = np.linspace(0, 1, 4)[:, None, None] * np.ones((4, 5, 5))
    html = explorer.frame_slider(frames, title="t")
    data = _payload(html, "vaegan-frames")
    assert len(data["uris"]) == 4 and len(set(data["uris"])) == 4
    assert all(uri.startswith("data:image/png;base64,") for uri in data["uris"])
    assert 'max="3"' in html
    with pytest.raises(ValueError, match="frames"):
        explorer.frame_slider(frames[:1])
    with pytest.raises(ValueError, match="captions"):
        explorer.frame_slider(frames, captions=["a"])
