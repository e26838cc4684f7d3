"""Shared fixtures. Tests never touch the network: VAEGAN_OFFLINE is set for the whole session,
and notebook kernels started by the tests inherit it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["VAEGAN_OFFLINE"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
#: Figures the tests measured (e.g. the GAN explorer's rate), printed at the end of every run.
MEASURED: list[str] = []


def pytest_terminal_summary(terminalreporter) -> None:
    """Print what the tests measured, so that every log carries it."""
    if MEASURED:
        terminalreporter.section("measured")
        for line in MEASURED:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def mnist_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding a verified MNIST cache, built once from the offline source."""
    from vaegan_utils import data

    directory = tmp_path_factory.mktemp("mnist_cache")
    previous = os.environ.get("VAEGAN_DATA_DIR")
    os.environ["VAEGAN_DATA_DIR"] = str(directory)
    try:
        assert data.load_mnist(source="offline").source == "offline"
    finally:
        if previous is None:
            os.environ.pop("VAEGAN_DATA_DIR")
        else:
            os.environ["VAEGAN_DATA_DIR"] = previous
    assert (directory / "mnist.npz").exists()
    return directory


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data directory for one test."""
    directory = tmp_path / "data"
    monkeypatch.setenv("VAEGAN_DATA_DIR", str(directory))
    return directory


@pytest.fixture
def warm_data_dir(data_dir: Path, mnist_cache: Path) -> Path:
    """A data directory for one test, starting with a valid MNIST cache."""
    data_dir.mkdir(parents=True)
    for name in ("mnist.npz", "mnist.sha256"):
        shutil.copy(mnist_cache / name, data_dir / name)
    return data_dir


@pytest.fixture(scope="session")
def book_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book built once per test session with -W -n (warnings are errors); its HTML root.

    ``$VAEGAN_BOOK_HTML`` names an existing build's HTML root instead (to rerun the browser
    tests without rebuilding)."""
    if os.environ.get("VAEGAN_BOOK_HTML"):
        return Path(os.environ["VAEGAN_BOOK_HTML"])
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [
            str(jupyter_book),
            "build",
            str(ROOT),
            "-W",
            "-n",
            "--keep-going",
            "--path-output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return out / "_build" / "html"
