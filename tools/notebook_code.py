"""Take code out of a chapter without running the chapter.

A benchmark or a test that needs a class the book defines *in a notebook* (the teaching code
stays visible there, not in ``vaegan_utils``) should use that very definition, not a copy that
drifts. :func:`notebook_namespace` reads a Jupytext notebook and executes, in a fresh namespace,
only what defining the requested names needs:

- the cell tagged ``parameters`` (it may hold only assignments of literals);
- every import statement of every code cell (from a cell that also does other work, such as the
  set-up cell that seeds and prints a run card, only its imports);
- each cell that defines a requested function or class at top level, and each cell that defines
  a name such a definition uses (found in the AST, repeated until nothing new is needed).

A cell that defines a requested name is executed only if it is made of nothing but imports,
assignments of literals, function and class definitions (and docstrings): cells that load data,
train or plot are never run. If a requested name is defined only in such a cell, a ``ValueError``
says so. Names the definitions look up at call time that the notebook computes (its data, its
output directory) are not in the namespace; the caller puts them there if it calls such code.

Each executed cell's source is registered in :mod:`linecache` under a made-up file name, as
IPython does, so that ``inspect.getsource`` works on the functions and methods it defines (on a
class itself it fails, as it does for a class defined in a notebook kernel).

    >>> ns = notebook_namespace(Path("notebooks/02_vae_mnist.py"), ["VAE"])
    >>> model = ns["VAE"](2, ns["hidden"])
"""

from __future__ import annotations

import ast
import linecache
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jupytext

PARAMETERS_TAG = "parameters"
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_IMPORTS = (ast.Import, ast.ImportFrom)


def notebook_parameters(py_path: str | Path) -> dict[str, Any]:
    """The values assigned in the notebook's ``parameters`` cell, as Python literals.

    Raises:
        ValueError: no cell is tagged ``parameters``, or it holds something other than
            assignments of literals to plain names.
    """
    py_path = Path(py_path)
    _, cell = _parameters_cell(py_path, jupytext.read(py_path).cells)
    return _literal_values(py_path, cell.source)


def notebook_namespace(py_path: str | Path, names: Iterable[str]) -> dict[str, Any]:
    """Execute the parameters, the imports and the definitions of ``names`` from a notebook.

    Args:
        py_path: the notebook (``.py`` in Jupytext's percent format, or ``.ipynb``).
        names: functions or classes the notebook defines at the top level of a code cell (one
            name may be given as a string).

    Returns:
        The namespace the selected code ran in: the parameters, the imported modules, the
        requested definitions and whatever else the executed cells define. Change a parameter
        in it (``ns["seed"] = 1``) and the definitions see the new value when they run.

    Raises:
        ValueError: a requested name is not defined in any code cell, or only in a cell that
            does more than define things; or the parameters cell is not made of literals.
    """
    py_path = Path(py_path)
    wanted = [names] if isinstance(names, str) else list(dict.fromkeys(names))
    if not wanted:
        raise ValueError("names must list at least one function or class to take from the notebook")
    notebook = jupytext.read(py_path)
    parameters_index, parameters = _parameters_cell(py_path, notebook.cells)
    _literal_values(py_path, parameters.source)  # raises unless it is literals only
    cells = []  # (index in the notebook, cell, parsed statements) of the code cells that parse
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics or shell escapes: not plain Python, never run
            continue
        cells.append((index, cell, tree.body))
    pure = {index for index, _, body in cells if all(map(_is_definition_only, body))}

    defined_in: dict[str, list[int]] = {}  # top-level name -> cells that define it
    for index, _, body in cells:
        for node in body:
            if isinstance(node, _DEFINITIONS):
                defined_in.setdefault(node.name, []).append(index)
            elif _is_literal_assignment(node):
                for name in _assigned_names(node):
                    defined_in.setdefault(name, []).append(index)

    missing = [name for name in wanted if name not in defined_in]
    if missing:
        raise ValueError(f"{py_path.name} defines no {', '.join(map(repr, missing))} at top level")
    selected: set[int] = set()
    for name in wanted:
        runnable = [index for index in defined_in[name] if index in pure]
        if not runnable:
            raise ValueError(
                f"{py_path.name}: {name!r} is defined only in cell "
                f"{', '.join(map(str, defined_in[name]))} (counting every cell from 0), which "
                "also runs code (loads data, trains or plots); move the definition to its own cell"
            )
        selected.update(runnable)

    # Pull in the (pure) cells that define names the selected definitions use, until none is new.
    bodies = {index: body for index, _, body in cells}
    frontier = set(selected)
    while frontier:
        used = set().union(*(_names_used(bodies[index]) for index in frontier))
        needed = {index for name in used for index in defined_in.get(name, []) if index in pure}
        frontier = needed - selected
        selected |= frontier

    namespace: dict[str, Any] = {"__name__": f"notebook_{py_path.stem}"}
    for index, cell, body in cells:
        if index == parameters_index or index in selected:
            statements = body
        else:
            statements = [node for node in body if isinstance(node, _IMPORTS)]
        if statements:
            _execute(cell.source, statements, f"<notebook {py_path.name} cell {index}>", namespace)
    return namespace


def _parameters_cell(py_path: Path, cells: list[Any]) -> tuple[int, Any]:
    """The position and the cell of the one code cell tagged ``parameters``."""
    tagged = [
        (index, cell)
        for index, cell in enumerate(cells)
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


def _execute(source: str, statements: list[ast.stmt], filename: str, namespace: dict) -> None:
    """Run ``statements`` (parsed from ``source``) so that tracebacks and ``inspect`` find them."""
    lines = source.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    # mtime None: linecache.checkcache keeps the entry (it has no file to compare with).
    linecache.cache[filename] = (len(source), None, lines, filename)
    module = ast.Module(body=statements, type_ignores=[])  # line numbers are the cell's own
    exec(compile(module, filename, "exec"), namespace)


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


def _is_definition_only(node: ast.stmt) -> bool:
    """An import, a definition, an assignment of a literal, a docstring or ``pass``."""
    docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    return (
        isinstance(node, _IMPORTS + _DEFINITIONS + (ast.Pass,))
        or _is_literal_assignment(node)
        or docstring
    )


def _names_used(body: list[ast.stmt]) -> set[str]:
    """Every name read anywhere in ``body`` (a superset of the free names: cheap and safe)."""
    return {
        node.id
        for statement in body
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
