"""The book builds with -W -n (every warning an error) from the committed notebooks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.book
def test_book_builds_without_warnings(tmp_path: Path) -> None:
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
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    html = tmp_path / "_build" / "html"
    tour = (html / "notebooks" / "00_data_tour.html").read_text()
    assert "60,000" in tour  # a glued number reached the page
    assert "colab.research.google.com/github/vaegan-book/vaegan-book/blob/main/" in tour
    assert "Kingma" in (html / "book" / "bibliography.html").read_text()
