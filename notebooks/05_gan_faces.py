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
# 13,000, and the offline copy this book falls back to has 100. With 100 images the real danger is
# not bad samples but *copies*: a generator can score well by memorising its training set, so this
# chapter ends by checking, image by image, how close its faces are to the ones it learned from.

# %% [markdown]
# ## Setup

# %%
import subprocess
import sys

PACKAGE = "vaegan-utils[faces] @ git+https://github.com/vaegan-book/vaegan-book"
if "google.colab" in sys.modules:  # Colab only: install the book's package, keep Colab's TF
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", PACKAGE], check=True)

# %% tags=["parameters"]
quick = False  # True: a short run for CI
seed = 0
output_dir = "outputs/05_gan_faces"
retrain = False  # False: reuse a finished run with the same settings and code from output_dir
steps = 10_000  # training steps (the seed's schedule)
eval_every = 250  # steps between snapshots and measurements
image_size = 32  # 32 or 64 (a multiple of 4)
color = False  # RGB faces (the offline faces are grey either way)
face_source = "auto"  # "auto" (cache, then download, then offline), or one of them alone
augment = "auto"  # "auto": flips and shifts when there are fewer than 1,000 faces
max_shift = 2  # largest shift of the augmentation, in pixels
batch_size = 32
latent_dim = 64
g_width = 32
d_width = 16
learning_rate = 2e-4
balance = True  # the seed's balance rule

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, display
from keras import ops

from vaegan_utils import data, evaluation, gan, plotting, runtime, training

runtime.configure_logging()
runtime.set_seed(seed)
out = runtime.output_dir(output_dir)
if quick:
    steps, eval_every = 300, 100
results = runtime.Results(out / "metrics.json", quick=quick, steps=steps)
print(runtime.run_card(seed=seed, quick=quick))

# %% [markdown]
# ## The faces, and the choice of size
#
# We train on **32x32 grey** faces. The offline faces are 25x25 grey crops, so a larger size would
# only upsample them, and colour is not there to learn; 32 is the nearest size the generator can
# build (its layers double a 4·k map twice: 8 → 16 → 32). On two CPU cores it also keeps a training
# step in the tens of milliseconds. With the full LFW (on Colab, say), `image_size = 64` and
# `color = True` are worth trying on a GPU: the same code builds the larger players.

# %%
faces = data.load_faces(size=image_size, color=color, source=face_source)
images = faces.images  # (n, size, size) grey or (n, size, size, 3) colour, in [0, 1]
channels = 3 if color else 1
small = len(images) < 1000
use_augmentation = small if augment == "auto" else bool(augment)
if faces.dataset == "lfw_subset":
    print(
        f"Offline: training on the {len(images)} faces that ship with scikit-image, not the full "
        "LFW. With so few images, augmentation is what makes them usable."
    )
print(
    f"{len(images):,} faces of {images.shape[1:]} from the {faces.source} source ({faces.dataset}); "
    f"augmentation {'on' if use_augmentation else 'off'}"
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
# With {glue:}`faces_n` images, the discriminator can learn every training face by heart within a
# few hundred steps, and then its verdicts carry no information the generator can use. So every batch
# is shown with random mirror images and shifts of up to `max_shift` pixels, drawn afresh each time:
# the discriminator never sees the same array twice, while a face stays a face. (We leave out what
# would change the data's distribution: rotations, crops that cut off the chin, colour changes.)

# %%
batches = training.image_batches(
    images,
    batch_size,
    seed=seed,
    flip=use_augmentation,
    max_shift=max_shift if use_augmentation else 0,
).repeat()
plotting.show_grid(next(iter(batches)).numpy()[:16], 2, 8, title="one training batch, as D sees it")
plt.show()
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
# layer feeds a 4x4 map that is resized to 8x8 before two transposed convolutions double it to 32x32;
# the discriminator's three convolutions reduce 32x32 to 8x8 before its dense layers.

# %%
generator = gan.build_generator(latent_dim, image_size=image_size, channels=channels, width=g_width)
discriminator = gan.build_discriminator(image_size=image_size, channels=channels, width=d_width)
print(
    f"generator: {generator.count_params():,} weights (z {generator.input.shape[1:]} -> "
    f"image {generator.output.shape[1:]})"
)
print(f"discriminator: {discriminator.count_params():,} weights")

# %% [markdown]
# ## Training, and what we watch
#
# The train step, losses and balance rule are chapter 3's (`gan.GAN`), with a learning rate of
# {glue:}`faces_learning_rate` for both players (DCGAN's). Every `eval_every` steps we save the images of a fixed grid of 64 codes and
# measure, on 256 further fixed codes, how each sample relates to the training faces (their mirror
# images included: augmentation showed them to $D$):
#
# - $d_1$, the Euclidean distance to the **nearest training face**;
# - the **ratio test** $d_1/d_2$, where $d_2$ is the distance to the nearest *other* face. A copy
#   of a training face is far nearer to it than to any other face: a ratio near 0. Distance alone
#   can mislead: a smooth, average-looking face is near many faces at once, so its $d_1$ is small
#   although it copies none of them, while its ratio stays far from a copy's;
# - the **sample spread**, the per-pixel standard deviation across samples: near zero when every
#   code gives the same face (mode collapse).
#
# The yardstick is the same measurements for the training faces themselves, each against the
# *other* training faces (leave-one-out): what a new face from the same population would score.

# %%
n = len(images)
pool = np.concatenate([images, images[:, :, ::-1]])  # the faces and their mirror images
pool_ids = np.concatenate([np.arange(n), np.arange(n)])  # a face and its mirror: one identity
probe = np.random.default_rng(seed).choice(n, min(n, 500), replace=False)
real_nearest = evaluation.nearest_with_ratio(images[probe], pool, pool_ids, exclude_ids=probe)
real_spread = float(images.std(0).mean())
fixed_z = keras.random.normal((64, latent_dim), seed=seed)
probe_z = keras.random.normal((256, latent_dim), seed=seed + 1)
frames_dir = out / "frames"


# %%
def evaluate(step):
    """Save the fixed grid's images; measure the samples against the training faces."""
    plotting.save_frame(
        ops.convert_to_numpy(generator(fixed_z)),
        8,
        8,
        plotting.frame_path(frames_dir, step),
        scale=1,
    )
    samples = ops.convert_to_numpy(generator.predict(probe_z, batch_size=256, verbose=0))
    nearest = evaluation.nearest_with_ratio(samples, pool, pool_ids)
    return {
        "nn_distance": float(nearest.distance.mean()),
        "nn_ratio": float(np.median(nearest.ratio)),
        "spread": float(samples.std(0).mean()),
    }


# %%
results.add("faces_learning_rate", learning_rate, "{:g}")
model = gan.GAN(generator, discriminator, latent_dim, balance=balance, seed=seed)
model.compile(learning_rate=learning_rate)  # Adam with beta_1 = 0.5 for both players
run_settings = "seed image_size color max_shift batch_size latent_dim g_width d_width learning_rate"
settings = {name: globals()[name] for name in run_settings.split()}  # a change retrains
settings.update(n_faces=len(images), augmentation=use_augmentation, balance=balance)
log = training.fit_gan(
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
start, records = log.records[0], log.records[1:]  # step 0, then one record every eval_every steps

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
d_paused = log.column("train_d_paused").mean()
g_paused = log.column("train_g_paused").mean()
print(f"balance rule: D paused in {d_paused:.1%} of the steps, G in {g_paused:.1%}")

# %% [markdown]
# ## Did it memorise its training faces?
#
# The three measurements over training; dashed lines are the training faces' own (leave-one-out).

# %%
snap_steps = log.column("step")
history = {key: log.column(key) for key in ("nn_distance", "nn_ratio", "spread")}
fig, axes = plt.subplots(1, 3, figsize=(15, 3.4))
panels = [
    ("nn_distance", real_nearest.distance.mean(), "mean d₁", "distance to the nearest face"),
    ("nn_ratio", np.median(real_nearest.ratio), "median d₁/d₂", "ratio test (0: a copy)"),
    ("spread", real_spread, "mean per-pixel std", "sample spread"),
]
for ax, (key, real_value, ylabel, title) in zip(axes, panels, strict=True):
    ax.plot(snap_steps, history[key], label="samples")
    ax.axhline(real_value, color="black", linestyle="--", label="training faces")
    ax.set(xlabel="step", ylabel=ylabel, title=title)
axes[0].legend(fontsize="small")
fig.tight_layout()
plt.show()

# %% [markdown]
# At the end of training, sample by sample: the ratio test of every sample against the training
# faces' own, and the samples that come *closest* to copying (lowest ratio) next to their nearest
# training face, each row labelled with its ratio.

# %%
samples = ops.convert_to_numpy(generator.predict(probe_z, batch_size=256, verbose=0))
nearest = evaluation.nearest_with_ratio(samples, pool, pool_ids)
copy_threshold = np.percentile(real_nearest.ratio, 5)
copies = float(np.mean(nearest.ratio < copy_threshold))
fig, ax = plt.subplots(figsize=(6, 2.8))
bins = np.linspace(0, 1, 31)
ax.hist(
    real_nearest.ratio, bins=bins, alpha=0.6, density=True, label="training faces (leave-one-out)"
)
ax.hist(nearest.ratio, bins=bins, alpha=0.6, density=True, label="samples")
ax.axvline(copy_threshold, color="black", linestyle=":", label="5th percentile, training faces")
ax.set(xlabel="d₁ / d₂", ylabel="density")
ax.legend(fontsize="x-small")
plt.show()

# %%
closest = np.argsort(nearest.ratio)[:6]  # where copies would show first
plotting.comparison_grid(
    {"sample": samples[closest], "nearest training": pool[nearest.index[closest]]},
    row_labels=[f"{r:.2f}" for r in nearest.ratio[closest]],
    scale=1.1,
)
plt.show()
print(
    f"distance to the nearest training face: samples {nearest.distance.mean():.2f}, "
    f"training faces {real_nearest.distance.mean():.2f}"
)
print(
    f"ratio test (median): samples {np.median(nearest.ratio):.2f}, "
    f"training faces {np.median(real_nearest.ratio):.2f}"
)
print(f"samples below the training faces' 5th percentile ({copy_threshold:.2f}): {copies:.1%}")

# %%
results.add("start", start, glue_it=False)
results.add("history", records, glue_it=False)
results.add("snapshot_steps", [int(step) for step in snap_steps], glue_it=False)

# %%
results.add("faces_steps", steps, "{:,}")
results.add("train_seconds", log.seconds, "{:.0f}")
results.add("ms_per_step", 1000 * log.seconds / steps, "{:.0f}")
results.add("nn_distance_samples", float(nearest.distance.mean()), "{:.2f}")
results.add("nn_distance_real", float(real_nearest.distance.mean()), "{:.2f}")
results.add("nn_ratio_samples", float(np.median(nearest.ratio)), "{:.2f}")
results.add("nn_ratio_real", float(np.median(real_nearest.ratio)), "{:.2f}")
results.add("copy_fraction", copies, "{:.1%}")
results.add("copy_threshold", copy_threshold, "{:.2f}")
results.add("spread_samples", float(history["spread"][-1]), "{:.3f}")
results.add("spread_real", real_spread, "{:.3f}")
results.add("d_paused_fraction", float(d_paused), "{:.0%}")
results.add("g_paused_fraction", float(g_paused), "{:.0%}")

# %% [markdown]
# ## The numbers
#
# This build trained on {glue:}`faces_dataset` for {glue:}`faces_steps` steps
# ({glue:}`train_seconds` s, {glue:}`ms_per_step` ms a step). The balance rule paused $D$ in
# {glue:}`d_paused_fraction` and $G$ in {glue:}`g_paused_fraction` of the steps. At the end, samples lie
# {glue:}`nn_distance_samples` from their nearest training face (training faces from their nearest other
# one: {glue:}`nn_distance_real`), with a median ratio test of {glue:}`nn_ratio_samples` (training
# faces: {glue:}`nn_ratio_real`). {glue:}`copy_fraction` of the samples fall below the ratio
# {glue:}`copy_threshold`, which 5% of the training faces do by construction: a generator that
# recalled its training faces would put far more of its samples there, with ratios near 0. The
# samples' spread is {glue:}`spread_samples`, the training faces' {glue:}`spread_real`.

# %%
print(f"metrics of run {results['run_id']}: {results.save()}")

# %% [markdown]
# ## Summary
#
# - The digit GAN carries over to faces by changing only the image size: the same players, losses,
#   train step and balance rule.
# - With few training images, augmentation (mirror images, small shifts) keeps the discriminator from
#   learning the training set by heart.
# - A GAN's samples must be checked against its training set. Distance alone misleads (a blurry
#   face is near many faces); the ratio of the nearest to the second-nearest face, set against the
#   training faces' own, says whether it generates or recalls.
#
# ## Exercises
#
# 1. Set `augment = False` and retrain. How do the nearest-face distances move?
# 2. On Colab, with the full LFW: train with `image_size = 64` and `color = True` on a GPU.
# 3. Halve `learning_rate` or switch off `balance`. Which changes the pauses, which the samples?
