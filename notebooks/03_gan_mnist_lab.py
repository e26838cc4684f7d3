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
# # The GAN lab: a fair yardstick, a copy test, and how the recipe was chosen
#
# The lesson {doc}`03_gan_mnist` built a GAN, trained it for 10,000 steps and showed what it
# draws. This lab measures that generator: what the yardstick is and why its real-data reference
# must be a *random* half of the test set, the floor real digits reach and how it depends on the
# sample size, precision and recall, whether the generator copies its training digits, what the
# losses say over training, where the reference code's balance rule pauses which player, and how the
# lesson's settings were chosen. It picks up the lesson's finished run from its directory; where
# there is none (or in CI's quick mode) it trains the lesson's model itself, with the package's
# copy of the lesson's code (`vaegan_utils.gan`).

# %% [markdown]
# ## Setup

# %%
import subprocess
import sys

# the commit of the package this notebook's outputs were executed with
# (tools.notebooks writes it into the .ipynb)
PACKAGE_REF = "main"
REPOSITORY = "git+https://github.com/vaegan-book/vaegan-book"
PACKAGE = f"vaegan-utils @ {REPOSITORY}@{PACKAGE_REF}"
# Colab only: install the book's package at that commit, keep Colab's TF
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", PACKAGE], check=True)

# %% tags=["parameters"]
quick = False  # True: a short run for CI
seed = 0
output_dir = "outputs/03_gan_mnist_lab"
# False: reuse a finished run with the same settings and code from output_dir
retrain = False
# the lesson's run directory: its finished run is measured here (none: trained here)
lesson_dir = "outputs/03_gan_mnist"
# the lesson's settings (a run found in lesson_dir must have been trained with them)
steps = 10_000
eval_every = 500
n_eval = 5000
batch_size = 64
latent_dim = 64
g_width = 32
d_width = 32
dropout = 0.0  # D's dropout rate
learning_rate = 2e-3
beta_1 = 0.0
beta_2 = 0.99
r1_gamma = 0.1
balance = False
saturating = False
ema = 0.999

# %%
import json
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
from scipy import optimize, stats
from vaegan_utils import (
    assets,
    data,
    evaluation,
    face_checks,
    gan,
    intervals,
    pipelines,
    plotting,
    reporting,
    runs,
    show,
    training,
)

lesson_steps = steps  # the lesson's full run, whatever this page trains
if quick:
    steps, eval_every, n_eval = 400, 100, 1000
# logging on, seeded, output directory made, run card printed; results: metrics.json
out, results = reporting.start(output_dir, seed=seed, quick=quick, steps=steps)

# %% [markdown]
# ## The lesson's generator
#
# The lesson saved its run in `lesson_dir`: the EMA generator's weights, the settings, and a log
# with the losses and scores at every evaluation. If that run finished with the settings above,
# we measure it and print its run id as this page's source; otherwise (and always in quick mode)
# we train the same model here, with the lesson's protocol.

# %%
mnist = data.load_mnist()
reference, other_half = data.random_halves(mnist.x_test, seed=0)  # as in the lesson
scorer = evaluation.Scorer.from_real(reference)
recipe = gan.Recipe(  # the lesson's settings as one object
    latent_dim=latent_dim,
    g_width=g_width,
    d_width=d_width,
    dropout=dropout,
    learning_rate=learning_rate,
    batch_size=batch_size,
    balance=balance,
    saturating=saturating,
    ema=ema,
    beta_1=beta_1,
    beta_2=beta_2,
    r1_gamma=r1_gamma,
)
run_settings = {"seed": seed, "n_eval": n_eval, **recipe.asdict()}
settings = {**run_settings, "eval_every": eval_every}

# %%
# the lesson's finished run if there is one with these settings, else train it here
lesson_files = runs.run_files(Path(lesson_dir), "gan")
lesson_info = (
    json.loads(lesson_files["run"].read_text())
    if lesson_files["run"].exists() and not quick
    else None
)
if lesson_info and lesson_info.get("finished"):
    trained_with = lesson_info["fingerprint"]["settings"]
    changed = {k: v for k, v in settings.items() if trained_with.get(k) != v}
    if changed:
        raise ValueError(
            f"the run in lesson_dir={lesson_dir!r} used other settings than {changed}; "
            "rerun the lesson with this page's settings, or point lesson_dir elsewhere"
        )
    generator = gan.load_generator(lesson_dir)
    records = json.loads(lesson_files["log"].read_text())
    source = lesson_info["trained_in"]
    print(f"upstream run {source}: the lesson's generator, from {lesson_dir}")
else:  # train the lesson's model here
    model = recipe.build(seed)  # compiled: Adam for both players
    score_rng = keras.random.SeedGenerator(seed + 1)
    run = training.fit_gan(
        model,
        pipelines.image_batches(mnist.x_train, batch_size, seed=seed).repeat(),
        steps,
        eval_every,
        out / "lesson_run",
        "gan",
        lambda step: scorer.score_record(
            gan.sample(model.ema_generator, n_eval, score_rng)
        ),
        settings=run_settings,
        code=[gan.GAN, gan.GANBase, gan.build_generator, gan.build_discriminator],
        retrain=retrain,
    )
    generator, records = model.ema_generator, run.records
# step 0, then one record every eval_every steps
start, history = records[0], records[1:]

# %% [markdown]
# ## The yardstick
#
# Every number on this page comes from one protocol: $n$ = {glue:}`n_eval` generated digits
# scored with a small CNN classifier (trained on MNIST's 60,000 training digits by
# `scripts/train_mnist_classifier.py`; its weights ship with `vaegan_utils` and are hash-checked
# on loading) against a **reference** of 5,000 test digits, and the same measurements of real
# digits beside them:
#
# - the **score** $\exp\big(\mathbb{E}_x \mathrm{KL}(p(y \mid x) \,\|\, p(y))\big)$, between 1 and 10;
# - the **Fréchet distance** between Gaussians fitted to the classifier's 128-D penultimate
#   features of the two sets {cite:p}`heusel2017gans`;
# - **precision and recall** in the same feature space {cite:p}`kynkaanniemi2019improved`: the
#   share of samples inside the real digits' manifold (each real feature vector's ball reaching its
#   third-nearest real neighbour), and the share of real digits inside the samples' manifold —
#   fidelity and coverage, apart;
# - the **share of samples per digit**.
#
# ### Why the reference is a random half
#
# The real-data floor should answer "what do real digits of the same population reach at this
# $n$?". The MNIST test set is not in random order: by MNIST's own account its first 5,000 digits
# come from NIST's SD-3 (written by Census Bureau employees) and its last 5,000 from SD-1
# (written by high-school students), which are harder. A floor computed from the first half
# against the second would compare two populations. The Fréchet distance between the two
# file-order halves, against the
# same distance between random halves (twenty random splits):


# %%
test_features, _ = evaluation.features_and_probabilities(
    scorer.classifier, mnist.x_test
)  # (10000, 128)


def fd(a, b):
    """Fréchet distance between two sets of features."""
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    return evaluation.frechet_distance(a.mean(0), cov_a, b.mean(0), cov_b)


def halves_distance(first, second):
    """Fréchet distance between two sets of test digits (their indices)."""
    return fd(test_features[first], test_features[second])


index = np.arange(len(mnist.x_test))
ordered = halves_distance(index[:5000], index[5000:])
randoms = np.array(
    [halves_distance(*data.random_halves(index, seed=s)) for s in range(20)]
)
print(
    f"file-order halves: {ordered:.2f}; random halves: mean {randoms.mean():.2f} "
    f"± {randoms.std(ddof=1):.2f} (s.d.), range {randoms.min():.2f} to "
    f"{randoms.max():.2f} (20 splits); this book's split (seed 0): {randoms[0]:.2f}"
)

# %% tags=["remove-cell"]
results.add("split.ordered", ordered, "{:.1f}")
results.add("split.random_mean", randoms.mean(), "{:.2f}")
results.add("split.random_sd", randoms.std(ddof=1), "{:.2f}")
results.add("split.random_max", randoms.max(), "{:.2f}")
results.add("split.ratio", ordered / randoms.max(), "{:.0f}")
results.add("split.ours", randoms[0], "{:.2f}")
results.add("split.ours_rank", int(np.sum(randoms >= randoms[0])), "{:d}")
results.add("split.ours_vs_mean", randoms[0] / randoms.mean(), "{:.2f}")

# %% [markdown]
# The file-order halves are {glue:}`split.ordered` apart, {glue:}`split.ratio` times the largest
# of twenty random splits ({glue:}`split.random_max`; mean {glue:}`split.random_mean` ±
# {glue:}`split.random_sd`). A floor built from the file-order halves lies far above what a
# generator of the mixed training distribution can reach, so "beating the floor" would mean
# nothing. Both the lesson and this lab therefore split the test set at random
# (`data.random_halves`, seed 0, fixed before any generator was scored): one half is the
# reference, the other the floor.
#
# The floor varies with the split, too. This book's split puts the halves
# {glue:}`split.ours` apart, rank {glue:}`split.ours_rank` of the twenty from the top and
# {glue:}`split.ours_vs_mean` times the mean split's distance: a target of "at most twice the
# floor" is that much easier with this split than with a typical one. Every ratio to the floor
# below uses this split.
#
# Why the test set and not training digits: the classifier and the GAN both trained on the
# training digits, while the test digits are new to both. Random training digits are shown beside
# the floor as a second real reference, not used for the targets.
#
# ### The floor depends on $n$
#
# The means and covariances in a Fréchet distance are *estimated* from $n$ images, and the
# estimation noise adds a positive bias that shrinks as $n$ grows (the reference's own 5,000
# images carry some noise too, so it cannot reach 0 at any $n$). Both real references at several $n$, each a
# random draw:

# %%
real = scorer.score(other_half[:n_eval], with_recall=True)
train_pick = np.random.default_rng(seed).permutation(len(mnist.x_train))
real_train = scorer.score(mnist.x_train[train_pick[:n_eval]], with_recall=True)
floor_rows = [
    {
        "n": n,
        "other test half": scorer.score(other_half[:n])["frechet"],
        "training digits": scorer.score(mnist.x_train[train_pick[:n]])["frechet"],
    }
    for n in (500, 1000, 2000, 5000)
    if n <= len(other_half)
]
show.table(floor_rows, floatfmt="{:.2f}")
last_row = floor_rows[-1]

# %% tags=["remove-cell"]
for key, column in (("floor", "other test half"), ("train_floor", "training digits")):
    results.add(f"{key}_n_first", floor_rows[0][column], "{:.2f}")
    results.add(f"{key}_n_last", floor_rows[-1][column], "{:.2f}")
results.add("floor_first_n", floor_rows[0]["n"], "{:,}")
results.add(
    "train_vs_test",
    "farther from the reference than the other test half (one draw each; MNIST's "
    "disjoint training and test writers, or the classifier's training on these "
    "digits, may explain it: not tested)"
    if last_row["training digits"] > last_row["other test half"]
    else "nearer to the reference than the other test half",
)
results.add("floor_last_n", floor_rows[-1]["n"], "{:,}")
results.add("n_eval", n_eval, "{:,}")

# %% [markdown]
# From $n$ = {glue:}`floor_first_n` to {glue:}`floor_last_n` the other test half's distance falls
# from {glue:}`floor_n_first` to {glue:}`floor_n_last` and the training digits' from
# {glue:}`train_floor_n_first` to {glue:}`train_floor_n_last`: a Fréchet distance means something
# only next to a floor at the same $n$ and reference. At $n$ = {glue:}`floor_last_n` random
# training digits lie {glue:}`train_vs_test`.

# %% [markdown]
# ## The lesson's generator, measured
#
# Ten independent draws of {glue:}`n_eval` samples of the EMA generator (codes the lesson did not
# use), now with precision and recall: mean ± standard deviation over the draws, beside the other
# test half and random training digits. The spread is the sampling noise of one draw; the
# training's own randomness (another seed) is larger, and the lever search below shows a second
# seed.

# %%
draws = [
    scorer.score(gan.sample(generator, n_eval, seed=seed + 10 + k), with_recall=True)
    for k in range(10)
]
keys = ("score", "frechet", "precision", "recall")
mean = {key: float(np.mean([d[key] for d in draws])) for key in keys}
sd = {key: float(np.std([d[key] for d in draws], ddof=1)) for key in keys}
rarest = np.mean([min(d["class_fractions"]) for d in draws])
names = {"score": "score", "frechet": "Fréchet", "precision": "precision"}
names["recall"] = "recall"
rows = [{"": "generated (10 draws)"}, {"": "other test half (floor)"}]
rows.append({"": "training digits"})
for key, name in names.items():
    rows[0][name] = f"{mean[key]:.3f} ± {sd[key]:.3f}"
    rows[1][name] = f"{real[key]:.3f}"
    rows[2][name] = f"{real_train[key]:.3f}"
rows[0]["rarest digit"] = f"{rarest:.1%}"
rows[1]["rarest digit"] = f"{min(real['class_fractions']):.1%}"
rows[2]["rarest digit"] = f"{min(real_train['class_fractions']):.1%}"
show.table(rows)
# (n_eval, 28, 28): the first draw's samples, for the class shares and the copy test
final_samples = gan.sample(generator, n_eval, seed=seed + 10)
final = draws[0]
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.bar(np.arange(10) - 0.2, final["class_fractions"], width=0.4, label="generated")
ax.bar(np.arange(10) + 0.2, real["class_fractions"], width=0.4, label="other test half")
ax.set(xticks=range(10), xlabel="digit (as classified)", ylabel="fraction")
ax.legend(fontsize="small")
plt.show()


# %% tags=["remove-cell"]
def compared(key):
    """Generated against the other half: below, above or within 2 s.d. of the draws."""
    if mean[key] + 2 * sd[key] < real[key]:
        return "a smaller"
    if mean[key] - 2 * sd[key] > real[key]:
        return "a larger"
    return "about the same"


last = history[-4:]  # the last evaluations of training

# %% tags=["remove-cell"]
results.add("final", {**final, "mean": mean, "sd": sd}, glue_it=False)
results.add("real", real, glue_it=False)
results.add("real_train", real_train, glue_it=False)
for key in keys:
    results.add(f"gan_{key}", f"{mean[key]:.3f} ± {sd[key]:.3f}")
    results.add(f"real_{key}", real[key], "{:.3f}")
for key in ("score", "frechet"):
    moved = [r[key] for r in last]
    results.add(f"last_{key}_range", f"{min(moved):.2f} to {max(moved):.2f}")
results.add("last_first_step", last[0]["step"], "{:,}")
results.add(
    "pr.reading",
    f"{compared('precision')} share of the samples than of the other half's digits "
    "falls among the reference's, and the samples' manifold holds "
    f"{compared('recall')} share of the reference (each judged against two standard "
    "deviations of the draws)",
)
results.add("gan_min_class", rarest, "{:.1%}")
results.add("train_frechet", real_train["frechet"], "{:.2f}")

# %% [markdown]
# The generator scores {glue:}`gan_score` (other test half: {glue:}`real_score`) at a Fréchet
# distance of {glue:}`gan_frechet` (floor {glue:}`real_frechet`, random training digits
# {glue:}`train_frechet`); its rarest digit makes up {glue:}`gan_min_class` of the samples on
# average. How much the figures moved at the end of training (the generator's change plus each
# evaluation's own draw): over the lesson's evaluations from step {glue:}`last_first_step` on, the score ranged
# {glue:}`last_score_range` and the Fréchet distance {glue:}`last_frechet_range`. Precision
# {glue:}`gan_precision` against the other half's {glue:}`real_precision`, recall
# {glue:}`gan_recall` against {glue:}`real_recall`: {glue:}`pr.reading`. Precision and recall
# judge each set by the other's $k$-nearest-neighbour balls, so a set spread wider than the real
# digits gains recall from its larger balls without covering more.

# %% [markdown]
# ### What the yardstick hides
#
# **The floor is mostly bias.** A Fréchet distance from $n$ samples on each side overshoots the
# true distance by roughly $c/n$, even between two samples of one population: estimating a
# 128×128 covariance from $n$ images is noisy, and the noise always adds distance ($c$ grows
# with the feature dimension). So we score random subsets of $n$ images *from both sets*, for
# several $n$, fit a straight line to the distance against $1/n$, and read where it meets
# $1/n = 0$: that intercept is FD∞ {cite:p}`chong2020effectively`
# (`evaluation.frechet_extrapolated`).

# %%
gen_features, gen_probs = evaluation.features_and_probabilities(
    scorer.classifier, final_samples
)
floor_features, floor_probs = evaluation.features_and_probabilities(
    scorer.classifier, other_half[:n_eval]
)
n_fit = min(len(gen_features), len(scorer.reference_features), len(floor_features))
fit_sizes = tuple(int(f * n_fit) for f in (0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0))
fd_inf = {
    name: evaluation.frechet_extrapolated(
        feats, scorer.reference_features, sizes=fit_sizes, seed=seed
    )
    for name, feats in (
        ("generated", gen_features),
        ("other test half", floor_features),
    )
}
fig, ax = plt.subplots(figsize=(5.5, 3.2))
for name, fit in fd_inf.items():
    inverse = 1 / np.array(fit["sizes"])
    ax.plot(inverse, fit["distances"], "o", label=name)
    ends = np.array([0.0, inverse.max()])
    line = fit["frechet_inf"] + fit["slope"] * ends
    ax.plot(ends, line, ":", color="grey", label=f"fit: FD∞ = {fit['frechet_inf']:.2f}")
ax.set(xlabel="1 / n", ylabel="Fréchet distance", title="FD∞: the line at 1/n = 0")
ax.legend(fontsize="small")
plt.show()

# %% [markdown]
# **The split matters too.** The reference half enters the floor *and* the generator's distance,
# so the ratio to the floor is measured here over five other random splits of the test set
# (seeds 1 to 5, each half in turn the reference), scoring the same samples; each split also
# gives the floor's FD∞ once more, which shows how far that estimate scatters around 0.

# %%
split_ratios, floor_infs = [], []
for split_seed in range(1, 6):
    halves = data.random_halves(mnist.x_test, seed=split_seed)
    for ref_half, floor_half in (
        halves,
        halves[::-1],
    ):  # each half the reference in turn
        split_scorer = evaluation.Scorer.from_real(ref_half, scorer.classifier)
        generated_fd = split_scorer.score(final_samples)["frechet"]
        floor_fd = split_scorer.score(floor_half[:n_eval])["frechet"]
        split_ratios.append(generated_fd / floor_fd)
    floor_infs.append(  # the floor's FD∞ on this split (the second orientation)
        evaluation.frechet_extrapolated(
            evaluation.features_and_probabilities(
                scorer.classifier, floor_half[:n_eval]
            )[0],
            split_scorer.reference_features,
            sizes=fit_sizes,
            seed=split_seed,
        )["frechet_inf"]
    )
split_ratios, floor_infs = np.array(split_ratios), np.array(floor_infs)
print("ratio to the floor, 5 splits x 2 orientations:", np.round(split_ratios, 2))
print("the floor's FD∞ on each split:", np.round(floor_infs, 3))

# %% [markdown]
# **Where the score loses.** In nats (natural-log units),
# $\log \text{score} = H(\bar p) - \overline{H(p(y \mid x))}$: the entropy of the class shares
# $\bar p$ (at most $\log 10 \approx 2.303$, when all ten digits are equally common) less the mean
# entropy of each sample's class probabilities. It drops when the classes are uneven or when
# single samples are ambiguous. The histogram compares each sample's largest class probability
# with the real digits'; beside it, the 32 samples the classifier is least sure of.


# %%
def entropy_split(probs):
    """(entropy of the class marginal, mean entropy per sample), in nats."""
    marginal = probs.mean(0)
    per_sample = -np.sum(probs * np.log(probs + 1e-12), axis=1)
    return float(-np.sum(marginal * np.log(marginal + 1e-12))), float(per_sample.mean())


splits = {"generated": entropy_split(gen_probs), "real": entropy_split(floor_probs)}
show.table([
    {"": name, "marginal (nats)": f"{m:.3f}", "per sample (nats)": f"{e:.3f}"}
    for name, (m, e) in splits.items()
])  # fmt: skip
fig, (ax_hist, ax_grid) = plt.subplots(1, 2, figsize=(11, 3.2))
bins = np.linspace(0.1, 1.0, 37)
for name, probs in (("generated", gen_probs), ("other test half", floor_probs)):
    ax_hist.hist(probs.max(1), bins=bins, histtype="step", label=name, log=True)
ax_hist.set(xlabel="largest class probability", ylabel="samples", title="how sure")
ax_hist.legend(fontsize="small")
most_ambiguous = np.argsort(gen_probs.max(1))[:32]
plotting.show_grid(final_samples[most_ambiguous], 4, 8, "the 32 least sure", ax=ax_grid)
plt.show()

# %% tags=["remove-cell"]
results.add("bias.gen_inf", fd_inf["generated"]["frechet_inf"], "{:.2f}")
results.add("bias.floor_inf", fd_inf["other test half"]["frechet_inf"], "{:.2f}")
results.add("bias.gen", fd_inf["generated"]["distances"][-1], "{:.2f}")
results.add("bias.floor", fd_inf["other test half"]["distances"][-1], "{:.2f}")
results.add("bias.n", fit_sizes[-1], "{:,}")
results.add("split.ratio_mean", split_ratios.mean(), "{:.2f}")
results.add("split.ratio_sd", split_ratios.std(ddof=1), "{:.2f}")
results.add(
    "split.ratio_range", f"{split_ratios.min():.2f} to {split_ratios.max():.2f}"
)
results.add("split.ratio_0", final["frechet"] / real["frechet"], "{:.2f}")
results.add("split.n_ratios", len(split_ratios))
ratio_0 = final["frechet"] / real["frechet"]
results.add("split.n_above", int(np.sum(split_ratios > ratio_0)))
results.add(
    "split.target_reading",
    "on average over the other references too"
    if split_ratios.mean() <= 2
    else "on the book's split, the one the recipe was picked on, but not on average "
    "over the other references",
)
results.add("bias.floor_inf_sd", floor_infs.std(ddof=1), "{:.2f}")
results.add("bias.floor_inf_range", f"{floor_infs.min():.2f} to {floor_infs.max():.2f}")
bias_share = (
    1
    - fd_inf["other test half"]["frechet_inf"]
    / fd_inf["other test half"]["distances"][-1]
)
results.add("bias.floor_share", bias_share, "{:.0%}")
for name, (marginal, per_sample) in splits.items():
    results.add(f"entropy.{name}_marginal", marginal, "{:.3f}")
    results.add(f"entropy.{name}_per_sample", per_sample, "{:.3f}")
results.add("entropy.ambiguous_gen", np.mean(gen_probs.max(1) < 0.9), "{:.1%}")
results.add("entropy.ambiguous_real", np.mean(floor_probs.max(1) < 0.9), "{:.1%}")
uneven_cost = splits["real"][0] - splits["generated"][0]  # nats lost to class shares
ambiguous_cost = splits["generated"][1] - splits["real"][1]  # nats lost per sample
results.add(
    "entropy.reading",
    f"against real digits the score loses {ambiguous_cost:.3f} nats to ambiguous "
    f"samples and {uneven_cost:.3f} to uneven class shares, so "
    + (
        "individually ambiguous samples cost more than uneven shares"
        if ambiguous_cost > uneven_cost
        else "uneven shares cost more than ambiguous samples"
    ),
)

# %% [markdown]
# At $n$ = {glue:}`bias.n` the generated samples lie {glue:}`bias.gen` from the reference and the
# other test half {glue:}`bias.floor`; extrapolated, {glue:}`bias.gen_inf` and
# {glue:}`bias.floor_inf` (over the five other splits the floor's FD∞ ranged
# {glue:}`bias.floor_inf_range`, s.d. {glue:}`bias.floor_inf_sd`): by this fit
# {glue:}`bias.floor_share` of the floor is small-sample bias. Where that share is large, a
# ratio to the floor flatters: the gap between generated and real digits, FD∞ against FD∞, is
# wider than the ratio says, and the book's "2x the floor" target is lenient. A ratio to the
# extrapolated floor means nothing (it scatters around 0 and can fall below it); compare the
# FD∞ values themselves. Over the {glue:}`split.n_ratios` other references the ratio was
# {glue:}`split.ratio_mean` ± {glue:}`split.ratio_sd` (s.d., range
# {glue:}`split.ratio_range`), against {glue:}`split.ratio_0` with the book's split (the same
# draw of samples); {glue:}`split.n_above` of the {glue:}`split.n_ratios` gave a higher ratio
# than the book's split. So the "2x the floor" part of the target holds for these samples
# {glue:}`split.target_reading`.
#
# The class marginal's entropy is {glue:}`entropy.generated_marginal` nats for the samples and
# {glue:}`entropy.real_marginal` for real digits; the mean entropy per sample,
# {glue:}`entropy.generated_per_sample` against {glue:}`entropy.real_per_sample`. The classifier
# is less than 90% sure of {glue:}`entropy.ambiguous_gen` of the samples and of
# {glue:}`entropy.ambiguous_real` of real digits: {glue:}`entropy.reading`.

# %% [markdown]
# ## Did it copy its training set?
#
# A generator could score well by reproducing training digits. For {glue:}`copy.n` samples we
# find the nearest training digit (pixel distance $d_1$) and the nearest *other* training digit
# ($d_2$). A copy is much nearer to its original than to anything else: its ratio $d_1 / d_2$ is
# small. Digits the generator never saw show how small a ratio new digits reach by chance: the
# cutoff is the 1st percentile of {glue:}`copy.n` test digits' ratios, and the control is
# {glue:}`copy.n` *other* test digits, counted against that cutoff like the samples — about 1%
# of each if the generator copies no more than chance would suggest.

# %%
n_copy = min(1000, n_eval)
samples_near = face_checks.nearest_with_ratio(final_samples[:n_copy], mnist.x_train)
# the cutoff from one set of test digits, the control from another
cutoff_near = face_checks.nearest_with_ratio(
    other_half[n_copy : 2 * n_copy], mnist.x_train
)
test_near = face_checks.nearest_with_ratio(other_half[:n_copy], mnist.x_train)
cutoff = np.quantile(cutoff_near.ratio, 0.01)
below = int(np.sum(samples_near.ratio < cutoff))
low, high = stats.binomtest(below, n_copy).proportion_ci(0.95, method="wilson")
test_below = int(np.sum(test_near.ratio < cutoff))
table = [[below, n_copy - below], [test_below, n_copy - test_below]]
# samples more often below?
p_value = stats.fisher_exact(table, alternative="greater").pvalue
copy_verdict = (
    "more samples than test digits are near-copies: the generator reproduces some "
    "training digits"
    if p_value < 0.05
    else "not distinguishable, at this n, from digits it never saw"
)
worst = np.argsort(samples_near.ratio)[:8]  # the samples most like a copy
plotting.comparison_grid(
    {
        "sample": final_samples[worst],
        "nearest training": mnist.x_train[samples_near.index[worst]],
    }
)
plt.show()
print(
    f"ratio d1/d2, median: samples {np.median(samples_near.ratio):.3f}, "
    f"test digits {np.median(test_near.ratio):.3f}"
)

# %% tags=["remove-cell"]
results.add("copy.n", n_copy, "{:,}")
results.add("copy.share", below / n_copy, "{:.1%}")
results.add("copy.test_share", test_below / n_copy, "{:.1%}")
results.add("copy.interval", f"{low:.1%} to {high:.1%}")
results.add("copy.p_value", p_value, "{:.2g}")
results.add("copy.verdict", copy_verdict)

# %% [markdown]
# {glue:}`copy.share` of the samples (95% interval {glue:}`copy.interval`) have a ratio below the
# cutoff, against {glue:}`copy.test_share` of the control digits (a one-sided Fisher test of
# "samples more often", $p$ = {glue:}`copy.p_value`): {glue:}`copy.verdict`. The interval's upper
# end shows how large a copying rate a test of this size could miss. Above, the eight samples with the smallest ratios and
# their nearest training digits.

# %% [markdown]
# ## What the losses said
#
# The losses of the lesson's run, averaged over each interval of `eval_every` steps (and the
# balance rule's pauses, none with the rule off). At the equilibrium of the game $D$ cannot tell
# real from fake, $D^* = \frac12$ everywhere, and both losses sit at $\log 2 \approx 0.69$.

# %%
plotting.balance_curves(history)
plt.show()


# %%
def column(key):
    """One logged quantity over the evaluations after step 0."""
    return np.array([record[key] for record in history])


first, last_record = history[0], history[-1]
rho_g = stats.spearmanr(column("train_g_loss"), column("frechet")).statistic
rho_d = stats.spearmanr(column("train_d_loss"), column("frechet")).statistic
late = slice(len(history) // 2, None)  # the second half of the evaluations
rho_late = stats.spearmanr(
    column("train_g_loss")[late], column("frechet")[late]
).statistic
g_late, norm_late = column("train_g_loss")[late], column("train_g_grad_norm")[late]

# %% tags=["remove-cell"]
results.add("loss.g_first", first["train_g_loss"], "{:.2f}")
results.add("loss.g_last", last_record["train_g_loss"], "{:.2f}")
results.add("loss.d_first", first["train_d_loss"], "{:.2f}")
results.add("loss.d_last", last_record["train_d_loss"], "{:.2f}")
results.add("loss.frechet_first", first["frechet"], "{:.1f}")
results.add("loss.frechet_last", last_record["frechet"], "{:.2f}")
results.add("loss.first_step", first["step"], "{:,}")
results.add("loss.d_of_fake_first", np.exp(-first["train_g_loss"]), "{:.2f}")
results.add(
    "loss.d_of_fake_reading",
    "below 1/2, so D was already rejecting fakes"
    if np.exp(-first["train_g_loss"]) < 0.5
    else "not below 1/2",
)
results.add("loss.rho_g", rho_g, "{:+.2f}")
results.add("loss.rho_g_late", rho_late, "{:+.2f}")
results.add("loss.late_step", history[len(history) // 2]["step"], "{:,}")
results.add("loss.rho_d", rho_d, "{:+.2f}")
results.add("loss.g_late_first", g_late[0], "{:.2f}")
results.add("loss.g_late_last", g_late[-1], "{:.2f}")
results.add("loss.g_late_word", "rose" if g_late[-1] > g_late[0] else "fell")
results.add("loss.norm_late_first", norm_late[0], "{:.2f}")
results.add("loss.norm_late_last", norm_late[-1], "{:.2f}")
results.add("loss.norm_late_word", "rose" if norm_late[-1] > norm_late[0] else "fell")
g_rose = g_late[-1] > g_late[0]
fd_late = column("frechet")[late]
fd_rose = fd_late[-1] > fd_late[0]
results.add(
    "loss.late_reading",
    "G lost ground to D in its own loss while its samples, by the Fréchet distance, "
    "did not get worse (R1 keeps D flat at the real digits, not at the fakes)"
    if g_rose and not fd_rose
    else "G's loss and the Fréchet distance moved the same way over that half"
    if g_rose == fd_rose
    else "G's loss fell while the Fréchet distance rose",
)
results.add(
    "loss.reading",
    "G's loss did not fall as the samples improved (both trend in time, so this "
    "is a description, not a test)"
    if rho_g < -0.5
    else "G's loss says little about the samples"
    if abs(rho_g) <= 0.5
    else "they fell together in this run; still, G's loss measures G "
    "against the current D, not against the data",
)

# %% [markdown]
# From step {glue:}`loss.first_step` to the end, $G$'s loss went from {glue:}`loss.g_first` to
# {glue:}`loss.g_last` and $D$'s from {glue:}`loss.d_first` to {glue:}`loss.d_last`, while the
# Fréchet distance went from {glue:}`loss.frechet_first` to {glue:}`loss.frechet_last`. Across the
# evaluations the rank correlation of the Fréchet distance with $G$'s loss is
# {glue:}`loss.rho_g` (with $D$'s, {glue:}`loss.rho_d`): {glue:}`loss.reading`. From step
# {glue:}`loss.late_step` on, the rank correlation with $G$'s loss is {glue:}`loss.rho_g_late`:
# over that half (its first evaluation against its last) $G$'s loss {glue:}`loss.g_late_word` from {glue:}`loss.g_late_first` to
# {glue:}`loss.g_late_last` while the norm of its gradient {glue:}`loss.norm_late_word` from
# {glue:}`loss.norm_late_first` to {glue:}`loss.norm_late_last`: {glue:}`loss.late_reading`.
# The Fréchet distance is the averaged $G$'s, the
# losses the raw $G$'s. Each loss measures one player
# against the *current* other player, who keeps improving too; neither is a distance to the data.
# (Averaged over the first interval, $G$'s loss puts the geometric mean of $D(G(z))$ at
# {glue:}`loss.d_of_fake_first`: {glue:}`loss.d_of_fake_reading`.)

# %% [markdown]
# ## The balance rule, derived
#
# The seed pauses $D$ when twice its loss is below $G$'s, and $G$ when twice its loss is below
# $D$'s. The seed does not say how $D$'s two cross-entropies combine; the book averages them
# (the lesson's `discriminator_loss`), and summing them is the other common choice. Write $r$ for D's cross-entropy on real images, $f = -\overline{\log(1 - D(G(z)))}$ and
# $g = -\overline{\log D(G(z))}$ (means over the batch). With D's loss **averaged**, $d = (r + f)/2$:
#
# - $D$ pauses when $r + f < g$;
# - $G$ pauses when $4g < r + f$.
#
# With D's loss **summed**, $d = r + f$: $D$ pauses when $2(r + f) < g$,
# $G$ when $2g < r + f$. Suppose D rates every fake $p$ and every real image $q$:

# %%
p, q = np.meshgrid(np.linspace(0.005, 0.995, 199), np.linspace(0.5, 0.995, 100))
r, f, g = -np.log(q), -np.log(1 - p), -np.log(p)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
for ax, (label, d) in zip(
    axes, (("averaged", (r + f) / 2), ("summed", r + f)), strict=True
):
    # 1: D paused, 2: G paused
    region = np.where(2 * d < g, 1, np.where(2 * g < d, 2, 0))
    ax.contourf(
        p,
        q,
        region,
        levels=[-0.5, 0.5, 1.5, 2.5],
        colors=["white", "tab:blue", "tab:orange"],
    )
    ax.set(xlabel="D(G(z)) on fakes", title=f"D's loss {label}")
    ax.text(0.05, 0.9, "D paused", color="tab:blue")
    ax.text(0.8, 0.9, "G paused", color="tab:orange")
axes[0].set(ylabel="D(x) on real images")
fig.tight_layout()
plt.show()


# %% tags=["remove-cell"]
def threshold(condition):
    """D(G(z)) where the condition flips, for D certain on real images (r = 0)."""
    return optimize.brentq(condition, 1e-9, 1 - 1e-9)


edges = {
    "mean.d": threshold(lambda p: -np.log(1 - p) + np.log(p)),  # r + f = g
    "mean.g": threshold(lambda p: -4 * np.log(p) + np.log(1 - p)),  # 4g = r + f
    "sum.d": threshold(lambda p: -2 * np.log(1 - p) + np.log(p)),  # 2(r + f) = g
    "sum.g": threshold(lambda p: -2 * np.log(p) + np.log(1 - p)),  # 2g = r + f
}

# %% tags=["remove-cell"]
for key, value in edges.items():
    results.add(f"rule.{key}", value, "{:.2f}")

# %% [markdown]
# With $D$ certain about real images ($r = 0$) and its loss averaged, $D$ pauses as soon as it rates
# fakes below {glue:}`rule.mean.d` — whenever it is winning at all — while $G$ pauses only when $D$
# rates fakes above {glue:}`rule.mean.g`, that is when $D$ has been fooled badly (less certainty on
# real images, $r > 0$, shrinks $D$'s region and widens $G$'s, as the figure shows). With the summed
# loss the two edges are {glue:}`rule.sum.d` and {glue:}`rule.sum.g`, symmetric about ½, and once $D$
# is less sure of real images $G$'s region is the larger one. So $D$'s region is the larger only for
# the averaged loss with $D$ sure of real images; which pauses happen depends on the outputs
# training actually produces, measured in the recipe search below. The rule gates *updates*: while $D$ sits out, the ratio moves only through
# $G$'s update (and the noise of fresh batches), so when $G$ cannot improve — say, its gradient
# has vanished — the rule cannot bring the ratio back into $[\frac12, 2]$ by itself.

# %% [markdown]
# ## How the recipe was chosen
#
# The lesson's settings were chosen in two searches, both with `benchmarks/`.
#
# **The recipe search** (`benchmarks/gan_recipe.py`) compared the balance rule, the EMA generator,
# a wider $D$ and a larger batch: each candidate trained on the first 50,000 training digits with
# three seeds and was scored against training digits 50,000–54,999, a validation reference (the
# test digits played no part); its floor is digits 55,000–59,999. That split is in file order,
# not random: those two blocks of training digits are {glue:}`recipe.val_ordered` apart, against
# {glue:}`recipe.val_random` for a random split of the same 10,000 digits, so its floor is only a
# rough guide; the comparisons between candidates share it. Mean ± standard error over seeds
# (ddof = 1):

# %% tags=["remove-cell"]
validation_features, _ = evaluation.features_and_probabilities(
    scorer.classifier, mnist.x_train[50_000:]
)  # (10000, 128)

val_first, val_second = data.random_halves(validation_features, seed=0)

# %% tags=["remove-cell"]
results.add(
    "recipe.val_ordered",
    fd(validation_features[:5000], validation_features[5000:]),
    "{:.2f}",
)
results.add("recipe.val_random", fd(val_first, val_second), "{:.2f}")

# %%
recipe = assets.measurements("gan_recipe")
print(
    f"{recipe['command']} on {recipe['machine']}, {recipe['date']}: "
    f"{recipe['steps']:,} steps per run, seeds {recipe['seeds']}; "
    f"validation floor: Fréchet {recipe['floor_frechet']:.2f}"
)
recipe_rows = [
    {
        "candidate": row["candidate"],
        "sampled from": "EMA" if row["generator"] == "ema" else "G",
        "score": "{:.2f} ± {:.2f}".format(*row["score"]),
        "Fréchet": "{:.2f} ± {:.2f}".format(*row["frechet"]),
        "rarest digit": f"{row['min_class_fraction'][0]:.1%}",
        "D paused": f"{row['d_paused'][0]:.0%}",
        "G paused": f"{row['g_paused'][0]:.1%}",
        "ms a step": f"{row['ms_per_step']:.0f}",
    }
    for row in recipe["rows"]
]
show.table(recipe_rows)

# %% [markdown]
# Each lever against the candidate it changes, paired by seed (the same seeds ran every candidate;
# the averaged and the raw generator come from the same runs): the mean change in the validation
# Fréchet distance with its 95% t-interval over seeds, and the word the interval supports.


# %%
frechet = {
    (row["candidate"], row["generator"]): row["frechet_per_seed"]
    for row in recipe["rows"]
}
levers = [
    ("balance rule off", ("seed-rule", "raw"), ("no-rule", "raw")),
    ("EMA generator (rule on)", ("seed-rule", "raw"), ("seed-rule", "ema")),
    ("EMA generator (rule off)", ("no-rule", "raw"), ("no-rule", "ema")),
    ("D twice as wide (rule off, EMA)", ("no-rule", "ema"), ("no-rule-d32", "ema")),
    ("batch 64 (rule off, EMA)", ("no-rule", "ema"), ("no-rule-batch64", "ema")),
    (
        "D twice as wide and batch 64",
        ("no-rule", "ema"),
        ("no-rule-d32-batch64", "ema"),
    ),
    (
        "... against batch 64 alone",
        ("no-rule-batch64", "ema"),
        ("no-rule-d32-batch64", "ema"),
    ),
]
lever_rows = []
for name, before, after in levers:
    if before in frechet and after in frechet:
        # t, ddof = 1
        change = intervals.paired_interval(frechet[after], frechet[before])
        lever_rows.append(
            {
                "lever": name,
                "Fréchet change": f"{change.mean:+.2f}",
                "95% interval": f"{change.low:+.2f} to {change.high:+.2f}",
                "verdict": change.word(above="worse", below="better"),
            }
        )
show.table(lever_rows)

# %% tags=["remove-cell"]
results.add("recipe.levers", lever_rows, glue_it=False)
results.add("recipe.steps", recipe["steps"], "{:,}")
results.add("recipe.budget_share", recipe["steps"] / lesson_steps, "{:.0%}")
results.add(
    "recipe.decay_at_end",
    min(0.999, (1 + recipe["steps"]) / (10 + recipe["steps"])),
    "{:.4f}",
)

# %%
averaged = [row for row in recipe["rows"] if row["generator"] == "ema"]
levers_base = assets.measurements("gan_levers")["base"]
best = min(averaged, key=lambda row: row["frechet"][0])
searched = {  # the recipe the search chose, in its terms (the lever search's base)
    key: levers_base[key]
    for key in ("batch_size", "g_width", "d_width", "learning_rate", "balance")
}
ours = [row for row in averaged if row["settings"] == searched]
# the reference code's rule on
rule_row = next(row for row in averaged if row["settings"]["balance"])
# %% tags=["remove-cell"]
results.add("recipe.best", best["candidate"])
results.add("recipe.best_frechet", "{:.2f} ± {:.2f}".format(*best["frechet"]))
results.add("recipe.ours", ours[0]["candidate"] if ours else "a combination not run")
results.add("recipe.rule_verdict", lever_rows[0]["verdict"])
results.add(
    "recipe.vs_batch64",
    f"{lever_rows[-1]['Fréchet change']} ({lever_rows[-1]['verdict']})",
)
results.add("recipe.rule_d_paused", rule_row["d_paused"][0], "{:.0%}")
results.add("recipe.rule_g_paused", rule_row["g_paused"][0], "{:.1%}")

# %% [markdown]
# The lowest validation Fréchet distance was {glue:}`recipe.best`'s ({glue:}`recipe.best_frechet`),
# and the search kept {glue:}`recipe.ours` (learning rate 5e-4): against batch 64 alone its
# change was {glue:}`recipe.vs_batch64` (last row), at a higher cost a step. With the reference code's rule
# on, $D$ sat out {glue:}`recipe.rule_d_paused` of the steps and $G$ {glue:}`recipe.rule_g_paused`.
# The effect of turning the rule off on the Fréchet distance: {glue:}`recipe.rule_verdict` (first
# row, raw $G$, at $D$ width 16 and batch 32). The recipe leaves it off, a choice of simplicity the
# interval does not decide; `balance = True` brings it back.
#
# Read these numbers with their limits. Candidates ran {glue:}`recipe.steps` steps each,
# {glue:}`recipe.budget_share` of this chapter's, at equal *steps*: batch 64 also sees twice the
# images and costs more time a step. With three seeds the intervals have 2 degrees of freedom;
# seven intervals at 95% are not a joint 95% statement, and the best of several candidates looks
# better on the data it was picked on than it will on new data. The averaged $G$'s decay rises as
# $\min(0.999, (1 + t)/(10 + t))$ after $t$ updates, so within these runs it rose to at most
# {glue:}`recipe.decay_at_end` — a shorter memory than this chapter's run reaches, so what averaging
# bought there may differ here. The validation digits were held out from the GAN, but not from the
# classifier's training.

# %% [markdown]
# ### Levers at the full budget
#
# The recipe search ran {glue:}`recipe.steps` steps ({glue:}`recipe.budget_share` of the
# lesson's), and the book's
# target for generated digits (score ≥ 9, Fréchet distance at
# most twice the floor, every digit at least 5% of the samples) was out of reach. So
# `benchmarks/gan_levers.py` trained changes to that recipe — most of them combinations of two
# or three settings — for the full 10,000 steps on all 60,000 training digits, scoring the EMA
# generator on the lesson's yardstick. That is the reference the target is judged on, so a recipe
# chosen here is chosen on the data that judges it. The lesson used the chosen recipe until the
# one-switch screen in the next section added R1 and Adam's betas to it. A run of the chosen recipe with seed 1 gives a figure free of that
# selection; it does not re-rank the candidates, and it is scored on the same reference. The
# final scores, one run per row:

# %%
levers = assets.measurements("gan_levers")
print(f"{levers['command']}\non {levers['machine']}, {levers['date']}")
lesson_recipe = {  # the lesson's settings in the search's terms (before the screen)
    **levers["base"],
    "batch_size": batch_size,
    "latent_dim": latent_dim,
    "g_width": g_width,
    "d_width": d_width,
    "learning_rate": learning_rate,
    "dropout": dropout,
    "balance": balance,
    "ema": ema,
}


def gain_at_end(row):
    """The change of the score over the run's last evaluation interval."""
    by_step = {record["step"]: record["score"] for record in row["records"]}
    return by_step[levers["steps"]] - by_step[levers["steps"] - levers["eval_every"]]


lever_table = [
    {
        "candidate": row["candidate"],
        "seed": row["seed"],
        "score": row["final"]["score"],
        "Fréchet": row["final"]["frechet"],
        "× floor": row["final"]["frechet"] / levers["floor_frechet"],
        "rarest digit": f"{row['final']['min_class_fraction']:.1%}",
        f"score change, last {levers['eval_every']:,} steps": gain_at_end(row),
        "ms a step": f"{row['ms_per_step']:.0f}",
        "chosen then": "yes" if row["settings"] == lesson_recipe else "",
    }
    for row in levers["rows"]
]
show.table(lever_table, floatfmt="{:.2f}")

# %%
fig, (ax_is, ax_fd) = plt.subplots(1, 2, figsize=(11, 3.3))
for row in levers["rows"]:
    steps_, rows_ = zip(*[(r["step"], r) for r in row["records"][1:]], strict=True)
    label = f"{row['candidate']} (seed {row['seed']})"
    ax_is.plot(steps_, [r["score"] for r in rows_], marker="o", label=label)
    ax_fd.semilogy(steps_, [r["frechet"] for r in rows_], marker="o", label=label)
ax_is.axhline(9.0, color="black", linestyle=":", label="target: 9")
ax_fd.axhline(
    2 * levers["floor_frechet"], color="black", linestyle=":", label="target: 2x floor"
)
ax_is.set(xlabel="step", ylabel="score", title="score of the EMA generator")
ax_fd.set(xlabel="step", ylabel="Fréchet distance", title="Fréchet distance")
for ax in (ax_is, ax_fd):
    ax.legend(fontsize="x-small")
fig.tight_layout()
plt.show()

# %%
lesson_rows = [row for row in levers["rows"] if row["settings"] == lesson_recipe]
targets = evaluation.quality_targets(levers["floor_frechet"], frechet_factor=2.0)
met_by = [row for row in levers["rows"] if targets["all three"](row["final"])]
first_seed = [row for row in levers["rows"] if row["seed"] == 0]
lowest = min(first_seed, key=lambda row: row["final"]["frechet"])
base_row = next(r for r in first_seed if r["candidate"] == "base")
# the rule: the lowest Fréchet distance at seed 0 among runs whose step costs at most
# 1.1 times the base's (the lesson's time budget)
affordable = [
    r for r in first_seed if r["ms_per_step"] <= 1.1 * base_row["ms_per_step"]
]
chosen = min(affordable, key=lambda row: row["final"]["frechet"])
others = sorted(
    (r for r in affordable if r is not chosen), key=lambda r: r["final"]["frechet"]
)
margin = others[0]["final"]["frechet"] - chosen["final"]["frechet"] if others else 0.0
chosen_seeds = [r for r in levers["rows"] if r["settings"] == chosen["settings"]]
seed_gap = np.ptp([r["final"]["frechet"] for r in chosen_seeds])
lead = base_row["final"]["frechet"] - chosen["final"]["frechet"]
dearer = [r for r in first_seed if r not in affordable]
best_score = max(first_seed, key=lambda row: row["final"]["score"])
reseeded = [r for r in levers["rows"] if r["seed"] != 0]
print(f"chosen: {chosen['candidate']} (Fréchet {chosen['final']['frechet']:.2f})")

# %% tags=["remove-cell"]
results.add("levers.lesson_runs", len(lesson_rows))
results.add("levers.floor", levers["floor_frechet"], "{:.2f}")
results.add("levers.met_by", len(met_by))
results.add("levers.runs", len(levers["rows"]))
results.add("levers.chosen", chosen["candidate"])
results.add("levers.margin", margin, "{:.3f}")
results.add("levers.runner_up", others[0]["candidate"] if others else "none")
results.add("levers.draw_sd", sd["frechet"], "{:.3f}")
sd_range = intervals.sd_interval([d["frechet"] for d in draws])
results.add("levers.draw_sd_interval", f"{sd_range.low:.3f} to {sd_range.high:.3f}")
results.add("levers.seed_gap", seed_gap, "{:.2f}")
results.add("levers.lead", lead, "{:.2f}")
results.add(
    "levers.lead_reading",
    "no run of it with another seed yet"
    if len(chosen_seeds) < 2
    else "so its lead over the base lies within the spread of seeds: with one base "
    "run and two of the chosen recipe, the search has not shown that it draws better "
    "digits at 10,000 steps"
    if seed_gap >= lead
    else "larger than the seeds' spread, though with one base run and two of the "
    "chosen recipe that spread is barely measured",
)
results.add(
    "levers.margin_reading",
    "a tie within the noise of one draw"
    if margin < 2 * sd["frechet"]
    else "more than twice that noise, though one seed each",
)
results.add("levers.lesson_is_chosen", chosen["settings"] == lesson_recipe)
results.add(
    "levers.dearer",
    ", ".join(
        f"{r['candidate']} ({r['ms_per_step'] / base_row['ms_per_step']:.2f}x)"
        for r in dearer
    )
    or "none",
)
for key, row in (("best", lowest), ("base", base_row)):
    results.add(f"levers.{key}", row["candidate"])
    results.add(f"levers.{key}_score", row["final"]["score"], "{:.2f}")
    results.add(f"levers.{key}_frechet", row["final"]["frechet"], "{:.2f}")
    results.add(
        f"levers.{key}_ratio",
        row["final"]["frechet"] / levers["floor_frechet"],
        "{:.1f}",
    )
results.add("levers.top_score", best_score["final"]["score"], "{:.2f}")
results.add("levers.top_score_by", best_score["candidate"])
results.add(
    "levers.reseeded",
    "; ".join(
        f"{r['candidate']} with seed {r['seed']}: score {r['final']['score']:.2f}, "
        f"Fréchet {r['final']['frechet']:.2f}"
        for r in reseeded
    )
    or "none",
)
# the EMA's decay after t updates is min(ema, (1 + t) / (10 + t))
# (less a hair: (10e - 1)/(1 - e) is whole here; round-off must not add a step)
results.add(
    "levers.ema_step", int(np.ceil((10 * 0.9995 - 1) / (1 - 0.9995) - 1e-6)), "{:,}"
)
results.add(
    "levers.decay_at_end", (1 + levers["steps"]) / (10 + levers["steps"]), "{:.5f}"
)

# %% [markdown]
# Of {glue:}`levers.runs` runs, {glue:}`levers.met_by` met all three parts of the target. The
# lowest Fréchet distance at seed 0 was {glue:}`levers.best`'s, {glue:}`levers.best_frechet`
# ({glue:}`levers.best_ratio`x the floor of {glue:}`levers.floor`), at a score of
# {glue:}`levers.best_score`; the highest score at seed 0 was {glue:}`levers.top_score`
# ({glue:}`levers.top_score_by`). The recipe before the search, {glue:}`levers.base`, ended at a
# score of {glue:}`levers.base_score` and a Fréchet distance of {glue:}`levers.base_frechet`
# ({glue:}`levers.base_ratio`x). Runs with another seed: {glue:}`levers.reseeded`. The curves
# show when each run gained; the table's "score change" column, how much each still changed at
# the end.
#
# **The choice.** The lesson kept the seed-0 run with the lowest Fréchet distance among those
# whose step costs at most 1.1 times the base's (the lesson's time budget),
# {glue:}`levers.chosen`, and the one-switch screen below started from it.
# Dearer runs: {glue:}`levers.dearer`. The rule was set after the runs had been seen, and with one
# run per recipe it is a choice, not a verdict: the chosen run's Fréchet distance is
# {glue:}`levers.margin` below the next affordable run's ({glue:}`levers.runner_up`), against a
# standard deviation of {glue:}`levers.draw_sd` between draws of samples of one generator (above;
# 95% interval {glue:}`levers.draw_sd_interval`) — {glue:}`levers.margin_reading`. Its Fréchet distance at seed 0 is {glue:}`levers.lead` below
# the base's, and its runs with seeds 0 and 1 lie {glue:}`levers.seed_gap` apart:
# {glue:}`levers.lead_reading`.
#
# Read these rows with their limits. Each is one run, so a difference between two rows mixes
# the lever's effect with the training seed's; the reseeded runs show the size of that spread. The EMA
# lever changes less than its name says: the decay ramps up as $\min(\text{ema}, (1 + t)/(10 + t))$
# after $t$ updates, which reaches 0.9995 only at step {glue:}`levers.ema_step`, so within 10,000
# steps that setting only lets the decay rise a little past 0.999 in the last thousand steps (to
# {glue:}`levers.decay_at_end`).

# %% [markdown]
# ### One switch at a time
#
# The rows above bundle changes and give most recipes one seed. So the recipe chosen above
# (`lr-2e-3-no-dropout`: rate 2e-3, $\beta_1$ 0.5, $\beta_2$ 0.999, no R1; the table's `base`
# row) was screened again, one switch per lever, two seeds each, the full 10,000 steps, on the
# lesson's yardstick. The rows:
#
# - `cosine`: both learning rates held for the first half, then lowered along half a cosine
#   curve to 5% of the starting rate at the last step;
# - `ttur`: two time scales {cite:p}`heusel2017gans`, $D$ at twice the rate, $G$ at half;
# - `r1-…`: lazy R1 on real digits (every 8 steps, weight 8), its $\gamma$ chosen from 0.1, 1
#   and 10 at 2,500 steps on 5,000 random training digits (seen by the GAN in training, but kept
#   apart from the test halves that judge the result);
# - `r1-b2`: R1 with Adam's $\beta_2$ at 0.99; `r1-b1-0-b2`: R1 with $\beta_1 = 0$ and
#   $\beta_2 = 0.99$.
#
# With the book's TensorFlow step on 2 CPU cores each of these runs takes about a quarter of an
# hour (the lesson's own time), so the {glue:}`screen.n_runs` runs would take hours; so `benchmarks/gan_levers_gpu.py` ran them on a GPU: the book's models, losses, recipe and
# yardstick, with the train step rewritten for Keras's JAX backend. Its random draws (codes,
# batch order) are JAX's, so a seed there is not the same run as that seed here: compare rows
# within this table. A lever chosen here was rerun with the lesson's own code (below) before the
# lesson adopted it. The $\gamma$ = 1 rows come from a first pass in which a bug hid the
# $\gamma$ = 0.1 search run from the choice; they stay as a contrast. Rows are per lever (mean of
# the seeds, each seed's value in brackets); FD∞ is the extrapolated Fréchet distance defined
# above; up to 16 runs shared the GPU, so "GPU ms" compares levers with each other and says
# nothing about a step's time on your machine.

# %%
screen = assets.measurements("gan_levers_gpu")
print(screen["note"])
# the lesson's averaged G, scored as the lesson scores it
HEADLINE = "book|averaged|test"
screen_floor = screen["floor"]["test"]["frechet"]


def lever_name(run):
    """The lever of a screen run, with R1's gamma where the name does not say it."""
    gamma = run["settings"]["r1_gamma"]
    named = run["name"] in ("r1-b2", "r1-b1-0-b2")
    return f"{run['name']} (gamma {gamma:g})" if named else run["name"]


full = [r for r in screen["runs"] if r["finished"] and r["steps"] == screen["steps"]]
by_lever = {}
for run in full:
    by_lever.setdefault(lever_name(run), []).append(run["records"][-1])


def seeds_of(finals, key, field):
    """Mean of the seeds, and each seed's value."""
    values = [final[key][field] for final in finals]
    listed = ", ".join(f"{v:.2f}" for v in values)
    return float(np.mean(values)), f"{np.mean(values):.2f} ({listed})"


# %%
screen_rows = []
for lever, finals in by_lever.items():
    fd_mean, fd_text = seeds_of(finals, HEADLINE, "frechet")
    gpu_ms = np.mean([r["ms_per_step"] for r in full if lever_name(r) == lever])
    screen_rows.append({
        "lever": lever,
        "score": seeds_of(finals, HEADLINE, "score")[1],
        "Fréchet": fd_text,
        "× floor": f"{fd_mean / screen_floor:.2f}",
        "FD∞": seeds_of(finals, HEADLINE, "frechet_inf")[1],
        "rarest digit": f"{min(f[HEADLINE]['min_class_fraction'] for f in finals):.1%}",
        "GPU ms": f"{gpu_ms:.1f}",
    })  # fmt: skip
show.table(screen_rows)
searched = {
    r["settings"]["r1_gamma"]: r["records"][-1]["book|averaged|valid"]["frechet"]
    for r in screen["runs"]
    if r["name"].endswith("-select")
}
print("R1's gamma search, validation Fréchet at 2,500 steps:", searched)

# %% [markdown]
# **Averaged generators.** Every run also kept averaged copies of $G$ that did not change its
# training: the lesson's EMA (`book`: decay $\min(0.999, (1 + t)/(10 + t))$), and EMAs whose
# memory $1/(1 - \text{decay})$ is a fixed share (5%, 10%, 20%) of the steps so far. An average
# of weights also averages batch norm's running means and variances, but the averaged weights
# produce activations with other statistics; "recomputed" runs each averaged generator on 100
# batches of codes in training mode and measures them afresh. On the base runs:

# %%
variants = ["G", "book"] + [f"share-{share:g}" for share in screen["shares"]]
ema_rows = []
for variant in variants:
    row = {"generator": "G itself" if variant == "G" else variant}
    for stats_ in ("averaged", "recomputed"):
        key = f"{variant}|{stats_}|test"
        score_, fd_ = (
            seeds_of(by_lever["base"], key, f)[0] for f in ("score", "frechet")
        )
        row[f"score, {stats_} BN"] = f"{score_:.2f}"
        row[f"Fréchet, {stats_} BN"] = f"{fd_:.2f}"
    ema_rows.append(row)
show.table(ema_rows)

# %% tags=["remove-cell"]
chosen_gamma = min(searched, key=searched.get)
best_lever = min(by_lever, key=lambda k: seeds_of(by_lever[k], HEADLINE, "frechet")[0])
best = {f: seeds_of(by_lever[best_lever], HEADLINE, f)[0] for f in ("score", "frechet")}
base_ = {f: seeds_of(by_lever["base"], HEADLINE, f)[0] for f in ("score", "frechet")}
best_rarest = min(f[HEADLINE]["min_class_fraction"] for f in by_lever[best_lever])
results.add("screen.gamma", chosen_gamma, "{:g}")
results.add("screen.best", best_lever)
results.add("screen.best_score", best["score"], "{:.2f}")
results.add("screen.best_frechet", best["frechet"], "{:.2f}")
results.add("screen.best_ratio", best["frechet"] / screen_floor, "{:.2f}")
results.add("screen.best_rarest", best_rarest, "{:.1%}")
results.add("screen.base_score", base_["score"], "{:.2f}")
results.add("screen.base_frechet", base_["frechet"], "{:.2f}")
results.add("screen.base_ratio", base_["frechet"] / screen_floor, "{:.2f}")
results.add("screen.floor", screen_floor, "{:.2f}")
met = best["score"] >= 9 and best["frechet"] <= 2 * screen_floor and best_rarest >= 0.05
results.add("screen.met", "met" if met else "not met")  # on the seeds' means


def versus(lever, against="base"):
    """A lever against another, field by field, paired by seed (a seed of the port fixes
    the initial weights, the batches and the codes): the mean change and whether both
    seeds moved the same way. Two seeds give a direction, not a test."""
    parts = []
    for field, name in (("score", "score"), ("frechet", "Fréchet")):
        mine = {x["seed"]: x["records"][-1][HEADLINE][field] for x in runs_of(lever)}
        other = {x["seed"]: x["records"][-1][HEADLINE][field] for x in runs_of(against)}
        changes = [mine[k] - other[k] for k in sorted(mine) if k in other]
        agree = (
            "both seeds"
            if len({np.sign(c) for c in changes}) == 1
            else "seeds disagree"
        )
        parts.append(f"{name} {np.mean(changes):+.2f} ({agree})")
    return ", ".join(parts)


def runs_of(lever):
    """The full-budget screen runs of a lever."""
    return [run for run in full if lever_name(run) == lever]


r1_name = f"r1-{chosen_gamma:g}"
results.add("screen.cosine", versus("cosine"))
results.add("screen.ttur", versus("ttur"))
results.add("screen.r1", versus(r1_name))
results.add("screen.b2", versus(f"r1-b2 (gamma {chosen_gamma:g})", r1_name))
results.add("screen.b1", versus(f"r1-b1-0-b2 (gamma {chosen_gamma:g})", r1_name))
results.add(
    "screen.b1_alone",
    versus(f"r1-b1-0-b2 (gamma {chosen_gamma:g})", f"r1-b2 (gamma {chosen_gamma:g})"),
)
valid_means = {
    lever: seeds_of(finals, "book|averaged|valid", "frechet")[0]
    for lever, finals in by_lever.items()
}
results.add("screen.best_valid", min(valid_means, key=valid_means.get))
best_seeds = by_lever[best_lever]
met_seeds = sum(
    f[HEADLINE]["score"] >= 9
    and f[HEADLINE]["frechet"] <= 2 * screen_floor
    and f[HEADLINE]["min_class_fraction"] >= 0.05
    for f in best_seeds
)
results.add("screen.met_seeds", f"{met_seeds} of {len(best_seeds)}")
results.add(
    "screen.best_inf", seeds_of(best_seeds, HEADLINE, "frechet_inf")[0], "{:.2f}"
)
results.add("screen.floor_inf", screen["floor"]["test"]["frechet_inf"], "{:.2f}")
results.add(
    "screen.inf_gap",
    seeds_of(best_seeds, HEADLINE, "frechet_inf")[0]
    - screen["floor"]["test"]["frechet_inf"],
    "{:.2f}",
)
results.add("screen.n_runs", len(screen["runs"]))
base_at_search = [
    r["records"][0]["book|averaged|valid"]["frechet"] for r in runs_of("base")
]
results.add("screen.base_at_search", ", ".join(f"{v:.2f}" for v in base_at_search))
averaged = {row["generator"]: float(row["Fréchet, averaged BN"]) for row in ema_rows}
best_average = min(averaged, key=averaged.get)
results.add("screen.ema_best", best_average)
results.add("screen.ema_best_frechet", averaged[best_average], "{:.2f}")
results.add("screen.g_itself", averaged["G itself"], "{:.2f}")
ema_values = [v for k, v in averaged.items() if k != "G itself"]
ema_gap = max(ema_values) - min(ema_values)
base_spread = float(np.ptp([f[HEADLINE]["frechet"] for f in by_lever["base"]]))
results.add("screen.ema_gap", ema_gap, "{:.2f}")
results.add("screen.base_spread", base_spread, "{:.2f}")
results.add(
    "screen.ema_reading",
    "no averaging here told itself apart from the others"
    if ema_gap < base_spread
    else "a gap wider than the seeds' spread, though from two seeds",
)
results.add("screen.g_book", averaged["book"], "{:.2f}")
tf_twin = [r for r in levers["rows"] if r["candidate"] == "lr-2e-3-no-dropout"]
results.add(
    "screen.tf_twin",
    ", ".join(
        f"{r['final']['score']:.2f} and {r['final']['frechet']:.2f} (seed {r['seed']})"
        for r in tf_twin
    ),
)

# %% [markdown]
# On the validation digits $\gamma$ = {glue:}`screen.gamma` gave the lowest Fréchet distance at
# 2,500 steps, against {glue:}`screen.base_at_search` for the base's two seeds (no R1) there;
# 0.1 is the edge of the grid, so a smaller $\gamma$ might do better still. The lowest mean
# Fréchet distance at 10,000 steps was {glue:}`screen.best`'s (on the validation digits too:
# {glue:}`screen.best_valid`): score {glue:}`screen.best_score`, Fréchet distance
# {glue:}`screen.best_frechet` ({glue:}`screen.best_ratio`x the floor of {glue:}`screen.floor`),
# rarest digit at least {glue:}`screen.best_rarest` — the book's target, {glue:}`screen.met` on
# the seeds' means and by {glue:}`screen.met_seeds` seeds in this port, against the recipe
# before the screen at {glue:}`screen.base_score` and {glue:}`screen.base_frechet`
# ({glue:}`screen.base_ratio`x). Extrapolated, its distance is {glue:}`screen.best_inf` against
# the floor's {glue:}`screen.floor_inf`, a gap of {glue:}`screen.inf_gap` that no ratio to the
# floor shows.
#
# Changes, mean over the seeds and whether both seeds moved the same way (the port's seeds
# pair: same initial weights, batches and codes). Against the base: the decay
# {glue:}`screen.cosine`; the two time scales {glue:}`screen.ttur`; R1 alone {glue:}`screen.r1`.
# Against R1 alone: $\beta_2$ = 0.99 {glue:}`screen.b2`; $\beta_1 = 0$ with $\beta_2$ = 0.99
# {glue:}`screen.b1`. The one switch $\beta_1$ = 0, against R1 with $\beta_2$ = 0.99:
# {glue:}`screen.b1_alone`. Two seeds show a direction, not a test, and the levers were
# compared on the data that judges them; $\beta_1 = 0$ without R1 was not run, so the screen
# does not say whether R1 is needed for that gain. The levers that beat the base on both means
# combine into {glue:}`screen.best` itself, so no separate combined run was made.
#
# Of the averaged generators on the base runs (second table, averaged batch-norm statistics),
# {glue:}`screen.ema_best` had the lowest Fréchet distance, {glue:}`screen.ema_best_frechet`;
# the averaged generators lay within {glue:}`screen.ema_gap` of each other, against
# {glue:}`screen.base_spread` between the base's two seeds: {glue:}`screen.ema_reading`.
# Sampling from $G$ itself gave
# {glue:}`screen.g_itself` against the lesson's EMA's {glue:}`screen.g_book`. The port trains
# like the book's code: its base row is the same recipe as `lr-2e-3-no-dropout` in the
# TensorFlow table above, {glue:}`screen.tf_twin`. The lesson now trains the winner with its
# own TensorFlow step; this page measures that run above.


# %% [markdown]
# **The lesson's recipe, with the book's own code.** These, not the port's, are the numbers for
# the code you run: the lesson's recipe trained by the lesson's TensorFlow step, its own run
# (seed 0) and a second run of the lesson with only its seed changed
# (`benchmarks/lesson_seeds.py`), each scored by the lesson itself at step 10,000 against the
# same reference and floor:

# %%
lesson_seeds = assets.measurements("gan_lesson_seeds")
print(
    f"{lesson_seeds['command']}\non {lesson_seeds['machine']}, {lesson_seeds['date']}"
)
for row in lesson_seeds["rows"]:  # each row trained this page's recipe, at its seed
    differ = {
        key
        for key, value in run_settings.items()  # the recipe's fields, seed and n_eval
        if key not in ("seed", "n_eval") and row["settings"].get(key) != value
    }
    if differ or row["steps"] != screen["steps"]:
        raise ValueError(
            f"seed {row['seed']}'s run differs from the recipe in {differ}"
        )
seed_rows = [
    {
        "seed": row["seed"],
        "score": row["final"]["score"],
        "Fréchet": row["final"]["frechet"],
        "× floor": row["final"]["frechet"] / row["real"]["frechet"],
        "rarest digit": f"{min(row['final']['class_fractions']):.1%}",
        "run": row["run_id"],
    }
    for row in lesson_seeds["rows"]
]
show.table(seed_rows, floatfmt="{:.2f}")

# %% tags=["remove-cell"]
seed_mean = {
    key: float(np.mean([row[key] for row in seed_rows]))
    for key in ("score", "Fréchet", "× floor")
}
seed_rarest = float(
    np.mean([min(row["final"]["class_fractions"]) for row in lesson_seeds["rows"]])
)
target_met = (
    seed_mean["score"] >= 9 and seed_mean["× floor"] <= 2 and seed_rarest >= 0.05
)
met_by = sum(
    row["score"] >= 9 and row["× floor"] <= 2 and float(row["rarest digit"][:-1]) >= 5
    for row in seed_rows
)
port_range = [f[HEADLINE]["frechet"] for f in by_lever[best_lever]]
results.add("lessonseeds.met_by", f"{met_by} of {len(seed_rows)}")
results.add(
    "lessonseeds.port",
    f"{min(port_range):.2f} to {max(port_range):.2f}",
)
results.add("lessonseeds.n", len(seed_rows))
results.add("lessonseeds.score", seed_mean["score"], "{:.2f}")
results.add("lessonseeds.frechet", seed_mean["Fréchet"], "{:.2f}")
results.add("lessonseeds.ratio", seed_mean["× floor"], "{:.2f}")
results.add("lessonseeds.rarest", seed_rarest, "{:.1%}")
results.add("lessonseeds.met", "met" if target_met else "not met")

# %% [markdown]
# Over the {glue:}`lessonseeds.n` seeds the lesson's recipe averages a score of
# {glue:}`lessonseeds.score` and a Fréchet distance of {glue:}`lessonseeds.frechet`
# ({glue:}`lessonseeds.ratio`x the floor), its rarest digit {glue:}`lessonseeds.rarest` of the
# samples: the book's target (score ≥ 9, at most 2x the floor, every digit ≥ 5%) is
# {glue:}`lessonseeds.met` on the seeds' means, and met by {glue:}`lessonseeds.met_by` seeds.
# The port's two runs of this recipe ended at Fréchet distances of {glue:}`lessonseeds.port`.
# The ratio depends on the split of the test set: scored against the ten other references above,
# the lesson's seed-0 samples sat at {glue:}`split.ratio_mean`x their floors on average. The recipe was picked on this reference, so these
# figures are likely a little better than a fresh reference would give, and two seeds say
# little about a third.


# %% [markdown]
# ## The DCGAN guidelines, and where this model departs
#
# {cite:t}`radford2015unsupervised` found a recipe that trains stably. This model keeps most of it:
#
# | DCGAN guideline | here |
# |---|---|
# | strided convolutions instead of pooling | yes (D: stride 2, 2, 1; G: transposed, stride 1, 2, 2, 1) |
# | batch norm in both players, except G's output and D's input layer | batch norm also on D's first layer (the reference code's choice) |
# | no fully connected hidden layers | D has one dense layer of 128 before its logit |
# | ReLU in G, tanh output | leaky ReLU in G, sigmoid output (images in $[0, 1]$, the range D reads) |
# | leaky ReLU in D | yes; the reference code adds dropout 0.3 after each convolution (not in DCGAN), which the lesson's recipe turns off |
# | Adam, learning rate $2\cdot10^{-4}$, $\beta_1 = 0.5$ | $\beta_1 = 0$, $\beta_2 = 0.99$, ten times the rate, with lazy R1 (chosen above) |
#
# Two more departures: G starts with a bilinear **resize** (4x4 to 7x7 for 28-pixel images, the
# seed's way to reach sizes that are not powers of two), and both players are updated
# **simultaneously**, from one batch of fakes — the reference code updates D, then G on fresh fakes.
#
# **Why batch norm helps.** Normalising each layer's inputs over the batch keeps activations at a
# usable scale however the weights drift, which is thought to let gradients flow through G's deep
# stack from the first steps and to keep small differences between the samples of a batch (in
# training mode) from being lost in the first layers. DCGAN credits it with keeping G from
# collapsing all samples to a single point — a report, not a measurement;
# {doc}`04_gan_stability_lab` measures what removing it does here, crossed with the learning rate.
#
# **Mode collapse, mechanically.** G's loss is an average of per-sample terms, each scoring one
# fake by D's current verdict: nothing in it rewards *covering* the data. (D sees batches of fakes
# in training mode, so its batch norm can notice a batch that is all alike; that is a side effect,
# not a term of the loss.) If D currently rates, say, 1s as the most real, the gradients of many
# codes push their samples towards what D rates highly, and G can move much of its mass there; D
# then learns to reject those, and G moves on to another digit. The game can cycle between modes instead of spreading over them —
# which is why this chapter counts class shares and measures recall, not only a score.

# %% [markdown]
# ## Summary
#
# - A real-data floor must come from the reference's own population: MNIST's test set in file
#   order holds two NIST sources, whose halves are {glue:}`split.ordered` apart against at most
#   {glue:}`split.random_max` for random halves.
# - A Fréchet distance means something only next to a floor at the same $n$ and reference.
# - Precision and recall separate fidelity from coverage; a copy test needs a control of digits
#   the generator never saw.
# - Which player the balance rule pauses depends on how $D$'s loss is combined and on how sure $D$
#   is of real images; it gates updates and cannot restore the balance by itself.
# - A recipe chosen on the data that judges it needs a run with a fresh seed before its figure is
#   trusted; one run per lever mixes the lever with the training seed.
# - A finite-$n$ Fréchet distance is mostly bias at the floor; FD∞ removes it and shows the gap
#   to real digits is larger than the ratio to the floor says.
# - In a one-switch screen (a JAX port, two seeds a lever), R1 at $\gamma$ = 0.1 with Adam's
#   $\beta_1 = 0$ and $\beta_2 = 0.99$ gave the lowest Fréchet distance; the lesson adopted it
#   after two runs with its own code.

# %%
print(f"metrics of run {results['run_id']}: {results.save()}")
