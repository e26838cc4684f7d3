"""Interactive figures that run in the reader's browser, with no server, kernel or widget library.

:func:`latent_explorer` turns a 2-D VAE's decoder into a self-contained HTML snippet: the latent
plane with training codes coloured by digit, and the digit decoded, live, wherever the pointer, a
finger or the arrow keys put the marker. The decoder runs as a classic inline script with its
weights inlined as float16 (no fetch, no module script, no WebAssembly, so it works in a page
opened from disk). :func:`generator_explorer` does the same for a DCGAN generator on the plane
through three codes, its kernels inlined as 8-bit integers (:mod:`vaegan_utils.pagenet` exports
both networks and holds the page's accuracy, ``GENERATOR_BOUND``).
:func:`frame_slider` shows precomputed frames (e.g. a GAN's interpolation between two codes)
under a range slider.

All three return HTML for ``IPython.display.HTML``: Jupyter, Colab and the built book run it. With
JavaScript off, the snippet stays hidden and a ``<noscript>`` line points to the static figures.
"""

from __future__ import annotations

import base64
import io
import json
import re
import uuid
from importlib import resources

import keras
import numpy as np

from vaegan_utils.pagenet import (
    dense_stack,
    float16_text,
    generator_network,
    int8_text,
    quantize,
)

#: The ten digit colours (matplotlib's tab10), so the plane matches the static scatter plot.
TAB10 = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]  # fmt: skip


def _script(name: str) -> str:
    return resources.files("vaegan_utils").joinpath("assets", name).read_text()


def _snippet(
    kind: str, start: str, payload: dict, reference: dict | None, title: str, extra: str = ""
) -> str:
    """The HTML both explorers share: the plane, the image beside it, the payload, the script.

    ``start`` is the JavaScript function that starts it; ``extra`` goes under the readout.
    """
    uid = f"vaegan-{kind}-{uuid.uuid4().hex[:8]}"
    compact = {"separators": (",", ":")}
    stored = (
        '<script type="application/json" class="vaegan-reference">'
        f"{json.dumps(reference, **compact)}</script>"
        if reference is not None
        else ""
    )
    return f"""<div id="{uid}" class="vaegan-explorer vaegan-{kind}" style="display:none">
<p class="vaegan-title" style="margin:0 0 4px 0;font-size:90%">{title}</p>
<div style="display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start">
<canvas class="vaegan-plane" width="340" height="340" tabindex="0" role="application"
 aria-label="latent plane: move the pointer or use the arrow keys"
 style="touch-action:none;border:1px solid #ccc;cursor:crosshair;max-width:100%"></canvas>
<div><canvas class="vaegan-digit" width="196" height="196" role="img"
 aria-label="the image drawn at the marker"
 style="border:1px solid #ccc;image-rendering:pixelated"></canvas>
<p class="vaegan-readout" aria-live="polite" style="font-family:monospace;font-size:85%"></p>
{extra}</div></div>
<script type="application/json" class="vaegan-payload">{json.dumps(payload, **compact)}</script>
{stored}
</div>
<noscript>The interactive explorer needs JavaScript; the static figures show the same plane.
</noscript>
<script>{_script("explorer.js")}
{start}("{uid}");</script>
"""


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
                "kernel": float16_text(layer["kernel"]),
                "bias": float16_text(layer["bias"]),
                "activation": layer["activation"],
            }
            for layer in stack
        ],
        "points": float16_text(codes[pick]),
        "labels": [int(label) for label in labels[pick]],
        "extent": [
            float(low[0] - pad[0]),
            float(high[0] + pad[0]),
            float(low[1] - pad[1]),
            float(high[1] + pad[1]),
        ],  # fmt: skip
        "colors": TAB10,
    }
    reference = None
    if reference_points is not None:
        points = np.asarray(reference_points, dtype=np.float32).reshape(-1, 2)
        pixels = keras.ops.convert_to_numpy(keras.ops.sigmoid(decoder(points)))  # (m, 28, 28)
        reference = {
            "points": points.tolist(),
            "pixels": np.round(pixels.reshape(len(points), -1), 5).tolist(),
        }
    return _snippet("explorer", "vaeganExplorer", payload, reference, title)


#: The plane's corners A, B, C in its coordinates (the plane spans [-1, 1] x [-1, 1]); each lies
#: on a 9 x 9 grid over the plane, so that a mosaic drawn on that grid shows the three codes.
TRIANGLE = np.array([[0.0, 0.75], [-0.75, -0.5], [0.75, -0.5]])


def plane_codes(anchors: np.ndarray, positions: np.ndarray, radius: float) -> np.ndarray:
    """Codes at ``positions`` ``(n, 2)`` of the plane through ``anchors`` ``(3, d)``.

    A position's barycentric weights in :data:`TRIANGLE` mix the three codes; the mix is scaled
    to length ``radius``. Returns ``(n, d)``.
    """
    positions = np.atleast_2d(np.asarray(positions, dtype=np.float64))
    corners = np.vstack([TRIANGLE.T, np.ones(3)])  # (3, 3): x, y, 1 of A, B, C
    weights = np.linalg.solve(corners, np.vstack([positions.T, np.ones(len(positions))]))
    mix = weights.T @ np.asarray(anchors, dtype=np.float64)  # (n, d)
    return (mix * radius / np.linalg.norm(mix, axis=1, keepdims=True)).astype(np.float32)


def generator_explorer(
    generator: keras.Model,
    anchors: np.ndarray,
    reference_positions: np.ndarray | None = None,
    title: str = "Move over the plane (or drag, touch, use the arrow keys)",
    caption: str = "",
) -> str:
    """A live explorer of a DCGAN generator on the plane through three codes ``anchors (3, d)``.

    Each point of the plane mixes A, B and C by its barycentric weights, scaled to length
    ``sqrt(d)`` (:func:`plane_codes`); the generator (:func:`generator_network`) draws it in the
    page, its kernels 8-bit (:func:`quantize`), biases and scales float16. A button draws new
    codes from N(0, I), another brings back ``anchors``.
    ``pagenet.run_network(pagenet.page_network(payload), codes)`` is the page's arithmetic in
    NumPy.

    Args:
        generator: z ``(batch, d)`` -> images ``(batch, size, size)`` in [0, 1], inference mode.
        anchors: ``(3, d)`` codes A, B, C.
        reference_positions: ``(m, 2)`` plane positions whose codes are drawn by Keras here and
            stored in the snippet, so a test can check the page against Keras.
        title: the line above the plane.
        caption: the line under the readout (e.g. which run's generator this is).
    """
    latent_dim = generator.input.shape[-1]
    anchors = np.round(np.asarray(anchors, dtype=np.float64), 5)
    if anchors.shape != (3, latent_dim):
        raise ValueError(f"anchors must be (3, {latent_dim}) codes, got shape {anchors.shape}")
    ops = generator_network(generator)
    radius = float(np.sqrt(latent_dim))
    stored = []
    for op in ops:
        entry = {key: value for key, value in op.items() if key not in ("kernel", "bias")}
        if "kernel" in op:
            q, scale = quantize(op["kernel"], 1 if op["op"] == "dense" else 2)
            entry.update(shape=list(q.shape), kernel=int8_text(q), scale=float16_text(scale))
            entry["bias"] = float16_text(op["bias"])
        if op["op"] == "resize":
            entry["matrix"] = np.round(op["matrix"].astype(np.float64), 6).tolist()
        stored.append(entry)
    size = int(generator.output.shape[1])
    payload = {
        "ops": stored,
        "latent_dim": int(latent_dim),
        "size": size,
        "radius": radius,
        "anchors": anchors.tolist(),
        "vertices": TRIANGLE.tolist(),
        "extent": [-1.0, 1.0, -1.0, 1.0],
        "start": TRIANGLE.mean(axis=0).tolist(),  # equal weights
    }
    reference = None
    if reference_positions is not None:
        positions = np.asarray(reference_positions, dtype=np.float64).reshape(-1, 2)
        codes = plane_codes(anchors, positions, radius)
        pixels = keras.ops.convert_to_numpy(generator(codes, training=False))
        reference = {  # rounded far below the bound, to keep the page light
            "positions": positions.tolist(),
            "points": np.round(codes.astype(np.float64), 6).tolist(),
            "pixels": np.round(pixels.reshape(len(codes), -1).astype(np.float64), 4).tolist(),
        }
    button = (
        '<button type="button" class="vaegan-redraw">new codes</button> '
        '<button type="button" class="vaegan-reset">the first A, B, C</button>'
        f'<p class="vaegan-caption" style="font-size:80%;max-width:220px">{caption}</p>'
    )
    return _snippet("generator", "vaeganGenerator", payload, reference, title, button)


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


def read_snippet(html: str) -> tuple[dict, dict | None]:
    """The payload and the stored reference (None if there is none) of an explorer's HTML."""
    found = {}
    for name in ("payload", "reference"):
        match = re.search(
            rf'<script type="application/json" class="vaegan-{name}">(.*?)</script>', html, re.S
        )
        found[name] = json.loads(match.group(1)) if match else None
    if found["payload"] is None:
        raise ValueError(
            "no explorer payload in this HTML; pass what an explorer function returned"
        )
    return found["payload"], found["reference"]
