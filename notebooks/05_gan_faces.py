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
# "auto": D sees every image, real or generated, mirrored and shifted at random, when
# there are fewer than 1,000 faces
augment = "auto"
max_shift = 2  # largest shift of the augmentation, in pixels
batch_size = 32
latent_dim = 64
g_width = 32
d_width = 16
learning_rate = 2e-4
balance = False  # the seed's balance rule: off, as in chapter 3
ema = 0.999  # G's moving average, as in chapter 3 (0: none)
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
# We train on **32x32 grey** faces. The offline faces are 25x25 grey crops: 32x32 already
# upsamples them a little, a larger size would add pixels but no detail, and colour is not there
# to learn. The generator builds any multiple of 4 (from a map a quarter of the side, doubled
# twice); we chose 32 — 8 → 16 → 32 — over 28 (MNIST's size, and the multiple of 4 nearest the
# crops' 25) for a power of two that also suits the full LFW. On this build's machine a training step took
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
# verdicts tell the generator little beyond "be one of these". The usual remedy: show $D$ each
# image mirrored or not and shifted by up to `max_shift` pixels each way (the strip a shift
# uncovers is filled with the image's own edge, reflected), drawn afresh each time. Mirrored or
# shifted a pixel or two, a face is still a plausible face, and $D$ sees {glue:}`aug.versions`
# versions of the faces (2 mirrorings × (2 · `max_shift` + 1)² shifts × {glue:}`faces_n`)
# instead of {glue:}`faces_n`: each about {glue:}`aug.views` times over the run, rather than
# {glue:}`aug.views_plain`. Augmenting only the real batches would teach $D$ that reflected
# borders and shifted faces are real, and push $G$ to draw them. So the augmentation sits in front
# of $D$: every image $D$ judges, real or generated, goes through the same random transforms
# (each batch its own draw), and as they are differentiable, $G$ still gets its gradient through
# them (**differentiable
# augmentation** {cite:p}`zhao2020diffaugment`). $G$ is asked for faces; $D$ judges them in random
# versions. Whether it helps here is measured at the end of the chapter, with and
# without, over several seeds. (We leave out what would change the data's distribution:
# rotations, crops that cut off the chin, colour changes.)

# %%
batches = pipelines.image_batches(images, batch_size, seed=seed).repeat()
one_batch = next(iter(batches))[:16]  # (16, size, size[, channels])
if use_augmentation:  # the real half of what D sees in a train step
    one_batch = pipelines.flip_and_shift(one_batch, (seed, 1), max_shift=max_shift)
plotting.show_grid(np.asarray(one_batch), 2, 8, title="real faces, as D sees them")
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
# misleads: an average face is near many faces at once. The discriminator judged every face
# mirrored and shifted by up to `max_shift` pixels, so a copy of any of those versions counts:
# the pool holds them all, each version labelled with its face, so that $d_2$ is measured to
# another face, never to another version of the same one.
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
# right. (The notebook stops here if it misses one.) Those controls are easy: many lie exactly on a
# pool version (ratio 0). Harder copies show what the rule lets through: stronger noise
# ($\sigma$ = 0.10), blends of two faces (70% of one, 30% of another: mostly one training face,
# the kind of near-copy a generator that recalls faces might draw) and shifts of half a pixel,
# which no pool version matches exactly.

# %%
hard = face_checks.hard_copy_controls(pool_faces, len(images[:100]) - n_pool, seed=seed)
hard_rows, missed = [], 0
for name, (copies, _) in hard.items():
    hard_ratios = face_checks.nearest_with_ratio(copies, pool, pool_ids).ratio
    caught = int(np.sum(hard_ratios < threshold))
    missed += len(copies) - caught
    hard_rows.append(
        {
            "hard control (copies)": name,
            "ratios": f"{hard_ratios.min():.2f} to {hard_ratios.max():.2f}",
            "caught": f"{caught} of {len(copies)}",
            "missed": f"{len(copies) - caught} of {len(copies)}",
        }
    )
show.table(hard_rows)
results.add("copy.hard_rows", hard_rows, glue_it=False)
results.add("copy.hard_missed", missed)
results.add(
    "copy.hard_verdict",
    "each kind it misses is a blind spot: a sample that is such a copy may pass as new"
    if missed
    else "the rule caught every one of them",
)

# %% [markdown]
# The rule missed {glue:}`copy.hard_missed` of these harder copies (the table's last column):
# {glue:}`copy.hard_verdict`.
# The generator is judged with this rule against a pool of *all* its training faces, in every
# version augmentation showed. The controls' pool held {glue:}`copy.n_pool` of them, so the
# threshold was fitted on a smaller pool than the one the samples meet; for a copy of a face, a
# larger pool can only lower $d_2$ and so raise its ratio: the difference leans towards "no
# copy".

# %%
judge_pool, judge_ids = face_checks.augmented_pool(
    images, shift, mirror=use_augmentation
)

# %% [markdown]
# ## A face check
#
# The copy test says nothing about whether samples look like faces. The offline set ships 100
# non-face crops beside its faces; a logistic regression (`face_checks.FaceClassifier`) learns to
# tell faces from them. An average is the hard case: the mean face has every face's outline and
# none of the detail. Sharpness is a matter of differences between neighbouring pixels, which a
# model that weighs each pixel on its own cannot compute. So the check also sees each pixel's
# *image gradient* — how sharply brightness changes there — and its non-face class includes what
# an average can produce: each training face blurred, and averages of four faces.
#
# We score each real face with a classifier trained on the other four fifths of the faces (five
# folds), and with the same classifiers the check's controls, made from the held-out faces:
# - blurred as in training (a Gaussian of 1.5 px) and less (1 px), averaged four at a time, and
#   the fold's mean face — made of faces, not faces;
# - two kinds the check never trained against: images of uniform noise, and the mean face with
#   Gaussian noise of standard deviation 0.10 added. Noise is all edges, so edge features may
#   reward it.
#
# It can tell face-like structure from other image content; with 100 faces it cannot tell a
# convincing face from a mediocre one, nor one person from another. The samples are scored by the
# classifier trained on all 100 faces, so their second reference is the real faces' in-sample
# probability: a memorised face would score like those.

# %%
nonfaces = data.load_nonfaces(image_size)
gray_faces = images if not color else images.mean(-1)  # the check works on grey levels
# out-of-fold P(face) of real faces, non-face crops, blurred and averaged faces
checked = face_checks.cross_validated_face_probability(
    gray_faces[:100], nonfaces, seed=seed
)
p_real = checked["real faces"]
face_check = face_checks.FaceClassifier(seed=seed).fit(gray_faces[:100], nonfaces)
show.table(
    [
        {
            "images (out of fold)": name,
            "mean P(face)": f"{p.mean():.2f}",
            "median": f"{np.median(p):.2f}",
        }
        for name, p in checked.items()
    ]
)
# the control: the same check without blurred and averaged faces among its negatives
plain = face_checks.FaceClassifier(hard=False, seed=seed).fit(
    gray_faces[:100], nonfaces
)
mean_face = gray_faces[:100].mean(0, keepdims=True)  # (1, size, size)
results.add("face.mean_face_plain", plain.probability(mean_face)[0], "{:.2f}")
results.add("face.real", p_real.mean(), "{:.2f}")
results.add("face.nonface", checked["non-face crops"].mean(), "{:.2f}")
results.add("face.blurred", checked["blurred faces"].mean(), "{:.2f}")
results.add("face.averaged", checked["averages of 4 faces"].mean(), "{:.2f}")
results.add("face.mean_face", checked["mean face of a fold"].mean(), "{:.2f}")
results.add(
    "face.real_in_sample", face_check.probability(gray_faces[:100]).mean(), "{:.2f}"
)
real_low = np.quantile(p_real, 0.1)  # 9 in 10 real faces score above it
made = [results[key] for key in ("face.blurred", "face.averaged", "face.mean_face")]
results.add("face.real_low", real_low, "{:.2f}")
noisy = [checked[key].mean() for key in ("noise images", "mean face + noise 0.10")]
results.add("face.noise", noisy[0], "{:.2f}")
results.add("face.mean_noise", noisy[1], "{:.2f}")
results.add(
    "face.noise_verdict",
    "noisy samples, early in training above all, can score high without being faces, "
    "so the samples' scores are read next to their pictures"
    if max(noisy) >= real_low
    else f"both lie below {real_low:.2f} too",
)
results.add(
    "face.average_verdict",
    "each of the three lies below it: drawing an average does not pass this check"
    if max(made) < real_low
    else "not all three lie below it: an average can still pass for a face here",
)

# %% [markdown]
# Nine in ten real faces score above {glue:}`face.real_low`. Blurred faces score
# {glue:}`face.blurred` on average, averages of four {glue:}`face.averaged`, a fold's mean face
# {glue:}`face.mean_face` (real faces: {glue:}`face.real`); measured against that line,
# {glue:}`face.average_verdict`. Faces blurred by only 1 px, less than the check trained on, are
# the subtler test: compare their row with the blurred faces' and the real faces'. Trained without blurred and averaged
# faces in its non-face class, the same check gives the mean face {glue:}`face.mean_face_plain`
# (scored by that classifier, which trained on the faces the mean is made of).
#
# Edge features cut both ways: noise images score {glue:}`face.noise`, the mean face with noise
# {glue:}`face.mean_noise`. What follows for the samples: {glue:}`face.noise_verdict`. A sample
# scoring *above* real faces is a warning, not a success.

# %% [markdown]
# ## Training, and what we watch
#
# The train step and losses are chapter 3's (`gan.GAN`), with its choices: the balance rule
# off, and samples drawn from the moving average of $G$'s weights (the EMA generator, decay
# {glue:}`faces_ema`); the learning rate is {glue:}`faces_learning_rate` for both players
# (DCGAN's). Every `eval_every` steps we save the EMA generator's images of a fixed grid of 64
# codes and measure 256 samples of further fixed codes: the share the copy detector flags, their
# median ratio, their mean P(face), and their **spread** (the per-pixel standard deviation across
# samples, near zero when every code gives the same face). Neither a lower nor a higher spread is
# better in itself; the training faces' spread is the reference.

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
        "spread_gap": abs(float(samples.std(0).mean()) - real_spread),
    }


def evaluate(step):
    """Save the fixed grid's images; measure the probe samples (EMA generator)."""
    frame = plotting.frame_path(frames_dir, step)
    # training=False: batch norm keeps its running statistics as they are
    grid = model.ema_generator(fixed_z, training=False)
    plotting.save_frame(ops.convert_to_numpy(grid), 8, 8, frame, scale=1)
    return measure(model.ema_generator)


# %%
results.add("faces_learning_rate", learning_rate, "{:g}")
results.add("faces_ema", ema, "{:g}")
# what D judges: every image mirrored and shifted at random in training (if augmenting)
judged_by = (
    pipelines.augmented_discriminator(discriminator, max_shift=max_shift, seed=seed + 1)
    if use_augmentation
    else discriminator
)
model = gan.GAN(generator, judged_by, latent_dim, balance=balance, ema=ema, seed=seed)
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
    "augmentation": "both sides" if use_augmentation else "none",
    "balance": balance,
    "ema": ema,
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
    code=[gan, pipelines, face_checks],
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
# Losses, their ratio and the balance rule's pauses (none while the rule is off), averaged over
# each interval of `eval_every` steps:

# %%
plotting.balance_curves(records)
plt.show()
d_paused = run.column("train_d_paused").mean()
g_paused = run.column("train_g_paused").mean()
print(
    f"balance rule {'on' if balance else 'off'}: D paused in {d_paused:.1%} of the "
    f"steps, G in {g_paused:.1%}"
)

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
sampler = model.ema_generator  # the generator we sample from
samples = ops.convert_to_numpy(sampler.predict(probe_z, batch_size=256, verbose=0))
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
final = measure(sampler)
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
# {glue:}`nn_ratio_samples`. The test's limits: its threshold was fitted on exact, mirrored,
# shifted and lightly noised copies, and it missed {glue:}`copy.hard_missed` of the harder copies
# above. The face check gives the samples a mean P(face) of {glue:}`face.samples`, against
# {glue:}`face.real` for real faces the classifier did not train on ({glue:}`face.real_in_sample`
# for those it did), {glue:}`face.mean_face` for a fold's mean face and {glue:}`face.nonface` for
# non-face crops; the samples' spread is {glue:}`spread_samples` (training faces:
# {glue:}`spread_real`). These scores are single numbers without intervals, and the face check
# rewards noise: the last snapshot above is the picture to read them with.

# %% [markdown]
# ## Does augmentation matter? Measured
#
# Does augmentation change what the generator learns from these faces? If it works as intended,
# $D$ memorises less (this chapter does not measure $D$'s memory itself), and fewer samples would
# be flagged as copies. {glue:}`aug.n_seeds` seeds, each trained {glue:}`aug.steps` steps with and
# without it, everything else equal (the same seeds, initial weights and batches), scored with the
# same face check, copy detector and spread. Read the face check's column with its blind spot in
# mind: a *higher* P(face) is not a better face, since noisy images score high too, and a score
# above real faces' is a warning. The spread is judged by its distance
# from the training faces' ({glue:}`spread_real`), not by its size: samples more varied than the
# faces are no better. Differences are paired by seed (with − without), with 95% t-intervals
# (ddof = 1).


# %%
def train_short(augmented, run_seed):
    """One short run with or without augmentation; its final measurements."""
    runtime.set_seed(run_seed)
    g = gan.build_generator(
        latent_dim, image_size=image_size, channels=channels, width=g_width
    )
    d = gan.build_discriminator(image_size=image_size, channels=channels, width=d_width)
    if augmented:
        d = pipelines.augmented_discriminator(d, max_shift=max_shift, seed=run_seed + 1)
    short = gan.GAN(g, d, latent_dim, balance=balance, ema=ema, seed=run_seed)
    short.compile(learning_rate=learning_rate)
    data_stream = pipelines.image_batches(images, batch_size, seed=run_seed).repeat()
    name = f"aug_{'on' if augmented else 'off'}_seed{run_seed}"
    training.fit_gan(
        short,
        data_stream,
        aug_steps,
        aug_steps,
        out / "augmentation",
        name,
        settings={
            **settings,
            "seed": run_seed,
            "augmentation": "both sides" if augmented else "none",
        },
        code=[gan, pipelines, face_checks],
        retrain=retrain,
    )
    return measure(short.ema_generator)


augmentation_runs = {
    flag: [train_short(flag, s) for s in aug_seeds] for flag in (True, False)
}

# %%
aug_rows = []
for key, label, above, below in (
    ("face_probability", "mean P(face)", "higher", "lower"),
    ("copy_share", "share flagged as copies", "higher", "lower"),
    ("spread_gap", "|spread − training faces'|", "larger", "smaller"),
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
            "with augmentation": diff.word(above=above, below=below),
        }
    )
show.table(aug_rows)
results.add("aug.n_seeds", len(aug_seeds))
results.add("aug.steps", aug_steps, "{:,}")
results.add("aug.rows", aug_rows, glue_it=False)
results.add("aug.face_verdict", aug_rows[0]["with augmentation"])
results.add("aug.copy_verdict", aug_rows[1]["with augmentation"])
results.add("aug.spread_verdict", aug_rows[2]["with augmentation"])
results.add("aug.dof", len(aug_seeds) - 1)
results.add(
    "aug.main_run",
    "uses augmentation" if use_augmentation else "does not use augmentation",
)

# %% [markdown]
# With augmentation (the table's last column, decided by each interval):
#
# - mean P(face): {glue:}`aug.face_verdict`;
# - share flagged as copies: {glue:}`aug.copy_verdict`;
# - gap between the samples' spread and the training faces': {glue:}`aug.spread_verdict`.
#
# Each interval rests on {glue:}`aug.n_seeds` paired differences, so it is wide: only a large
# effect can show, and "no measurable difference" is not evidence of no effect. Where every run of
# both arms flags no sample, the copy row's interval is empty (0 to 0) and says nothing about
# copying. The runs are
# {glue:}`aug.steps` steps long, so they speak of early training; the {glue:}`faces_steps`-step
# run above {glue:}`aug.main_run`.

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
# ({glue:}`train_seconds` s, {glue:}`ms_per_step` ms a step), sampling from the EMA generator.
# The copy detector, right on {glue:}`copy.test_accuracy` of its held-out controls, flagged
# {glue:}`copy.samples_flagged` of {glue:}`copy.samples_n` samples; the face check scored them
# {glue:}`face.samples` (real faces {glue:}`face.real`, a fold's mean face {glue:}`face.mean_face`,
# non-faces {glue:}`face.nonface`).

# %%
print(f"metrics of run {results['run_id']}: {results.save()}")

# %% [markdown]
# ## Summary
#
# - The digit GAN's code carries over to faces: the same players, losses and train step, built for
#   32x32 images, with chapter 3's choices (the balance rule off, samples from the EMA generator);
#   what differs: DCGAN's learning rate ({glue:}`faces_learning_rate`), $D$ of width 16, batch 32.
# - With few training images, augmentation (mirror images, small shifts) is the usual remedy. It
#   goes in front of $D$, for real and generated images alike, so that $G$ is not taught to draw
#   it; here it is measured, with and without, over several seeds.
# - A face check must not be fooled by an average: this one sees edges and is trained against
#   blurred and averaged faces, and its controls show how they score.
# - A GAN's samples must be checked against its training set, with a check that is itself checked:
#   the ratio test against every version of every training face, its threshold fitted on controls
#   that are copies and controls that are not, and tested on others.
#
# ## Exercises
#
# 1. Set `augment = False` and retrain. The copy detector's pool then holds each face as it is,
#    without mirror images and shifts: which controls does `copy_controls` leave out, and why?
# 2. On Colab, with the full LFW: train with `image_size = 64` and `color = True` on a GPU.
# 3. Halve `learning_rate` or switch on `balance`. Which changes the pauses, which the samples?
