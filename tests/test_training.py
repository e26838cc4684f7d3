"""vaegan_utils.training: the epoch log, fit-or-load (and its parts) and resuming."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from vaegan_utils import gan, runs, runtime, training


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

    # As if another notebook run had trained them: reuse names that run, not this one.
    info_path = tmp_path / "reg_run.json"
    info_path.write_text(info_path.read_text().replace(runtime.run_id(), "1a2b3c4d"))
    fresh, _ = _regression(seed=1)
    with caplog.at_level("INFO", logger="vaegan_utils"):
        loaded = training.fit_or_load(fresh, Exploding(), 3, tmp_path, "reg", settings=settings)
    assert loaded.reused and loaded.records == run.records and _weights_equal(model, fresh)
    assert loaded.trained_in == "1a2b3c4d"
    assert "reused the weights trained in run 1a2b3c4d" in caplog.text


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

    assert runs.code_digest(gan.generator_loss) == runs.code_digest(gan.generator_loss)
    assert runs.code_digest(gan.generator_loss) != runs.code_digest(gan.discriminator_loss)
    assert len(runs.code_digest(gan)) == 16
    assert runs.code_digest(gan.GAN) != runs.code_digest(gan.GAN.train_step)
    with pytest.raises(ValueError, match="no source"):
        runs.code_digest(len)


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

    # As if another notebook run had been interrupted: the resumed run keeps its id.
    info_path = tmp_path / "reg_run.json"
    info_path.write_text(info_path.read_text().replace(runtime.run_id(), "1a2b3c4d"))
    resumed, _ = _regression(seed=1)
    count = Count()
    run = training.fit_or_load(resumed, dataset, 4, tmp_path, "reg", callbacks=[count])
    assert count.epochs == [2, 3]  # the first two epochs came from the backup
    assert [r["epoch"] for r in run.records] == [1, 2, 3, 4]
    assert [r["seconds"] for r in run.records] == [1.0, 2.0, 3.0, 4.0]  # the clock goes on
    assert run.trained_in == "1a2b3c4d"
    assert json.loads(info_path.read_text())["trained_in"] == "1a2b3c4d"

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


def _files(tmp_path: Path) -> dict[str, Path]:
    return runs.run_files(tmp_path, "reg")


def _record(tmp_path: Path, wanted: dict, finished: bool, key: str = "trained_in") -> None:
    """A run record; a finished one keeps the size and hash of the files there now."""
    files = _files(tmp_path)
    record = {key: "1a2b3c4d", "finished": finished, "fingerprint": wanted}
    if finished:
        for name in runs.CHECKED_FILES:
            if not files[name].exists():
                files[name].write_text("[]")
        record["files"] = {name: runs.file_digest(files[name]) for name in ("weights", "log")}
    files["run"].write_text(json.dumps(record))


def test_run_decision_alone(tmp_path: Path) -> None:
    """Each case of fit_or_load's decision, from the files in the run directory alone."""
    files = _files(tmp_path)
    wanted = runs.fingerprint({"seed": 0})
    assert runs.run_decision(files, wanted) == ("fresh", "", None)  # nothing there
    files["weights"].write_text("x")
    assert runs.run_decision(files, wanted)[:2] == (
        "fresh",
        "no record of the settings the saved files were trained with",
    )
    _record(tmp_path, wanted, finished=True)
    action, reason, record = runs.run_decision(files, wanted)
    assert (action, reason, record["trained_in"]) == ("reuse", "", "1a2b3c4d")
    assert runs.run_decision(files, wanted, retrain=True)[:2] == ("fresh", "retrain=True")
    changed = runs.fingerprint({"seed": 1})
    assert runs.run_decision(files, changed)[:2] == ("fresh", "settings changed: seed 0 → 1")
    files["weights"].unlink()
    assert runs.run_decision(files, wanted)[0] == "fresh"  # finished, but no weights
    files["backup"].mkdir()
    _record(tmp_path, wanted, finished=False)
    assert runs.run_decision(files, wanted)[0] == "resume"
    _record(tmp_path, wanted, finished=True, key="run_id")  # written before "trained_in"
    assert runs.run_decision(files, wanted)[:2] == (
        "fresh",
        "a record written by an older version of this package",
    )


def test_the_generated_train_vae_trains_and_logs(tmp_path: Path) -> None:
    """Smoke test of chapter 02's train_vae as the package has it (benchmarks import it)."""
    from vaegan_utils import vae

    rng = np.random.default_rng(0)
    images = rng.random((240, 28, 28)).astype(np.float32)
    model, run = vae.train_vae(
        "tiny", images[:200], images[200:], 2, (16,), 1, tmp_path, batch_size=50, seed=0
    )
    assert [record["epoch"] for record in run.records] == [1]
    assert np.isfinite(run.records[0]["val_neg_elbo"]) and not run.reused
    assert run.weights.exists() and tuple(model.encoder.output[0].shape) == (None, 2)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def test_a_damaged_file_of_a_finished_vae_run_retrains_and_says_why(tmp_path: Path, caplog) -> None:
    """A truncated weights file, a same-size edit of the log, an unreadable record: each
    retrains with its reason. Control: the undamaged run is reused."""
    from vaegan_utils import vae

    images = np.random.default_rng(0).random((240, 28, 28)).astype(np.float32)

    def train() -> training.Run:
        args = ("tiny", images[:200], images[200:], 2, (16,), 1, tmp_path)
        return vae.train_vae(*args, batch_size=50, seed=0)[1]

    first = train()
    assert train().reused  # control: nothing damaged, nothing retrained
    files = runs.run_files(tmp_path, "tiny")
    size = files["weights"].stat().st_size
    _truncate(files["weights"])
    with caplog.at_level("INFO", logger="vaegan_utils"):
        again = train()
    assert not again.reused and again.records[-1]["epoch"] == 1
    assert f"tiny.weights.h5 has {size // 2:,} bytes, not the {size:,}" in caplog.text
    assert first.weights.stat().st_size == size  # rewritten whole
    log = files["log"].read_text()
    files["log"].write_text(log.replace('"epoch": 1', '"epoch": 7'))  # same size, new hash
    caplog.clear()
    with caplog.at_level("INFO", logger="vaegan_utils"):
        assert not train().reused
    assert "tiny_log.json is not the file it was saved as" in caplog.text
    _truncate(files["run"])
    caplog.clear()
    with caplog.at_level("INFO", logger="vaegan_utils"):
        assert not train().reused
    assert "tiny_run.json is not readable JSON" in caplog.text


def test_a_damaged_gan_run_retrains_and_load_generator_refuses_it(tmp_path: Path) -> None:
    recipe = gan.Recipe(latent_dim=8, g_width=4, d_width=4, batch_size=8, ema=0.0)
    images = np.random.default_rng(0).random((32, 28, 28)).astype(np.float32)
    import tensorflow as tf

    def fit() -> training.Run:
        model = recipe.build(compile=False)
        model.compile(steps_per_execution=1)
        batches = tf.data.Dataset.from_tensor_slices(images).batch(8).repeat()
        return training.fit_gan(model, batches, 4, 2, tmp_path, settings=recipe.asdict())

    fit()
    gan.load_generator(tmp_path)  # control: the intact run loads
    assert fit().reused
    _truncate(tmp_path / "gan.weights.h5")
    with pytest.raises(ValueError, match="cannot be loaded: gan.weights.h5 has"):
        gan.load_generator(tmp_path)
    assert not fit().reused
    gan.load_generator(tmp_path)  # retrained: loads again
