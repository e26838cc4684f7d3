"""Measurements that ship with the package: the benchmark results the chapters show."""

from __future__ import annotations

import json
from pathlib import Path


def measurements(name: str) -> dict:
    """A stored benchmark result that ships with the package (``assets/NAME.json``), e.g. the
    candidates behind a chapter's settings: ``gan_recipe`` (03), ``vae_settings`` (02)."""
    from importlib import resources

    path = Path(str(resources.files("vaegan_utils") / "assets" / f"{name}.json"))
    if not path.exists():
        raise FileNotFoundError(f"no {path.name} in the package; measure it: benchmarks/{name}.py")
    return json.loads(path.read_text())
