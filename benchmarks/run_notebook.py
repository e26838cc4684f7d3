"""Time notebooks at full settings from scratch and check their targets.

    python benchmarks/run_notebook.py 02_vae_mnist            # time it, print the targets
    python benchmarks/run_notebook.py 02_vae_mnist --write    # ... and store the executed .ipynb
    python benchmarks/run_notebook.py 02_vae_mnist 02_vae_mnist_lab  # several, one after the other
    python benchmarks/run_notebook.py --all --write           # every chapter, one after the other

Each notebook's output directory is emptied first, so every model is trained in that run, not
reused. Results go to outputs/benchmarks/NAME.json. Targets are the issue tracker's, measured on
the machine that runs this script; wall-time budgets are ratios to another version's run on the
same machine, so the script prints the wall time and leaves the ratio to a side-by-side run.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tools/

from tools import notebooks  # noqa: E402
from vaegan_utils import reporting, runtime  # noqa: E402

Target = tuple[str, Callable[[dict, float], object], Callable[[object], bool]]

TARGETS: dict[str, list[Target]] = {
    "02_vae_mnist": [
        (
            "grey test -ELBO <= 100 nats",
            lambda m, wall: round(m["grey"]["neg_elbo"], 2),
            lambda v: v <= 100,
        ),
    ],
    "02_vae_mnist_lab": [
        (
            "binarized -log p(x) (IWAE) <= 90 nats",
            lambda m, wall: round(m["binary"]["iwae_nll"], 2),
            lambda v: v <= 90,
        ),
        (
            "moonshot: binarized -log p(x) <= 88 nats",
            lambda m, wall: round(m["binary"]["iwae_nll"], 2),
            lambda v: v <= 88,
        ),
        (
            "its standard error <= 0.3 nats",
            lambda m, wall: round(m["binary"]["iwae_nll_stderr"], 3),
            lambda v: v <= 0.3,
        ),
        (
            "k = 5,000 on >= 500 test images",
            lambda m, wall: (m["binary"]["iwae_k"], m["binary"]["iwae_images"]),
            lambda v: v[0] == 5000 and v[1] >= 500,
        ),
    ],  # fmt: skip
    "03_gan_mnist": [
        ("final score >= 9.0", lambda m, wall: round(m["final"]["score"], 2), lambda v: v >= 9.0),
        (
            "final Fréchet <= 2x the random-half floor (ratio)",
            lambda m, wall: round(m["final"]["frechet"] / m["real"]["frechet"], 2),
            lambda v: v <= 2,
        ),
        (
            "every digit >= 5% of samples (rarest share)",
            lambda m, wall: round(min(m["final"]["class_fractions"]), 4),
            lambda v: v >= 0.05,
        ),
        ("all three", lambda m, wall: m["targets_met"]["all three"], bool),
    ],
    "04_gan_stability": [
        (
            "ring: >= 20 seeds an arm, paired",
            lambda m, wall: (len(m["ring"]["modes_off"]), len(m["ring"]["modes_on"])),
            lambda v: min(v) >= 20,
        ),
    ],
    "04_gan_stability_lab": [
        ("at least 8 seeds per cell", lambda m, wall: len(m["seeds"]), lambda v: v >= 8),
        (
            "every run to its full budget (shortest run, budget)",
            lambda m, wall: (
                min(min(cell["last_steps"]) for cell in m["cells"].values()),
                m["steps"],
            ),
            lambda v: v[0] == v[1],
        ),
    ],
    "05_gan_faces": [
        (
            "snapshots at steps 0, 5000, 10000",
            lambda m, wall: m["snapshot_steps"],
            lambda v: {0, 5000, 10000} <= set(v),
        ),
        (
            "copy test (raw) catches every exact, mirrored and shifted copy",
            lambda m, wall: [
                row["flagged (raw)"]
                for row in m["copy"]["rows"]
                if row["control"] in {"exact copy", "mirrored copy", "copy shifted 1-2 px"}
            ],
            lambda v: len(v) == 3 and all(x.split(" of ")[0] == x.split(" of ")[1] for x in v),
        ),
        (
            "face check: noise, shuffled, scrambled, inverted faces < 20% above the line",
            lambda m, wall: {
                row["images"]: round(row["share above the line"], 3)
                for row in m["face"]["rows"]
                if row["images"]
                in {
                    "noise images",
                    "pixel-shuffled faces",
                    "phase-scrambled faces",
                    "upside-down faces",
                }  # fmt: skip
            },
            lambda v: len(v) == 4 and max(v.values()) < 0.2,
        ),
        (
            "memorisation test catches >= 90% of generators whose samples are 10% copies",
            lambda m, wall: m["memo"]["copying"][-1]["caught"],
            lambda v: int(v.split(" of ")[0]) >= 0.9 * int(v.split(" of ")[1].split(" ")[0]),
        ),
    ],
}


def run(name: str, root: Path, write: bool) -> dict:
    """Execute one notebook from scratch, time it, check its targets; returns the report."""
    py_path = root / "notebooks" / f"{name}.py"
    if not py_path.exists():
        raise ValueError(f"no notebook {py_path}: name one listed in _toc.yml")
    start = time.perf_counter()
    notebooks.execute(
        py_path, py_path.with_suffix(".ipynb") if write else None, cwd=root, fresh=True
    )
    wall = time.perf_counter() - start
    metrics = json.loads((root / "outputs" / name / "metrics.json").read_text())
    rows = []
    for label, measure, check in TARGETS.get(name, []):
        value = measure(metrics, wall)
        rows.append({"target": label, "measured": value, "met": bool(check(value))})
    report = {
        "notebook": name,
        "run_id": metrics.get("run_id"),
        "wall_seconds": round(wall, 1),
        "machine": f"{platform.machine()}, {runtime.device_name()}",
        "targets": rows,
        "metrics": metrics,
    }
    print(f"{name}: {wall:.1f} s wall on {report['machine']} (run {report['run_id']})", flush=True)
    for row in rows:
        print(f"  [{'met' if row['met'] else 'MISSED'}] {row['target']}: {row['measured']}")
    reporting.save_metrics(root / "outputs" / "benchmarks" / f"{name}.json", report)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="notebook names, e.g. 02_vae_mnist")
    parser.add_argument("--all", action="store_true", help="every notebook in _toc.yml")
    parser.add_argument("--write", action="store_true", help="store the executed .ipynb")
    args = parser.parse_args()
    root = notebooks.repo_root()
    names = [p.stem for p in notebooks.toc_notebooks(root)] if args.all else args.names
    if not names:
        parser.error("name at least one notebook, or pass --all")
    for name in names:
        run(name, root, args.write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
