"""A training run's identity and files: a fingerprint of the settings and code that shape it,
the files it leaves in its directory (weights, epoch log, record, an interrupted run's backup),
and whether a finished run there can be reused, resumed or must be trained afresh."""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import shutil
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vaegan_utils.reporting import to_json


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


def run_files(directory: Path, name: str) -> dict[str, Path]:
    """The files of run ``name`` in ``directory``: its weights, epoch log, run information
    (fingerprint, ``trained_in``, ``finished``) and an interrupted run's backup."""
    return {
        "weights": directory / f"{name}.weights.h5",
        "log": directory / f"{name}_log.json",
        "run": directory / f"{name}_run.json",
        "backup": directory / f"{name}_backup",
    }


def clear_run(files: dict[str, Path]) -> None:
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
