"""Run-time plumbing shared by the notebooks: quiet logs, seeding, a run card, glue, output dirs."""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
from pathlib import Path
from typing import Any


def quiet_tensorflow() -> None:
    """Silence TensorFlow's Python and C++ start-up chatter (call before importing TensorFlow)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "2")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


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


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and the backend; optionally make TensorFlow ops deterministic.

    Op determinism costs little for the small models of this book on CPU; on a GPU some
    kernels have no deterministic version and raise, so pass ``deterministic=False`` there.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
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
    """One line naming Python, TensorFlow, Keras, the device and the seed of this run."""
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
    return " · ".join(parts)


class _Text:
    """A string whose text/plain representation is the string itself, without quotes."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def glue(name: str, value: Any, display: bool = False) -> None:
    """Record ``value`` under ``name`` for the book's ``{glue}`` roles.

    Uses ``myst_nb.glue`` when it is installed (the book build); elsewhere (Colab) it shows the
    value only if ``display`` is true, so the notebook runs the same without the book tool chain.
    """
    if isinstance(value, str):
        value = _Text(value)  # shown as is: a str's repr would wrap it in quotes in the book
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)


def output_dir(path: str | os.PathLike[str]) -> Path:
    """Create (if needed) and return a notebook's output directory."""
    directory = Path(path).expanduser()
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _to_json(value: Any) -> Any:
    if hasattr(value, "tolist"):  # NumPy scalars and arrays
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def save_metrics(path: str | os.PathLike[str], metrics: dict[str, Any]) -> Path:
    """Write a notebook's metrics as JSON (NumPy values converted); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(metrics, indent=2, sort_keys=True, default=_to_json) + "\n")
    return target


def show_source(obj: Any) -> None:
    """Display the source of a function or class from ``vaegan_utils`` as a code block.

    The teaching code that lives in the package (loss terms, estimators) is shown in the
    notebooks this way, so there is one implementation and the reader still sees it.
    """
    import inspect

    from IPython.display import Markdown, display

    display(Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```"))
