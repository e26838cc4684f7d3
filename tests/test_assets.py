"""vaegan_utils.assets: the measurements that ship with the package."""

from __future__ import annotations

import pytest

from vaegan_utils import assets


def test_measurements_reads_a_shipped_benchmark_and_names_the_fix(tmp_path) -> None:
    recipe = assets.measurements("gan_recipe")
    assert recipe["rows"] and len(recipe["seeds"]) >= 3 and "machine" in recipe
    with pytest.raises(FileNotFoundError, match="benchmarks/nothing.py"):
        assets.measurements("nothing")


def _row(name: str, epochs: int, **changes) -> dict:
    return {"candidate": name, "epochs": epochs, "changes": changes}


def test_seed_runs_are_the_reseeded_runs_and_the_run_they_repeat() -> None:
    rows = [_row("a-24", 24), _row("a-20", 20), _row("a-24-lr", 24, learning_rate=3e-3),
            _row("a-24-seed1", 24, seed=1), _row("a-24-seed2", 24, seed=2)]  # fmt: skip
    assert [row["candidate"] for row in assets.seed_runs(rows)] == [
        "a-24", "a-24-seed1", "a-24-seed2"]  # fmt: skip
    # the shipped study: one group per kind of data
    study = assets.measurements("vae_settings")["rows"]
    for binarized in (True, False):
        group = assets.seed_runs([row for row in study if row["binarized"] is binarized])
        assert len(group) >= 3 and len({row["seed"] for row in group}) == len(group)


@pytest.mark.parametrize(
    "rows",
    [[_row("a", 24)], [_row("a", 24), _row("b", 24, seed=1), _row("c", 20, seed=2)],
     [_row("a", 24), _row("b", 24, seed=1, batch_size=50)]],
)  # fmt: skip
def test_seed_runs_refuses_rows_without_one_reseeded_group(rows) -> None:
    with pytest.raises(ValueError, match="reseeded runs"):
        assets.seed_runs(rows)
