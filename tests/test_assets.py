"""vaegan_utils.assets: the measurements that ship with the package."""

from __future__ import annotations

import pytest

from vaegan_utils import assets


def test_measurements_reads_a_shipped_benchmark_and_names_the_fix(tmp_path) -> None:
    recipe = assets.measurements("gan_recipe")
    assert recipe["rows"] and len(recipe["seeds"]) >= 3 and "machine" in recipe
    with pytest.raises(FileNotFoundError, match="benchmarks/nothing.py"):
        assets.measurements("nothing")
