"""vaegan_utils.runtime: seeding, the run card, logging, the output directory."""

from __future__ import annotations

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


def test_output_dir_is_created(tmp_path: Path) -> None:
    directory = runtime.output_dir(tmp_path / "a" / "b")
    assert directory.is_dir()


def test_configure_logging_shows_ours_once_and_hides_tensorflow_warnings(capsys) -> None:
    import logging

    runtime.configure_logging()
    runtime.configure_logging()  # a second call adds no second handler
    logging.getLogger("vaegan_utils.data").info("hello")
    assert capsys.readouterr().out == "[vaegan_utils.data] hello\n"
    assert not logging.getLogger("tensorflow").isEnabledFor(logging.WARNING)
    assert logging.getLogger("tensorflow").isEnabledFor(logging.ERROR)
