"""vaegan_utils.reporting: one record of results, glued and saved as metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vaegan_utils import reporting, runtime


def test_results_record_nested_values_and_glue_each_once(tmp_path: Path, monkeypatch) -> None:
    glued = {}
    monkeypatch.setattr(
        reporting, "glue", lambda name, value, display=False: glued.update({name: value})
    )
    results = reporting.Results(tmp_path / "metrics.json", quick=True)
    assert results.add("grey.neg_elbo", np.float32(99.25), "{:.1f}") is None  # no cell output
    results.add("grey.kl", 25.0)
    results.add("steps", 400, glue_it=False)
    assert glued == {"grey.neg_elbo": "99.2", "grey.kl": 25.0}
    assert results["grey.kl"] == 25.0
    saved = json.loads(results.save().read_text())
    assert saved == {
        "run_id": runtime.run_id(),
        "quick": True,
        "grey": {"neg_elbo": 99.25, "kl": 25.0},
        "steps": 400,
    }
    for bad in ("", "grey..kl", ".kl"):
        with pytest.raises(ValueError, match="key"):
            results.add(bad, 1)
    with pytest.raises(ValueError, match="group"):
        results.add("steps.more", 1)


def test_save_metrics_converts_numpy(tmp_path: Path) -> None:
    path = reporting.save_metrics(
        tmp_path / "sub" / "metrics.json", {"counts": np.arange(3), "loss": np.float32(1.5)}
    )
    assert json.loads(path.read_text()) == {"counts": [0, 1, 2], "loss": 1.5}
    with pytest.raises(TypeError, match="object"):
        reporting.save_metrics(tmp_path / "bad.json", {"x": object()})


def test_glued_strings_render_without_quotes() -> None:
    from IPython.core.formatters import PlainTextFormatter

    recorded = {}

    import myst_nb

    original = myst_nb.glue

    def capture(name, value, display=True):
        recorded[name] = value

    myst_nb.glue = capture
    try:
        reporting.glue("number", "7.91")
    finally:
        myst_nb.glue = original
    assert PlainTextFormatter()(recorded["number"]) == "7.91"


def test_start_sets_up_a_notebook_in_one_call(tmp_path: Path, capsys, monkeypatch) -> None:
    import logging

    logger = logging.getLogger("vaegan_utils")  # restored afterwards: other tests log too
    monkeypatch.setattr(logger, "handlers", list(logger.handlers))
    monkeypatch.setattr(logger, "propagate", logger.propagate)
    monkeypatch.setattr(logger, "level", logger.level)
    out, results = reporting.start(tmp_path / "out", seed=3, quick=True, steps=10)
    first = np.random.rand()
    reporting.start(tmp_path / "out", seed=3, quick=True)
    assert np.random.rand() == first  # seeded: the same draw after the same seed
    assert out.is_dir() and results.path == out / "metrics.json"
    assert results["quick"] is True and results["steps"] == 10
    card = capsys.readouterr().out
    assert "seed 3" in card and f"run {results['run_id']}" in card
