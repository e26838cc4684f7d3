"""Maintainer tooling for the book's notebooks: listing, pairing checks and execution.

Command line (from the repository root)::

    python -m tools.notebooks sync      # bring each .ipynb up to date with its .py: prose-only
                                        # edits are copied over (outputs kept); code edits
                                        # re-execute the notebook from scratch at full settings
    python -m tools.notebooks execute   # re-execute every notebook from scratch at full settings
    python -m tools.notebooks check     # report pairing drift, unclean runs, foreign run ids
    python -m tools.notebooks lint      # report code-cell lines longer than 88 characters,
                                        # results recorded in view, cells over 40 lines

The ``.py`` file (Jupytext ``py:percent``) is the source of truth; the ``.ipynb`` beside it holds
the outputs of one full run from scratch (its output directory emptied first, so every model is
trained in that run), for Colab and for the rendered book. The run's id (printed by the run card,
carried by every training line and the metrics line) ties the outputs to that run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import yaml

KERNEL_NAME = "python3"
#: IPython kernel setting that keeps C++ log lines (TensorFlow's start-up) out of cell outputs.
_KERNEL_CONFIG = "c.IPKernelApp.capture_fd_output = False\n"


def repo_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` (default: cwd) that holds ``_toc.yml``."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "_toc.yml").exists():
            return directory
    raise FileNotFoundError(f"no _toc.yml at or above {here}; run from the book's repository")


def toc_notebooks(root: Path) -> list[Path]:
    """The ``.py`` sources of the notebooks listed in ``_toc.yml``, in book order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("file"), str):
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return [root / f"{Path(f).with_suffix('')}.py" for f in files if f.startswith("notebooks/")]


#: The set-up cell's line naming the commit Colab installs the package from: "main" in the
#: ``.py``, the commit of the executed run in the ``.ipynb`` (:func:`execute` writes it).
PACKAGE_REF = re.compile(r'^PACKAGE_REF = "[^"\n]*"', re.M)


def _unpinned(source: str) -> str:
    return PACKAGE_REF.sub('PACKAGE_REF = "main"', source)


def cell_sources(path: Path) -> list[tuple[str, str]]:
    """``(cell_type, source)`` for every cell of a ``.py`` or ``.ipynb`` notebook (the package
    commit the set-up cell names read as "main", so that a pinned ``.ipynb`` pairs)."""
    notebook = jupytext.read(path)
    return [(cell.cell_type, _unpinned(cell.source).strip()) for cell in notebook.cells]


def source_commit(root: Path, py_path: Path) -> str | None:
    """HEAD's commit when the package and ``py_path`` have no uncommitted changes there (the
    commit a run of ``py_path`` executes), else None."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    if git("status", "--porcelain", "--", "src", str(py_path.resolve())):
        return None
    head = git("rev-parse", "HEAD")
    return head if re.fullmatch(r"[0-9a-f]{40}", head) else None


def unchanged_since(root: Path, py_path: Path, commit: str) -> bool:
    """Whether the package and ``py_path`` in the working tree are as at ``commit``."""
    import subprocess

    paths = ["src", str(py_path.resolve())]
    diff = ["git", "-C", str(root), "diff", "--quiet", commit, "--", *paths]
    return subprocess.run(diff, check=False).returncode == 0


def pin_package(notebook: nbformat.NotebookNode, commit: str) -> None:
    """Write ``commit`` into the set-up cell's ``PACKAGE_REF`` line (Colab installs from it)."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = PACKAGE_REF.sub(f'PACKAGE_REF = "{commit}"', cell.source)


def pairing_problems(py_path: Path) -> list[str]:
    """Why ``py_path`` and its ``.ipynb`` are not the same notebook (empty list: they are)."""
    ipynb_path = py_path.with_suffix(".ipynb")
    if not ipynb_path.exists():
        return [f"{ipynb_path.name} is missing"]
    source, stored = cell_sources(py_path), cell_sources(ipynb_path)
    if len(source) != len(stored):
        return [f"{py_path.name} has {len(source)} cells, {ipynb_path.name} has {len(stored)}"]
    tags = [
        [cell.metadata.get("tags", []) for cell in jupytext.read(path).cells]
        for path in (py_path, ipynb_path)
    ]
    return [
        f"cell {index} differs between {py_path.name} and {ipynb_path.name}"
        for index, (a, b) in enumerate(zip(source, stored, strict=True))
        if a != b
    ] + [
        f"cell {index}'s tags differ between {py_path.name} and {ipynb_path.name}"
        for index, (a, b) in enumerate(zip(*tags, strict=True))
        if a != b
    ]


#: The longest code line a rendered code cell shows without a sideways scroll (~90 characters
#: at a 1,280-pixel window); ruff formats the chapters' code to it (notebooks/ruff.toml).
CODE_LINE_LIMIT = 88


def long_code_lines(py_path: Path, limit: int = CODE_LINE_LIMIT) -> list[str]:
    """``"NAME cell N line M: L characters"`` for each code-cell line longer than ``limit``
    (comments and strings included; Markdown cells are prose and wrap in the book)."""
    problems = []
    for index, (kind, source) in enumerate(cell_sources(py_path)):
        if kind != "code":
            continue
        for number, line in enumerate(source.splitlines(), start=1):
            if len(line) > limit:
                problems.append(
                    f"{py_path.name} cell {index} line {number}: {len(line)} characters "
                    f"(at most {limit})"
                )
    return problems


#: The tag that keeps a cell out of the rendered book (it still runs, and its glued values
#: still reach the prose): the bookkeeping cells that record results.
HIDDEN_TAG = "remove-cell"
#: The longest code cell a reader meets, in lines; one definition (a function or class the
#: chapter teaches) may be longer.
CELL_LINE_LIMIT = 40
_RECORD = re.compile(r"^\s*results\.add\(", re.M)


def _one_definition(source: str) -> bool:
    """Whether ``source`` is a single function or class definition (comments aside)."""
    import ast

    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return len(body) == 1 and isinstance(body[0], ast.FunctionDef | ast.ClassDef)


def cell_problems(py_path: Path) -> list[str]:
    """Cells a reader should not meet: a visible code cell that records results
    (``results.add``: move it to a cell tagged ``remove-cell``), and a code cell longer than
    ``CELL_LINE_LIMIT`` lines that is not one definition (split it)."""
    problems = []
    for index, cell in enumerate(jupytext.read(py_path).cells):
        if cell.cell_type != "code":
            continue
        hidden = HIDDEN_TAG in cell.metadata.get("tags", [])
        if not hidden and _RECORD.search(cell.source):
            problems.append(
                f"{py_path.name} cell {index}: records results in view; move the "
                f"results.add calls to a cell tagged {HIDDEN_TAG}"
            )
        lines = len(cell.source.strip().splitlines())
        if not hidden and lines > CELL_LINE_LIMIT and not _one_definition(cell.source):
            problems.append(
                f"{py_path.name} cell {index}: {lines} lines (at most {CELL_LINE_LIMIT} "
                "unless it is one definition); split it"
            )
    return problems


def execution_problems(ipynb_path: Path) -> list[str]:
    """Why a committed ``.ipynb`` is not a clean top-to-bottom run (empty list: it is)."""
    notebook = nbformat.read(ipynb_path, as_version=4)
    problems = []
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    counts = [cell.get("execution_count") for cell in code_cells]
    if counts != list(range(1, len(code_cells) + 1)):
        problems.append(
            f"{ipynb_path.name}: execution counts {counts} are not 1..{len(code_cells)}"
        )
    for index, cell in enumerate(code_cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(
                    f"{ipynb_path.name}: code cell {index} raised {output.get('ename')}"
                )
            if output.get("name") == "stderr":
                problems.append(f"{ipynb_path.name}: code cell {index} wrote to stderr")
    return problems


#: A run id as printed by the run card and the training and metrics lines: "run 1a2b3c4d".
RUN_ID = re.compile(r"\brun ([0-9a-f]{8})\b")
#: how a page declares the run it measures without training it (a lab loading its lesson's run)
UPSTREAM = re.compile(r"\bupstream run ([0-9a-f]{8})\b")
#: What a reused model prints (``training.fit_or_load``): a committed run must not show it.
REUSED = "reused the weights"


def _text_outputs(notebook: nbformat.NotebookNode) -> list[str]:
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                texts.append(output["text"])
            texts.extend(
                value
                for mime, value in output.get("data", {}).items()
                if mime in ("text/plain", "text/markdown")
            )
    return texts


def run_problems(ipynb_path: Path) -> list[str]:
    """Why a committed ``.ipynb`` is not one from-scratch run (empty list: it is).

    Its run card names a run id; every run id in its outputs must be that one (training lines,
    the metrics line) or one it declares as its source with "upstream run <id>" (see
    :func:`upstream_runs`), at least one line besides the run card must carry its own id, and no
    model may have been reused from an earlier run.
    """
    texts = _text_outputs(nbformat.read(ipynb_path, as_version=4))
    ids = [match for text in texts for match in RUN_ID.findall(text)]
    problems = []
    if not ids:
        return [f"{ipynb_path.name}: no run id in its outputs (the run card prints one)"]
    declared = {match for text in texts for match in UPSTREAM.findall(text)}
    foreign = sorted(set(ids) - {ids[0]} - declared)
    if foreign:
        problems.append(f"{ipynb_path.name}: outputs of run {ids[0]} mix in runs {foreign}")
    if ids.count(ids[0]) < 2:
        problems.append(
            f"{ipynb_path.name}: only the run card names run {ids[0]}; "
            "its metrics line must carry it too"
        )
    if any(REUSED in text for text in texts):
        problems.append(f"{ipynb_path.name}: shows a model reused from an earlier run")
    return problems


def upstream_runs(ipynb_path: Path) -> set[str]:
    """The run ids a committed ``.ipynb`` declares as its source ("upstream run <id>"): runs of
    another notebook whose saved model this one measures instead of training its own."""
    texts = _text_outputs(nbformat.read(ipynb_path, as_version=4))
    return {match for text in texts for match in UPSTREAM.findall(text)}


def run_card_id(ipynb_path: Path) -> str | None:
    """The run id a committed ``.ipynb``'s run card names (its first run id), or None."""
    texts = _text_outputs(nbformat.read(ipynb_path, as_version=4))
    ids = [match for text in texts for match in RUN_ID.findall(text)]
    return ids[0] if ids else None


def output_directory(py_path: Path, parameters: dict[str, Any] | None = None) -> Path | None:
    """The notebook's ``output_dir``: from ``parameters`` or its parameters cell's default."""
    from tools.notebook_code import notebook_parameters

    value = (parameters or {}).get("output_dir", notebook_parameters(py_path).get("output_dir"))
    return None if value is None else Path(value)


def kernel_environment() -> dict[str, str]:
    """Environment for notebook kernels: an IPython profile that keeps fd-level stderr out,
    and no progress bars."""
    ipython_dir = Path(tempfile.gettempdir()) / "vaegan_utils_ipython"
    profile = ipython_dir / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(_KERNEL_CONFIG)
    # Stored notebooks hold results, not progress bars.
    return {"IPYTHONDIR": str(ipython_dir), "VAEGAN_PROGRESS": "0"}


def execute(
    py_path: Path,
    output_path: Path | None,
    parameters: dict[str, Any] | None = None,
    cwd: Path | None = None,
    progress: bool = False,
    fresh: bool = False,
) -> nbformat.NotebookNode:
    """Execute the notebook ``py_path`` with papermill; write it to ``output_path`` if given.

    ``fresh`` empties the notebook's output directory first, so that every model is trained in
    this run. Raises papermill's ``PapermillExecutionError`` when a cell fails.
    """
    import papermill

    if fresh:
        directory = output_directory(py_path, parameters)
        if directory is None:
            raise ValueError(f"{py_path.name} has no output_dir parameter to empty")
        shutil.rmtree((cwd or Path.cwd()) / directory, ignore_errors=True)

    # the commit this run executes, read before it starts (None with uncommitted changes)
    commit = source_commit(repo_root(py_path.parent), py_path) if output_path else None
    notebook = jupytext.read(py_path)
    notebook.metadata["kernelspec"] = {
        "name": KERNEL_NAME,
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    os.environ.update(kernel_environment())
    executed = papermill.execute_notebook(
        notebook,
        None,
        parameters=parameters or {},
        kernel_name=KERNEL_NAME,
        cwd=str(cwd) if cwd else None,
        progress_bar=progress,
        log_output=False,
    )
    for cell in executed.cells:  # per-cell timings only make diffs noisy
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    if output_path is not None:
        if commit and unchanged_since(repo_root(py_path.parent), py_path, commit):
            # Colab installs the package this run executed
            pin_package(executed, commit)
        nbformat.write(executed, output_path)
    return executed


def copy_prose(py_path: Path) -> bool:
    """Copy the Markdown cells and the cell tags of ``py_path`` into its ``.ipynb`` when only
    they changed (outputs kept); False when code cells differ too (the notebook must be
    re-executed)."""
    ipynb_path = py_path.with_suffix(".ipynb")
    if not ipynb_path.exists():
        return False
    source = jupytext.read(py_path)
    stored = nbformat.read(ipynb_path, as_version=4)
    if [c.cell_type for c in source.cells] != [c.cell_type for c in stored.cells]:
        return False
    pairs = list(zip(source.cells, stored.cells, strict=True))
    if any(
        _unpinned(a.source).strip() != _unpinned(b.source).strip()
        for a, b in pairs
        if a.cell_type == "code"
    ):
        return False
    for a, b in pairs:
        if a.cell_type == "markdown":
            b.source = a.source
        tags = a.metadata.get("tags")  # e.g. remove-cell: what the book shows
        if tags:
            b.metadata["tags"] = tags
        else:
            b.metadata.pop("tags", None)
    nbformat.write(stored, ipynb_path)
    return True


def _run(paths: list[Path], root: Path) -> int:
    for path in paths:
        start = time.perf_counter()
        print(f"executing {path.relative_to(root)} from scratch at full settings …", flush=True)
        execute(path, path.with_suffix(".ipynb"), cwd=root, progress=True, fresh=True)
        print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.notebooks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=("sync", "execute", "check", "lint"))
    parser.add_argument("names", nargs="*", help="notebook names (e.g. 00_data_tour); default all")
    args = parser.parse_args(argv)
    root = repo_root()
    paths = toc_notebooks(root)
    if args.names:
        unknown = set(args.names) - {path.stem for path in paths}
        if unknown:
            parser.error(f"not in _toc.yml: {', '.join(sorted(unknown))}")
        paths = [path for path in paths if path.stem in args.names]
    if args.command == "execute":
        return _run(paths, root)
    if args.command == "lint":
        long_lines = [problem for path in paths for problem in long_code_lines(path)]
        print("\n".join(long_lines) or f"every code line within {CODE_LINE_LIMIT} characters")
        cells = [problem for path in paths for problem in cell_problems(path)]
        print("\n".join(cells) or "no results recorded in view, no overlong cells")
        return 1 if long_lines or cells else 0
    if args.command == "sync":
        stale = []
        for path in paths:
            if not pairing_problems(path) and not execution_problems(path.with_suffix(".ipynb")):
                continue
            if not execution_problems(path.with_suffix(".ipynb")) and copy_prose(path):
                print(f"{path.name}: prose updated, outputs kept")
            else:
                stale.append(path)
        if not stale:
            print("all notebooks are in sync with their committed outputs")
        return _run(stale, root)
    problems = [p for path in paths for p in pairing_problems(path)]
    problems += [
        p
        for path in paths
        if path.with_suffix(".ipynb").exists()
        for p in execution_problems(path.with_suffix(".ipynb"))
        + run_problems(path.with_suffix(".ipynb"))
    ]
    print("\n".join(problems) or "all notebooks paired and cleanly executed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
