"""vaegan_utils.runtime: seeding, run card, metrics files, glue."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vaegan_utils import runtime


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


def test_not_in_colab() -> None:
    assert runtime.in_colab() is False


def test_save_metrics_converts_numpy(tmp_path: Path) -> None:
    path = runtime.save_metrics(
        tmp_path / "sub" / "metrics.json", {"counts": np.arange(3), "loss": np.float32(1.5)}
    )
    assert json.loads(path.read_text()) == {"counts": [0, 1, 2], "loss": 1.5}
    with pytest.raises(TypeError, match="object"):
        runtime.save_metrics(tmp_path / "bad.json", {"x": object()})


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
        runtime.glue("number", "7.91")
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
