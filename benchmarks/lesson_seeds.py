"""Chapter 03's lesson at several training seeds: its full run, the seed the only change.

    python benchmarks/lesson_seeds.py --seeds 1            # run the lesson with seed 1 (~15 min)
    python benchmarks/lesson_seeds.py --record outputs/03_gan_mnist   # record a finished run

A run executes ``notebooks/03_gan_mnist.py`` from scratch (``tools.notebooks.execute``) with
its full-quality parameters and ``seed`` changed, in a directory of its own. ``--record`` reads a
finished run's ``metrics.json`` instead (the lesson's own run, say). Each seed's final record
(score, Fréchet distance, class shares, precision, recall: the lesson's ``final``) and its
real-data floor go to ``src/vaegan_utils/assets/gan_lesson_seeds.json`` (read by the lab), keyed
by seed; rows of other seeds are kept.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "vaegan_utils" / "assets" / "gan_lesson_seeds.json"
LESSON = ROOT / "notebooks" / "03_gan_mnist.py"


def row_of(output_dir: Path, seconds: float | None) -> dict:
    """A finished full run's seed, final record and floor, from its ``metrics.json``."""
    metrics = json.loads((output_dir / "metrics.json").read_text())
    if metrics.get("quick"):
        raise ValueError(f"{output_dir} holds a quick run; record full runs only")
    run = json.loads((output_dir / "gan_run.json").read_text())
    return {
        "seed": run["fingerprint"]["settings"]["seed"], "steps": metrics["steps"],
        "final": metrics["final"], "real": metrics["real"], "run_id": metrics["run_id"],
        "seconds": seconds, "settings": run["fingerprint"]["settings"],
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seeds", type=int, nargs="*", default=[], help="seeds to run")
    parser.add_argument("--record", type=Path, nargs="*", default=[], help="finished runs")
    args = parser.parse_args()
    if not args.seeds and not args.record:
        parser.error("give --seeds to run or --record to read finished runs")
    rows = [row_of(directory, None) for directory in args.record]
    for seed in args.seeds:
        from tools import notebooks

        directory = Path(tempfile.mkdtemp(prefix=f"lesson_seed{seed}_"))
        began = time.perf_counter()
        notebooks.execute(
            LESSON, directory / "03_gan_mnist.ipynb",
            parameters={"seed": seed, "output_dir": str(directory / "out")}, fresh=True,
        )  # fmt: skip
        rows.append(row_of(directory / "out", time.perf_counter() - began))
        print(f"seed {seed}: {rows[-1]['final']['score']:.3f}, {rows[-1]['final']['frechet']:.3f}")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    report = json.loads(TARGET.read_text()) if TARGET.exists() else {"rows": []}
    kept = [r for r in report["rows"] if r["seed"] not in {row["seed"] for row in rows}]
    report = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "commit": commit, "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/lesson_seeds.py " + " ".join(sys.argv[1:]),
        "rows": sorted(kept + rows, key=lambda r: r["seed"]),
    }  # fmt: skip
    TARGET.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
