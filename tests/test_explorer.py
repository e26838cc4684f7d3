"""vaegan_utils.explorer: the decoder the page runs, against Keras (the browser tests run the
JavaScript itself; here its float16 weights and layer order are checked with a NumPy oracle)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from vaegan_utils import explorer, gan, pagenet, vae

ROOT = Path(__file__).resolve().parents[1]


def _decoder(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return vae.build_decoder(2, (16, 32))


def _payload(html: str, cls: str) -> dict:
    match = re.search(rf'<script type="application/json" class="{cls}">(.*?)</script>', html, re.S)
    assert match, cls
    return json.loads(match.group(1))


def _assert_classic_scripts(html: str) -> None:
    """Every script inline and classic (or JSON data); nothing fetched, no WebAssembly."""
    tags = re.findall(r"<script[^>]*>", html)
    assert tags and set(tags) <= {"<script>"} | {
        f'<script type="application/json" class="vaegan-{name}">'
        for name in ("payload", "reference", "frames")
    }
    assert "import " not in html and "fetch(" not in html and "WebAssembly" not in html


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
    _assert_classic_scripts(html)


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
        pagenet.dense_stack(conv)


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


def _generator(seed: int = 0, size: int = 28, width: int = 8) -> keras.Model:
    """A small DCGAN generator whose batch norms have non-trivial statistics to fold and
    whose last kernel is scaled up, so that its pixels spread over [0, 1] as a trained one's."""
    keras.utils.set_random_seed(seed)
    generator = gan.build_generator(16, size, 1, width)
    rng = np.random.default_rng(seed)
    for layer in generator.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.2, n),
                               rng.normal(0, 0.3, n), rng.uniform(0.5, 2.0, n)])  # fmt: skip
    last = generator.layers[-2]  # the final Conv2DTranspose (a Reshape follows it)
    last.set_weights([40 * last.get_weights()[0], last.get_weights()[1]])
    return generator


@pytest.mark.parametrize("size", [28, 32])
def test_the_generator_network_computes_what_keras_computes(size: int) -> None:
    generator = _generator(size=size)
    z = np.random.default_rng(1).normal(size=(20, 16)).astype(np.float32)
    keras_pixels = keras.ops.convert_to_numpy(generator(z, training=False)).reshape(20, -1)
    ops = pagenet.generator_network(generator)
    assert [op["op"] for op in ops] == ["dense", "reshape", "resize"] + ["conv_transpose"] * 4
    # batch norm folded, float32 throughout: equal up to rounding
    assert np.abs(pagenet.run_network(ops, z) - keras_pixels).max() < 1e-4


def test_the_inlined_8_bit_generator_draws_what_keras_draws() -> None:
    generator = _generator()
    anchors = np.random.default_rng(2).normal(size=(3, 16))
    positions = np.random.default_rng(3).uniform(-1, 1, size=(8, 2))
    html = explorer.generator_explorer(generator, anchors, positions, caption="run x")
    payload, reference = _payload(html, "vaegan-payload"), _payload(html, "vaegan-reference")
    codes = np.asarray(reference["points"], np.float32)
    np.testing.assert_allclose(
        codes, explorer.plane_codes(payload["anchors"], positions, payload["radius"]), atol=1e-6
    )
    pixels = np.asarray(reference["pixels"])
    assert (pixels < 0.1).mean() > 0.5 and (pixels > 0.9).mean() > 0.01  # as in a digit
    difference = np.abs(pagenet.run_network(pagenet.page_network(payload), codes) - pixels)
    assert difference.max() <= pagenet.GENERATOR_BOUND["max"]
    assert difference.mean() <= pagenet.GENERATOR_BOUND["mean"]
    assert difference.max() > 1e-4  # 8-bit kernels: close, not identical
    # the control: a kernel turned upside down
    broken = pagenet.page_network(payload)
    broken[3]["kernel"] = broken[3]["kernel"][::-1]
    difference = np.abs(pagenet.run_network(broken, codes) - pixels)
    assert difference.max() > pagenet.GENERATOR_BOUND["max"]


def test_the_committed_lesson_page_draws_what_keras_drew() -> None:
    """The generator embedded in 03's committed run, its page arithmetic in NumPy against the
    pixels Keras drew in that run (the browser test checks the JavaScript itself)."""
    notebook = json.loads((ROOT / "notebooks" / "03_gan_mnist.ipynb").read_text())
    pages = [
        "".join(output["data"]["text/html"])
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
        if "vaegan-generator" in "".join(output.get("data", {}).get("text/html", ""))
    ]
    assert len(pages) == 1
    payload, reference = explorer.read_snippet(pages[0])
    drawn = pagenet.run_network(pagenet.page_network(payload), reference["points"])
    difference = np.abs(drawn - np.asarray(reference["pixels"]))
    assert difference.max() <= pagenet.GENERATOR_BOUND["max"]
    assert difference.mean() <= pagenet.GENERATOR_BOUND["mean"]
    positions = np.asarray(reference["positions"])  # the corners among them
    assert all(np.isclose(positions, corner).all(1).any() for corner in explorer.TRIANGLE)
    # the controls, structural mistakes: a transposed convolution's crop off by one, a
    # kernel's rows upside down
    for mistake in ("pad", "flip"):
        broken = pagenet.page_network(payload)
        layer = next(op for op in broken if op["op"] == "conv_transpose")
        if mistake == "pad":
            layer["pad"] += 1
        else:
            layer["kernel"] = layer["kernel"][::-1]
        drawn = pagenet.run_network(broken, reference["points"])
        assert np.abs(drawn - np.asarray(reference["pixels"])).max() > 0.3, mistake


def test_quantize_keeps_every_weight_within_half_a_step() -> None:
    kernel = np.random.default_rng(4).normal(size=(3, 3, 5, 7)).astype(np.float32)
    kernel[:, :, 2] = 0.0  # an output channel of zeros
    q, scale = pagenet.quantize(kernel, axis=2)
    assert q.dtype == np.int8 and np.abs(q).max() == 127 and scale.shape == (5,)
    error = np.abs(q * scale[None, None, :, None] - kernel)
    assert np.all(error <= scale[None, None, :, None] / 2 + 1e-7)
    assert np.all(q[:, :, 2] == 0)


def test_plane_codes_put_the_anchors_on_the_corners_at_the_typical_length() -> None:
    anchors = np.random.default_rng(5).normal(size=(3, 64))
    codes = explorer.plane_codes(anchors, explorer.TRIANGLE, 8.0)
    expected = anchors * 8.0 / np.linalg.norm(anchors, axis=1, keepdims=True)
    np.testing.assert_allclose(codes, expected, rtol=1e-5)
    centre = explorer.plane_codes(anchors, explorer.TRIANGLE.mean(0), 8.0)[0]
    mean = anchors.mean(0)
    np.testing.assert_allclose(centre, mean * 8.0 / np.linalg.norm(mean), rtol=1e-5)
    far = explorer.plane_codes(anchors, np.random.default_rng(6).uniform(-1, 1, (50, 2)), 8.0)
    np.testing.assert_allclose(np.linalg.norm(far, axis=1), 8.0, rtol=1e-5)


def test_the_generator_explorer_hides_without_javascript_and_rejects_what_it_cannot_run() -> None:
    generator = _generator()
    html = explorer.generator_explorer(generator, np.zeros((3, 16)) + np.eye(3, 16))
    assert 'style="display:none"' in html and "<noscript>" in html
    assert "vaeganGenerator(" in html and 'class="vaegan-redraw"' in html
    _assert_classic_scripts(html)
    with pytest.raises(ValueError, match="anchors"):
        explorer.generator_explorer(generator, np.zeros((2, 16)))
    conv = keras.Sequential([keras.Input((4,)), keras.layers.Reshape((2, 2, 1)),
                             keras.layers.Conv2D(1, 3, padding="same")])  # fmt: skip
    with pytest.raises(ValueError, match="cannot run in the browser"):
        pagenet.generator_network(conv)
    valid = keras.Sequential([keras.Input((4,)), keras.layers.Reshape((2, 2, 1)),
                              keras.layers.Conv2DTranspose(1, 3, padding="valid")])  # fmt: skip
    with pytest.raises(ValueError, match="padding"):
        pagenet.generator_network(valid)


def test_generator_network_folds_layers_without_bias_and_rejects_what_it_would_get_wrong() -> None:
    keras.utils.set_random_seed(7)
    z = keras.Input((4,))
    x = keras.layers.Dense(2 * 2 * 3, use_bias=False)(z)
    x = keras.layers.BatchNormalization(center=False)(x)
    x = keras.layers.Reshape((2, 2, 3))(x)
    x = keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization(scale=False)(x)
    plain = keras.Model(z, x)
    with pytest.raises(ValueError, match="sigmoid"):  # pixels outside [0, 1]
        pagenet.generator_network(plain)
    out = keras.layers.Reshape((4, 4))(
        keras.layers.Conv2DTranspose(1, 1, padding="same", activation="sigmoid")(x)
    )
    model = keras.Model(z, out)
    codes = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    expected = keras.ops.convert_to_numpy(model(codes, training=False)).reshape(5, -1)
    assert (
        np.abs(pagenet.run_network(pagenet.generator_network(model), codes) - expected).max() < 1e-5
    )
    padded = keras.Sequential([keras.Input((4,)), keras.layers.Reshape((2, 2, 1)),
                               keras.layers.Conv2DTranspose(1, 3, 2, padding="same",
                                                            output_padding=1)])  # fmt: skip
    with pytest.raises(ValueError, match="output_padding"):
        pagenet.generator_network(padded)
    inputs = keras.Input((4,))
    branch = keras.layers.Dense(4)(inputs)
    merged = keras.layers.Add()([branch, inputs])
    with pytest.raises(ValueError, match="chain"):
        pagenet.generator_network(keras.Model(inputs, merged))
