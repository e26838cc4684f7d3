"""Showing things in a notebook: tables and the package's source code."""

from __future__ import annotations

from typing import Any

import numpy as np


def table_markdown(
    rows: list[dict[str, Any]],
    columns: list[str] | None = None,
    floatfmt: str = "{:.3g}",
) -> str:
    """``rows`` (one dict per row) as a GitHub-flavoured Markdown table, by ``tabulate``.

    The columns are ``columns`` or the first row's keys; floats (NumPy's too) are written
    with ``floatfmt`` (a ``str.format`` pattern), everything else as ``str``. Every row must
    have exactly these keys: a missing or an extra one is a ``ValueError``, so a table never
    drops a column.
    """
    from tabulate import tabulate

    if not rows:
        raise ValueError("rows is empty: pass at least one row")
    columns = list(rows[0]) if columns is None else list(columns)
    for index, row in enumerate(rows):
        missing = [c for c in columns if c not in row]
        extra = [key for key in row if key not in columns]
        if missing or extra:
            raise ValueError(
                f"row {index} has missing columns {missing} and extra columns {extra}; "
                f"give every row the columns {columns}"
            )

    def cell(value: Any) -> str:
        is_float = isinstance(value, float | np.floating)
        text = floatfmt.format(float(value)) if is_float else str(value)
        return text.replace("|", "\\|")

    cells = [[cell(row[c]) for c in columns] for row in rows]
    return tabulate(cells, headers=columns, tablefmt="github", disable_numparse=True)


def table(
    rows: list[dict[str, Any]], columns: list[str] | None = None, floatfmt: str = "{:.3g}"
) -> None:
    """Display :func:`table_markdown` of ``rows``; the book renders it as an HTML table
    (``nb_render_markdown_format: gfm``)."""
    from IPython.display import Markdown, display

    display(Markdown(table_markdown(rows, columns, floatfmt)))


def source(obj: Any) -> None:
    """Display the source of a function or class from ``vaegan_utils`` as a code block.

    Code that lives only in the package (loss terms, estimators) is shown in the notebooks this
    way, so there is one implementation and the reader still sees it.
    """
    import inspect

    from IPython.display import Markdown, display

    display(Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```"))
