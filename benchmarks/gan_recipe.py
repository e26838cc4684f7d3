"""Choose chapter 03's GAN recipe on a validation reference, with several seeds per candidate.

    python benchmarks/gan_recipe.py                         # every candidate, seeds 0 1 2
    python benchmarks/gan_recipe.py --only seed-rule --steps 1000 --seeds 0

Each candidate trains the book's GAN (``vaegan_utils.gan``, generated from chapter 03's cells)
on the first 50,000 training digits and is scored, every ``--eval-every`` steps, on 5,000 fresh
samples against the *held-out* training digits 50,000-54,999 (the validation reference: the test
set is never touched). The real-data floor is the other 5,000
held-out digits against the same reference. Every run also keeps an exponential moving average of
G's weights (decay 0.999), scored beside the raw G, so averaging is measured without extra runs.
Per seed, the final scores and how often the balance rule paused each side are kept.

Printed per candidate and generator: the final score, Fréchet distance and rarest digit's share
(mean ± standard error over seeds, ddof = 1), the time a step takes, and for each target
(``evaluation.quality_targets``: score ≥ 9, Fréchet ≤ 2x floor, every digit ≥ 5%; the shipped
file was written when the Fréchet target was 3x) the step and training seconds at which each
seed first met it. Results go to ``src/vaegan_utils/assets/gan_recipe.json`` (read by chapter
03), with the machine and the command; rows of candidates not run this time are kept when the
earlier file used the same steps, seeds and protocol.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vaegan_utils import data, evaluation, gan, pipelines, runtime, training

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "vaegan_utils" / "assets" / "gan_recipe.json"
BASE = {"batch_size": 32, "g_width": 32, "d_width": 16, "learning_rate": 5e-4, "balance": True}
#: name -> settings that differ from BASE (chapter 03's settings before this measurement)
CANDIDATES: dict[str, dict] = {
    "seed-rule": {},
    "no-rule": {"balance": False},
    "no-rule-d32": {"balance": False, "d_width": 32},
    "no-rule-batch64": {"balance": False, "batch_size": 64},
    "no-rule-d32-batch64": {"balance": False, "d_width": 32, "batch_size": 64},
}
EMA = 0.999
LATENT_DIM = 64


def train_one(name: str, settings: dict, seed: int, steps: int, eval_every: int, mnist, scorer):
    """One run; returns its records (raw and averaged G scored at every evaluation)."""
    runtime.set_seed(seed)
    # the reference code's dropout (0.3), as in that search
    recipe = gan.Recipe(latent_dim=LATENT_DIM, dropout=0.3, ema=EMA, **settings)
    model = recipe.build(seed)  # compiled: Adam, beta_1 = 0.5, both players
    stream = np.random.default_rng(seed + 1)

    def evaluate(step: int) -> dict[str, float]:
        record = {}
        for label, player in (("raw", model.generator), ("ema", model.ema_generator)):
            z_seed = int(stream.integers(2**31))
            scores = scorer.score_record(gan.sample(player, 5000, seed=z_seed))
            record.update({f"{label}_{key}": value for key, value in scores.items()})
        return record

    batches = pipelines.image_batches(mnist.x_train[:50_000], settings["batch_size"], seed=seed)
    run = training.fit_gan(
        model, batches.repeat(), steps, eval_every, Path(tempfile.mkdtemp()), name, evaluate,
        settings={**settings, "seed": seed}, retrain=True,
    )  # fmt: skip
    return run


def own(record: dict, label: str) -> dict:
    """The scores of one generator (``raw_`` or ``ema_`` keys) with the prefix removed."""
    return {key.removeprefix(f"{label}_"): value for key, value in record.items()}


def summary(values: list[float]) -> tuple[float, float]:
    """Mean and standard error (ddof = 1) over seeds."""
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1) / np.sqrt(len(array)))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only", nargs="*", help=f"candidates among {', '.join(CANDIDATES)}")
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args()
    names = args.only or list(CANDIDATES)
    unknown = set(names) - set(CANDIDATES)
    if unknown:
        raise ValueError(f"--only: unknown candidates {sorted(unknown)}; use {list(CANDIDATES)}")
    if len(args.seeds) < 2:
        raise ValueError("--seeds: give at least two seeds (a standard error needs them)")
    mnist = data.load_mnist()
    reference, held_out = mnist.x_train[50_000:55_000], mnist.x_train[55_000:]
    scorer = evaluation.Scorer.from_real(reference)
    floor = scorer.score(held_out)["frechet"]
    print(f"validation floor: Fréchet {floor:.2f} (5,000 held-out digits vs 5,000 others)")
    checks = evaluation.quality_targets(floor)
    rows = []
    for name in names:
        settings = {**BASE, **CANDIDATES[name]}
        runs = []
        for seed in args.seeds:
            start = time.perf_counter()
            run = train_one(name, settings, seed, args.steps, args.eval_every, mnist, scorer)
            runs.append((run, time.perf_counter() - start))
        for label in ("raw", "ema"):
            finals = [run.records[-1] for run, _ in runs]
            step_ms = [1000 * run.seconds / args.steps for run, _ in runs]
            row = {"candidate": name, "generator": label, "settings": settings,
                   "ms_per_step": float(np.mean(step_ms))}  # fmt: skip
            for key in ("score", "frechet", "min_class_fraction"):
                row[f"{key}_per_seed"] = [final[f"{label}_{key}"] for final in finals]
                row[key] = summary(row[f"{key}_per_seed"])
            for side in ("d", "g"):  # share of steps the balance rule paused each side
                row[f"{side}_paused"] = summary(
                    [float(np.mean(run.column(f"train_{side}_paused"))) for run, _ in runs]
                )
            row["first_met"] = {}
            for target, check in checks.items():
                firsts = []
                for run, _ in runs:
                    hit = next((r for r in run.records if check(own(r, label))), None)
                    firsts.append(None if hit is None else [hit["step"], round(hit["seconds"], 1)])
                row["first_met"][target] = firsts
            rows.append(row)
            print(
                f"{name:<16s} {label:<3s} score {row['score'][0]:.2f} ± {row['score'][1]:.2f}  "
                f"Fréchet {row['frechet'][0]:.2f} ± {row['frechet'][1]:.2f}  rarest "
                f"{row['min_class_fraction'][0]:.1%}  {row['ms_per_step']:.0f} ms/step",
                flush=True,
            )
            for target, firsts in row["first_met"].items():
                text = ", ".join("never" if f is None else f"step {f[0]} ({f[1]:.0f} s)"
                                 for f in firsts)  # fmt: skip
                print(f"    {target:<20s} first met: {text}")
    report = {
        "machine": f"{platform.machine()}, {runtime.device_name()}, {os.cpu_count()} cores",
        "command": "python benchmarks/gan_recipe.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"),
        "steps": args.steps, "eval_every": args.eval_every, "seeds": args.seeds, "ema": EMA,
        "n": 5000, "floor_frechet": floor, "rows": rows,
    }  # fmt: skip
    if args.output.exists():  # keep the other candidates measured under the same protocol
        earlier = json.loads(args.output.read_text())
        protocol = ("steps", "eval_every", "seeds", "ema", "n")
        if all(earlier.get(key) == report[key] for key in protocol):
            kept = [row for row in earlier["rows"] if row["candidate"] not in names]
            report["rows"] = kept + rows
            report["command"] = f"{earlier['command']}; then {report['command']}"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
