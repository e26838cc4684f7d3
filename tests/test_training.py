"""vaegan_utils.training: input pipelines, the epoch log, fit-or-load and resuming."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from vaegan_utils import gan, pipelines, runtime, training


def _images(n: int = 64) -> np.ndarray:
    return np.random.default_rng(0).random((n, 4, 4)).astype(np.float32)


def test_image_batches_shapes_and_dynamic_binarization() -> None:
    images = _images()
    dataset = pipelines.image_batches(images, 16, binarize=True, shuffle=False)
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
    first = next(iter(pipelines.image_batches(images, 8, shuffle=False)))
    np.testing.assert_array_equal(first, images[:8])


def test_image_batches_do_not_run_the_gather_on_an_autotuned_thread_pool() -> None:
    """With tf.data's default parallel map on an autotuned pool, tearing a fit's iterator down
    waited 6-30 s per training run on 2 cores; the pipeline opts out of both."""
    options = pipelines.image_batches(_images(), 8).options()
    assert options.experimental_optimization.map_parallelization is False
    assert options.autotune.enabled is False


@pytest.mark.parametrize("batch_size", [0, 65])
def test_image_batches_reject_bad_batch_sizes(batch_size: int) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        pipelines.image_batches(_images(), batch_size)


def test_image_batches_reject_images_that_would_poison_training() -> None:
    """NaN pixels would turn every loss into NaN; 0-255 pixels break binarization silently."""
    images = _images()
    images[3, 1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pipelines.image_batches(images, 8)
    with pytest.raises(ValueError, match="divide 0-255"):
        pipelines.image_batches(255 * _images(), 8, binarize=True)
    pipelines.image_batches(255 * _images(), 8)  # grey levels on any scale are the caller's call


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
    out = pipelines.flip_and_shift(images, [3, 4], flip=True, max_shift=2).numpy()
    assert out.shape == images.shape
    chosen = []
    for image, result in zip(images, out, strict=True):
        matches = [k for k, c in enumerate(_candidates(image, 2)) if np.array_equal(c, result)]
        assert matches, "an output is no flip/shift of its input"
        chosen.append(matches[0])
    # Per-image draws: several different transforms in one batch, mirrored and not.
    assert len(set(chosen)) > 10
    assert min(chosen) < 25 <= max(chosen)
    again = pipelines.flip_and_shift(images, [3, 4], flip=True, max_shift=2).numpy()
    np.testing.assert_array_equal(out, again)  # stateless: same seed, same draw
    other = pipelines.flip_and_shift(images, [3, 5], flip=True, max_shift=2).numpy()
    assert not np.array_equal(out, other)


def test_flip_and_shift_off_is_identity_and_flip_only_mirrors() -> None:
    images = _images(32)
    np.testing.assert_array_equal(
        pipelines.flip_and_shift(images, [0, 1], flip=False, max_shift=0), images
    )
    mirrored = pipelines.flip_and_shift(images, [0, 1], flip=True, max_shift=0).numpy()
    same = [np.array_equal(a, b) for a, b in zip(mirrored, images, strict=True)]
    flipped = [np.array_equal(a, b[:, ::-1]) for a, b in zip(mirrored, images, strict=True)]
    assert all(s or f for s, f in zip(same, flipped, strict=True))
    assert 6 <= sum(flipped) <= 26  # about half of 32


def test_image_batches_augment_afresh_every_epoch() -> None:
    images = _images(64)
    dataset = pipelines.image_batches(images, 16, shuffle=False, flip=True, max_shift=1)
    first, second = np.concatenate(list(dataset)), np.concatenate(list(dataset))
    assert first.shape == images.shape
    assert not np.array_equal(first, second)
    for image, result in zip(images, first, strict=True):
        assert any(np.array_equal(c, result) for c in _candidates(image, 1))


@pytest.mark.parametrize("max_shift", [-1, 4, 1.5])
def test_augmentation_rejects_bad_shifts(max_shift: object) -> None:
    with pytest.raises(ValueError, match="max_shift"):
        pipelines.image_batches(_images(), 8, max_shift=max_shift)


def _regression(seed: int = 0) -> tuple[keras.Model, object]:
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(256, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    import tensorflow as tf

    return model, tf.data.Dataset.from_tensor_slices((x, y)).batch(32)


class FakeClock:
    """time.perf_counter that advances one second per call: an epoch (begin, end) takes 1 s."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(training.time, "perf_counter", fake)
    return fake


class Exploding:
    """A dataset that fails the test if training starts."""

    def __iter__(self):
        raise AssertionError("fit_or_load trained instead of reusing the finished run")


def _weights_equal(a: keras.Model, b: keras.Model) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


def test_fit_or_load_trains_then_reuses_the_same_run(tmp_path: Path, clock, caplog) -> None:
    model, dataset = _regression()
    settings = {"learning_rate": 0.05, "seed": 0}
    run = training.fit_or_load(
        model, dataset, 3, tmp_path, "reg", lambda epoch: {"probe": epoch}, settings=settings
    )
    assert [r["epoch"] for r in run.records] == [1, 2, 3]
    assert [r["probe"] for r in run.records] == [1, 2, 3]
    assert [r["seconds"] for r in run.records] == [1.0, 2.0, 3.0]  # evaluation time excluded
    assert run.records[-1]["train_loss"] < run.records[0]["train_loss"]
    assert not run.reused and run.trained_in == runtime.run_id()
    assert json.loads((tmp_path / "reg_log.json").read_text()) == run.records

    fresh, _ = _regression(seed=1)
    with caplog.at_level("INFO", logger="vaegan_utils"):
        loaded = training.fit_or_load(fresh, Exploding(), 3, tmp_path, "reg", settings=settings)
    assert loaded.reused and loaded.records == run.records and _weights_equal(model, fresh)
    assert f"reused the weights trained in run {run.trained_in}" in caplog.text


def test_a_changed_setting_trains_afresh_and_says_why(tmp_path: Path, caplog) -> None:
    model, dataset = _regression()
    training.fit_or_load(model, dataset, 2, tmp_path, "reg", settings={"learning_rate": 1e-3})
    other, _ = _regression(seed=1)
    with caplog.at_level("INFO", logger="vaegan_utils"):
        run = training.fit_or_load(
            other, dataset, 2, tmp_path, "reg", settings={"learning_rate": 2e-3}
        )
    assert not run.reused and not _weights_equal(model, other)
    assert "training afresh (settings changed: learning_rate 0.001 → 0.002)" in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="vaegan_utils"):  # more epochs: also a different run
        training.fit_or_load(other, dataset, 3, tmp_path, "reg", settings={"learning_rate": 2e-3})
    assert "settings changed: epochs 2 → 3" in caplog.text


def _define(source: str, name: str) -> type:
    """Define a class the way a notebook cell does: its source lives only in linecache (as
    IPython keeps it), so ``inspect.getsource`` fails for the class but works for its methods."""
    import linecache

    filename = f"<notebook-cell-{abs(hash(source))}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"__name__": "notebook_cell", "keras": keras}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


STEP = """
class Regressor(keras.Model):
    def train_step(self, data):
        x, y = data
        return super().train_step((x, {scale} * y))
"""


def _notebook_regressor(source: str) -> keras.Model:
    cls = _define(source, "Regressor")
    inputs = keras.Input((3,))
    model = cls(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    return model


def test_code_changes_in_a_notebook_class_retrain_but_comments_do_not(
    tmp_path: Path, caplog
) -> None:
    import inspect

    _, dataset = _regression()
    original = STEP.format(scale="1.0")
    cls = _define(original, "Regressor")
    with pytest.raises((OSError, TypeError)):
        inspect.getsource(cls)  # as in a notebook kernel: the digest must not rely on it
    model = _notebook_regressor(original)
    training.fit_or_load(model, dataset, 2, tmp_path, "reg", code=[type(model)])

    commented = original.replace("x, y = data", "x, y = data  # inputs and targets\n\n")
    reformatted = commented.replace("(x, 1.0 * y)", "(\n            x, 1.0 * y\n        )")
    documented = reformatted.replace("data):", 'data):\n        """One step."""')
    for variant in (commented, reformatted, documented):
        same = _notebook_regressor(variant)
        assert training.fit_or_load(same, Exploding(), 2, tmp_path, "reg", code=[type(same)]).reused

    changed = _notebook_regressor(STEP.format(scale="2.0"))
    with caplog.at_level("INFO", logger="vaegan_utils"):
        run = training.fit_or_load(changed, dataset, 2, tmp_path, "reg", code=[type(changed)])
    assert not run.reused
    assert "training afresh (code changed: Regressor)" in caplog.text


def test_code_digest_of_functions_and_modules() -> None:

    assert training.code_digest(gan.generator_loss) == training.code_digest(gan.generator_loss)
    assert training.code_digest(gan.generator_loss) != training.code_digest(gan.discriminator_loss)
    assert len(training.code_digest(gan)) == 16
    assert training.code_digest(gan.GAN) != training.code_digest(gan.GAN.train_step)
    with pytest.raises(ValueError, match="no source"):
        training.code_digest(len)


def test_unrecorded_files_and_retrain_start_afresh(tmp_path: Path, caplog) -> None:
    model, dataset = _regression()
    training.fit_or_load(model, dataset, 2, tmp_path, "reg")
    (tmp_path / "reg_run.json").unlink()  # weights from a run whose settings are unknown
    with caplog.at_level("INFO", logger="vaegan_utils"):
        assert not training.fit_or_load(model, dataset, 2, tmp_path, "reg").reused
    assert "no record of the settings" in caplog.text
    assert not training.fit_or_load(model, dataset, 2, tmp_path, "reg", retrain=True).reused


def test_a_fresh_run_starts_its_clock_at_zero(tmp_path: Path, clock) -> None:
    model, dataset = _regression()
    first = training.fit_or_load(model, dataset, 3, tmp_path, "reg")
    assert [r["seconds"] for r in first.records] == [1.0, 2.0, 3.0]
    (tmp_path / "reg.weights.h5").unlink()  # only the weights are gone: the old log stays
    again = training.fit_or_load(model, dataset, 3, tmp_path, "reg")
    assert not again.reused
    assert [r["seconds"] for r in again.records] == [1.0, 2.0, 3.0]


class Interrupt(keras.callbacks.Callback):
    """Stop training, as a killed kernel would, after the given epoch (0-based)."""

    def __init__(self, after: int):
        super().__init__()
        self.after = after

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after:
            raise KeyboardInterrupt


class Count(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.epochs: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_fit_or_load_resumes_an_interrupted_run(tmp_path: Path, clock) -> None:
    model, dataset = _regression()
    with pytest.raises(KeyboardInterrupt):
        training.fit_or_load(model, dataset, 4, tmp_path, "reg", callbacks=[Interrupt(after=1)])
    assert not (tmp_path / "reg.weights.h5").exists()
    assert (tmp_path / "reg_backup").exists()

    resumed, _ = _regression(seed=1)
    count = Count()
    run = training.fit_or_load(resumed, dataset, 4, tmp_path, "reg", callbacks=[count])
    assert count.epochs == [2, 3]  # the first two epochs came from the backup
    assert [r["epoch"] for r in run.records] == [1, 2, 3, 4]
    assert [r["seconds"] for r in run.records] == [1.0, 2.0, 3.0, 4.0]  # the clock goes on
    assert run.trained_in == runtime.run_id()

    # A backup left by a run with other settings is not resumed.
    with pytest.raises(KeyboardInterrupt):
        training.fit_or_load(model, dataset, 4, tmp_path, "other", callbacks=[Interrupt(after=1)])
    count = Count()
    training.fit_or_load(model, dataset, 4, tmp_path, "other", settings={"x": 1}, callbacks=[count])
    assert count.epochs == [0, 1, 2, 3]


def test_fit_or_load_rejects_bad_epochs(tmp_path: Path) -> None:
    model, dataset = _regression()
    for epochs in (0, 2.5):
        with pytest.raises(ValueError, match="epochs"):
            training.fit_or_load(model, dataset, epochs, tmp_path, "reg")
