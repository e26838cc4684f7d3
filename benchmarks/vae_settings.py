"""Choose the 20-D VAE's training settings on the validation split, as chapter 02 describes.

    python benchmarks/vae_settings.py                      # every candidate below
    python benchmarks/vae_settings.py --only binary-38 binary-38-no-warmup  # some of them
    python benchmarks/vae_settings.py --schedule           # the longer schedule, 2 seeds

Each candidate is chapter 02's own ``VAE`` class and ``train_vae`` function (``vaegan_utils.vae``,
generated from the chapter's cells, so nothing here can drift from the chapter), trained on the
first 50,000 training images (dynamically binarized, or grey levels), with the cosine schedule over
its epochs; the other settings come from the parameters cell of the lesson (grey levels) or of
the lab (binarized). After every epoch it
logs the −ELBO on 5,000 validation images (the last 10,000 training images, binarized once);
the test set is never touched. Each row gives the training seconds, the validation −ELBO,
reconstruction and KL after every epoch, the active units on those 5,000 validation images and,
for binarized candidates, the importance-weighted estimate of −log p(x) (k = 1,000) on the first
500 validation images. Binarized candidates use the chapter's KL warm-up (``kl_warmup_epochs``)
unless they change it. The ``-seed1``/``-seed2`` rows retrain a candidate with other training
seeds (the data and the validation binarization stay fixed): their spread is the training's own
randomness, which a difference between two one-seed candidates must exceed. The warm-up
comparison has three seeds in each arm.

The rule, fixed before the runs: among binarized candidates, the lowest validation −log p(x)
wins, but a difference smaller than twice the seeds' standard deviation counts as a tie, which
goes to the faster candidate; among grey candidates, the same with the final validation −ELBO.
"Faster" was first read as fewer training seconds; since identical runs differ by 10% in
seconds, the chapter reads it as fewer updates (epochs x images / batch size), then the
unchanged settings.

Results go to src/vaegan_utils/assets/vae_settings.json (the VAE lab shows them), with the machine;
rows of candidates not run this time are kept.

``--schedule`` trains, after the choice, what a longer schedule buys: the chosen binarized settings
for three times the epochs (the cosine schedule stretched over them), with two training seeds,
scored as above. They are not candidates of the rule (it was applied before they ran), so they
go to their own file, src/vaegan_utils/assets/vae_schedule.json, which the lab compares with the
three seeds of ``binary-38``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tools/

from tools.notebook_code import notebook_parameters  # noqa: E402
from vaegan_utils import data, runtime, vae  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "notebooks" / "02_vae_mnist.py"  # the grey-level settings
LAB = ROOT / "notebooks" / "02_vae_mnist_lab.py"  # the binarized settings
TARGET = ROOT / "src" / "vaegan_utils" / "assets" / "vae_settings.json"  # read by chapter 02
SCHEDULE_TARGET = TARGET.with_name("vae_schedule.json")
#: name -> (settings that differ from the chapter's parameters cell, epochs, binarized data)
CANDIDATES: dict[str, tuple[dict, int, bool]] = {
    "binary-38": ({}, 38, True),
    "binary-38-no-warmup": ({"kl_warmup_epochs": 0}, 38, True),
    "binary-38-lr3e-3": ({"learning_rate": 3e-3}, 38, True),
    "binary-38-batch50": ({"batch_size": 50}, 38, True),
    "binary-38-narrow": ({"hidden": (256, 128)}, 38, True),
    "grey-24": ({}, 24, False),
    "grey-20": ({}, 20, False),
    "binary-38-seed1": ({"seed": 1}, 38, True),
    "binary-38-seed2": ({"seed": 2}, 38, True),
    "grey-24-seed1": ({"seed": 1}, 24, False),
    "grey-24-seed2": ({"seed": 2}, 24, False),
    "binary-38-no-warmup-seed1": ({"kl_warmup_epochs": 0, "seed": 1}, 38, True),
    "binary-38-no-warmup-seed2": ({"kl_warmup_epochs": 0, "seed": 2}, 38, True),
}
#: the chosen binarized settings for three times the epochs (``--schedule``)
SCHEDULE: dict[str, tuple[dict, int, bool]] = {
    "binary-114": ({}, 114, True),
    "binary-114-seed1": ({"seed": 1}, 114, True),
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only", nargs="*", help=f"candidates among {', '.join(CANDIDATES)}")
    parser.add_argument("--schedule", action="store_true", help="the longer schedule instead")
    args = parser.parse_args()
    candidates, target = (SCHEDULE, SCHEDULE_TARGET) if args.schedule else (CANDIDATES, TARGET)
    names = args.only or list(candidates)
    unknown = set(names) - set(candidates)
    if unknown:
        raise ValueError(
            f"--only: unknown candidates {sorted(unknown)}; choose from {list(candidates)}"
        )
    mnist = data.load_mnist(seed=0)
    x_val = mnist.x_train[50_000:]
    x_val_binary = data.binarize(x_val, seed=1)  # as the chapter binarizes it (its seed 0, + 1)
    rows = []
    for name in names:
        changes, epochs, binarize = candidates[name]
        chapter = {**notebook_parameters(LAB if binarize else LESSON), **changes}
        seed = chapter["seed"]  # the training's seed: initial weights, batches, binarization
        runtime.set_seed(seed)
        warmup = chapter["kl_warmup_epochs"] if binarize else 0  # as the chapter trains them
        model, run = vae.train_vae(
            name,
            mnist.x_train[:50_000],
            x_val_binary if binarize else x_val,
            chapter["latent_dim"],
            tuple(chapter["hidden"]),
            epochs,
            Path(tempfile.mkdtemp()),
            batch_size=chapter["batch_size"],
            learning_rate=chapter["learning_rate"],
            seed=seed,
            binarize=binarize,
            warmup_epochs=warmup,
            retrain=True,
        )
        curve = run.column("val_neg_elbo")
        curves = {key: run.column(f"val_{key}").round(2).tolist()
                  for key in ("neg_elbo", "reconstruction", "kl")}  # fmt: skip
        x_eval = (x_val_binary if binarize else x_val)[:5000]  # where the chapter's code logs
        active = vae.active_units(model.encoder, x_eval)
        iwae, per_image = float("nan"), []
        if binarize:  # -log p(x) estimated with k = 1,000 on the first 500 validation images
            nll = vae.iwae_nll(model.encoder, model.decoder, x_val_binary[:500], k=1000)
            iwae, per_image = round(float(nll.mean()), 2), nll.round(3).tolist()
        final, best = round(float(curve[-1]), 2), round(float(curve.min()), 2)
        rows.append({"candidate": name, "changes": changes, "epochs": epochs, "binarized": binarize,
                     "seed": seed, "warmup_epochs": warmup, "train_seconds": round(run.seconds, 1),
                     "curves": curves, "active_units": active,
                     "final_val_neg_elbo": final, "best_val_neg_elbo": best,
                     "val_iwae_1000": iwae, "val_iwae_per_image": per_image})  # fmt: skip
        print(f"{name:<18s} {epochs:3d} epochs {run.seconds:6.0f} s  validation -ELBO "
              f"final {final:.2f}, best {best:.2f}; IWAE(1000) {iwae:.2f}; active {active}",
              flush=True)  # fmt: skip
    report = {"machine": f"{platform.machine()}, {runtime.device_name()}",
              "date": time.strftime("%Y-%m-%d"), "rows": rows}  # fmt: skip
    if target.exists():  # keep the candidates not run this time
        earlier = json.loads(target.read_text())["rows"]
        report["rows"] = [row for row in earlier if row["candidate"] not in names] + rows
    target.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
