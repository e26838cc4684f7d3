"""Interactive figures that run in the reader's browser, with no server, kernel or widget library.

:func:`latent_explorer` turns a 2-D VAE's decoder into a self-contained HTML snippet: the latent
plane with training codes coloured by digit, and the digit decoded, live, wherever the pointer, a
finger or the arrow keys put the marker. The decoder runs as a classic inline script with its
weights inlined as float16 (no fetch, no module script, no WebAssembly, so it works in a page
opened from disk). :func:`generator_explorer` does the same for a DCGAN generator on the plane
through three codes, its kernels inlined as 8-bit integers (see :data:`GENERATOR_BOUND`).
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


def _int8(array: np.ndarray) -> str:
    """The int8 bytes of ``array`` (row-major), base64-encoded."""
    return base64.b64encode(np.ascontiguousarray(array, dtype=np.int8).tobytes()).decode("ascii")


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
    reference = None
    if reference_points is not None:
        points = np.asarray(reference_points, dtype=np.float32).reshape(-1, 2)
        pixels = keras.ops.convert_to_numpy(keras.ops.sigmoid(decoder(points)))  # (m, 28, 28)
        reference = {
            "points": points.tolist(),
            "pixels": np.round(pixels.reshape(len(points), -1), 5).tolist(),
        }
    return _snippet("explorer", "vaeganExplorer", payload, reference, title)


#: How far the page's generator may draw from Keras's, in pixel intensity (0 to 1), at the codes
#: a notebook stores: its kernels are 8-bit (one float16 scale per output channel), so the bound
#: is looser than the VAE's 1e-2. Structural mistakes (a crop off by one, a flipped kernel) miss
#: it by far; a coarser quantization, one scale per kernel, can stay within it.
GENERATOR_BOUND = {"max": 0.08, "mean": 0.002}
#: The plane's corners A, B, C in its coordinates (the plane spans [-1, 1] x [-1, 1]); each lies
#: on a 9 x 9 grid over the plane, so that a mosaic drawn on that grid shows the three codes.
TRIANGLE = np.array([[0.0, 0.75], [-0.75, -0.5], [0.75, -0.5]])


def _activation_name(layer: keras.layers.Layer) -> str:
    name = keras.activations.serialize(layer.activation)
    return name if isinstance(name, str) else name.get("config", {}).get("name", str(name))


def _chain(generator: keras.Model) -> list[keras.layers.Layer]:
    """The generator's layers after its input, checked to form a chain (each one's input the
    previous one's output)."""
    layers = [layer for layer in generator.layers if not isinstance(layer, keras.layers.InputLayer)]
    previous = generator.inputs[0]
    for layer in layers:
        if layer.input is not previous:
            raise ValueError(f"layer {layer.name!r}: the explorer runs a chain of layers only")
        previous = layer.output
    return layers


def generator_network(generator: keras.Model) -> list[dict]:
    """A DCGAN generator as the page runs it: its operations in order, float32, inference mode.

    Each entry is ``{"op": ...}``: ``"dense"`` (``kernel (in, out)``) or ``"conv_transpose"``
    (``kernel (k, k, out, in)``, ``stride``, ``pad``: rows cut before the output), each with
    ``bias`` and ``activation`` (``"leaky_relu"`` with ``alpha`` for a following ``LeakyReLU``);
    ``"reshape"`` (``shape (h, w, c)``); ``"resize"`` (``matrix (H*W, h*w)``, measured by
    running the Keras layer on one-hot images, and ``shape``). Batch norm is folded into the
    layer before it with its moving statistics. Raises ``ValueError`` for anything the page
    cannot run: a layer of another kind, a branch, channels first, output padding, a feature map
    whose shape the page would track wrongly, an output that is not a sigmoid's.
    """
    ops: list[dict] = []
    shape = None  # (h, w, c) of the feature map; None while it is a vector

    def foldable(kind: str) -> dict:
        if not ops or ops[-1]["op"] not in ("dense", "conv_transpose"):
            raise ValueError(f"a {kind} layer must follow a Dense or Conv2DTranspose layer")
        if ops[-1]["activation"] != "linear":
            raise ValueError(f"a {kind} layer after an activation cannot be folded")
        return ops[-1]

    for layer in _chain(generator):
        kind, out_shape = type(layer).__name__, tuple(layer.output.shape[1:])
        if getattr(layer, "data_format", "channels_last") != "channels_last":
            raise ValueError(f"layer {layer.name!r}: the page runs channels_last only")
        if isinstance(layer, keras.layers.Dense | keras.layers.Conv2DTranspose):
            weights = [np.asarray(w, np.float32) for w in layer.get_weights()]
            kernel = weights[0]
            bias = (
                weights[1]
                if layer.use_bias
                else np.zeros(kernel.shape[-2 if kernel.ndim == 4 else -1], np.float32)
            )
            op = {"op": "dense", "kernel": kernel, "bias": bias}
            if isinstance(layer, keras.layers.Dense) and shape is not None:
                raise ValueError(f"layer {layer.name!r}: Dense on a feature map is not supported")
            if isinstance(layer, keras.layers.Conv2DTranspose):
                size, stride = kernel.shape[0], layer.strides[0]
                if layer.padding != "same" or tuple(layer.dilation_rate) != (1, 1):
                    raise ValueError(f"layer {layer.name!r}: only padding='same', no dilation")
                if layer.output_padding is not None:
                    raise ValueError(f"layer {layer.name!r}: output_padding is not supported")
                if kernel.shape[1] != size or layer.strides[1] != stride or shape is None:
                    raise ValueError(f"layer {layer.name!r}: square kernels on an image only")
                # Keras's 'same': k - stride rows cut in all, the smaller half before
                op.update(op="conv_transpose", stride=stride, pad=max(size - stride, 0) // 2)
                shape = (shape[0] * stride, shape[1] * stride, kernel.shape[2])
            ops.append({**op, "activation": _activation_name(layer)})
            if ops[-1]["activation"] not in ("linear", "relu", "sigmoid", "tanh"):
                raise ValueError(f"layer {layer.name!r}: activation not supported")
        elif isinstance(layer, keras.layers.BatchNormalization):
            op = foldable(kind)
            if layer.axis not in (-1, len(out_shape)):
                raise ValueError(f"layer {layer.name!r}: batch norm over the last axis only")
            n = out_shape[-1]
            gamma = np.asarray(layer.gamma, np.float32) if layer.scale else np.ones(n, np.float32)
            beta = np.asarray(layer.beta, np.float32) if layer.center else np.zeros(n, np.float32)
            mean = np.asarray(layer.moving_mean, np.float32)
            var = np.asarray(layer.moving_variance, np.float32)
            scale = gamma / np.sqrt(var + layer.epsilon)  # (out,)
            axis = 1 if op["op"] == "dense" else 2  # the kernel's output axis
            op["kernel"] = op["kernel"] * np.moveaxis(
                scale.reshape(-1, *[1] * (op["kernel"].ndim - 1)), 0, axis
            )
            op["bias"] = (op["bias"] - mean) * scale + beta
        elif isinstance(layer, keras.layers.LeakyReLU):
            foldable(kind).update(activation="leaky_relu", alpha=float(layer.negative_slope))
        elif isinstance(layer, keras.layers.Reshape):
            if len(out_shape) == 3:
                shape = out_shape
                ops.append({"op": "reshape", "shape": list(out_shape)})
            elif shape is None or out_shape != shape[:2] or shape[2] != 1:
                raise ValueError(f"layer {layer.name!r}: cannot reshape to {out_shape}")
        elif isinstance(layer, keras.layers.Resizing):
            if shape is None:
                raise ValueError(f"layer {layer.name!r}: resizing needs an image")
            h, w, channels = shape
            basis = np.eye(h * w, dtype=np.float32).reshape(h * w, h, w, 1)
            out = keras.ops.convert_to_numpy(layer(basis))  # (h*w, H, W, 1)
            shape = (out.shape[1], out.shape[2], channels)
            ops.append({"op": "resize", "matrix": out.reshape(h * w, -1).T, "shape": list(shape)})
        else:
            raise ValueError(
                f"layer {layer.name!r} ({kind}) cannot run in the browser: the generator "
                "explorer takes Dense, Conv2DTranspose, BatchNormalization, LeakyReLU, Reshape "
                "and Resizing layers"
            )
        tracked = (ops[-1]["kernel"].shape[1],) if shape is None else shape
        if out_shape not in (tracked, tracked[:2] if tracked[-1] == 1 else tracked):
            raise ValueError(
                f"layer {layer.name!r}: the page would compute {tracked}, Keras {out_shape}"
            )
    if shape is None or shape[0] != shape[1] or shape[2] != 1:
        raise ValueError(f"the generator must draw square grey images, got {shape}")
    if ops[-1].get("activation") != "sigmoid":
        raise ValueError("the generator must end in a sigmoid (pixels in [0, 1])")
    return ops


def quantize(kernel: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric 8-bit weights with one scale per index of ``axis`` (the output channel).

    Returns ``(q, scale)``: ``q`` int8 in [-127, 127] of ``kernel``'s shape, ``scale`` of length
    ``kernel.shape[axis]`` (float16 values, as the page stores them, in float32), so that
    ``q * scale`` (broadcast on ``axis``) is the kernel within half a scale step.
    """
    other = tuple(i for i in range(kernel.ndim) if i != axis)
    peak = np.abs(kernel).max(axis=other)
    # the float16 the page reads, so that the half step holds for the page's arithmetic
    scale = np.where(peak > 0, peak / 127, 1.0).astype(np.float16).astype(np.float32)
    q = np.clip(np.round(kernel / np.expand_dims(scale, other)), -127, 127).astype(np.int8)
    return q, scale


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
    codes from N(0, I), another brings back ``anchors``. ``run_network(page_network(payload),
    codes)`` is the page's arithmetic in NumPy.

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
            entry.update(shape=list(q.shape), kernel=_int8(q), scale=_f16(scale))
            entry["bias"] = _f16(op["bias"])
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


def _halves(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f2").astype(np.float32)


def page_network(payload: dict) -> list[dict]:
    """The operations of a generator explorer's payload with the weights the page reads:
    8-bit kernels times their float16 scales, float16 biases (as :func:`generator_network`)."""
    ops = []
    for op in payload["ops"]:
        op = dict(op)
        if "kernel" in op:
            q = np.frombuffer(base64.b64decode(op["kernel"]), np.int8).reshape(op["shape"])
            axis = 1 if op["op"] == "dense" else 2
            others = tuple(i for i in range(q.ndim) if i != axis)
            op["kernel"] = q * np.expand_dims(_halves(op["scale"]), others)
            op["bias"] = _halves(op["bias"])
        if "matrix" in op:
            op["matrix"] = np.asarray(op["matrix"], np.float32)
        ops.append(op)
    return ops


def run_network(ops: list[dict], codes: np.ndarray) -> np.ndarray:
    """Run :func:`generator_network`'s operations (or :func:`page_network`'s) in NumPy, float32,
    as ``assets/explorer.js`` does: ``(n, d)`` codes -> ``(n, size * size)`` pixels. Transposed
    convolutions scatter each input pixel through the kernel, then cut ``pad`` rows."""
    x = np.asarray(codes, np.float32)
    for op in ops:
        if op["op"] == "reshape":
            x = x.reshape(len(x), *op["shape"])
            continue
        if op["op"] == "resize":
            n, h, w, c = x.shape
            x = np.einsum("pq,nqc->npc", op["matrix"], x.reshape(n, h * w, c))
            x = x.reshape(n, *op["shape"])
            continue
        kernel = op["kernel"]
        if op["op"] == "dense":
            x = x @ kernel + op["bias"]
        else:
            n, h, w, _ = x.shape
            k, s, pad = kernel.shape[0], op["stride"], op["pad"]
            full = np.zeros((n, (h - 1) * s + k, (w - 1) * s + k, kernel.shape[2]), np.float32)
            for ky in range(k):
                for kx in range(k):
                    full[:, ky : ky + (h - 1) * s + 1 : s, kx : kx + (w - 1) * s + 1 : s] += (
                        x @ kernel[ky, kx].T
                    )
            x = full[:, pad : pad + h * s, pad : pad + w * s] + op["bias"]
        if op["activation"] == "leaky_relu":
            x = np.where(x > 0, x, op["alpha"] * x)
        elif op["activation"] == "relu":
            x = np.maximum(x, 0)
        elif op["activation"] == "tanh":
            x = np.tanh(x)
        elif op["activation"] == "sigmoid":
            x = 1 / (1 + np.exp(-np.clip(x, -60, 60)))
    return x.reshape(len(x), -1)
