"""Training runs: reused, resumed or trained afresh (as :mod:`vaegan_utils.runs` decides),
logged epoch by epoch, with a progress bar; the GAN harness on top."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

from vaegan_utils.runs import (
    CHECKED_FILES,
    clear_run,
    file_digest,
    fingerprint,
    run_decision,
    run_files,
)
from vaegan_utils.runtime import run_id

logger = logging.getLogger(__name__)


def progress_bar(total: int, desc: str, unit: str = "it") -> Any:
    """A tqdm bar: a widget where ipywidgets is installed (Colab, Jupyter), text on stdout
    elsewhere, and none when ``$VAEGAN_PROGRESS=0`` (executed notebooks stored for the book)."""
    disable = os.environ.get("VAEGAN_PROGRESS", "1") == "0"
    try:
        import ipywidgets  # noqa: F401
        from tqdm.notebook import tqdm
    except ImportError:
        from tqdm import tqdm

        return tqdm(
            total=total, desc=desc, unit=unit, leave=False, file=sys.stdout, disable=disable
        )
    return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=disable)


def _number(value: Any) -> int | float:
    """A JSON-ready number: whole numbers stay ints, everything else becomes a float."""
    return int(value) if isinstance(value, int | np.integer) else float(value)


class EpochLog(keras.callbacks.Callback):
    """Record, after every epoch, the training logs, an evaluation and the training wall time.

    Records are written to a JSON file after every epoch. ``seconds`` counts training time only
    (evaluations excluded); a resumed run continues the clock of the epoch it resumes from.
    ``evaluate(epoch)`` receives the number of finished epochs; with ``evaluate_first`` it also
    runs once before training, recorded as epoch 0. ``stop(records)``, called after every
    epoch's record, ends training early when it returns true; that record is marked
    ``"stopped": True``.
    """

    def __init__(
        self,
        path: str | Path,
        evaluate: Callable[[int], dict[str, float]] | None = None,
        evaluate_first: bool = False,
        stop: Callable[[list[dict[str, Any]]], bool] | None = None,
    ):
        super().__init__()
        self.path = Path(path)
        self.evaluate, self.evaluate_first, self.stop = evaluate, evaluate_first, stop
        self.records: list[dict[str, Any]] = (
            json.loads(self.path.read_text()) if self.path.exists() else []
        )
        self._start = 0.0

    @property
    def seconds(self) -> float:
        """Training seconds recorded so far."""
        return self.records[-1]["seconds"] if self.records else 0.0

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.evaluate_first and self.evaluate and not any(r["epoch"] == 0 for r in self.records):
            values = {key: _number(value) for key, value in self.evaluate(0).items()}
            self.records.insert(0, {"epoch": 0, "seconds": 0.0, **values})
            self.write()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        elapsed = time.perf_counter() - self._start
        earlier = [r for r in self.records if r["epoch"] <= epoch]  # a resumed run's past
        clock = earlier[-1]["seconds"] if earlier else 0.0
        record: dict[str, Any] = {"epoch": epoch + 1, "seconds": clock + elapsed}
        record.update({f"train_{key}": float(value) for key, value in (logs or {}).items()})
        if self.evaluate is not None:
            record.update({k: _number(v) for k, v in self.evaluate(epoch + 1).items()})
        self.records = earlier + [record]
        if self.stop is not None and self.stop(self.records):
            record["stopped"] = True
            self.model.stop_training = True
        self.write()

    @property
    def stopped(self) -> bool:
        """Whether ``stop`` fired: the run ended at that record, early or at its last epoch."""
        return bool(self.records and self.records[-1].get("stopped"))

    def write(self) -> None:
        """Save the records to ``path``."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.records, indent=1) + "\n")

    def column(self, key: str) -> np.ndarray:
        """One recorded quantity over the records that have it."""
        return np.array([record[key] for record in self.records if key in record])

    def series(self, key: str, x: str = "epoch") -> tuple[np.ndarray, np.ndarray]:
        """``(x values, key values)`` over the records that have ``key`` (e.g. x="step")."""
        having = [record for record in self.records if key in record]
        return np.array([r[x] for r in having]), np.array([r[key] for r in having])


@dataclasses.dataclass
class Run:
    """A finished training: its epoch log and where its files are.

    ``trained_in`` is the id of the notebook run (:func:`vaegan_utils.runtime.run_id`) that
    trained the weights; ``reused`` is true when they were loaded rather than trained in this
    notebook run.
    """

    log: EpochLog
    trained_in: str
    reused: bool
    weights: Path

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.log.records

    @property
    def seconds(self) -> float:
        return self.log.seconds

    @property
    def stopped(self) -> bool:
        """Whether the run's ``stop`` test ended it early."""
        return self.log.stopped

    def column(self, key: str) -> np.ndarray:
        return self.log.column(key)

    def series(self, key: str, x: str = "epoch") -> tuple[np.ndarray, np.ndarray]:
        return self.log.series(key, x)


def load_finished(
    model: keras.Model,
    files: Mapping[str, Path],
    run_info: Mapping[str, Any],
    evaluate: Callable[[int], dict[str, float]] | None = None,
) -> Run:
    """Load the finished weights (and optimizer state) of the run ``run_info`` into ``model``."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)  # so that its saved state loads too
    model.load_weights(files["weights"])
    return Run(EpochLog(files["log"], evaluate), run_info["trained_in"], True, files["weights"])


def _fit_steps_per_call(model: keras.Model, steps_per_epoch: int | None) -> None:
    """Keras runs whole calls of ``steps_per_execution`` steps, past an epoch's end if need be:
    an epoch of 10 steps at 50 per call would train 50. Shrink the call to fit the epoch."""
    per_call = getattr(model, "steps_per_execution", 1) or 1
    if steps_per_epoch and steps_per_epoch % per_call:
        model.steps_per_execution = math.gcd(steps_per_epoch, per_call)
        model.train_function = None  # rebuilt for the new number of steps per call


def fit_and_save(
    model: keras.Model,
    dataset: Any,
    epochs: int,
    files: Mapping[str, Path],
    run_info: dict[str, Any],
    log: EpochLog,
    steps_per_epoch: int | None = None,
    callbacks: Iterable[keras.callbacks.Callback] = (),
) -> Run:
    """Fit ``model`` (resuming from ``files["backup"]`` when it exists) and save its weights,
    marking ``run_info`` finished in ``files["run"]``."""
    files["run"].parent.mkdir(parents=True, exist_ok=True)
    files["run"].write_text(json.dumps(run_info, indent=1) + "\n")
    _fit_steps_per_call(model, steps_per_epoch)
    backup = keras.callbacks.BackupAndRestore(str(files["backup"]))
    name = files["weights"].name.removesuffix(".weights.h5")
    model.fit(
        dataset,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        verbose=0,
        shuffle=False,  # the input pipeline shuffles
        callbacks=[backup, log, ProgressBar(epochs, name), *callbacks],
    )
    model.save_weights(files["weights"])
    checked = {key: file_digest(files[key]) for key in CHECKED_FILES}
    finished = {**run_info, "finished": True, "files": checked}
    files["run"].write_text(json.dumps(finished, indent=1) + "\n")
    return Run(log, run_info["trained_in"], False, files["weights"])


def fit_or_load(
    model: keras.Model,
    dataset: Any,
    epochs: int,
    directory: str | Path,
    name: str,
    evaluate: Callable[[int], dict[str, float]] | None = None,
    settings: Mapping[str, Any] | None = None,
    code: Iterable[Any] = (),
    retrain: bool = False,
    steps_per_epoch: int | None = None,
    callbacks: Iterable[keras.callbacks.Callback] = (),
    evaluate_first: bool = False,
    stop: Callable[[list[dict[str, Any]]], bool] | None = None,
) -> Run:
    """Train ``model`` for ``epochs``, or load the finished weights of the *same* run.

    A run is identified by :func:`fingerprint` of ``settings`` and ``code`` (plus ``epochs`` and
    ``steps_per_epoch``), kept beside the weights in ``{name}_run.json``
    (:func:`run_decision`):

    - same fingerprint, finished weights ``{name}.weights.h5`` present: load them (and the
      optimizer state), no training;
    - same fingerprint, an interrupted run's backup ``{name}_backup/`` present: resume from its
      last finished epoch (weights, optimizer state, epoch count and training clock are restored;
      the input pipeline restarts its shuffling and the model's random streams restart);
    - anything else (new settings or code, ``retrain=True``, no record, or a record written
      before runs recorded ``trained_in``): train afresh, with the clock at 0, saying in one
      log line why.

    ``steps_per_epoch`` makes an "epoch" a fixed number of steps over a repeated dataset: the
    interval between evaluations. ``evaluate(epoch)`` runs after every epoch (and, with
    ``evaluate_first``, once before training as epoch 0); its values join the epoch's record.
    ``callbacks`` are added to Keras' ``fit``. ``stop(records)`` may end training early
    (:class:`EpochLog`); it is part of the run's fingerprint, like ``code``.
    """
    if not isinstance(epochs, int) or epochs <= 0:
        raise ValueError(f"epochs must be a positive whole number, got {epochs!r}")
    files = run_files(Path(directory), name)
    wanted = fingerprint(
        {**dict(settings or {}), "epochs": epochs, "steps_per_epoch": steps_per_epoch},
        [*code, stop] if stop is not None else code,
    )
    action, reason, run_info = run_decision(files, wanted, retrain)
    if action == "reuse":
        assert run_info is not None
        logger.info(
            "%s: reused the weights trained in run %s (same settings and code; "
            "retrain=True trains again)",
            name,
            run_info["trained_in"],
        )
        return load_finished(model, files, run_info, evaluate)
    if action == "resume":
        assert run_info is not None
        run_info = {**run_info, "finished": False}
    else:
        if reason:
            logger.info("%s: training afresh (%s)", name, reason)
        clear_run(files)  # a fresh run: its log and its clock start empty
        run_info = {"trained_in": run_id(), "finished": False, "fingerprint": wanted}
    log = EpochLog(files["log"], evaluate, evaluate_first, stop)
    if action == "resume":
        logger.info(
            "%s: resuming run %s after its epoch %d",
            name,
            run_info["trained_in"],
            log.records[-1]["epoch"],
        )
    run = fit_and_save(model, dataset, epochs, files, run_info, log, steps_per_epoch, callbacks)
    logger.info(
        "%s: trained %d epochs in %.0f s (run %s)%s",
        name,
        log.records[-1]["epoch"],
        log.seconds,
        run.trained_in,
        ", stopped early by its stop test" if log.stopped else "",
    )
    return run


def fit_gan(
    model: keras.Model,
    batches: Any,
    steps: int,
    eval_every: int,
    directory: str | Path,
    name: str = "gan",
    evaluate: Callable[[int], dict[str, float]] | None = None,
    settings: Mapping[str, Any] | None = None,
    code: Iterable[Any] = (),
    retrain: bool = False,
    stop: Callable[[list[dict[str, Any]]], bool] | None = None,
) -> Run:
    """Train a compiled GAN (any ``keras.Model`` with a ``train_step``) for ``steps`` steps,
    evaluating every ``eval_every`` steps, or load the same finished run.

    ``evaluate(step)`` is called at step 0 (before training) and after every ``eval_every``
    steps; each record of the log holds ``step`` and those values, plus the train step's logged
    averages over the interval (``train_*``). ``batches`` must repeat forever. ``stop(records)``,
    called after each evaluation, ends the run early when true (a stall test fixed in advance);
    its last record then holds ``"stopped": True``. Reuse and resume as in :func:`fit_or_load`.
    """
    if not isinstance(eval_every, int) or eval_every <= 0:
        raise ValueError(f"eval_every must be a positive whole number of steps, got {eval_every!r}")
    if not isinstance(steps, int) or steps <= 0 or steps % eval_every:
        raise ValueError(
            f"steps must be a positive multiple of eval_every={eval_every}, "
            f"got {steps!r}; round it to one"
        )

    def with_step(epoch: int) -> dict[str, float]:
        step = epoch * eval_every
        return {"step": step, **(evaluate(step) if evaluate else {})}

    run = fit_or_load(
        model,
        batches,
        steps // eval_every,
        directory,
        name,
        with_step,
        settings={**dict(settings or {}), "eval_every": eval_every},
        code=code,
        retrain=retrain,
        steps_per_epoch=eval_every,
        evaluate_first=True,
        stop=stop,
    )
    if not run.reused:
        done = run.records[-1]["step"]
        logger.info(
            "%s: %.0f ms a step (%d steps, evaluations excluded)",
            name,
            1000 * run.seconds / done,
            done,
        )
    return run


class ProgressBar(keras.callbacks.Callback):
    """One progress bar over epochs, showing the latest training logs."""

    def __init__(self, epochs: int, name: str):
        super().__init__()
        self.epochs, self.name = epochs, name
        self.bar: Any = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.bar = progress_bar(self.epochs, self.name, unit="epoch")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.bar.n = epoch + 1
        self.bar.set_postfix({k: f"{v:.2f}" for k, v in (logs or {}).items()}, refresh=True)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.bar.close()
