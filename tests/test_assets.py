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


def test_seed_runs_are_the_base_and_its_reseeded_runs_only() -> None:
    rows = [_row("a-24", 24), _row("a-20", 20), _row("a-24-lr", 24, learning_rate=3e-3),
            _row("a-24-seed1", 24, seed=1), _row("a-20-seed1", 20, seed=1),
            _row("a-24-lr-seed1", 24, learning_rate=3e-3, seed=1),
            _row("a-24-seed2", 24, seed=2)]  # fmt: skip
    names = lambda group: [row["candidate"] for row in group]  # noqa: E731
    assert names(assets.seed_runs(rows, "a-24")) == ["a-24", "a-24-seed1", "a-24-seed2"]
    assert names(assets.seed_runs(rows, "a-24-lr")) == ["a-24-lr", "a-24-lr-seed1"]
    assert names(assets.seed_runs(rows, "a-20")) == ["a-20", "a-20-seed1"]
    with pytest.raises(ValueError, match="no candidate 'b'"):
        assets.seed_runs(rows, "b")
    with pytest.raises(ValueError, match="no reseeded runs"):
        assets.seed_runs(rows[:3], "a-24")


def test_the_shipped_study_repeats_its_compared_candidates_with_three_seeds() -> None:
    study = assets.measurements("vae_settings")["rows"]
    for base in ("binary-38", "binary-38-no-warmup", "grey-24"):
        group = assets.seed_runs(study, base)
        assert len(group) == 3 and sorted(row["seed"] for row in group) == [0, 1, 2]
