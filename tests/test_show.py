"""vaegan_utils.show: tables that cannot drop a column."""

from __future__ import annotations

import numpy as np
import pytest

from vaegan_utils import show


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
