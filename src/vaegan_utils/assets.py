"""Measurements that ship with the package: the benchmark results the chapters show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def measurements(name: str) -> dict:
    """A stored benchmark result that ships with the package (``assets/NAME.json``), e.g. the
    candidates behind a chapter's settings: ``gan_recipe`` (03), ``vae_settings`` (02)."""
    from importlib import resources

    path = Path(str(resources.files("vaegan_utils") / "assets" / f"{name}.json"))
    if not path.exists():
        raise FileNotFoundError(f"no {path.name} in the package; measure it: benchmarks/{name}.py")
    return json.loads(path.read_text())


def seed_runs(rows: list[dict[str, Any]], base: str) -> list[dict[str, Any]]:
    """The runs of a settings study that repeat candidate ``base`` with other training seeds:
    ``base`` itself, then every row whose ``changes`` are ``base``'s plus ``seed`` and whose
    ``epochs`` are ``base``'s. Their spread is the training's own randomness.

    Raises ``ValueError`` when ``base`` is not among the rows or has no reseeded run.
    """
    by_name = {row["candidate"]: row for row in rows}
    if base not in by_name:
        raise ValueError(f"base: no candidate {base!r} among {sorted(by_name)}")
    first = by_name[base]
    reseeded = [
        row
        for row in rows
        if "seed" in row["changes"]
        and {k: v for k, v in row["changes"].items() if k != "seed"} == first["changes"]
        and row["epochs"] == first["epochs"]
    ]
    if not reseeded:
        raise ValueError(f"base: {base!r} has no reseeded runs (changes {{'seed': N}} on it)")
    return [first, *reseeded]
