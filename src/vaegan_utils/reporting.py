"""A notebook's record of results: each number glued for the book's prose and saved in
``metrics.json``, written once."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vaegan_utils import runtime
from vaegan_utils.runtime import run_id


def to_json(value: Any) -> Any:
    """``json.dumps``'s ``default``: NumPy scalars and arrays as lists, tuples and sets as lists,
    paths as strings; anything else is a ``TypeError``."""
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return value.tolist()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(
        f"cannot write {type(value).__name__} to JSON; "
        "pass numbers, strings, booleans or lists of them"
    )


class _Text:
    """A string whose text/plain representation is the string itself, without quotes."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def glue(name: str, value: Any, display: bool = False) -> None:
    """Record ``value`` under ``name`` for the book's ``{glue}`` roles.

    Uses ``myst_nb.glue`` when it is installed (the book build); elsewhere (Colab) it shows the
    value only if ``display`` is true, so the notebook runs the same without the book tool chain.
    """
    if isinstance(value, str):
        value = _Text(value)  # shown as is: a str's repr would wrap it in quotes in the book
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)


def save_metrics(path: str | os.PathLike[str], metrics: dict[str, Any]) -> Path:
    """Write a notebook's metrics as JSON (NumPy values converted); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(metrics, indent=2, sort_keys=True, default=to_json) + "\n")
    return target


class Results:
    """A notebook's one record of results: the numbers its prose cites and its ``metrics.json``.

    ``results.add("grey.neg_elbo", value, "{:.1f}")`` stores ``value`` under ``grey`` →
    ``neg_elbo`` for ``metrics.json`` and glues the formatted text as ``grey.neg_elbo`` for the
    book's ``{glue:}`` role, so each number is written once. The record starts with the session's
    :func:`run_id`.
    """

    def __init__(self, path: str | os.PathLike[str], **values: Any):
        self.path = Path(path)
        self.values: dict[str, Any] = {"run_id": run_id()}
        for key, value in values.items():
            self.add(key, value, glue_it=False)

    def add(self, key: str, value: Any, fmt: str | None = None, glue_it: bool = True) -> None:
        """Record ``value`` under the dotted ``key``; glue it (as ``fmt.format(value)`` when a
        format is given) unless ``glue_it`` is false. Returns nothing, so that a cell ending in
        ``results.add(...)`` shows no output."""
        if not key or any(not part for part in key.split(".")):
            raise ValueError(f"key must be dot-separated names such as 'grey.kl', got {key!r}")
        *parents, leaf = key.split(".")
        node = self.values
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"{key!r}: {part!r} already holds a value, not a group")
        node[leaf] = value
        if glue_it:
            glue(key, fmt.format(value) if fmt else value)

    def __getitem__(self, key: str) -> Any:
        node: Any = self.values
        for part in key.split("."):
            node = node[part]
        return node

    def save(self) -> Path:
        """Write ``metrics.json``; returns its path."""
        return save_metrics(self.path, self.values)


def start(
    output_dir: str | os.PathLike[str], seed: int, quick: bool, **values: Any
) -> tuple[Path, Results]:
    """A notebook's set-up in one call: this package's log lines on, every generator seeded
    with ``seed``, the output directory created, the run card printed. Returns the directory
    and the notebook's :class:`Results` (``metrics.json`` there, starting with ``quick`` and
    ``values``)."""
    runtime.configure_logging()
    runtime.set_seed(seed)
    out = runtime.output_dir(output_dir)
    results = Results(out / "metrics.json", quick=quick, **values)
    print(runtime.run_card(seed=seed, quick=quick))
    return out, results
