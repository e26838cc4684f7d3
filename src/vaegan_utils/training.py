"""Training runs: identified by their settings and code, reused, resumed or trained afresh,
logged epoch by epoch, with a progress bar; the GAN harness on top."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import inspect
import json
import logging
import math
import os
import shutil
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

from vaegan_utils.reporting import to_json
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


def _source_tree(source: str) -> str:
    """A canonical dump of ``source``'s syntax tree without docstrings: comments, blank lines,
    formatting and docstrings do not change it; any change to what the code does does."""
    tree = ast.parse(textwrap.dedent(source))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def _members(cls: type) -> dict[str, Any]:
    """The functions a class defines itself (properties, static and class methods unwrapped)."""
    members = {}
    for key, value in vars(cls).items():
        if isinstance(value, staticmethod | classmethod):
            value = value.__func__
        if isinstance(value, property):
            value = value.fget
        if inspect.isfunction(value):
            members[key] = value
    return members


def code_digest(obj: Any) -> str:
    """A short hash of the syntax tree of a function, class or module's source.

    A class defined in a notebook cell has no retrievable source of its own
    (``inspect.getsource`` raises), but its methods do: such a class is hashed as its bases' names
    plus each method's tree. Raises ``ValueError`` for an object with no source at all.
    """
    try:
        text = _source_tree(inspect.getsource(obj))
    except (OSError, TypeError) as error:
        if not inspect.isclass(obj):
            raise ValueError(
                f"no source code found for {obj!r}: pass functions, classes "
                "or modules defined in files or notebook cells"
            ) from error
        parts = [base.__qualname__ for base in obj.__bases__]
        parts += [f"{key}:{code_digest(value)}" for key, value in sorted(_members(obj).items())]
        text = "|".join(parts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _code_name(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or getattr(obj, "__name__", repr(obj))


def fingerprint(settings: Mapping[str, Any] | None = None, code: Iterable[Any] = ()) -> dict:
    """What identifies a training run: its settings (JSON values) and its code's digests.

    ``settings`` holds everything that reaches the model, the data or the training (parameters,
    seed, epochs); ``code`` the functions, classes or modules that build and train the model.
    """
    normalised = json.loads(json.dumps(dict(settings or {}), sort_keys=True, default=to_json))
    return {
        "settings": normalised,
        "code": {_code_name(obj): code_digest(obj) for obj in code},
    }


def describe_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """One line saying how fingerprint ``new`` differs from ``old`` ("" when equal)."""
    parts = []
    old_settings, new_settings = old.get("settings", {}), new.get("settings", {})
    unset = "(unset)"
    changed = [
        f"{key} {_short(old_settings.get(key, unset))} → {_short(new_settings.get(key, unset))}"
        for key in sorted(set(old_settings) | set(new_settings))
        if old_settings.get(key, unset) != new_settings.get(key, unset)
    ]
    if changed:
        parts.append("settings changed: " + ", ".join(changed))
    old_code, new_code = old.get("code", {}), new.get("code", {})
    code = [
        key
        for key in sorted(set(old_code) | set(new_code))
        if old_code.get(key) != new_code.get(key)
    ]
    if code:
        parts.append("code changed: " + ", ".join(code))
    return "; ".join(parts)


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


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


def run_files(directory: Path, name: str) -> dict[str, Path]:
    """The files of run ``name`` in ``directory``: its weights, epoch log, run information
    (fingerprint, ``trained_in``, ``finished``) and an interrupted run's backup."""
    return {
        "weights": directory / f"{name}.weights.h5",
        "log": directory / f"{name}_log.json",
        "run": directory / f"{name}_run.json",
        "backup": directory / f"{name}_backup",
    }


def _clear(files: dict[str, Path]) -> None:
    for key in ("weights", "log", "run"):
        files[key].unlink(missing_ok=True)
    shutil.rmtree(files["backup"], ignore_errors=True)


#: The files of a finished run whose size and hash its record keeps (checked before reuse).
CHECKED_FILES = ("weights", "log")


def file_digest(path: Path) -> dict[str, Any]:
    """``{"bytes": size, "sha256": hex digest}`` of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def broken_files(files: Mapping[str, Path], run_info: Mapping[str, Any]) -> str:
    """Why the finished run's files cannot be trusted ("" when each is as its record says):
    a missing file, another size (a truncated or interrupted copy) or another hash."""
    recorded = run_info.get("files")
    if not recorded:
        return "its record keeps no size and hash of its files (written by an older version)"
    for key in CHECKED_FILES:
        path, expected = files[key], recorded.get(key)
        if expected is None:
            return f"its record keeps no size and hash of {path.name}"
        if not path.exists():
            return f"{path.name} is missing"
        size = path.stat().st_size
        if size != expected["bytes"]:
            return (
                f"{path.name} has {size:,} bytes, not the {expected['bytes']:,} it was saved with"
            )
        if file_digest(path)["sha256"] != expected["sha256"]:
            return f"{path.name} is not the file it was saved as (another SHA-256)"
    return ""


def _read_record(path: Path) -> tuple[dict | None, str]:
    """A run record and "", or None and why it cannot be read."""
    if not path.exists():
        return None, ""
    try:
        return json.loads(path.read_text()), ""
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, f"{path.name} is not readable JSON (a truncated or damaged record)"


def run_decision(
    files: Mapping[str, Path], wanted: Mapping[str, Any], retrain: bool = False
) -> tuple[str, str, dict | None]:
    """What :func:`fit_or_load` does with the files of run ``files`` for fingerprint ``wanted``.

    Returns ``(action, reason, run_info)``: ``action`` is ``"reuse"`` (finished weights of the
    same run), ``"resume"`` (an interrupted run's backup of the same run) or ``"fresh"``;
    ``reason`` says why a fresh run is needed ("" when nothing was there to reuse);
    ``run_info`` is the stored run information for reuse and resume, else None.
    """
    run_info, reason = _read_record(files["run"])
    if retrain:
        reason = "retrain=True"
    elif reason:
        pass
    elif run_info is None and any(files[key].exists() for key in ("weights", "log", "backup")):
        reason = "no record of the settings the saved files were trained with"
    elif run_info is not None and "trained_in" not in run_info:
        reason = "a record written by an older version of this package"
    elif run_info is not None:
        reason = describe_changes(run_info["fingerprint"], wanted)
    if reason or run_info is None:
        return "fresh", reason, None
    if run_info.get("finished"):
        broken = broken_files(files, run_info)
        if broken:
            return "fresh", f"the finished run's files fail their check: {broken}", None
        return "reuse", "", run_info
    if files["backup"].exists():
        return "resume", "", run_info
    return "fresh", "", None


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
        _clear(files)  # a fresh run: its log and its clock start empty
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
