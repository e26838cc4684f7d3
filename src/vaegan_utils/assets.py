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


def seed_runs(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of a settings study that differ only in their training seed: every row whose
    ``changes`` set ``seed``, and the unchanged row with the same ``epochs`` that they repeat.

    Their spread is the training's own randomness. Raises ``ValueError`` when the rows hold no
    reseeded run, or reseeded runs of more than one epoch count.
    """
    reseeded = [row for row in rows if "seed" in row["changes"]]
    epochs = {row["epochs"] for row in reseeded}
    if len(epochs) != 1 or any(set(row["changes"]) != {"seed"} for row in reseeded):
        raise ValueError(
            "rows: expected reseeded runs of one unchanged candidate (changes {'seed': N}, one "
            f"epoch count); got {[row['changes'] for row in reseeded]} at epochs {sorted(epochs)}"
        )
    base = [row for row in rows if not row["changes"] and row["epochs"] in epochs]
    return base + reseeded
