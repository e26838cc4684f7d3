"""vaegan_utils.training: input pipelines, the epoch log, fit-or-load and resuming."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from vaegan_utils import training


def _images(n: int = 64) -> np.ndarray:
    return np.random.default_rng(0).random((n, 4, 4)).astype(np.float32)


def test_image_batches_shapes_and_dynamic_binarization() -> None:
    images = _images()
    dataset = training.image_batches(images, 16, binarize=True, shuffle=False)
    first_pass = np.concatenate(list(dataset))
    second_pass = np.concatenate(list(dataset))
    assert first_pass.shape == (64, 4, 4)
    assert set(np.unique(first_pass)) == {0.0, 1.0}
    # Every pass over the data (every epoch) draws a new binarization of the same images.
    assert np.mean(first_pass != second_pass) > 0.2
    # Bernoulli(p) has mean p: averaged over many passes, the draws approach the grey levels.
    average = np.mean([np.concatenate(list(dataset)) for _ in range(200)], axis=0)
    assert np.abs(average - images).max() < 0.15
    assert abs(average.mean() - images.mean()) < 0.01


def test_image_batches_without_shuffle_keep_order() -> None:
    images = _images()
    first = next(iter(training.image_batches(images, 8, shuffle=False)))
    np.testing.assert_array_equal(first, images[:8])


@pytest.mark.parametrize("batch_size", [0, 65])
def test_image_batches_reject_bad_batch_sizes(batch_size: int) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        training.image_batches(_images(), batch_size)


def _candidates(image: np.ndarray, max_shift: int) -> list[np.ndarray]:
    """Every flip/shift of one image the augmentation may produce, built with numpy alone."""
    pad = [(max_shift, max_shift)] * 2 + [(0, 0)] * (image.ndim - 2)
    out = []
    for source in (image, image[:, ::-1]):
        padded = np.pad(source, pad, mode="reflect")
        h, w = image.shape[:2]
        for dy in range(2 * max_shift + 1):
            for dx in range(2 * max_shift + 1):
                out.append(padded[dy : dy + h, dx : dx + w])
    return out


@pytest.mark.parametrize("shape", [(40, 6, 7), (40, 6, 7, 3)])
def test_flip_and_shift_matches_a_numpy_oracle(shape: tuple[int, ...]) -> None:
    images = np.random.default_rng(1).random(shape).astype(np.float32)
    out = training.flip_and_shift(images, [3, 4], flip=True, max_shift=2).numpy()
    assert out.shape == images.shape
    chosen = []
    for image, result in zip(images, out, strict=True):
        matches = [k for k, c in enumerate(_candidates(image, 2)) if np.array_equal(c, result)]
        assert matches, "an output is no flip/shift of its input"
        chosen.append(matches[0])
    # Per-image draws: several different transforms in one batch, mirrored and not.
    assert len(set(chosen)) > 10
    assert min(chosen) < 25 <= max(chosen)
    again = training.flip_and_shift(images, [3, 4], flip=True, max_shift=2).numpy()
    np.testing.assert_array_equal(out, again)  # stateless: same seed, same draw
    other = training.flip_and_shift(images, [3, 5], flip=True, max_shift=2).numpy()
    assert not np.array_equal(out, other)


def test_flip_and_shift_off_is_identity_and_flip_only_mirrors() -> None:
    images = _images(32)
    np.testing.assert_array_equal(
        training.flip_and_shift(images, [0, 1], flip=False, max_shift=0), images
    )
    mirrored = training.flip_and_shift(images, [0, 1], flip=True, max_shift=0).numpy()
    same = [np.array_equal(a, b) for a, b in zip(mirrored, images, strict=True)]
    flipped = [np.array_equal(a, b[:, ::-1]) for a, b in zip(mirrored, images, strict=True)]
    assert all(s or f for s, f in zip(same, flipped, strict=True))
    assert 6 <= sum(flipped) <= 26  # about half of 32


def test_image_batches_augment_afresh_every_epoch() -> None:
    images = _images(64)
    dataset = training.image_batches(images, 16, shuffle=False, flip=True, max_shift=1)
    first, second = np.concatenate(list(dataset)), np.concatenate(list(dataset))
    assert first.shape == images.shape
    assert not np.array_equal(first, second)
    for image, result in zip(images, first, strict=True):
        assert any(np.array_equal(c, result) for c in _candidates(image, 1))


@pytest.mark.parametrize("max_shift", [-1, 4, 1.5])
def test_augmentation_rejects_bad_shifts(max_shift: object) -> None:
    with pytest.raises(ValueError, match="max_shift"):
        training.image_batches(_images(), 8, max_shift=max_shift)


def _regression(seed: int = 0) -> tuple[keras.Model, object]:
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    import tensorflow as tf

    return model, tf.data.Dataset.from_tensor_slices((x, y)).batch(32)


def test_fit_or_load_trains_then_loads(tmp_path: Path) -> None:
    model, dataset = _regression()
    log = training.fit_or_load(model, dataset, 3, tmp_path, "reg", lambda: {"probe": 1.0})
    assert [r["epoch"] for r in log.records] == [1, 2, 3]
    assert (
        log.records[-1]["probe"] == 1.0
        and log.records[-1]["train_loss"] < log.records[0]["train_loss"]
    )
    assert (tmp_path / "reg.weights.h5").exists()
    assert json.loads((tmp_path / "reg_log.json").read_text()) == log.records

    fresh, _ = _regression(seed=1)

    class Exploding:  # a dataset that fails the test if training starts again
        def __iter__(self):
            raise AssertionError("fit_or_load retrained instead of loading")

    loaded = training.fit_or_load(fresh, Exploding(), 3, tmp_path, "reg")
    assert loaded.records == log.records
    for a, b in zip(model.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_fit_or_load_resumes_an_interrupted_run(tmp_path: Path) -> None:
    model, dataset = _regression()

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    original_fit = model.fit

    def fit_then_stop(*args, callbacks=(), **kwargs):
        return original_fit(*args, callbacks=[*callbacks, Interrupt()], **kwargs)

    model.fit = fit_then_stop
    with pytest.raises(KeyboardInterrupt):
        training.fit_or_load(model, dataset, 4, tmp_path, "reg")
    assert not (tmp_path / "reg.weights.h5").exists()
    assert (tmp_path / "reg_backup").exists()

    resumed, _ = _regression(seed=1)
    epochs_run = []

    class Count(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            epochs_run.append(epoch)

    original = resumed.fit
    resumed.fit = lambda *a, callbacks=(), **k: original(*a, callbacks=[*callbacks, Count()], **k)
    log = training.fit_or_load(resumed, dataset, 4, tmp_path, "reg")
    assert epochs_run == [2, 3]  # the first two epochs came from the backup
    assert [r["epoch"] for r in log.records] == [1, 2, 3, 4]
    assert log.records[-1]["seconds"] > log.records[1]["seconds"]


def test_fit_or_load_rejects_bad_epochs(tmp_path: Path) -> None:
    model, dataset = _regression()
    with pytest.raises(ValueError, match="epochs"):
        training.fit_or_load(model, dataset, 0, tmp_path, "reg")
