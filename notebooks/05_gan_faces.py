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
# # A GAN on faces
#
# The DCGAN of the digit chapter, adapted to faces from Labeled Faces in the Wild
# {cite:p}`huang2007labeled`. Faces are harder than digits in every way that matters to a GAN: grey
# levels everywhere instead of ink on a blank page, and far fewer images — the full LFW has about
# 13,000, and the offline copy this book falls back to has 100. With 100 images a danger beside bad
# samples is *copies*: a generator can look good by memorising its training set, so this chapter
# builds a copy detector, checks it on controls, and then judges its faces image by image.

# %% [markdown]
# ## Setup

# %%
import subprocess
import sys

PACKAGE = "vaegan-utils[faces] @ git+https://github.com/vaegan-book/vaegan-book"
# Colab only: install the book's package, keep Colab's TF
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", PACKAGE], check=True)

# %% tags=["parameters"]
quick = False  # True: a short run for CI
seed = 0
output_dir = "outputs/05_gan_faces"
# False: reuse a finished run with the same settings and code from output_dir
retrain = False
steps = 10_000  # training steps (the seed's schedule)
eval_every = 250  # steps between snapshots and measurements
image_size = 32  # 32 or 64 (a multiple of 4)
color = False  # RGB faces (the offline faces are grey either way)
# "auto" (cache, then download, then offline), or one of them alone
face_source = "auto"
augment = "auto"  # "auto": flips and shifts when there are fewer than 1,000 faces
max_shift = 2  # largest shift of the augmentation, in pixels
batch_size = 32
latent_dim = 64
g_width = 32
d_width = 16
learning_rate = 2e-4
balance = True  # the seed's balance rule
# of the first 100 faces, those in the copy detector's pool; the rest are held out
n_pool = 80
aug_seeds = [0, 1, 2]  # seeds of the comparison with and without augmentation
aug_steps = 2000  # training steps of each run of that comparison

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, display
from keras import ops
from scipy import stats
from vaegan_utils import (
    data,
    face_checks,
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
runtime.set_seed(seed)
out = runtime.output_dir(output_dir)
if quick:
    steps, eval_every, aug_seeds, aug_steps = 300, 100, [0, 1], 50
results = reporting.Results(out / "metrics.json", quick=quick, steps=steps)
print(runtime.run_card(seed=seed, quick=quick))

# %% [markdown]
# ## The faces, and the choice of size
#
# We train on **32x32 grey** faces. The offline faces are 25x25 grey crops, so a larger size would
# only upsample them, and colour is not there to learn. The generator builds any multiple of 4
# (its layers double a quarter-size map twice); we chose 32 — 8 → 16 → 32 — over 28, the nearest
# size, for a power of two that also suits the full LFW. On this build's machine a training step took
# {glue:}`ms_per_step` ms. With the full LFW (on Colab, say), `image_size = 64` and
# `color = True` are worth trying on a GPU: the same code builds the larger players.

# %%
faces = data.load_faces(size=image_size, color=color, source=face_source)
images = faces.images  # (n, size, size) grey or (n, size, size, 3) colour, in [0, 1]
channels = 3 if color else 1
small = len(images) < 1000
use_augmentation = small if augment == "auto" else bool(augment)
if faces.dataset == "lfw_subset":
    print(f"Offline: the {len(images)} faces of scikit-image, not the full LFW.")
print(
    f"{len(images):,} faces of {images.shape[1:]} from the {faces.source} source "
    f"({faces.dataset}); augmentation {'on' if use_augmentation else 'off'}"
)
results.add("source", faces.source, glue_it=False)
results.add("dataset", faces.dataset, glue_it=False)
results.add("augmentation", use_augmentation, glue_it=False)
results.add("image_shape", list(images.shape[1:]), glue_it=False)
results.add("faces_n", len(images), "{:,}")
plotting.show_grid(images[:32], 4, 8, title="training faces")
plt.show()

# %% [markdown]
# ### Augmentation
#
# With {glue:}`faces_n` images, a discriminator can learn the training faces by heart, and then its
# verdicts tell the generator little beyond "be one of these". The usual remedy: every batch is
# shown with random mirror images and shifts of up to `max_shift` pixels, drawn afresh each time, so
# the discriminator sees {glue:}`aug.versions` versions of the faces instead of {glue:}`faces_n`
# (each about {glue:}`aug.views` times over the run, rather than {glue:}`aug.views_plain`), while
# a face stays a face. Whether it helps
# here is measured at the end of the chapter, with and without, over several seeds. (We leave out what
# would change the data's distribution: rotations, crops that cut off the chin, colour changes.)

# %%
batches = pipelines.image_batches(
    images,
    batch_size,
    seed=seed,
    flip=use_augmentation,
    max_shift=max_shift if use_augmentation else 0,
).repeat()
plotting.show_grid(
    next(iter(batches)).numpy()[:16], 2, 8, title="one training batch, as D sees it"
)
plt.show()
versions = len(images) * ((2 * (2 * max_shift + 1) ** 2) if use_augmentation else 1)
results.add("aug.versions", versions, "{:,}")  # distinct arrays D can be shown
results.add("aug.views", steps * batch_size / versions, "{:,.0f}")
results.add("aug.views_plain", steps * batch_size / len(images), "{:,.0f}")
results.add(
    "faces_dataset",
    faces.dataset,
    "the 100 offline faces of scikit-image"
    if faces.dataset == "lfw_subset"
    else f"{len(images):,} LFW faces",
)

# %% [markdown]
# ## The players
#
# The same two networks as for digits (chapter 3), built for 32x32 inputs: the generator's dense
# layer feeds a 4x4 map that is resized to 8x8; of its four transposed convolutions the first keeps
# 8x8, the next two double it to 32x32 and the fourth produces the image through a sigmoid. The
# discriminator's three convolutions reduce 32x32 to 8x8 before its dense layers.

# %%
generator = gan.build_generator(
    latent_dim, image_size=image_size, channels=channels, width=g_width
)
discriminator = gan.build_discriminator(
    image_size=image_size, channels=channels, width=d_width
)
print(
    f"generator: {generator.count_params():,} weights "
    f"(z {generator.input.shape[1:]} -> image {generator.output.shape[1:]})"
)
print(f"discriminator: {discriminator.count_params():,} weights")

# %% [markdown]
# ## A copy detector, with controls
#
# With {glue:}`faces_n` training faces, a generator could recall them. A copy of a training
# face is far nearer to it than to any other face, so each image gets the **ratio test**: the
# distance $d_1$ to its nearest training face over the distance $d_2$ to the nearest *other* face
# — near 0 for a copy; for a new face, or a blurry average of many, close to 1. Distance alone
# misleads: an average face is near many faces at once. The discriminator saw every face mirrored
# and shifted by up to `max_shift` pixels, so the generator could copy any of those versions: the
# pool holds them all, each version with its face's identity.
#
# A check is only as good as its controls. We split the first 100 faces: {glue:}`copy.n_pool` go into
# the pool, the others are held out. Controls that **are copies**: pool faces exactly, mirrored,
# shifted by 1–2 pixels, and with Gaussian noise ($\sigma$ = 0.05). Controls that are **not**: the
# held-out faces, the mean face, flat grey images. The threshold on the ratio is fitted on one half
# of the controls and tested on the other half.

# %%
# without augmentation G saw no shifts, no mirrors
shift = max_shift if use_augmentation else 0
pool_faces, kinds = face_checks.copy_controls(  # {kind: (images, is a copy)}
    images[:100], n_pool, max_shift=shift, mirror=use_augmentation, seed=seed
)
pool, pool_ids = face_checks.augmented_pool(pool_faces, shift, mirror=use_augmentation)
controls = np.concatenate([imgs for imgs, _ in kinds.values()]).astype(np.float32)
is_copy = np.concatenate([np.full(len(imgs), copy) for imgs, copy in kinds.values()])
kind_of = np.concatenate([[name] * len(imgs) for name, (imgs, _) in kinds.items()])
ratios = face_checks.nearest_with_ratio(controls, pool, pool_ids).ratio
fit_half = np.concatenate([np.arange(len(imgs)) % 2 == 0 for imgs, _ in kinds.values()])

# %%
threshold = face_checks.fit_ratio_threshold(ratios[fit_half], is_copy[fit_half])
flagged = ratios < threshold
rows = []
for name, (_, copy) in kinds.items():
    of_kind = kind_of == name
    test = ~fit_half & of_kind
    rows.append(
        {
            "control": name,
            "expected": "copy" if copy else "not a copy",
            "ratios": f"{ratios[of_kind].min():.2f} to {ratios[of_kind].max():.2f}",
            "test half right": f"{np.sum(flagged[test] == copy)} of {test.sum()}",
        }
    )
show.table(rows)
test_accuracy = float(np.mean(flagged[~fit_half] == is_copy[~fit_half]))
held_out = kind_of == "held-out face"
heldout_flagged = float(np.mean(flagged[held_out]))  # new faces the rule calls copies
results.add(
    "copy.heldout_flagged", f"{int(flagged[held_out].sum())} of {int(held_out.sum())}"
)
results.add("copy.n_pool", n_pool)
results.add("copy.threshold", threshold, "{:.2f}")
results.add("copy.test_accuracy", test_accuracy, "{:.0%}")
results.add("copy.test_n", int((~fit_half).sum()))
results.add("copy.fit_n", int(fit_half.sum()))
assert test_accuracy == 1.0, (
    "the copy detector misclassified a held-out control; see the table"
)

# %% [markdown]
# Fitted on {glue:}`copy.fit_n` controls, the rule "a copy when $d_1/d_2$ is below
# {glue:}`copy.threshold`" classifies {glue:}`copy.test_accuracy` of the other {glue:}`copy.test_n`
# right. (The notebook stops here if it misses one.) The generator is judged with this rule against
# a pool of *all* its training faces, in every version augmentation showed.

# %%
judge_pool, judge_ids = face_checks.augmented_pool(
    images, shift, mirror=use_augmentation
)

# %% [markdown]
# ## A face check
#
# The copy test says nothing about whether samples look like faces. The offline set ships 100
# non-face crops beside its faces; a logistic regression on pixels (`face_checks.FaceClassifier`)
# learns to tell the two apart. Its reference is each real face's probability from a classifier
# that did *not* train on it (five folds). It can tell face-like structure from other image
# content; with 100 faces it cannot tell a convincing face from a mediocre one, nor one person
# from another. The samples are scored by the classifier trained on all 100 faces, so their second
# reference is the real faces' in-sample probability: a memorised face would score like those.

# %%
nonfaces = data.load_nonfaces(image_size)
gray_faces = images if not color else images.mean(-1)  # the check works on grey levels
p_real, p_nonface = face_checks.cross_validated_face_probability(
    gray_faces[:100], nonfaces, seed=seed
)
face_check = face_checks.FaceClassifier().fit(gray_faces[:100], nonfaces)
results.add("face.real", p_real.mean(), "{:.2f}")
results.add("face.nonface", p_nonface.mean(), "{:.2f}")
results.add(
    "face.mean_face",
    face_check.probability(gray_faces[:100].mean(0, keepdims=True))[0],
    "{:.2f}",
)
results.add(
    "face.real_in_sample", face_check.probability(gray_faces[:100]).mean(), "{:.2f}"
)
print(
    f"P(face), out of fold: real faces {p_real.mean():.2f}, "
    f"non-face crops {p_nonface.mean():.2f}; "
    f"the mean face {results['face.mean_face']:.2f}"
)

# %% [markdown]
# ## Training, and what we watch
#
# The train step, losses and balance rule are chapter 3's (`gan.GAN`), with a learning rate of
# {glue:}`faces_learning_rate` for both players (DCGAN's). Every `eval_every` steps we save the
# images of a fixed grid of 64 codes and measure 256 samples of further fixed codes: the share the
# copy detector flags, their median ratio, their mean P(face), and their **spread** (the per-pixel
# standard deviation across samples: near zero when every code gives the same face).

# %%
fixed_z = keras.random.normal((64, latent_dim), seed=seed)
probe_z = keras.random.normal((256, latent_dim), seed=seed + 1)
frames_dir = out / "frames"
real_spread = float(images.std(0).mean())


def measure(generator):
    """Copy share, median ratio, face probability and spread of the probe samples."""
    samples = ops.convert_to_numpy(
        generator.predict(probe_z, batch_size=256, verbose=0)
    )
    ratio = face_checks.nearest_with_ratio(samples, judge_pool, judge_ids).ratio
    grey = samples if not color else samples.mean(-1)
    return {
        "copy_share": float(np.mean(ratio < threshold)),
        "nn_ratio": float(np.median(ratio)),
        "face_probability": float(face_check.probability(grey).mean()),
        "spread": float(samples.std(0).mean()),
    }


def evaluate(step):
    """Save the fixed grid's images; measure the probe samples."""
    frame = plotting.frame_path(frames_dir, step)
    plotting.save_frame(ops.convert_to_numpy(generator(fixed_z)), 8, 8, frame, scale=1)
    return measure(generator)


# %%
results.add("faces_learning_rate", learning_rate, "{:g}")
model = gan.GAN(generator, discriminator, latent_dim, balance=balance, seed=seed)
model.compile(learning_rate=learning_rate)  # Adam with beta_1 = 0.5 for both players
settings = {  # everything that shapes the run: a change retrains
    "seed": seed,
    "image_size": image_size,
    "color": color,
    "max_shift": max_shift,
    "batch_size": batch_size,
    "latent_dim": latent_dim,
    "g_width": g_width,
    "d_width": d_width,
    "learning_rate": learning_rate,
    "n_faces": len(images),
    "augmentation": use_augmentation,
    "balance": balance,
    "channels": channels,
}
run = training.fit_gan(
    model,
    batches,
    steps,
    eval_every,
    out,
    "gan",
    evaluate,
    settings=settings,
    code=[gan],
    retrain=retrain,
)

# %%
# step 0, then one record every eval_every steps
start, records = run.records[0], run.records[1:]

# %% [markdown]
# ## Snapshots
#
# The same 64 codes at the start, halfway and at the end of training:

# %%
plotting.show_frames(frames_dir)  # the first, the middle and the last snapshot
plt.show()

# %% [markdown]
# Every other snapshot, as an animation (noisy grey faces make large GIFs):

# %%
display(HTML(plotting.snapshots_gif_html(frames_dir, every=2, width=420)))

# %% [markdown]
# ## The game
#
# Losses, their ratio and the balance rule's pauses, averaged over each interval of
# `eval_every` steps:

# %%
plotting.balance_curves(records)
plt.show()
d_paused = run.column("train_d_paused").mean()
g_paused = run.column("train_g_paused").mean()
print(f"balance rule: D paused in {d_paused:.1%} of the steps, G in {g_paused:.1%}")

# %% [markdown]
# ## Did it memorise its training faces?
#
# The measurements over training; dashed lines are the real references (P(face): real faces out
# of fold; spread: the training faces'; flagged: the share of held-out faces among the controls
# that the detector flags, {glue:}`copy.heldout_flagged`).

# %%
snap_steps = run.column("step")
fig, axes = plt.subplots(1, 3, figsize=(15, 3.4))
panels = [
    ("copy_share", heldout_flagged, "share", "flagged as copies"),
    ("face_probability", p_real.mean(), "mean P(face)", "face check"),
    ("spread", real_spread, "mean per-pixel std", "sample spread"),
]
for ax, (key, real_value, ylabel, title) in zip(axes, panels, strict=True):
    ax.plot(snap_steps, run.column(key), label="samples")
    ax.axhline(real_value, color="black", linestyle="--", label="real faces")
    ax.set(xlabel="step", ylabel=ylabel, title=title)
axes[0].legend(fontsize="small")
fig.tight_layout()
plt.show()

# %% [markdown]
# At the end of training, sample by sample: the ratios of the samples next to the held-out faces'
# (the controls that are not copies) and the copies', with the threshold; then the samples that
# come *closest* to copying (lowest ratio) next to their nearest training face.

# %%
samples = ops.convert_to_numpy(generator.predict(probe_z, batch_size=256, verbose=0))
nearest = face_checks.nearest_with_ratio(samples, judge_pool, judge_ids)
fig, ax = plt.subplots(figsize=(6, 2.8))
bins = np.linspace(0, 1, 41)
ax.hist(ratios[is_copy], bins=bins, alpha=0.5, density=True, label="copies (controls)")
ax.hist(
    ratios[kind_of == "held-out face"],
    bins=bins,
    alpha=0.5,
    density=True,
    label="held-out faces",
)
ax.hist(nearest.ratio, bins=bins, alpha=0.5, density=True, label="samples")
ax.axvline(threshold, color="black", linestyle=":", label="threshold")
ax.set(xlabel="d₁ / d₂", ylabel="density")
ax.legend(fontsize="x-small")
plt.show()
closest = np.argsort(nearest.ratio)[:6]  # where copies would show first
plotting.comparison_grid(
    {
        "sample": samples[closest],
        "nearest training": judge_pool[nearest.index[closest]],
    },
    row_labels=[f"{r:.2f}" for r in nearest.ratio[closest]],
    scale=1.1,
)
plt.show()

# %%
final = measure(generator)
n_flagged = int(round(final["copy_share"] * len(probe_z)))
low, high = stats.binomtest(n_flagged, len(probe_z)).proportion_ci(
    0.95, method="wilson"
)
results.add("copy.samples_flagged", n_flagged)
results.add("copy.samples_n", len(probe_z))
results.add("copy.interval", f"{low:.1%} to {high:.1%}")
results.add(
    "copy.verdict",
    "some samples fall below the copy threshold; the closest are shown above, "
    "next to their nearest training face"
    if n_flagged
    else "none of its samples is a copy by this test",
)
results.add("face.samples", final["face_probability"], "{:.2f}")
results.add("spread_samples", final["spread"], "{:.3f}")
results.add("spread_real", real_spread, "{:.3f}")
results.add("nn_ratio_samples", final["nn_ratio"], "{:.2f}")

# %% [markdown]
# {glue:}`copy.samples_flagged` of {glue:}`copy.samples_n` samples are flagged (95% interval for the
# share: {glue:}`copy.interval`): {glue:}`copy.verdict`. Their median ratio is
# {glue:}`nn_ratio_samples`. The test's limits: its copies are exact, mirrored, shifted or lightly
# noised training faces; a blurred or partly blended copy may pass it. The face check gives the
# samples a mean P(face) of {glue:}`face.samples`, against {glue:}`face.real` for real faces the
# classifier did not train on ({glue:}`face.real_in_sample` for those it did), {glue:}`face.mean_face`
# for the mean face and {glue:}`face.nonface` for non-face crops; the samples' spread is
# {glue:}`spread_samples` (training faces: {glue:}`spread_real`).

# %% [markdown]
# ## Does augmentation matter? Measured
#
# Does augmentation change what the generator learns from these faces? {glue:}`aug.n_seeds`
# seeds, each trained {glue:}`aug.steps` steps with and without augmentation, everything else equal,
# scored with the same face check, copy detector and spread. Differences are paired by seed (with −
# without), with 95% t-intervals (ddof = 1).


# %%
def train_short(augmented, run_seed):
    """One short run with or without augmentation; its final measurements."""
    runtime.set_seed(run_seed)
    g = gan.build_generator(
        latent_dim, image_size=image_size, channels=channels, width=g_width
    )
    d = gan.build_discriminator(image_size=image_size, channels=channels, width=d_width)
    short = gan.GAN(g, d, latent_dim, balance=balance, seed=run_seed)
    short.compile(learning_rate=learning_rate)
    data_stream = pipelines.image_batches(
        images,
        batch_size,
        seed=run_seed,
        flip=augmented,
        max_shift=max_shift if augmented else 0,
    ).repeat()
    name = f"aug_{'on' if augmented else 'off'}_seed{run_seed}"
    training.fit_gan(
        short,
        data_stream,
        aug_steps,
        aug_steps,
        out / "augmentation",
        name,
        settings={**settings, "seed": run_seed, "augmentation": augmented},
        code=[gan],
        retrain=retrain,
    )
    return measure(g)


augmentation_runs = {
    flag: [train_short(flag, s) for s in aug_seeds] for flag in (True, False)
}

# %%
aug_rows = []
for key, label in (
    ("face_probability", "mean P(face)"),
    ("copy_share", "share flagged as copies"),
    ("spread", "spread"),
):
    on = np.array([run[key] for run in augmentation_runs[True]])
    off = np.array([run[key] for run in augmentation_runs[False]])
    diff = intervals.paired_interval(on, off)  # with − without, t-interval, ddof = 1
    aug_rows.append(
        {
            "measure": label,
            "with": f"{on.mean():.3f}",
            "without": f"{off.mean():.3f}",
            "with − without": f"{diff.mean:+.3f}",
            "95% interval": f"{diff.low:+.3f} to {diff.high:+.3f}",
            "with augmentation": diff.word(),
        }
    )
show.table(aug_rows)
results.add("aug.n_seeds", len(aug_seeds))
results.add("aug.steps", aug_steps, "{:,}")
results.add("aug.rows", aug_rows, glue_it=False)
results.add("aug.face_verdict", aug_rows[0]["with augmentation"])
results.add("aug.copy_verdict", aug_rows[1]["with augmentation"])
results.add("aug.dof", len(aug_seeds) - 1)
results.add(
    "aug.main_run",
    "uses augmentation" if use_augmentation else "does not use augmentation",
)

# %% [markdown]
# With augmentation, the samples' face probability was {glue:}`aug.face_verdict` and the share
# flagged as copies {glue:}`aug.copy_verdict` (the table's last column, decided by each interval).
# With {glue:}`aug.n_seeds` seeds an interval has {glue:}`aug.dof` degrees of freedom and is wide:
# only a large effect can show, and "no measurable difference" is not evidence of no effect. The
# {glue:}`faces_steps`-step run above {glue:}`aug.main_run`.

# %%
results.add("start", start, glue_it=False)
results.add("history", records, glue_it=False)
results.add("snapshot_steps", [int(step) for step in snap_steps], glue_it=False)
results.add("final", final, glue_it=False)
results.add("faces_steps", steps, "{:,}")
results.add("train_seconds", run.seconds, "{:.0f}")
results.add("ms_per_step", 1000 * run.seconds / steps, "{:.0f}")
results.add("d_paused_fraction", float(d_paused), "{:.0%}")
results.add("g_paused_fraction", float(g_paused), "{:.0%}")

# %% [markdown]
# ## The numbers
#
# This build trained on {glue:}`faces_dataset` for {glue:}`faces_steps` steps
# ({glue:}`train_seconds` s, {glue:}`ms_per_step` ms a step). The balance rule paused $D$ in
# {glue:}`d_paused_fraction` and $G$ in {glue:}`g_paused_fraction` of the steps. The copy detector,
# right on {glue:}`copy.test_accuracy` of its held-out controls, flagged {glue:}`copy.samples_flagged`
# of {glue:}`copy.samples_n` samples; the face check scored them {glue:}`face.samples` (real faces
# {glue:}`face.real`, non-faces {glue:}`face.nonface`).

# %%
print(f"metrics of run {results['run_id']}: {results.save()}")

# %% [markdown]
# ## Summary
#
# - The digit GAN's code carries over to faces: the same players, losses and train step, built for
#   32x32 images. The settings differ from chapter 3's recipe: the seed's balance rule on, no EMA
#   generator, DCGAN's learning rate ({glue:}`faces_learning_rate`), $D$ of width 16, batch 32.
# - With few training images, augmentation (mirror images, small shifts) is the usual remedy; here
#   it is measured, with and without, over several seeds.
# - A GAN's samples must be checked against its training set, with a check that is itself checked:
#   the ratio test against every version of every training face, its threshold fitted on controls
#   that are copies and controls that are not, and tested on others.
#
# ## Exercises
#
# 1. Set `augment = False` and retrain. Which controls does the copy detector keep, and why?
# 2. On Colab, with the full LFW: train with `image_size = 64` and `color = True` on a GPU.
# 3. Halve `learning_rate` or switch off `balance`. Which changes the pauses, which the samples?
