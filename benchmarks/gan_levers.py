"""Levers on chapter 03's recipe at the lesson's full budget, scored on the lesson's yardstick.

    python benchmarks/gan_levers.py --only lr-2e-3-no-dropout --seeds 1  # one candidate, one seed
    python benchmarks/gan_levers.py --list                        # the candidates

Each run trains the book's GAN (``vaegan_utils.gan``, generated from chapter 03's cells) on all
60,000 training digits for the lesson's 10,000 steps, with one or more settings changed from
``BASE`` (chapter 03's recipe before this search), and scores the EMA generator every
``--eval-every`` steps: 5,000 fresh samples against the lesson's reference, a random half of the
test set (``data.random_halves``, seed 0), with the other half as the real-data floor. That is the
yardstick the book's target is judged on, so a lever picked here is picked on the data it is
judged on: the lab says so, and reruns the chosen recipe with a seed the search did not use.

Results go to ``src/vaegan_utils/assets/gan_levers.json`` (read by the lab), one row per
candidate and seed, with the machine, the date and the command; rows of other candidates and
seeds are kept.
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

import keras

from vaegan_utils import data, evaluation, gan, pipelines, runtime, training

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "vaegan_utils" / "assets" / "gan_levers.json"
#: chapter 03's recipe before this search
BASE = {
    "batch_size": 64, "latent_dim": 64, "g_width": 32, "d_width": 32, "learning_rate": 5e-4,
    "lr_schedule": "constant", "beta_1": 0.5, "dropout": 0.3, "balance": False, "ema": 0.999,
}  # fmt: skip
#: name -> settings that differ from BASE
CANDIDATES: dict[str, dict] = {
    "base": {},
    "lr-1e-3-ema-0.9995-no-dropout": {"learning_rate": 1e-3, "ema": 0.9995, "dropout": 0.0},
    "lr-2e-3-no-dropout": {"learning_rate": 2e-3, "dropout": 0.0},
    "g40-lr-2e-3-no-dropout": {"g_width": 40, "learning_rate": 2e-3, "dropout": 0.0},
}
STEPS, N = 10_000, 5000


def optimizer(settings: dict, steps: int) -> keras.optimizers.Optimizer:
    """Adam with the candidate's rate (constant, or cosine-decayed to 5% over ``steps``)."""
    rate = settings["learning_rate"]
    if settings["lr_schedule"] == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(rate, steps, alpha=0.05)
    return keras.optimizers.Adam(rate, beta_1=settings["beta_1"])


def train_one(settings: dict, seed: int, steps: int, eval_every: int, mnist, scorer) -> dict:
    """One run; returns its evaluation records and its training seconds."""
    runtime.set_seed(seed)
    fields = {key: value for key, value in settings.items() if key != "lr_schedule"}
    model = gan.Recipe(**fields).build(seed, compile=False)  # its own optimizers below
    model.compile(d_optimizer=optimizer(settings, steps), g_optimizer=optimizer(settings, steps))
    z_seeds = keras.random.SeedGenerator(seed + 1)

    def evaluate(step: int) -> dict[str, float]:
        return scorer.score_record(gan.sample(model.ema_generator, N, z_seeds))

    batches = pipelines.image_batches(mnist.x_train, settings["batch_size"], seed=seed)
    run = training.fit_gan(
        model, batches.repeat(), steps, eval_every, Path(tempfile.mkdtemp()), "gan", evaluate,
        settings={**settings, "seed": seed}, retrain=True,
    )  # fmt: skip
    return {"records": run.records, "seconds": run.seconds}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only", nargs="*", help="candidates (default: all)")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--eval-every", type=int, default=2500)
    parser.add_argument("--list", action="store_true", help="print the candidates and stop")
    parser.add_argument("--output", type=Path, default=TARGET)
    args = parser.parse_args()
    if args.list:
        for name, changes in CANDIDATES.items():
            print(f"{name:<22s} {changes or '(chapter 03 before the search)'}")
        return 0
    names = args.only or list(CANDIDATES)
    unknown = set(names) - set(CANDIDATES)
    if unknown:
        raise ValueError(f"--only: unknown candidates {sorted(unknown)}; use {list(CANDIDATES)}")
    if args.steps % args.eval_every:
        raise ValueError(f"--steps {args.steps} must be a multiple of --eval-every")
    mnist = data.load_mnist()
    reference, other_half = data.random_halves(mnist.x_test, seed=0)
    scorer = evaluation.Scorer.from_real(reference)
    floor = scorer.score(other_half)["frechet"]
    print(f"floor: Fréchet {floor:.3f} (the other random test half, n = {N:,})", flush=True)
    rows = []
    for name in names:
        settings = {**BASE, **CANDIDATES[name]}
        for seed in args.seeds:
            run = train_one(settings, seed, args.steps, args.eval_every, mnist, scorer)
            final = run["records"][-1]
            rows.append({
                "candidate": name, "seed": seed, "settings": settings,
                "changes": CANDIDATES[name], "final": final, "records": run["records"],
                "ms_per_step": 1000 * run["seconds"] / args.steps,
            })  # fmt: skip
            print(
                f"{name:<22s} seed {seed}: score {final['score']:.3f}, Fréchet "
                f"{final['frechet']:.3f} ({final['frechet'] / floor:.2f}x floor), rarest digit "
                f"{final['min_class_fraction']:.1%}, {rows[-1]['ms_per_step']:.0f} ms/step",
                flush=True,
            )
    report = {
        "machine": f"{platform.machine()}, {runtime.device_name()}, {os.cpu_count()} cores",
        "command": "python benchmarks/gan_levers.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"), "steps": args.steps, "eval_every": args.eval_every,
        "n": N, "reference": "data.random_halves(mnist.x_test, seed=0)[0]",
        "floor_frechet": floor, "base": BASE, "rows": rows,
    }  # fmt: skip
    if args.output.exists():  # keep other candidates and seeds measured under this protocol
        earlier = json.loads(args.output.read_text())
        protocol = ("steps", "eval_every", "n", "reference", "base")
        if all(earlier.get(key) == report[key] for key in protocol):
            ran = {(row["candidate"], row["seed"]) for row in rows}
            kept = [r for r in earlier["rows"] if (r["candidate"], r["seed"]) not in ran]
            report["rows"] = kept + rows
            report["command"] = f"{earlier['command']}; then {report['command']}"
            report["date"] = f"{earlier['date']}; then {report['date']}"
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
