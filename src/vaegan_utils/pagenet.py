"""A Keras network in the form the book's pages run it, and that form run in NumPy.

The in-page explorers (:mod:`vaegan_utils.explorer`) run a VAE's MLP decoder with float16 weights
(:func:`dense_stack`) and a DCGAN generator with batch norm folded in, 8-bit kernels and float16
scales and biases (:func:`generator_network`, :func:`quantize`). :func:`page_network` reads those
weights back from a page's payload and :func:`run_network` runs them as ``assets/explorer.js``
does, so that tests can hold the page's arithmetic to :data:`GENERATOR_BOUND` without a browser.
"""

from __future__ import annotations

import base64

import keras
import numpy as np

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


def float16_text(array: np.ndarray) -> str:
    """Little-endian float16 bytes of ``array`` (row-major), base64-encoded."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f2").tobytes()).decode("ascii")


def int8_text(array: np.ndarray) -> str:
    """The int8 bytes of ``array`` (row-major), base64-encoded."""
    return base64.b64encode(np.ascontiguousarray(array, dtype=np.int8).tobytes()).decode("ascii")


#: How far the page's generator may draw from Keras's, in pixel intensity (0 to 1), at the codes
#: a notebook stores: its kernels are 8-bit (one float16 scale per output channel), so the bound
#: is looser than the VAE's 1e-2. Structural mistakes (a crop off by one, a flipped kernel) miss
#: it by far; a coarser quantization, one scale per kernel, can stay within it.
GENERATOR_BOUND = {"max": 0.08, "mean": 0.002}


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
