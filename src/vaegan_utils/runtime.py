"""A notebook's run-time set-up: quiet logs, seeding, the run id and its card, the output
directory."""

from __future__ import annotations

import logging
import os
import platform
import sys
import uuid
from pathlib import Path
from typing import Any


def configure_logging(level: int = logging.INFO) -> None:
    """Show this package's log lines (data sources, checkpoints) on stdout, one line each, and
    only TensorFlow's errors (not, e.g., its notes on retracing when many models are built)."""
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logger = logging.getLogger("vaegan_utils")
    if not any(getattr(handler, "_vaegan", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
        handler._vaegan = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


_RUN_ID = uuid.uuid4().hex[:8]


def run_id() -> str:
    """This notebook run's id: eight hex digits, drawn once per Python process (kernel).

    The run card prints it, the weights trained in the run record it (``trained_in``), the
    training log lines and ``metrics.json`` carry it, so a notebook's stored outputs can be tied
    to the run that produced them.
    """
    return _RUN_ID


def set_seed(seed: int, deterministic: bool | None = None) -> None:
    """Seed Python, NumPy and the backend; make TensorFlow's ops deterministic where they can be.

    ``deterministic=None`` (the default) asks for op determinism on a CPU only: on a GPU some
    kernels have no deterministic version and raise at run time, so there the run goes on
    without it and says so in one line. ``True`` or ``False`` decide explicitly.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic is None:
        deterministic = not tf.config.list_physical_devices("GPU")
        if not deterministic:
            print(
                "GPU: op determinism is off (some GPU kernels have no deterministic version); "
                "reruns may differ in the last digits."
            )
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def device_name() -> str:
    """``"GPU (name)"`` for the first visible GPU, else ``"CPU (n cores)"``."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU ({details.get('device_name', gpus[0].name)})"
    return f"CPU ({os.cpu_count()} cores)"


def run_card(seed: int | None = None, **extra: Any) -> str:
    """One line naming Python, TensorFlow, Keras, the device, the seed and the run id."""
    import keras
    import tensorflow as tf

    parts = [
        f"Python {platform.python_version()}",
        f"TensorFlow {tf.__version__}",
        f"Keras {keras.__version__}",
        device_name(),
    ]
    if seed is not None:
        parts.append(f"seed {seed}")
    parts += [f"{key} {value}" for key, value in extra.items()]
    parts.append(f"run {run_id()}")
    return " · ".join(parts)


def output_dir(path: str | os.PathLike[str]) -> Path:
    """Create (if needed) and return a notebook's output directory."""
    directory = Path(path).expanduser()
    directory.mkdir(parents=True, exist_ok=True)
    return directory
