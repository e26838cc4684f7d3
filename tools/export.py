"""Write the chapters' teaching code into the package, so that it has one source.

The models, losses and train steps are taught, and defined, in the chapters' code cells, where
a reader edits and reruns them. Later chapters, benchmarks and tests import the same code from
``vaegan_utils``. As d2l does with ``#@save``, a code cell whose first line is::

    # exported to vaegan_utils.gan

is copied, in notebook order and without that line, into the generated region of
``src/vaegan_utils/gan.py``: the lines between ``BEGIN`` and ``END`` below, which name the
chapter. The rest of the module is written by hand (its imports, the plumbing the cells use).

Command line (from the repository root)::

    python -m tools.export          # rewrite every generated region from the chapters
    python -m tools.export --check  # exit 1, naming the stale modules, if any region is stale

``make book``, ``make execute`` and ``make format`` write the regions; ``make lint``, the
pre-commit hook and ``tests/test_export.py`` fail when a module is stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

import jupytext

#: The first line of an exported cell.
MARKER = re.compile(r"^# exported to vaegan_utils\.(\w+)[ \t]*$")
BEGIN = "# ---- Generated from {notebook}: edit the chapter, not this code. ----"
END = "# ---- End of the code generated from {notebook}. ----"


def exported_cells(py_path: Path) -> dict[str, list[str]]:
    """``{module: [cell source without its marker, ...]}`` of one notebook, in notebook order."""
    cells: dict[str, list[str]] = defaultdict(list)
    for cell in jupytext.read(py_path).cells:
        if cell.cell_type != "code":
            continue
        first, _, rest = cell.source.partition("\n")
        match = MARKER.match(first)
        if match:
            cells[match.group(1)].append(rest.strip("\n"))
        elif any(MARKER.match(line.strip()) for line in cell.source.splitlines()):
            raise ValueError(
                f"{py_path.name}: the export marker must be a code cell's first line, "
                f"exactly '# exported to vaegan_utils.MODULE'"
            )
    return dict(cells)


def render(module_text: str, notebook: str, cells: list[str]) -> str:
    """``module_text`` with its region generated from ``notebook`` replaced by ``cells``."""
    begin, end = BEGIN.format(notebook=notebook), END.format(notebook=notebook)
    lines = module_text.splitlines()
    if lines.count(begin) != 1 or lines.count(end) != 1:
        raise ValueError(
            f"the module needs exactly one line '{begin}' and one '{end}' around the code "
            f"generated from {notebook}; add them where that code belongs"
        )
    start, stop = lines.index(begin), lines.index(end)
    if stop < start:
        raise ValueError(f"'{end}' comes before '{begin}'; swap them")
    body = ["# fmt: off", "", "", "\n\n\n".join(cells), "", "", "# fmt: on"]
    return "\n".join([*lines[: start + 1], *body, *lines[stop:]]) + "\n"


#: A region's first line, whatever chapter it names.
_ANY_BEGIN = re.compile(
    "^" + re.escape(BEGIN).replace(re.escape("{notebook}"), "(?P<notebook>.+?)") + "$", re.M
)


def expected_modules(root: Path) -> dict[Path, str]:
    """Every module that has generated code, with the text it should have now.

    Raises ``ValueError`` for a region whose chapter no longer exports to its module (a
    renamed chapter, or markers removed): its code would otherwise stay there, unchecked.
    """
    modules: dict[Path, str] = {}
    exports: set[tuple[Path, str]] = set()
    for py_path in sorted((root / "notebooks").glob("[0-9][0-9]_*.py")):
        notebook = py_path.relative_to(root).as_posix()
        for module, cells in exported_cells(py_path).items():
            path = root / "src" / "vaegan_utils" / f"{module}.py"
            if not path.exists():
                raise ValueError(f"{notebook} exports to vaegan_utils.{module}: no {path}")
            text = modules.get(path, path.read_text())
            modules[path] = render(text, notebook, cells)
            exports.add((path, notebook))
    for path in sorted((root / "src" / "vaegan_utils").glob("*.py")):
        for match in _ANY_BEGIN.finditer(path.read_text()):
            if (path, match["notebook"]) not in exports:
                raise ValueError(
                    f"{path.name} has code generated from {match['notebook']}, which no "
                    "longer exports to it: restore the chapter's export markers, or delete "
                    "the region"
                )
    return modules


def stale_modules(root: Path) -> list[Path]:
    """The modules whose generated code differs from their chapters' cells."""
    return [path for path, text in expected_modules(root).items() if path.read_text() != text]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m tools.export", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report stale modules")
    parser.add_argument("--root", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    try:
        return _export(args.root, args.check)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _export(root: Path, check: bool) -> int:
    if check:
        stale = stale_modules(root)
        for path in stale:
            print(f"{path.relative_to(root)} is stale: run python -m tools.export")
        return 1 if stale else 0
    for path, text in expected_modules(root).items():
        if path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
