"""The book builds with -W -n (every warning an error) from the committed notebooks."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.book
def test_book_builds_without_warnings(book_html: Path) -> None:
    tour = (book_html / "notebooks" / "00_data_tour.html").read_text()
    assert "60,000" in tour  # a glued number reached the page
    assert "colab.research.google.com/github/vaegan-book/vaegan-book/blob/main/" in tour
    assert "Kingma" in (book_html / "book" / "bibliography.html").read_text()


@pytest.mark.book
def test_math_and_assets_are_shipped_with_the_build(book_html: Path) -> None:
    """MathJax comes with the book (SVG output, no web fonts); no page needs the network."""
    assert (book_html / "_static" / "mathjax" / "tex-svg.js").exists()
    for page in book_html.rglob("*.html"):
        html = page.read_text()
        assert "cdn.jsdelivr.net/npm/mathjax" not in html, page.name
        if 'class="math' in html:
            assert "_static/mathjax/tex-svg.js" in html, page.name
