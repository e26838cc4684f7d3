"""The maintainer tooling around the tests: the Chromium guard of `make test`, the pre-commit
hooks and the chapters' line-length check."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import yaml

from tools import notebooks

ROOT = Path(__file__).resolve().parents[1]


def _guard(tmp_path: Path, uid: str, **env: str) -> subprocess.CompletedProcess:
    """Run tools/chromium.sh with a PATH that has no chromium and an ``id`` that says ``uid``
    (and no apt-get): the situation of a fresh machine without root."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (bin_dir / "id").chmod(0o755)
    return subprocess.run(
        [shutil.which("bash"), str(ROOT / "tools" / "chromium.sh")],
        env={"PATH": str(bin_dir), **env},  # only the fake id: no chromium, no apt-get
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_make_test_stops_at_once_without_chromium_or_a_way_to_install_it(tmp_path) -> None:
    done = _guard(tmp_path, uid="1000")
    assert done.returncode == 1
    assert "apt-get install chromium" in done.stderr and "not browser" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1  # one line, the instruction


def test_as_root_with_apt_get_the_guard_installs_chromium(tmp_path) -> None:
    """Root with apt-get (CI, a fresh Debian machine): it installs Debian's chromium."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "apt-calls"
    # A stand-in apt-get: records its arguments, and 'install' puts a chromium on the PATH.
    (bin_dir / "apt-get").write_text(
        f'#!/bin/sh\necho "$@" >> {calls}\n'
        f'case "$*" in *install*) printf "#!/bin/sh\\n" > {bin_dir}/chromium; '
        f"chmod +x {bin_dir}/chromium;; esac\n"
    )
    (bin_dir / "apt-get").chmod(0o755)
    (bin_dir / "chmod").symlink_to(shutil.which("chmod"))
    done = _guard(tmp_path, uid="0")
    assert done.returncode == 0, done.stderr
    assert calls.read_text().split("\n")[:2] == ["update -qq", "install -y -qq chromium"]


def test_the_chromium_guard_accepts_a_given_browser(tmp_path) -> None:
    """Control: with $CHROMIUM set, nothing is installed and nothing stops."""
    done = _guard(tmp_path, uid="1000", CHROMIUM="/opt/chrome/chrome")
    assert done.returncode == 0 and done.stderr == ""


def test_pre_commit_hooks_run_the_projects_own_checks() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert all(repo["repo"] == "local" for repo in config["repos"])  # nothing to download
    entries = [hook["entry"] for hook in hooks]
    for module in ("tools.export --check", "tools.notebooks lint", "tools.notebooks check"):
        assert any(entry.endswith(f"-m {module}") for entry in entries), module
        importlib.import_module(module.split()[0])
    assert any("ruff check" in entry for entry in entries)
    assert any("ruff format --check" in entry for entry in entries)


def test_chapter_code_lines_fit_a_rendered_code_cell() -> None:
    problems = [
        p for path in notebooks.toc_notebooks(ROOT) for p in notebooks.long_code_lines(path)
    ]
    assert problems == []


def test_the_line_check_sees_code_but_not_prose(tmp_path) -> None:
    """Control: a long line in a code cell (a comment too) is reported; a long prose line is not."""
    long = "x" * 90
    path = tmp_path / "nb.py"
    path.write_text(f"# %% [markdown]\n# {long}\n\n# %%\ny = 1  # {long}\n")
    assert notebooks.long_code_lines(path) == [
        f"nb.py cell 1 line 1: {len(long) + 9} characters (at most 88)"
    ]
    path.write_text(f"# %% [markdown]\n# {long}\n\n# %%\ny = 1\n")
    assert notebooks.long_code_lines(path) == []


def test_chapter_cells_keep_bookkeeping_hidden_and_stay_short() -> None:
    problems = [p for path in notebooks.toc_notebooks(ROOT) for p in notebooks.cell_problems(path)]
    assert problems == []


def test_the_cell_check_sees_records_in_view_and_long_cells(tmp_path) -> None:
    """Controls: a visible results.add and a 41-line cell are reported; the same record in a
    remove-cell cell, and a 41-line function, are not."""
    path = tmp_path / "nb.py"
    long_cell = "\n".join(f"x{i} = {i}" for i in range(41))
    path.write_text(f'# %%\ny = 1\nresults.add("y", y)\n\n# %%\n{long_cell}\n')
    assert notebooks.cell_problems(path) == [
        "nb.py cell 0: records results in view; move the results.add calls to a cell tagged "
        "remove-cell",
        "nb.py cell 1: 41 lines (at most 40 unless it is one definition); split it",
    ]
    body = "\n".join(f"    x{i} = {i}" for i in range(41))
    path.write_text(f'# %% tags=["remove-cell"]\nresults.add("y", 1)\n\n# %%\ndef f():\n{body}\n')
    assert notebooks.cell_problems(path) == []


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_but_not_compiled(pyproject: str, requirements: str) -> set[str]:
    """The dependencies pyproject.toml declares (extras included) that requirements.txt does not
    pin as needed by this project, and the pins it marks as needed that are not declared."""
    project = tomllib.loads(pyproject)["project"]
    specs = [*project["dependencies"], *sum(project["optional-dependencies"].values(), [])]
    declared = {_normal(re.split(r"[<>=!~ ;\[]", spec, maxsplit=1)[0]) for spec in specs}
    direct, name = set(), None
    for line in requirements.splitlines():
        if "==" in line and not line.startswith("#"):
            name = _normal(line.split("==")[0])
        elif name and "vaegan-utils (pyproject.toml)" in line:
            direct.add(name)
    return declared ^ direct


def test_requirements_txt_is_compiled_from_pyproject() -> None:
    """``make requirements`` after a change of pyproject.toml's dependencies."""
    pyproject, requirements = (ROOT / "pyproject.toml").read_text(), (ROOT / "requirements.txt")
    assert declared_but_not_compiled(pyproject, requirements.read_text()) == set()


def test_control_a_dependency_added_without_recompiling_is_caught() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    requirements = (ROOT / "requirements.txt").read_text()
    added = pyproject.replace('"tqdm>=4.60",', '"tqdm>=4.60", "rich>=13",')
    assert declared_but_not_compiled(added, requirements) == {"rich"}
