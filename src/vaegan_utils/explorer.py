"""Interactive figures that run in the reader's browser, with no server, kernel or widget library.

:func:`latent_explorer` turns a 2-D VAE's decoder into a self-contained HTML snippet: the latent
plane with training codes coloured by digit, and the digit decoded, live, wherever the pointer, a
finger or the arrow keys put the marker. The decoder runs as a classic inline script with its
weights inlined as float16 (no fetch, no module script, no WebAssembly, so it works in a page
opened from disk). :func:`frame_slider` shows precomputed frames (e.g. a GAN's interpolation
between two codes) under a range slider.

Both return HTML for ``IPython.display.HTML``: Jupyter, Colab and the built book run it. With
JavaScript off, the snippet stays hidden and a ``<noscript>`` line points to the static figures.
"""

from __future__ import annotations

import base64
import io
import json
import uuid
from importlib import resources

import keras
import numpy as np

#: The ten digit colours (matplotlib's tab10), so the plane matches the static scatter plot.
TAB10 = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]  # fmt: skip
_ACTIVATIONS = {"relu": "relu", "linear": "linear", "sigmoid": "sigmoid", "tanh": "tanh"}


def dense_stack(decoder: keras.Model) -> list[dict]:
    """The decoder's dense layers in order: ``{"kernel": (in, out), "bias": (out,), "activation"}``.

    Raises ``ValueError`` for a layer the browser code cannot run (anything but ``Dense``,
    ``Flatten``, ``Reshape`` and the input).
    """
    stack = []
    for layer in decoder.layers:
        if isinstance(layer, keras.layers.InputLayer | keras.layers.Flatten | keras.layers.Reshape):
            continue
        if not isinstance(layer, keras.layers.Dense):
            raise ValueError(
                f"layer {layer.name!r} ({type(layer).__name__}) cannot run in the browser: "
                "the explorer takes MLP decoders (Dense layers only)"
            )
        name = keras.activations.serialize(layer.activation)
        name = name if isinstance(name, str) else name.get("config", {}).get("name", str(name))
        if name not in _ACTIVATIONS:
            raise ValueError(f"layer {layer.name!r}: activation {name!r} is not supported")
        kernel, bias = (np.asarray(w, dtype=np.float32) for w in layer.get_weights())
        stack.append({"kernel": kernel, "bias": bias, "activation": name})
    if not stack:
        raise ValueError("the decoder has no Dense layer")
    return stack


def _f16(array: np.ndarray) -> str:
    """Little-endian float16 bytes of ``array`` (row-major), base64-encoded."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f2").tobytes()).decode("ascii")


def _script(name: str) -> str:
    return resources.files("vaegan_utils").joinpath("assets", name).read_text()


def latent_explorer(
    decoder: keras.Model,
    codes: np.ndarray,
    labels: np.ndarray,
    reference_points: np.ndarray | None = None,
    max_points: int = 3000,
    seed: int = 0,
    title: str = "Move over the plane (or drag, touch, use the arrow keys)",
) -> str:
    """A live latent-space explorer for a decoder with 2-D input and ``(28, 28)`` logit output.

    Args:
        decoder: an MLP decoder (see :func:`dense_stack`) from 2-D codes to image logits.
        codes: ``(n, 2)`` codes to draw on the plane (e.g. training images' mean codes).
        labels: ``(n,)`` their digits, for the colours.
        reference_points: ``(m, 2)`` codes decoded by Keras here and stored in the snippet, so
            a test can check that the browser's decoder draws the same pixels.
        max_points: at most this many codes are drawn (a random subset).
        seed: seed of that subset.
        title: the line above the plane.
    """
    codes, labels = np.asarray(codes, dtype=np.float32), np.asarray(labels)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"codes must be (n, 2) latent points, got shape {codes.shape}")
    if len(labels) != len(codes):
        raise ValueError(f"labels has {len(labels)} entries for {len(codes)} codes")
    if decoder.input.shape[-1] != 2:
        raise ValueError(f"the decoder takes {decoder.input.shape[-1]}-D codes; the plane is 2-D")
    stack = dense_stack(decoder)
    if stack[-1]["kernel"].shape[1] != 28 * 28:
        raise ValueError("the decoder must output 28x28 logits")
    pick = np.random.default_rng(seed).permutation(len(codes))[:max_points]
    low, high = np.percentile(codes, [0.5, 99.5], axis=0)
    pad = 0.08 * (high - low)
    payload = {
        "layers": [
            {
                "shape": list(layer["kernel"].shape),
                "kernel": _f16(layer["kernel"]),
                "bias": _f16(layer["bias"]),
                "activation": layer["activation"],
            }
            for layer in stack
        ],
        "points": _f16(codes[pick]),
        "labels": [int(label) for label in labels[pick]],
        "extent": [
            float(low[0] - pad[0]),
            float(high[0] + pad[0]),
            float(low[1] - pad[1]),
            float(high[1] + pad[1]),
        ],  # fmt: skip
        "colors": TAB10,
    }
    reference = ""
    if reference_points is not None:
        points = np.asarray(reference_points, dtype=np.float32).reshape(-1, 2)
        pixels = keras.ops.convert_to_numpy(keras.ops.sigmoid(decoder(points)))  # (m, 28, 28)
        data = {
            "points": points.tolist(),
            "pixels": np.round(pixels.reshape(len(points), -1), 5).tolist(),
        }
        reference = (
            f'<script type="application/json" class="vaegan-reference">{json.dumps(data)}</script>'
        )
    uid = f"vaegan-explorer-{uuid.uuid4().hex[:8]}"
    return f"""<div id="{uid}" class="vaegan-explorer" style="display:none">
<p class="vaegan-title" style="margin:0 0 4px 0;font-size:90%">{title}</p>
<div style="display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start">
<canvas class="vaegan-plane" width="340" height="340" tabindex="0" role="application"
 aria-label="latent plane: move the pointer or use the arrow keys"
 style="touch-action:none;border:1px solid #ccc;cursor:crosshair;max-width:100%"></canvas>
<div><canvas class="vaegan-digit" width="196" height="196" role="img"
 aria-label="the decoded digit" style="border:1px solid #ccc;image-rendering:pixelated"></canvas>
<p class="vaegan-readout" style="font-family:monospace;font-size:85%"></p></div></div>
<script type="application/json" class="vaegan-payload">{json.dumps(payload)}</script>
{reference}
</div>
<noscript>The interactive explorer needs JavaScript; the static figures show the same plane.
</noscript>
<script>{_script("explorer.js")}
vaeganExplorer("{uid}");</script>
"""


def _png_data_uri(image: np.ndarray, scale: int) -> str:
    from PIL import Image

    pixels = (np.clip(image, 0.0, 1.0) * 255).round().astype(np.uint8)
    picture = Image.fromarray(pixels).resize(
        (pixels.shape[1] * scale, pixels.shape[0] * scale), Image.NEAREST
    )
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def frame_slider(
    frames: np.ndarray, captions: list[str] | None = None, scale: int = 6, title: str = ""
) -> str:
    """A range slider over precomputed ``(n, h, w)`` frames in [0, 1] (e.g. an interpolation).

    Each frame is inlined as a PNG; moving the slider (pointer, touch or arrow keys) swaps them.
    """
    frames = np.asarray(frames)
    if frames.ndim not in (3, 4) or len(frames) < 2:
        raise ValueError(f"frames must be (n >= 2, h, w[, 3]) images, got shape {frames.shape}")
    captions = captions or [f"frame {i + 1} of {len(frames)}" for i in range(len(frames))]
    if len(captions) != len(frames):
        raise ValueError(f"{len(captions)} captions for {len(frames)} frames")
    uris = [_png_data_uri(frame, scale) for frame in frames]
    data = json.dumps({"uris": uris, "captions": captions})
    uid = f"vaegan-slider-{uuid.uuid4().hex[:8]}"
    return f"""<div id="{uid}" class="vaegan-slider" style="display:none">
<p style="margin:0 0 4px 0;font-size:90%">{title}</p>
<img class="vaegan-frame" alt="interpolation frame" src="{uris[0]}"
 style="image-rendering:pixelated;border:1px solid #ccc"><br>
<input class="vaegan-range" type="range" min="0" max="{len(frames) - 1}" value="0" step="1"
 aria-label="interpolation position" style="width:{frames.shape[2] * scale}px">
<span class="vaegan-caption" style="font-family:monospace;font-size:85%">{captions[0]}</span>
<script type="application/json" class="vaegan-frames">{data}</script>
</div>
<noscript>The slider needs JavaScript; the static figure shows the same frames.</noscript>
<script>(function () {{
  var root = document.getElementById("{uid}");
  var data = JSON.parse(root.querySelector(".vaegan-frames").textContent);
  var img = root.querySelector(".vaegan-frame"), range = root.querySelector(".vaegan-range");
  var caption = root.querySelector(".vaegan-caption");
  range.addEventListener("input", function () {{
    img.src = data.uris[+range.value]; caption.textContent = data.captions[+range.value];
  }});
  root.style.display = "block";
}})();</script>
"""
