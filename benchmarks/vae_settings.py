"""Choose the 20-D VAE's training settings on the validation split, as chapter 02 describes.

    python benchmarks/vae_settings.py                      # every candidate below
    python benchmarks/vae_settings.py --only base wide-lr  # some of them

Each candidate is chapter 02's own ``VAE`` class and ``train`` function (executed from the notebook
by ``tools/notebook_code.py``, so nothing here can drift from the chapter), trained on the first
50,000 training images (dynamically binarized, or grey levels), with the cosine schedule over its
epochs. After every epoch ``train`` logs the −ELBO on 5,000 validation images (the last 10,000
training images, binarized once); the test set is never touched. The table gives, per candidate,
the training seconds and the final and best validation −ELBO. Results go to
outputs/benchmarks/vae_settings.json, with the machine.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tools/

from tools.notebook_code import notebook_namespace  # noqa: E402
from vaegan_utils import data, runtime  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: name -> (settings that differ from the chapter's parameters cell, epochs, binarized data)
CANDIDATES: dict[str, tuple[dict, int, bool]] = {
    "binary-30": ({"learning_rate": 1e-3}, 30, True),
    "binary-batch200": ({"batch_size": 200}, 40, True),
    "binary-narrow": ({"hidden": (256, 128), "learning_rate": 1e-3}, 60, True),
    "binary-40-lr2e-3": ({}, 40, True),
    "grey-20": ({"learning_rate": 1e-3}, 20, False),
    "grey-25-lr2e-3": ({}, 25, False),
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only", nargs="*", help=f"candidates among {', '.join(CANDIDATES)}")
    args = parser.parse_args()
    names = args.only or list(CANDIDATES)
    unknown = set(names) - set(CANDIDATES)
    if unknown:
        raise ValueError(
            f"--only: unknown candidates {sorted(unknown)}; choose from {list(CANDIDATES)}"
        )
    mnist = data.load_mnist(seed=0)
    rows = []
    for name in names:
        changes, epochs, binarize = CANDIDATES[name]
        ns = notebook_namespace(ROOT / "notebooks" / "02_vae_mnist.py", ["VAE", "train"])
        ns.update(changes)
        ns["x_train"], ns["x_val"] = mnist.x_train[:50_000], mnist.x_train[50_000:]
        ns["x_val_binary"] = data.binarize(ns["x_val"], seed=ns["seed"] + 1)
        ns["out"], ns["retrain"] = Path(tempfile.mkdtemp()), True
        runtime.set_seed(ns["seed"])
        _, log = ns["train"](name, ns["latent_dim"], ns["hidden"], epochs, binarize=binarize)
        curve = log.column("val_neg_elbo")
        rows.append({"candidate": name, "changes": changes, "epochs": epochs, "binarized": binarize,
                     "train_seconds": round(log.seconds, 1), "curve": curve.round(2).tolist(),
                     "final_val_neg_elbo": round(float(curve[-1]), 2),
                     "best_val_neg_elbo": round(float(curve.min()), 2)})  # fmt: skip
        print(f"{name:<18s} {epochs:3d} epochs {log.seconds:6.0f} s  validation -ELBO "
              f"final {curve[-1]:.2f}, best {curve.min():.2f}", flush=True)  # fmt: skip
    report = {"machine": f"{platform.machine()}, {runtime.device_name()}", "rows": rows}
    target = ROOT / "outputs" / "benchmarks" / "vae_settings.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
