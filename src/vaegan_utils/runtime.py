"""Run-time plumbing shared by the notebooks: quiet logs, seeding, a run card, glue, output dirs."""

from __future__ import annotations

import json
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
    """This session's run id: eight hex digits, drawn once per Python process (kernel).

    Every model trained in the session, every log and metrics record it writes carry it, so a
    notebook's stored outputs can be tied to the run that produced them.
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


class Results:
    """A notebook's one record of results: the numbers its prose cites and its ``metrics.json``.

    ``results.add("grey.neg_elbo", value, "{:.1f}")`` stores ``value`` under ``grey`` →
    ``neg_elbo`` for ``metrics.json`` and glues the formatted text as ``grey.neg_elbo`` for the
    book's ``{glue:}`` role, so each number is written once. The record starts with the session's
    :func:`run_id`.
    """

    def __init__(self, path: str | os.PathLike[str], **values: Any):
        self.path = Path(path)
        self.values: dict[str, Any] = {"run_id": run_id()}
        for key, value in values.items():
            self.add(key, value, glue_it=False)

    def add(self, key: str, value: Any, fmt: str | None = None, glue_it: bool = True) -> None:
        """Record ``value`` under the dotted ``key``; glue it (as ``fmt.format(value)`` when a
        format is given) unless ``glue_it`` is false. Returns nothing, so that a cell ending in
        ``results.add(...)`` shows no output."""
        if not key or any(not part for part in key.split(".")):
            raise ValueError(f"key must be dot-separated names such as 'grey.kl', got {key!r}")
        *parents, leaf = key.split(".")
        node = self.values
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"{key!r}: {part!r} already holds a value, not a group")
        node[leaf] = value
        if glue_it:
            glue(key, fmt.format(value) if fmt else value)

    def __getitem__(self, key: str) -> Any:
        node: Any = self.values
        for part in key.split("."):
            node = node[part]
        return node

    def save(self) -> Path:
        """Write ``metrics.json``; returns its path."""
        return save_metrics(self.path, self.values)


def measurements(name: str) -> dict:
    """A stored benchmark result that ships with the package (``assets/NAME.json``), e.g. the
    candidates behind a chapter's settings: ``gan_recipe`` (03), ``vae_settings`` (02)."""
    from importlib import resources

    path = Path(str(resources.files("vaegan_utils") / "assets" / f"{name}.json"))
    if not path.exists():
        raise FileNotFoundError(f"no {path.name} in the package; measure it: benchmarks/{name}.py")
    return json.loads(path.read_text())


def show_table(rows: list[dict[str, Any]], floatfmt: str = "{:.3g}") -> None:
    """Display ``rows`` (one dict per row, the first row's keys as columns) as a Markdown table;
    the book renders it as an HTML table (``nb_render_markdown_format: gfm``)."""
    from IPython.display import Markdown, display

    if not rows:
        raise ValueError("rows is empty: pass at least one row")
    columns = list(rows[0])

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return floatfmt.format(value)
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    display(Markdown("\n".join(lines)))


def show_source(obj: Any) -> None:
    """Display the source of a function or class from ``vaegan_utils`` as a code block.

    The teaching code that lives in the package (loss terms, estimators) is shown in the
    notebooks this way, so there is one implementation and the reader still sees it.
    """
    import inspect

    from IPython.display import Markdown, display

    display(Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```"))
