"""vaegan_utils.runtime: seeding, run card, metrics files, glue."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vaegan_utils import assets, reporting, runtime, show


def test_set_seed_makes_draws_repeat() -> None:
    import keras

    def draw() -> tuple[np.ndarray, np.ndarray]:
        runtime.set_seed(7, deterministic=False)
        return np.random.rand(3), keras.ops.convert_to_numpy(keras.random.normal((3,)))

    first, second = draw(), draw()
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    runtime.set_seed(8, deterministic=False)
    assert not np.array_equal(first[0], np.random.rand(3))


@pytest.mark.parametrize("seed", [-1, 1.5, "0"])
def test_set_seed_rejects_bad_seeds(seed) -> None:
    with pytest.raises(ValueError, match="seed"):
        runtime.set_seed(seed)


def test_run_card_names_versions_device_and_seed() -> None:
    import keras
    import tensorflow as tf

    card = runtime.run_card(seed=3, quick=True)
    assert f"TensorFlow {tf.__version__}" in card and f"Keras {keras.__version__}" in card
    assert "CPU" in card or "GPU" in card
    assert "seed 3" in card and "quick True" in card
    assert card.endswith(f"run {runtime.run_id()}")


def test_set_seed_asks_for_op_determinism_only_on_a_cpu(monkeypatch) -> None:
    import tensorflow as tf

    calls = []
    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism", lambda: calls.append(1))
    runtime.set_seed(0)  # this machine has no GPU
    assert calls == [1]
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["GPU:0"])
    runtime.set_seed(0)  # a GPU: no determinism, a note instead, and no error
    assert calls == [1]
    runtime.set_seed(0, deterministic=True)
    assert calls == [1, 1]


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


def test_show_table_renders_a_gfm_table(monkeypatch) -> None:
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj.data))
    show.table([{"setting": "a|b", "score": 5.126}, {"setting": "c", "score": 2}])
    assert shown == [
        "| setting   | score   |\n|-----------|---------|\n| a\\|b      | 5.13    |\n"
        "| c         | 2       |"
    ]
    with pytest.raises(ValueError, match="rows"):
        show.table([])


def test_a_table_never_drops_a_column() -> None:
    """A row without a column of the first row, or with one the others lack, is an error
    (chapter 04's table once lost the columns its first row did not have)."""
    rows = [{"arm": "baseline", "share": "1.0"}, {"arm": "rule", "share": "2.0", "verdict": "x"}]
    with pytest.raises(ValueError, match=r"row 1 has missing columns \[\] and extra.*verdict"):
        show.table_markdown(rows)
    with pytest.raises(ValueError, match=r"row 0 has missing columns \['verdict'\]"):
        show.table_markdown(rows, columns=["arm", "share", "verdict"])
    rows[0]["verdict"] = "—"
    assert "verdict" in show.table_markdown(rows).splitlines()[0]


def test_table_cells_are_not_reparsed_as_numbers() -> None:
    """Formatted strings such as "+0.50" stay as written (tabulate would print 0.5)."""
    text = show.table_markdown([{"change": "+0.50", "x": 0.123456, "y": np.float32(89.20156)}])
    assert "+0.50" in text and "0.123" in text and "0.123456" not in text
    assert "89.2" in text and "89.20156" not in text  # NumPy floats are formatted too


def test_save_metrics_converts_numpy(tmp_path: Path) -> None:
    path = reporting.save_metrics(
        tmp_path / "sub" / "metrics.json", {"counts": np.arange(3), "loss": np.float32(1.5)}
    )
    assert json.loads(path.read_text()) == {"counts": [0, 1, 2], "loss": 1.5}
    with pytest.raises(TypeError, match="object"):
        reporting.save_metrics(tmp_path / "bad.json", {"x": object()})


def test_output_dir_is_created(tmp_path: Path) -> None:
    directory = runtime.output_dir(tmp_path / "a" / "b")
    assert directory.is_dir()


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


def test_configure_logging_shows_ours_once_and_hides_tensorflow_warnings(capsys) -> None:
    import logging

    runtime.configure_logging()
    runtime.configure_logging()  # a second call adds no second handler
    logging.getLogger("vaegan_utils.data").info("hello")
    assert capsys.readouterr().out == "[vaegan_utils.data] hello\n"
    assert not logging.getLogger("tensorflow").isEnabledFor(logging.WARNING)
    assert logging.getLogger("tensorflow").isEnabledFor(logging.ERROR)


def test_measurements_reads_a_shipped_benchmark_and_names_the_fix(tmp_path) -> None:
    recipe = assets.measurements("gan_recipe")
    assert recipe["rows"] and len(recipe["seeds"]) >= 3 and "machine" in recipe
    with pytest.raises(FileNotFoundError, match="benchmarks/nothing.py"):
        assets.measurements("nothing")
