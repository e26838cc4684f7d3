"""Chapter 03's levers screened on a GPU, with the book's GAN step ported to Keras's JAX backend.

    KERAS_BACKEND=jax python benchmarks/gan_levers_gpu.py --out DIR          # the whole screen
    KERAS_BACKEND=jax python benchmarks/gan_levers_gpu.py --out DIR --steps 200 --eval-at 100 \\
        --only base --seeds 0                                                 # a smoke test
    LEVERS_GAMMA=0.1 python benchmarks/gan_levers_gpu.py --out DIR --only r1-b2  # R1 levers at 0.1
    python benchmarks/gan_levers_gpu.py --collect DIR1 DIR2 --note "..."     # the shipped asset

What is the book's: the models (``gan.build_generator`` and ``gan.build_discriminator``, generated
from chapter 03), the losses (``gan.discriminator_loss`` and ``gan.generator_loss``), the recipe
(``gan.Recipe()``: widths 32, batch 64, Adam at 2e-3 with beta_1 0.5, batch norm, no dropout), the
EMA ramp of ``GAN.train_step`` (decay ``min(0.999, (1 + s) / (10 + s))`` over every weight,
batch-norm statistics too) and the yardstick (``evaluation.Scorer``: 5,000 samples against
``data.random_halves(x_test, seed=0)[0]``, the other half as the floor).

What is not: the step is a stateless JAX port of ``GAN.train_step`` (one forward pass of G and of D
on the real and the fake batch, both players updated from that one pass, D's batch-norm statistics
updated by both of its calls), compiled with ``jax.lax.scan`` and run on whatever device JAX finds;
its random streams (z, the order of the batches) are JAX's and NumPy's, not TensorFlow's, so a seed
here is not the same run as that seed in the lesson. A lever chosen here is confirmed with the
book's own TensorFlow code before the lesson adopts it.

The levers, each one switch from the lesson's recipe:

* ``cosine``: both learning rates held for the first half, then cosine-decayed to 5%;
* ``r1-<gamma>``: lazy R1 on real digits, ``gamma / 2 * E||grad_x D(x)||^2`` every 8 steps with
  weight 8 (gamma chosen from {0.1, 1, 10} at 2,500 steps on a validation reference of 5,000
  *training* digits, not on the test halves);
* ``r1-b2``: R1 at the chosen gamma with Adam's beta_2 0.99; ``r1-b1-0-b2``: also beta_1 0;
* ``ttur``: two time scales, D at 2x the rate and G at 0.5x;
* EMA variants, scored on every run without changing its training: the book's ramp, and ramps whose
  memory ``1 / (1 - decay)`` is a fixed share (5%, 10%, 20%) of the elapsed steps, capped at
  0.9999; each scored with its averaged batch-norm statistics and with statistics recomputed from
  its own samples (100 batches of 500 in training mode).
* ``combined``: the levers whose two-seed means beat the base on both score and Fréchet.

Each run writes ``DIR/<name>-seed<k>.json`` (its records) and ``DIR/<name>-seed<k>.npz`` (the final
raw and averaged generator weights), so that a run cut short leaves what it finished.
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

STEPS, N, R1_EVERY, CHUNK = 10_000, 5000, 8, 50
GAMMAS = (0.1, 1.0, 10.0)
SHARES = (0.05, 0.1, 0.2)
#: name -> changes from the lesson's recipe (learning-rate factors, Adam's betas, R1's gamma)
LEVERS: dict[str, dict] = {
    "base": {},
    "cosine": {"schedule": "cosine"},
    "ttur": {"d_factor": 2.0, "g_factor": 0.5},
    **{f"r1-{g:g}": {"r1_gamma": g} for g in GAMMAS},
    "r1-b2": {"r1_gamma": None, "beta_2": 0.99},
    "r1-b1-0-b2": {"r1_gamma": None, "beta_2": 0.99, "beta_1": 0.0},
}


def settings_of(changes: dict, gamma: float | None) -> dict:
    """The lesson's recipe with ``changes``; a ``None`` gamma becomes the chosen one."""
    out = {"schedule": "constant", "d_factor": 1.0, "g_factor": 1.0, "beta_1": 0.5,
           "beta_2": 0.999, "r1_gamma": 0.0, **changes}  # fmt: skip
    if out["r1_gamma"] is None:
        out["r1_gamma"] = gamma
    return out


def train(name: str, settings: dict, seed: int, steps: int, eval_at: list[int], out: Path) -> dict:
    """One run of ``steps`` steps; scores every averaged generator at each of ``eval_at``."""
    import jax
    import jax.numpy as jnp
    import keras
    import numpy as np

    from vaegan_utils import data, evaluation, gan

    recipe = gan.Recipe()
    keras.utils.set_random_seed(seed)
    mnist = data.load_mnist()
    x_train = jnp.asarray(mnist.x_train)  # (60000, 28, 28) in [0, 1], on the device
    reference, floor_half = data.random_halves(mnist.x_test, seed=0)
    # a validation reference of training digits, and a floor for it (disjoint draws)
    drawn = np.random.default_rng(1).permutation(len(mnist.x_train))[: 2 * N]
    valid, valid_floor = mnist.x_train[drawn[:N]], mnist.x_train[drawn[N:]]
    classifier = evaluation.load_classifier()
    scorers = {
        "test": evaluation.Scorer.from_real(reference, classifier),
        "valid": evaluation.Scorer.from_real(valid, classifier),
    }
    G = gan.build_generator(recipe.latent_dim, width=recipe.g_width)
    D = gan.build_discriminator(width=recipe.d_width, dropout=recipe.dropout)

    def rate(factor: float):
        base = recipe.learning_rate * factor
        return base if settings["schedule"] == "constant" else held_then_cosine(base, steps)

    def adam(factor: float):
        return keras.optimizers.Adam(rate(factor), beta_1=settings["beta_1"],
                                     beta_2=settings["beta_2"])  # fmt: skip

    d_opt, g_opt = adam(settings["d_factor"]), adam(settings["g_factor"])
    d_opt.build(D.trainable_variables)
    g_opt.build(G.trainable_variables)
    gamma = float(settings["r1_gamma"])
    values = lambda vs: [v.value for v in vs]  # noqa: E731
    g_tv, g_ntv = values(G.trainable_variables), values(G.non_trainable_variables)
    d_tv, d_ntv = values(D.trainable_variables), values(D.non_trainable_variables)
    state = {
        "g_tv": g_tv, "g_ntv": g_ntv, "d_tv": d_tv, "d_ntv": d_ntv,
        "g_opt": values(g_opt.variables), "d_opt": values(d_opt.variables),
        "emas": {key: (g_tv, g_ntv) for key in ema_names()}, "t": jnp.int32(0),
    }  # fmt: skip

    def losses(d_tv, g_tv, d_ntv, g_ntv, real, z):
        fake, g_ntv = G.stateless_call(g_tv, g_ntv, z, training=True)
        real_logits, d_ntv = D.stateless_call(d_tv, d_ntv, real, training=True)
        fake_logits, d_ntv = D.stateless_call(d_tv, d_ntv, fake, training=True)
        d_loss = gan.discriminator_loss(real_logits, fake_logits)
        g_loss = gan.generator_loss(fake_logits)
        return d_loss, g_loss, d_ntv, g_ntv

    def r1(d_tv, d_ntv, real):
        def total_logit(x):
            return jnp.sum(D.stateless_call(d_tv, d_ntv, x, training=True)[0])

        grads = jax.grad(total_logit)(real)  # (b, 28, 28)
        return 0.5 * gamma * jnp.mean(jnp.sum(grads**2, axis=(1, 2)))

    def step(state, idx):
        real = x_train[idx]  # (b, 28, 28)
        t = state["t"]
        z = jax.random.normal(jax.random.fold_in(jax.random.key(seed), t),
                              (idx.shape[0], recipe.latent_dim))  # fmt: skip

        def d_obj(d_tv):
            d_loss, g_loss, d_ntv, g_ntv = losses(d_tv, state["g_tv"], state["d_ntv"],
                                                  state["g_ntv"], real, z)  # fmt: skip
            total = d_loss
            if gamma:
                lazy = jax.lax.cond(t % R1_EVERY == 0,
                                    lambda: R1_EVERY * r1(d_tv, state["d_ntv"], real),
                                    lambda: jnp.float32(0.0))  # fmt: skip
                total = total + lazy
            return total, (d_loss, g_loss, d_ntv, g_ntv)

        def g_obj(g_tv):
            return losses(state["d_tv"], g_tv, state["d_ntv"], state["g_ntv"], real, z)[1]

        (_, (d_loss, g_loss, d_ntv, g_ntv)), d_grads = jax.value_and_grad(d_obj, has_aux=True)(
            state["d_tv"]
        )
        g_grads = jax.grad(g_obj)(state["g_tv"])
        d_tv, d_opt_vars = d_opt.stateless_apply(state["d_opt"], d_grads, state["d_tv"])
        g_tv, g_opt_vars = g_opt.stateless_apply(state["g_opt"], g_grads, state["g_tv"])
        s = (t + 1).astype("float32")  # G's optimizer steps so far, as in GAN.train_step
        emas = {}
        for key, (avg_tv, avg_ntv) in state["emas"].items():
            decay = ema_decay(key, s)
            emas[key] = (
                [decay * a + (1 - decay) * w for a, w in zip(avg_tv, g_tv, strict=True)],
                [decay * a + (1 - decay) * w for a, w in zip(avg_ntv, g_ntv, strict=True)],
            )
        g_norm = jnp.sqrt(sum(jnp.sum(g**2) for g in g_grads))
        new = {"g_tv": g_tv, "g_ntv": g_ntv, "d_tv": d_tv, "d_ntv": d_ntv,
               "g_opt": g_opt_vars, "d_opt": d_opt_vars, "emas": emas, "t": t + 1}  # fmt: skip
        return new, jnp.stack([d_loss, g_loss, g_norm])

    run_chunk = jax.jit(lambda state, idx: jax.lax.scan(step, state, idx))

    @jax.jit
    def recalibrate(tv, ntv, key):
        def body(ntv, k):
            z = jax.random.normal(k, (500, recipe.latent_dim))
            return G.stateless_call(tv, ntv, z, training=True)[1], None

        return jax.lax.scan(body, ntv, jax.random.split(key, 100))[0]

    probe = keras.Model(classifier.input, [classifier.get_layer("features").output,
                                           classifier.output])  # fmt: skip
    probe_fn = jax.jit(
        lambda x: probe.stateless_call(
            values(probe.trainable_variables), values(probe.non_trainable_variables), x
        )[0]
    )

    def features(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As ``evaluation.features_and_probabilities``, through one compiled probe."""
        outs = [probe_fn(jnp.asarray(images[i : i + 1000], jnp.float32))
                for i in range(0, len(images), 1000)]  # fmt: skip
        feats = np.concatenate([np.asarray(f) for f, _ in outs]).astype(np.float64)
        logits = np.concatenate([np.asarray(lg) for _, lg in outs]).astype(np.float64)
        probs = np.exp(logits - logits.max(1, keepdims=True))
        return feats, probs / probs.sum(1, keepdims=True)

    sample_fn = jax.jit(lambda tv, ntv, z: G.stateless_call(tv, ntv, z, training=False)[0])

    def sample(tv, ntv, k: int) -> np.ndarray:
        z = jax.random.normal(jax.random.key(10_000 + 100 * seed + k), (N, recipe.latent_dim))
        return np.asarray(jnp.concatenate([sample_fn(tv, ntv, z[i : i + 1000])
                                           for i in range(0, N, 1000)]))  # fmt: skip

    def evaluate(state, at: int) -> dict:
        generators = {"G": (state["g_tv"], state["g_ntv"]), **state["emas"]}
        record = {"step": at}
        for k, (key, (tv, ntv)) in enumerate(generators.items()):
            for bn in ("averaged", "recomputed"):
                if bn == "recomputed":
                    ntv = recalibrate(tv, ntv, jax.random.key(20_000 + seed))
                feats, probs = features(sample(tv, ntv, k))
                for split, scorer in scorers.items():
                    record[f"{key}|{bn}|{split}"] = score(scorer, feats, probs)
                if at == steps:  # FD at n -> infinity on both sides, against the test half
                    record[f"{key}|{bn}|test"]["frechet_inf"] = evaluation.frechet_extrapolated(
                        feats, scorers["test"].reference_features, seed=seed
                    )["frechet_inf"]
        return record

    floors = {"test": score(scorers["test"], *features(floor_half)),
              "valid": score(scorers["valid"], *features(valid_floor))}  # fmt: skip
    floors["test"]["frechet_inf"] = evaluation.frechet_extrapolated(
        features(floor_half)[0], scorers["test"].reference_features, seed=seed
    )["frechet_inf"]

    def write(records: list, curve: list, seconds: float, state: dict, final: bool) -> None:
        """The run so far to ``<name>-seed<k>.json``; at the end the EMA generator's weights."""
        done = records[-1]["step"]
        result = {"name": name, "seed": seed, "settings": settings, "steps": done,
                  "finished": final, "records": records, "curve_every_50": curve,
                  "train_seconds": seconds, "ms_per_step": 1000 * seconds / (done - CHUNK),
                  "floor": floors}  # fmt: skip
        stem = out / f"{name}-seed{seed}"
        Path(f"{stem}.json").write_text(json.dumps(result) + "\n")
        if final:
            tv, ntv = state["emas"]["book"]
            np.savez_compressed(
                Path(f"{stem}.npz"), **{str(i): np.asarray(w) for i, w in enumerate(tv + ntv)}
            )

    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(x_train)) for _ in range(
        math.ceil(steps * recipe.batch_size / len(x_train)) + 1)])  # fmt: skip
    records, curve, seconds = [], [], 0.0
    for start in range(0, steps, CHUNK):
        idx = order[start * recipe.batch_size : (start + CHUNK) * recipe.batch_size]
        began = time.perf_counter()
        state, logged = run_chunk(state, jnp.asarray(idx.reshape(CHUNK, recipe.batch_size)))
        logged = np.asarray(logged)  # waits for the chunk: (CHUNK, 3)
        if start == 0:  # the first chunk compiles the step: not counted as training time
            print(f"{name} seed {seed}: step compiled and run {CHUNK} times in "
                  f"{time.perf_counter() - began:.1f} s", flush=True)  # fmt: skip
        else:
            seconds += time.perf_counter() - began
        curve.append(logged.mean(0).tolist())
        if start + CHUNK in eval_at:
            records.append(evaluate(state, start + CHUNK))
            print(f"{name} seed {seed} step {start + CHUNK}: "
                  f"{_brief(records[-1])}", flush=True)  # fmt: skip
            write(records, curve, seconds, state, final=start + CHUNK == steps)
    return json.loads((out / f"{name}-seed{seed}.json").read_text())


def held_then_cosine(rate: float, steps: int):
    """A schedule held at ``rate`` for the first half of ``steps``, then cosine-decayed to 5%
    of it. (Keras is imported here, after ``KERAS_BACKEND`` is set.)"""
    import keras

    class HeldThenCosine(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            half = steps / 2
            t = keras.ops.clip((keras.ops.cast(step, "float32") - half) / half, 0.0, 1.0)
            return rate * (0.05 + 0.95 * 0.5 * (1.0 + keras.ops.cos(math.pi * t)))

        def get_config(self):
            return {"rate": rate, "steps": steps}

    return HeldThenCosine()


def score(scorer, feats, probs) -> dict[str, float]:
    """``Scorer.score_record`` from features and probabilities already computed."""
    from vaegan_utils import evaluation

    fractions = np.bincount(probs.argmax(1), minlength=10) / len(probs)
    return {
        "score": evaluation.inception_score(probs),
        "frechet": evaluation.frechet_distance(feats.mean(0), np.cov(feats, rowvar=False),
                                               scorer.reference_mean, scorer.reference_cov),
        "min_class_fraction": float(fractions.min()),
        **{f"class_{d}": float(f) for d, f in enumerate(fractions)},
    }  # fmt: skip


def ema_names() -> list[str]:
    return ["book"] + [f"share-{share:g}" for share in SHARES]


def ema_decay(key: str, s):
    """The decay after ``s`` of G's steps: the book's ramp, or memory = share x s, capped."""
    import jax.numpy as jnp

    if key == "book":
        return jnp.minimum(0.999, (1.0 + s) / (10.0 + s))
    share = float(key.split("-")[1])
    return jnp.minimum(0.9999, 1.0 - 1.0 / jnp.maximum(1.0, share * s))


def _brief(record: dict) -> str:
    parts = []
    for key in ("G|averaged|test", "book|averaged|test", "share-0.1|recomputed|test"):
        r = record[key]
        parts.append(f"{key.split('|')[0]} {r['score']:.2f}/{r['frechet']:.2f}")
    return ", ".join(parts)


def _job(args: tuple) -> dict | None:
    name, settings, seed, steps, eval_at, out = args
    try:
        return train(name, settings, seed, steps, eval_at, out)
    except Exception as error:  # noqa: BLE001 (a failed run is reported, the others go on)
        import traceback

        traceback.print_exc()
        print(f"FAILED {name} seed {seed}: {error!r}", flush=True)
        return None


def _spawn():
    import multiprocessing

    return multiprocessing.get_context("spawn")


def _final(result: dict, key: str = "book|averaged|test") -> dict:
    return result["records"][-1][key]


ASSET = (
    Path(__file__).resolve().parents[1] / "src" / "vaegan_utils" / "assets" / "gan_levers_gpu.json"
)


def collect(directories: list[Path], note: str) -> dict:
    """The runs' final records (every generator variant), their 2,500-step records and their
    loss curves every 250 steps, from the ``--out`` directories of one or more calls."""
    runs: dict[tuple[str, int, float], dict] = {}
    for directory in directories:
        for path in sorted(directory.glob("*.json")):
            if path.name == "summary.json":
                continue
            run = json.loads(path.read_text())
            runs[(run["name"], run["seed"], run["settings"]["r1_gamma"])] = {
                "name": run["name"], "seed": run["seed"], "settings": run["settings"],
                "steps": run["steps"], "finished": run["finished"],
                "ms_per_step": run["ms_per_step"], "records": run["records"],
                "curve_every_250": run["curve_every_50"][4::5],
            }  # fmt: skip
    some = next(iter(runs.values()))
    ordered = [runs[key] for key in sorted(runs)]
    floor = json.loads(next(directories[0].glob("base-seed0.json")).read_text())["floor"]
    return {"note": note, "n": N, "steps": STEPS, "r1_every": R1_EVERY, "gammas": GAMMAS,
            "shares": SHARES, "floor": floor, "eval_keys": sorted(some["records"][-1]),
            "runs": ordered}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)  # fmt: skip
    parser.add_argument("--out", type=Path, help="where the runs write their files")
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--select-at", type=int, default=2500, help="R1's gamma is chosen here")
    parser.add_argument("--eval-at", type=int, nargs="*", default=[2500, 5000, 7500, 10_000])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--only", nargs="*", help="levers to run (default: the whole screen)")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--collect", type=Path, nargs="*", help="--out directories to gather")
    parser.add_argument("--note", default="", help="with --collect: how the runs were made")
    args = parser.parse_args()
    if args.collect:
        ASSET.write_text(json.dumps(collect(args.collect, args.note), indent=None) + "\n")
        print(f"wrote {ASSET}")
        return 0
    if args.out is None:
        parser.error("--out is needed to run (or --collect to gather runs)")
    if any(at % CHUNK or at > args.steps for at in args.eval_at + [args.steps, args.select_at]):
        raise ValueError(f"--steps, --select-at and --eval-at must be multiples of {CHUNK} "
                         "within --steps")  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    began = time.time()
    eval_at = sorted(set(args.eval_at) | {args.steps})

    def job(name: str, settings: dict, seed: int, steps: int = args.steps, at=None) -> tuple:
        return (name, settings, seed, steps, at or eval_at, args.out)

    pool = futures.ProcessPoolExecutor(args.workers, mp_context=_spawn())
    if args.only:
        needs = [n for n in args.only if LEVERS[n].get("r1_gamma", 0) is None]
        if needs and "LEVERS_GAMMA" not in os.environ:
            raise ValueError(f"--only {needs}: set LEVERS_GAMMA to R1's gamma for them")
        gamma = float(os.environ.get("LEVERS_GAMMA", "0"))
        done = [pool.submit(_job, job(n, settings_of(LEVERS[n], gamma), s))
                for n in args.only for s in args.seeds]  # fmt: skip
        futures.wait(done)
        pool.shutdown()
        return 0
    # phase 1: the gamma search (seed 0, to --select-at, on the validation reference), beside
    # the levers that need no gamma
    search = [pool.submit(_job, job(f"r1-{g:g}-select", settings_of({"r1_gamma": g}, g), 0,
                                    args.select_at, [args.select_at])) for g in GAMMAS]  # fmt: skip
    free = [pool.submit(_job, job(n, settings_of(LEVERS[n], 0.0), s))
            for n in ("base", "cosine", "ttur") for s in args.seeds]  # fmt: skip
    found = [f.result() for f in search if f.result() is not None]
    chosen = min(found, key=lambda r: r["records"][-1]["book|averaged|valid"]["frechet"])[
        "settings"]["r1_gamma"]  # fmt: skip
    print(f"R1 gamma chosen on validation at step {args.select_at}: {chosen:g}", flush=True)
    (args.out / "summary.json").write_text(json.dumps({"chosen_gamma": chosen}) + "\n")
    # phase 2: the levers that need the gamma
    base = settings_of({}, 0.0)
    needs = {f"r1-{chosen:g}": settings_of({"r1_gamma": chosen}, chosen),
             **{n: settings_of(LEVERS[n], chosen) for n in ("r1-b2", "r1-b1-0-b2")}}  # fmt: skip
    later = [pool.submit(_job, job(n, st, s)) for n, st in needs.items() for s in args.seeds]
    results = [f.result() for f in free + later if f.result() is not None]

    def mean(name: str, field: str) -> float:
        values = [_final(r)[field] for r in results if r["name"] == name]
        return sum(values) / len(values) if values else math.nan

    # phase 3: the levers whose means beat the base on both score and Fréchet, together
    names = sorted({r["name"] for r in results} - {"base"})
    winners = [n for n in names if mean(n, "score") > mean("base", "score")
               and mean(n, "frechet") < mean("base", "frechet")]  # fmt: skip
    print(f"levers that beat the base on both: {winners}", flush=True)
    summary = {"chosen_gamma": chosen, "winners": winners, "node": platform.node(),
               "python": sys.version.split()[0]}  # fmt: skip
    if len(winners) > 1:
        combined = dict(base)
        for n in winners:
            settings = next(r["settings"] for r in results if r["name"] == n)
            combined.update({k: v for k, v in settings.items() if v != base[k]})
        summary["combined"] = combined
        futures.wait([pool.submit(_job, job("combined", combined, s)) for s in args.seeds])
    pool.shutdown()
    summary["seconds"] = time.time() - began
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "jax")
    sys.exit(main())
