# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Why the stability tricks matter, measured
#
# GANs have a reputation: sensitive to hyper-parameters, prone to *vanishing gradients* (the generator
# stops learning) and to *mode collapse* (it draws only a few kinds of image). The book's seed uses
# three remedies: batch normalisation in both players, a balance rule that pauses the player more
# than 2x ahead, and the non-saturating generator loss of {cite:t}`goodfellow2014generative`.
#
# This chapter takes them away and measures what happens, starting from the recipe chapter 3's
# first search chose (learning rate 5e-4, dropout 0.3 in $D$; the lesson has since moved to a
# recipe found at its full 10,000 steps, see {doc}`03_gan_mnist_lab`).
# Tricks can interact — a rule that pauses $D$ may be harmless with batch norm and harmful without
# it — so the design is **factorial**: batch norm is crossed with the rule, the loss is crossed with
# the rule, and every arm runs with the same seeds. Each verdict below is a word chosen by a
# 95% interval computed in this run: "better", "worse", or "no measurable difference".

# %% [markdown]
# ## Setup

# %%
import subprocess
import sys

PACKAGE = "vaegan-utils @ git+https://github.com/vaegan-book/vaegan-book"
# Colab only: install the book's package, keep Colab's TF
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", PACKAGE], check=True)

# %% tags=["parameters"]
quick = False  # True: a short run for CI
seeds = [0, 1, 2, 3, 4]  # every arm is trained once per seed
output_dir = "outputs/04_gan_stability"
# False: reuse finished runs with the same settings and code from output_dir
retrain = False
steps = 600  # training steps per run
eval_every = 200  # steps between evaluations
eval_samples = 2000  # generated digits scored at each evaluation
batch_size = 64  # chapter 3's recipe from here on
latent_dim = 64
g_width = 32
d_width = 32
learning_rate = 5e-4
ema = 0.999  # decay of the EMA generator we sample from, as chapter 3 does

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
from vaegan_utils import (
    data,
    evaluation,
    gan,
    intervals,
    pipelines,
    plotting,
    reporting,
    runtime,
    show,
    training,
)

runtime.configure_logging()
runtime.set_seed(seeds[0])  # each run reseeds with its own seed
out = runtime.output_dir(output_dir)
if quick:
    seeds, steps, eval_every, eval_samples = [0, 1], 50, 50, 500
    # 14 runs in CI: each run's start-up dominates
    g_width, d_width, batch_size = 8, 8, 16
results = reporting.Results(
    out / "metrics.json", quick=quick, seeds=seeds, steps=steps, eval_every=eval_every
)
print(runtime.run_card(seed=seeds[0], quick=quick))

# %% [markdown]
# ## The arms
#
# The **baseline** is chapter 3's first recipe: batch norm in both players, no balance rule, the
# non-saturating loss $-\log D(G(z))$, sampling from the EMA generator (an exponential moving
# average of $G$'s weights). Seven arms in all, each a cell of one of two 2 × 2 designs (or the
# rule with $D$'s loss summed):
#
# | | rule off | rule on (D's loss averaged) |
# |---|---|---|
# | batch norm, non-saturating loss | **baseline** | rule |
# | no batch norm | no batch norm | no batch norm + rule |
# | saturating loss | saturating | saturating + rule |
#
# plus **rule, D's loss summed**: the rule with $D$'s loss the *sum* of its real and fake
# cross-entropies instead of their average. The seed does not say how its two cross-entropies
# combine; the book averages them everywhere else, and summing them is the other common choice
# (the lab {doc}`03_gan_mnist_lab` derives where each version pauses which player).

# %%
BASELINE = {
    "batch_norm": True,
    "balance": False,
    "saturating": False,
    "summed_d_loss": False,
}
ARMS = {
    "baseline": {},
    "rule": {"balance": True},
    "no batch norm": {"batch_norm": False},
    "no batch norm + rule": {"batch_norm": False, "balance": True},
    "saturating": {"saturating": True},
    "saturating + rule": {"saturating": True, "balance": True},
    "rule, D's loss summed": {"balance": True, "summed_d_loss": True},
}

# %% [markdown]
# ## One run
#
# A run builds both players with its seed, trains them for `steps` steps and, every `eval_every`
# steps, scores `eval_samples` fresh samples of the EMA generator (score, Fréchet distance to the
# first 5,000 test digits, the share of each digit) and the
# **sample spread**, the per-pixel standard deviation across samples, near 0 when every code gives
# the same image. The train step logs the norm of $G$'s gradient and how often each player paused.

# %%
mnist = data.load_mnist()
scorer = evaluation.Scorer.from_real(mnist.x_test[:5000])
# the other test half
real = scorer.score_record(mnist.x_test[5000 : 5000 + eval_samples])
train_pick = np.random.default_rng(seeds[0]).permutation(len(mnist.x_train))[
    :eval_samples
]
real_train = scorer.score_record(mnist.x_train[train_pick])  # training digits, same n
real_spread = float(mnist.x_train[train_pick].std(0).mean())


# %%
def slug(arm):
    """An arm's name as a key: "no batch norm + rule" -> "no_batch_norm_rule"."""
    words = arm.replace("'", "").replace("×", "x")
    words = words.replace("+", " ").replace(",", " ").split()
    return "_".join(words).lower()


def train_run(arm, seed):
    """Train one arm with one seed (or reuse the same finished run): (model, run)."""
    switches = {**BASELINE, **ARMS[arm]}
    runtime.set_seed(seed)
    generator = gan.build_generator(
        latent_dim, 28, width=g_width, batch_norm=switches["batch_norm"]
    )
    discriminator = gan.build_discriminator(
        28, width=d_width, batch_norm=switches["batch_norm"]
    )
    model = gan.GAN(
        generator,
        discriminator,
        latent_dim,
        balance=switches["balance"],
        saturating=switches["saturating"],
        summed_d_loss=switches["summed_d_loss"],
        ema=ema,
        seed=seed,
    )
    # Adam with beta_1 = 0.5 for both players
    model.compile(learning_rate=learning_rate)
    sample_seed = keras.random.SeedGenerator(seed + 1)

    def evaluate(step):
        # (n, 28, 28) in [0, 1]
        samples = gan.sample(model.ema_generator, eval_samples, sample_seed)
        return {**scorer.score_record(samples), "spread": samples.std(0).mean()}

    batches = pipelines.image_batches(mnist.x_train, batch_size, seed=seed).repeat()
    settings = {  # everything that shapes the run: a change retrains
        **switches,
        "seed": seed,
        "batch_size": batch_size,
        "latent_dim": latent_dim,
        "g_width": g_width,
        "d_width": d_width,
        "learning_rate": learning_rate,
        "ema": ema,
        "eval_samples": eval_samples,
    }
    run = training.fit_gan(
        model,
        batches,
        steps,
        eval_every,
        out / "runs",
        f"{slug(arm)}_seed{seed}",
        evaluate,
        settings=settings,
        code=[gan, train_run],
        retrain=retrain,
    )
    return model, run


# %% [markdown]
# ## All runs

# %%
runs, models = {}, {}
bar = training.progress_bar(len(ARMS) * len(seeds), "runs", unit="run")
for arm in ARMS:
    for seed in seeds:
        model, runs[arm, seed] = train_run(arm, seed)
        if seed == seeds[0]:
            models[arm] = model
        bar.update()
bar.close()
train_seconds = sum(run.seconds for run in runs.values())
print(f"{len(runs)} runs of {steps:,} steps: {train_seconds:.0f} s of training")
# the evaluations after step 0
eval_steps = np.arange(1, steps // eval_every + 1) * eval_every


def curves(key, arms=ARMS):
    """``{arm: (seeds, evaluations) array}`` of one logged quantity, step 0 left out."""
    return {
        a: np.array([runs[a, s].column(key)[-len(eval_steps) :] for s in seeds])
        for a in arms
    }


def final(arm, key):
    """The last evaluation's ``key``: one value per seed, in the order of ``seeds``."""
    return np.array([runs[arm, s].records[-1][key] for s in seeds])


# %% [markdown]
# ## Quality over training
#
# The Fréchet distance of each arm, one panel per 2 × 2 design. Lines are the mean over seeds, the
# shaded bands span the lowest to the highest seed; the dashed line is the other test half (real
# digits, same $n$), the dotted one real training digits. The reference and the other half are
# the test set's halves in file order, which come from two NIST sources: the other half lies
# farther from the reference than a random half would ({doc}`03_gan_mnist_lab` measures how much),
# so it is no floor for a generator; the comparisons between arms share the reference.

# %%
designs = {
    "batch norm × rule": ["baseline", "rule", "no batch norm", "no batch norm + rule"],
    "loss × rule (and the summed rule)": [
        "baseline",
        "rule",
        "saturating",
        "saturating + rule",
        "rule, D's loss summed",
    ],
}
fig, axes = plt.subplots(1, 2, figsize=(13, 3.8), sharey=True)
for ax, (title, arms) in zip(axes, designs.items(), strict=True):
    plotting.seed_bands(
        ax, eval_steps, curves("frechet", arms), "Fréchet distance", title
    )
    ax.axhline(real["frechet"], color="black", linestyle="--")
    ax.axhline(real_train["frechet"], color="black", linestyle=":")
    ax.set_yscale("log")
    ax.legend(fontsize="x-small")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The verdicts
#
# A run that stalls can end at a distance many times its siblings', so we compare **log** Fréchet
# distances: a stalled seed then weighs as a large factor, not as most of the mean. For each arm and seed, the
# difference from the baseline with the same seed (same initial data order); over the
# {glue:}`n_seeds` seeds, its mean and a 95% t-interval (sample standard deviation, ddof = 1),
# shown as a ratio of distances: 1 means no change, below 1 better. The two **interaction
# contrasts** are differences of differences: does adding the rule change the distance by the
# same factor with and without batch norm (with either loss)? A ratio of ratios of 1 means the
# two act independently.


# %%
def log_frechet(arm):
    return np.log(final(arm, "frechet"))


contrasts = {  # name -> (paired differences of log Fréchet, one per seed; kind)
    **{
        f"{arm} vs baseline": (log_frechet(arm) - log_frechet("baseline"), "arm")
        for arm in ARMS
        if arm != "baseline"
    },
    "summed vs averaged rule": (
        log_frechet("rule, D's loss summed") - log_frechet("rule"),
        "arm",
    ),
    "no batch norm + rule vs rule": (
        log_frechet("no batch norm + rule") - log_frechet("rule"),
        "arm",
    ),
    "saturating + rule vs rule": (
        log_frechet("saturating + rule") - log_frechet("rule"),
        "arm",
    ),
    "batch norm x rule": (
        (log_frechet("no batch norm + rule") - log_frechet("no batch norm"))
        - (log_frechet("rule") - log_frechet("baseline")),
        "interaction",
    ),
    "loss x rule": (
        (log_frechet("saturating + rule") - log_frechet("saturating"))
        - (log_frechet("rule") - log_frechet("baseline")),
        "interaction",
    ),
}
verdicts, words = {}, {}
for name, (diffs, kind) in contrasts.items():
    verdicts[name] = intervals.paired_interval(diffs)  # t-interval over seeds, ddof = 1
    if kind == "arm":  # lower Fréchet is better
        words[name] = verdicts[name].word(above="worse", below="better")
    else:
        interact = verdicts[name].word() != "no measurable difference"
        words[name] = "the two interact" if interact else "no measurable interaction"

fig, ax = plt.subplots(figsize=(8, 4.5))
names = list(contrasts)
for row, name in enumerate(names):
    i = verdicts[name]
    color = "tab:red" if i.low > 0 else "tab:green" if i.high < 0 else "grey"
    if contrasts[name][1] == "interaction":  # away from 1: the two interact
        color = "grey" if i.low <= 0 <= i.high else "tab:purple"
    ax.errorbar(
        np.exp(i.mean),
        row,
        xerr=[[np.exp(i.mean) - np.exp(i.low)], [np.exp(i.high) - np.exp(i.mean)]],
        fmt="o",
        color=color,
        capsize=3,
    )
    ax.plot(
        np.exp(contrasts[name][0]),
        np.full(len(seeds), row + 0.25),
        ".",
        color="black",
        markersize=3,
    )  # one dot per seed
ax.axvline(1.0, color="black", linewidth=0.8)
ax.set_xscale("log")
ax.set(
    yticks=range(len(names)),
    yticklabels=names,
    xlabel="ratio of final Fréchet distances (mean over seeds, 95% t-interval)",
)
ax.invert_yaxis()
fig.tight_layout()
plt.show()

# %%
rows = []
for name, i in verdicts.items():
    rows.append(
        {
            "contrast": name,
            "Fréchet ratio": f"{np.exp(i.mean):.2f}",
            "95% interval": f"{np.exp(i.low):.2f} to {np.exp(i.high):.2f}",
            "verdict": words[name],
        }
    )
    key = f"contrast.{slug(name.replace(' vs ', ' '))}"
    results.add(f"{key}.ratio", float(np.exp(i.mean)), "{:.2f}")
    results.add(f"{key}.interval", f"{np.exp(i.low):.2f} to {np.exp(i.high):.2f}")
    results.add(f"{key}.verdict", words[name])
show.table(rows)

# %% [markdown]
# ## Pauses, gradients and stalls
#
# How often each side paused (a share of all steps, mean over seeds and the lowest to the highest
# seed), the median norm of $G$'s gradient, and how many runs ended **stuck**: samples nearly all one
# image (spread below a tenth of real digits').

# %%
real_row = {
    "arm": "real digits (other test half)",
    "score": f"{real['score']:.2f}",
    "Fréchet": f"{real['frechet']:.1f}",
    "rarest digit (%)": f"{100 * real['min_class_fraction']:.1f}",
    "spread": f"{real_spread:.3f}",
    **dict.fromkeys(("D paused (%)", "G paused (%)", "‖∇G‖ median", "stuck"), "—"),
}


def spread_text(values, fmt):
    """``"mean (lowest–highest)"`` of per-seed values."""
    return f"{values.mean():{fmt}} ({values.min():{fmt}}–{values.max():{fmt}})"


rows, paused = [], {}
for arm in ARMS:
    d_paused = np.array([runs[arm, s].column("train_d_paused").mean() for s in seeds])
    g_paused = np.array([runs[arm, s].column("train_g_paused").mean() for s in seeds])
    stuck = int(np.sum(final(arm, "spread") < 0.1 * real_spread))
    grad = np.median(curves("train_g_grad_norm")[arm])
    paused[arm] = (d_paused, g_paused)
    rows.append(
        {
            "arm": arm,
            "score": f"{final(arm, 'score').mean():.2f}",
            "Fréchet": f"{np.exp(log_frechet(arm).mean()):.1f}",
            "rarest digit (%)": f"{100 * final(arm, 'min_class_fraction').mean():.1f}",
            "spread": f"{final(arm, 'spread').mean():.3f}",
            "D paused (%)": spread_text(100 * d_paused, ".0f"),
            "G paused (%)": spread_text(100 * g_paused, ".1f"),
            "‖∇G‖ median": f"{grad:.2g}",
            "stuck": f"{stuck} of {len(seeds)}",
        }
    )
    key = f"arms.{slug(arm)}"
    results.add(f"{key}.settings", {**BASELINE, **ARMS[arm]}, glue_it=False)
    for name in ("score", "frechet", "min_class_fraction", "spread"):
        results.add(f"{key}.final_{name}", final(arm, name).tolist(), glue_it=False)
    # step 0, before training
    start = [runs[arm, s].records[0]["frechet"] for s in seeds]
    results.add(f"{key}.start_frechet", start, glue_it=False)
    results.add(
        f"{key}.g_grad_norm", curves("train_g_grad_norm")[arm].tolist(), glue_it=False
    )
    results.add(f"{key}.d_paused", float(d_paused.mean()), "{:.0%}")
    results.add(f"{key}.g_paused", float(g_paused.mean()), "{:.1%}")
    results.add(f"{key}.stuck", stuck, f"{{}} of {len(seeds)}")
    results.add(f"{key}.grad_median", float(grad), "{:.2g}")
show.table(rows + [real_row])

# %% [markdown]
# Lines: mean over seeds; bands: lowest to highest seed.

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
plotting.seed_bands(
    axes[0], eval_steps, curves("train_g_grad_norm"), "‖∇G‖", "G's gradient norm"
)
axes[0].set_yscale("log")
rule_arms = [arm for arm in ARMS if ARMS[arm].get("balance")]
plotting.seed_bands(
    axes[1],
    eval_steps,
    {a: 100 * c for a, c in curves("train_d_paused", rule_arms).items()},
    "% of steps",
    "D paused",
)
plotting.seed_bands(
    axes[2],
    eval_steps,
    {a: 100 * c for a, c in curves("train_g_paused", rule_arms).items()},
    "% of steps",
    "G paused",
)
axes[0].legend(fontsize="x-small")
axes[1].legend(fontsize="x-small")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Mode collapse
#
# The rarest digit's share at the end, per arm: the mean over seeds with its 95% t-interval, and the
# paired difference from the baseline (percentage points). Then each arm's share of every digit
# (bars: mean over seeds; dots: single seeds).

# %%
rare_rows = []
for arm in ARMS:
    share = 100 * final(arm, "min_class_fraction")
    alone = intervals.paired_interval(share)  # one-sample t-interval of the mean
    row = {
        "arm": arm,
        "rarest digit (%)": f"{alone:.1f}",
        "vs baseline (points)": "—",
        "verdict": "—",
    }
    if arm != "baseline":
        diff = intervals.paired_interval(
            share, 100 * final("baseline", "min_class_fraction")
        )
        row |= {
            "vs baseline (points)": f"{diff:+.1f}",
            "verdict": diff.word("higher", "lower"),
        }
        results.add(
            f"arms.{slug(arm)}.rarest_vs_baseline", diff.word("higher", "lower")
        )
    results.add(f"arms.{slug(arm)}.rarest", alone.mean / 100, "{:.1%}")
    rare_rows.append(row)
show.table(rare_rows)
results.add("real_rarest", real["min_class_fraction"], "{:.1%}")
results.add("real_train_rarest", real_train["min_class_fraction"], "{:.1%}")

# %%
fig, axes = plt.subplots(1, len(ARMS), figsize=(2.4 * len(ARMS), 2.6), sharey=True)
for ax, arm in zip(axes, ARMS, strict=True):
    # (seeds, 10)
    fractions = 100 * np.stack([final(arm, f"class_{d}") for d in range(10)], axis=1)
    ax.bar(range(10), fractions.mean(0), color="lightgrey")
    for row in fractions:
        ax.plot(range(10), row, ".", color="black", markersize=3)
    ax.axhline(10, color="grey", linestyle=":")
    ax.set(title=arm, xticks=range(10), xlabel="digit")
    ax.title.set_fontsize("small")
axes[0].set_ylabel("% of samples")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What the generators draw
#
# Samples of each arm's first seed at the end of its run:

# %%
fig, axes = plt.subplots(1, len(ARMS), figsize=(2.4 * len(ARMS), 2.8))
for ax, (arm, model) in zip(axes, models.items(), strict=True):
    plotting.show_grid(
        gan.sample(model.ema_generator, 25, seed=seeds[0]), 5, 5, title=arm, ax=ax
    )
    ax.title.set_fontsize("small")
fig.tight_layout()
plt.show()

# %%
results.add("runs", len(runs))
results.add("steps", steps, "{:,}")
results.add("n_seeds", len(seeds))
results.add("eval_samples", eval_samples, "{:,}")
results.add("train_seconds", train_seconds, "{:.0f}")
results.add("real", {**real, "spread": real_spread}, glue_it=False)
results.add("real_train", real_train, glue_it=False)
results.add("real_frechet", real["frechet"], "{:.1f}")
results.add("real_train_frechet", real_train["frechet"], "{:.1f}")
results.add("base_frechet", float(np.exp(log_frechet("baseline").mean())), "{:.1f}")
results.add("base_score", float(final("baseline", "score").mean()), "{:.2f}")
results.add("n_contrasts", len(verdicts))
d_share, g_share = (float(np.mean(share)) for share in paused["rule"])
results.add(
    "rule_reading",
    f"with D's loss averaged the rule paused G in {g_share:.1%} of the steps "
    f"against D's {d_share:.0%}: "
    + (
        "it acted almost only as a brake on D"
        if g_share < d_share / 10
        else "both sides paused"
    ),
)
results.add(
    "contrasts",
    {name: [i.mean, i.low, i.high] for name, i in verdicts.items()},
    glue_it=False,
)
results.add("verdicts", words, glue_it=False)
rare_reached = (
    np.mean(final("baseline", "min_class_fraction")) >= 0.5 * real["min_class_fraction"]
)
results.add("collapse_judgeable", bool(rare_reached), glue_it=False)
results.add(
    "collapse_reading",
    "the baseline's rarest digit reached at least half the real share, "
    "so a collapsed arm would stand out"
    if rare_reached
    else "the baseline's rarest digit "
    "stayed below half the real share, "
    "so mode collapse cannot be judged at this budget",
)

# %% [markdown]
# ## What the numbers say
#
# {glue:}`runs` runs ({glue:}`n_seeds` seeds per arm, {glue:}`steps` steps each,
# {glue:}`train_seconds` s of training in all), a study of the first {glue:}`steps` steps of
# training — long runs may tell another story. The baseline ends at a Fréchet distance of
# {glue:}`base_frechet` (geometric mean over seeds; real digits: {glue:}`real_frechet` for the other
# test half, {glue:}`real_train_frechet` for training digits, both at $n$ = {glue:}`eval_samples`),
# and a score of {glue:}`base_score`. On class shares, {glue:}`collapse_reading`.
#
# **Batch norm.** Without it (rule off), against the baseline: {glue:}`contrast.no_batch_norm_baseline.verdict`
# (Fréchet ratio {glue:}`contrast.no_batch_norm_baseline.ratio`, 95% interval
# {glue:}`contrast.no_batch_norm_baseline.interval`); {glue:}`arms.no_batch_norm.stuck` runs ended stuck.
# With the rule on, removing batch norm (against the rule arm, one switch apart):
# {glue:}`contrast.no_batch_norm_rule_rule.verdict` (ratio
# {glue:}`contrast.no_batch_norm_rule_rule.ratio`, {glue:}`contrast.no_batch_norm_rule_rule.interval`);
# {glue:}`arms.no_batch_norm_rule.stuck` runs ended stuck, with $D$ paused in
# {glue:}`arms.no_batch_norm_rule.d_paused` of the steps.
#
# **Batch norm × rule.** The interaction contrast is {glue:}`contrast.batch_norm_x_rule.ratio`
# ({glue:}`contrast.batch_norm_x_rule.interval`): {glue:}`contrast.batch_norm_x_rule.verdict`.
# A verdict on either trick alone is only as general as this line allows: when the two interact,
# "batch norm helps" is a statement about one setting of the rule. An interaction contrast combines
# four arms, so its interval is about twice as wide as one arm's: with few seeds, "no measurable
# interaction" means only that no large one showed. And where runs without batch norm end stuck
# (the counts above), they sit near the untrained generator's distance, a ceiling: the rule cannot
# make them much worse, so part of an interaction can come from the ceiling alone.
#
# **The rule.** With batch norm, turning the rule on: {glue:}`contrast.rule_baseline.verdict`
# (ratio {glue:}`contrast.rule_baseline.ratio`, {glue:}`contrast.rule_baseline.interval`). Chapter 3
# derived that with $D$'s loss averaged and $D$ sure of real images, $D$'s pause region is the
# larger one; here
# {glue:}`rule_reading`. The rule with
# $D$'s loss summed paused $D$ in {glue:}`arms.rule_ds_loss_summed.d_paused` and $G$
# in {glue:}`arms.rule_ds_loss_summed.g_paused`; against the averaged rule:
# {glue:}`contrast.summed_averaged_rule.verdict` (ratio {glue:}`contrast.summed_averaged_rule.ratio`,
# {glue:}`contrast.summed_averaged_rule.interval`).
#
# **The saturating loss.** Against the baseline: {glue:}`contrast.saturating_baseline.verdict` (ratio
# {glue:}`contrast.saturating_baseline.ratio`, {glue:}`contrast.saturating_baseline.interval`); its
# median gradient norm was {glue:}`arms.saturating.grad_median` against the baseline's
# {glue:}`arms.baseline.grad_median`, and {glue:}`arms.saturating.stuck` runs ended stuck. With the
# rule on, the saturating loss against the rule arm: {glue:}`contrast.saturating_rule_rule.verdict`
# ({glue:}`contrast.saturating_rule_rule.ratio`, {glue:}`contrast.saturating_rule_rule.interval`).
# Loss × rule: {glue:}`contrast.loss_x_rule.verdict` ({glue:}`contrast.loss_x_rule.ratio`,
# {glue:}`contrast.loss_x_rule.interval`).
#
# Read the verdicts with their limits. {glue:}`n_contrasts` intervals at 95% are not a joint 95%
# statement: with this many, one may exclude 1 by chance, and one that barely does is a lead for a
# longer study, not a law. With {glue:}`n_seeds` seeds a t-interval leans on the differences being
# roughly normal (a test that assumes nothing, flipping signs, cannot reach 5% with five pairs);
# the dots in the figure show each seed, so a verdict carried by one odd seed is visible. And the
# baseline's learning rate and batch size were chosen in chapter 3's search for batch norm and the
# non-saturating loss; the other arms were not re-tuned, which tilts the comparison their way.

# %%
print(f"metrics of run {results['run_id']}: {results.save()}")

# %% [markdown]
# ## Summary
#
# - An ablation of interacting parts needs a factorial design and several seeds: one switch at a
#   time can credit one trick with what another caused.
# - Verdicts here are words chosen by paired 95% intervals over the same seeds, on log Fréchet
#   distances; the interaction contrasts say whether a trick's effect depends on another.
# - The rule's pauses, measured: {glue:}`rule_reading`. Summing $D$'s loss moves both edges
#   (chapter 3); the pause shares above show what each version does in training.
#
# ## Exercises
#
# 1. Lengthen `steps` to 5,000 (or more seeds). Which verdicts change from "no measurable
#    difference" to a direction, and which intervals only narrow?
# 2. Add an arm with one-sided label smoothing (`real_label=0.9` in `gan.GAN`) to `ARMS`.
# 3. Remove dropout from the discriminator (`dropout=0.0` in `gan.build_discriminator`) and rerun
#    the saturating arms. Does the saturating loss's gradient vanish now?
