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
