"""tools/notebook_code.py: a class taken out of a chapter without running the chapter."""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
VAE_NOTEBOOK = ROOT / "notebooks" / "02_vae_mnist.py"


def _notebook_code():
    spec = importlib.util.spec_from_file_location(
        "notebook_code", ROOT / "tools" / "notebook_code.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def namespace() -> dict:
    return _notebook_code().notebook_namespace(VAE_NOTEBOOK, ["VAE"])


def test_vae_class_builds_and_runs_a_forward_pass(namespace: dict) -> None:
    model = namespace["VAE"](2, tuple(namespace["hidden"]))
    images = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)
    logits, mean, log_var = model(images)
    assert tuple(logits.shape) == (2, 28, 28)
    assert tuple(mean.shape) == tuple(log_var.shape) == (2, 2)
    assert np.all(np.isfinite(np.asarray(logits)))


def test_methods_have_their_source(namespace: dict) -> None:
    source = inspect.getsource(namespace["VAE"].train_step)
    assert source.lstrip().startswith("def train_step(self")
    assert "GradientTape" in source


def test_only_definitions_run(namespace: dict) -> None:
    assert namespace["seed"] == _notebook_code().notebook_parameters(VAE_NOTEBOOK)["seed"]
    for computed in ("grey", "out", "vae_2d", "metrics"):  # data, output dir, training, results
        assert computed not in namespace


SMALL_NOTEBOOK = """\
# %% tags=["parameters"]
scale = 2

# %%
import math

print("set-up that must not run")

# %%
def helper(x):
    return scale * math.sqrt(x)


def wanted(x):
    return helper(x) + 1

# %%
data = [wanted(4.0)]


def defined_beside_work(x):
    return x
"""


def test_pulls_in_what_a_definition_uses_and_nothing_else(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "small.py"
    path.write_text(SMALL_NOTEBOOK)
    namespace = _notebook_code().notebook_namespace(path, ["wanted"])
    assert namespace["wanted"](9.0) == 7.0  # helper, the import and the parameter came along
    assert "data" not in namespace
    assert capsys.readouterr().out == ""  # the set-up cell's print did not run


def test_refuses_names_it_cannot_take(tmp_path: Path) -> None:
    path = tmp_path / "small.py"
    path.write_text(SMALL_NOTEBOOK)
    notebook_code = _notebook_code()
    with pytest.raises(ValueError, match="defines no 'no_such_name'"):
        notebook_code.notebook_namespace(path, ["no_such_name"])
    with pytest.raises(ValueError, match="also runs code"):
        notebook_code.notebook_namespace(path, ["defined_beside_work"])
