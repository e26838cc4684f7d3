"""Read a chapter's parameters cell without running the chapter.

Maintainer tools and benchmarks need a chapter's settings (its output directory, the recipe a
benchmark compares against), not its code: the chapters' teaching code is imported from
``vaegan_utils``, generated from their cells (``tools/export.py``).

    >>> notebook_parameters(Path("notebooks/02_vae_mnist.py"))["batch_size"]
    100
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import jupytext

PARAMETERS_TAG = "parameters"


def notebook_parameters(py_path: str | Path) -> dict[str, Any]:
    """The values assigned in the notebook's ``parameters`` cell, as Python literals.

    Raises:
        ValueError: no cell is tagged ``parameters``, or it holds something other than
            assignments of literals to plain names.
    """
    py_path = Path(py_path)
    cell = _parameters_cell(py_path, jupytext.read(py_path).cells)
    return _literal_values(py_path, cell.source)


def _parameters_cell(py_path: Path, cells: list[Any]) -> Any:
    """The one code cell tagged ``parameters``."""
    tagged = [
        cell
        for cell in cells
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.metadata.get("tags", [])
    ]
    if len(tagged) != 1:
        raise ValueError(
            f"{py_path.name} has {len(tagged)} cells tagged {PARAMETERS_TAG!r}, expected one"
        )
    return tagged[0]


def _literal_values(py_path: Path, source: str) -> dict[str, Any]:
    """Evaluate a cell made only of ``name = <literal>`` lines; ``ValueError`` otherwise."""
    values: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if not _is_literal_assignment(node):
            raise ValueError(
                f"{py_path.name}: the parameters cell may hold only assignments of literals; "
                f"line {node.lineno} is {ast.unparse(node)!r}"
            )
        value = ast.literal_eval(node.value)  # type: ignore[attr-defined]
        for name in _assigned_names(node):
            values[name] = value
    return values


def _is_literal_assignment(node: ast.stmt) -> bool:
    """``name = <literal>`` (or annotated), with only plain names as targets."""
    if isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        targets, value = [node.target], node.value
    else:
        return False
    if not all(isinstance(target, ast.Name) for target in targets):
        return False
    try:
        ast.literal_eval(value)
    except ValueError:
        return False
    return True


def _assigned_names(node: ast.stmt) -> list[str]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore[attr-defined]
    return [target.id for target in targets]
