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
# # A VAE on MNIST, trained and opened up
#
# We build the variational autoencoder of {cite:t}`kingma2013autoencoding` in Keras 3 — an encoder
# that outputs the mean and log-variance of $q_\phi(z \mid x)$, a sampling layer, a decoder that
# outputs Bernoulli logits — and train it by minimising $-\mathcal{L}$, the negative ELBO of
# {doc}`01_elbo`. A 2-D latent space gives the pictures: where each digit lands, and what the decoder
# draws everywhere in between, live under your pointer. A 20-D latent space gives a better model,
# its loss split into reconstruction and KL, and digits drawn from the prior. The measurements
# behind the settings, and a likelihood that can be compared with the literature, are in the lab
# that follows, {doc}`02_vae_mnist_lab`.

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
quick = False  # True: a small, fast run for CI
seed = 0
output_dir = "outputs/02_vae_mnist"
# False: reuse a finished run with the same settings and code from output_dir
retrain = False
latent_dim = 20  # the latent size of the larger model
hidden = (512, 256)  # encoder layer widths of the 20-D model; the decoder mirrors them
# encoder layer widths of the 2-D model, the decoder mirrors them; narrower, so that
# its decoder (~110k weights) can run in the book's page
hidden_2d = (128, 64)
batch_size = 100
learning_rate = 2e-3  # Adam's, decayed to 5% of it over each run by a cosine schedule
# training images held out to choose settings and watch overfitting
validation_images = 10_000
epochs_2d = 5  # training epochs of the 2-D model (pictures)
epochs_grey = 20  # ... of the 20-D model

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import HTML, display
from keras import layers, ops
from scipy.spatial import cKDTree
from vaegan_utils import (
    assets,
    data,
    evaluation,
    explorer,
    intervals,
    pipelines,
    plotting,
    reporting,
    show,
    training,
)
from vaegan_utils.vae import elbo_terms

n_train, n_test = (10_000, 2000) if quick else (None, None)
if quick:
    validation_images, epochs_2d, epochs_grey = 2000, 1, 3
# logging on, seeded, output directory made, run card printed; results: metrics.json
out, results = reporting.start(output_dir, seed=seed, quick=quick)

# %% [markdown]
# ## Data
#
# MNIST's grey levels, scaled to $[0, 1]$ (see {doc}`00_data_tour`); this lesson trains on them
# as they are, and the lab on binarized digits. The last {glue:}`validation_images` training
# images are held out as a **validation set**: the 20-D model's training length was chosen on it
# (the lab shows how), here each model is scored on it after every epoch, and the test set is
# scored once, at the end.

# %%
grey = data.load_mnist(n_train=n_train, n_test=n_test, seed=seed)
x_train, y_train = grey.x_train[:-validation_images], grey.y_train[:-validation_images]
# (validation_images, 28, 28), never trained on
x_val = grey.x_train[-validation_images:]
x_test, y_test = grey.x_test, grey.y_test  # (10000, 28, 28) in [0, 1] (quick: 2,000)
print(
    f"train {x_train.shape}, validation {x_val.shape}, test {x_test.shape}, "
    f"source: {grey.source}"
)

# %% tags=["remove-cell"]
results.add("validation_images", validation_images, "{:,}")

# %% [markdown]
# ## The model
#
# The loss is the negative ELBO of {doc}`01_elbo`, in two terms. Both **sum** over pixels (or
# latent dimensions) and return one number per image; the train step takes the **mean over the
# batch**. Every loss below is therefore in nats per image. (Averaging over pixels instead, as
# `keras.losses.binary_crossentropy` does, silently weights the KL term 784 times more heavily
# relative to the reconstruction.)


# %%
# exported to vaegan_utils.vae
def bernoulli_nll(x, logits):
    """-log p(x | z) for a Bernoulli decoder: sigmoid cross-entropy summed over pixels.

    ``x``: ``(batch, ...)`` targets in [0, 1]; ``logits``: same shape. Returns
    ``(batch,)``. For grey-level ``x`` this is a cross-entropy, not a likelihood.
    """
    # stable form of -[x log σ(l) + (1-x) log(1-σ(l))]: softplus(l) - x·l
    per_pixel = ops.softplus(logits) - x * logits
    return ops.sum(ops.reshape(per_pixel, (ops.shape(per_pixel)[0], -1)), axis=1)


def gaussian_kl(mean, log_var):
    """KL(N(mean, diag(exp(log_var))) ‖ N(0, I)), closed form, summed over latent dims.

    ``mean``, ``log_var``: ``(batch, latent_dim)``. Returns ``(batch,)``.
    """
    per_dim = ops.square(mean) + ops.exp(log_var) - 1.0 - log_var  # (batch, d)
    return 0.5 * ops.sum(per_dim, axis=-1)


# %% [markdown]
# The encoder maps an image to the mean and log-variance of $q_\phi(z \mid x)$; a sampling
# layer draws $z = \mu + \sigma \odot \varepsilon$ with $\varepsilon \sim \mathcal{N}(0, I)$, the
# reparameterisation trick {eq}`reparam`, so that gradients flow through $\mu$ and $\sigma$;
# the decoder maps $z$ back to one *logit* $l$ per pixel, whose sigmoid $\sigma(l)$ is that
# pixel's Bernoulli probability ($d$ below is the latent size, `latent_dim`). These cells are the
# book's one definition of the model: edit one and rerun, and the training below notices the
# change and trains afresh. (Their first line marks them for the tool that copies them into the
# package `vaegan_utils`, where the lab, tests and benchmarks import them; your edit changes this
# notebook only.)


# %%
# exported to vaegan_utils.vae
class Sampling(layers.Layer):
    """The reparameterisation trick: z = mean + exp(log_var / 2) · ε, ε ~ N(0, I)."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, mean, log_var):
        epsilon = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * epsilon  # (batch, d)


# %%
# exported to vaegan_utils.vae
def build_encoder(latent_dim, hidden=(512, 256), name="encoder"):
    """Images ``(batch, 28, 28)`` -> ``(mean, log_var)``, each ``(batch, d)``."""
    if not isinstance(latent_dim, int) or latent_dim <= 0:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
    images = keras.Input(shape=(28, 28))
    h = layers.Flatten()(images)  # (batch, 28, 28) -> (batch, 784)
    for units in hidden:
        h = layers.Dense(units, activation="relu")(h)
    mean = layers.Dense(latent_dim, name="mean")(h)  # (batch, d)
    log_var = layers.Dense(latent_dim, name="log_var")(h)  # (batch, d)
    return keras.Model(images, [mean, log_var], name=name)


def build_decoder(latent_dim, hidden=(256, 512), name="decoder"):
    """MLP decoder: codes ``(batch, latent_dim)`` -> logits ``(batch, 28, 28)``."""
    if not isinstance(latent_dim, int) or latent_dim <= 0:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
    z = keras.Input(shape=(latent_dim,))
    h = z
    for units in hidden:
        h = layers.Dense(units, activation="relu")(h)
    logits = layers.Dense(28 * 28)(h)  # (batch, 784)
    logits = layers.Reshape((28, 28))(logits)  # -> (batch, 28, 28)
    return keras.Model(z, logits, name=name)


# %%
# the 20-D models' encoder and decoder (the 2-D model below is narrower)
build_encoder(latent_dim, hidden).summary(line_length=80)
build_decoder(latent_dim, hidden[::-1]).summary(line_length=80)

# %% [markdown]
# The training step is where the ELBO is put together. It is written for TensorFlow
# (`tf.GradientTape`), Keras 3's default backend. The optional KL warm-up is off in this lesson
# (`warmup_steps=0`); the lab uses it.


# %%
# exported to vaegan_utils.vae
class VAE(keras.Model):
    """Encoder -> (mean, log-variance) -> sampled z -> decoder logits, trained on -ELBO.

    During an optional warm-up of ``warmup_steps`` steps the KL term's weight rises
    from 0 to 1; the logged ``loss`` is always the full -ELBO.
    """

    def __init__(self, latent_dim, hidden, warmup_steps=0, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.warmup_steps = warmup_steps
        self.encoder = build_encoder(latent_dim, hidden)
        self.decoder = build_decoder(latent_dim, hidden[::-1])
        self.sampling = Sampling(seed=seed)
        names = ("loss", "reconstruction", "kl")
        self.trackers = [keras.metrics.Mean(name) for name in names]

    @property
    def metrics(self):  # listed here, Keras resets the trackers every epoch
        return self.trackers

    def call(self, x, training=False):
        mean, log_var = self.encoder(x, training=training)  # (batch, d) each
        z = self.sampling(mean, log_var)  # (batch, d)
        logits = self.decoder(z, training=training)  # (batch, 28, 28)
        return logits, mean, log_var

    def train_step(self, x):
        with tf.GradientTape() as tape:
            logits, mean, log_var = self(x, training=True)
            # Each term sums over pixels (latent dims) and is averaged over the batch.
            reconstruction = ops.mean(bernoulli_nll(x, logits))
            kl = ops.mean(gaussian_kl(mean, log_var))
            loss = reconstruction + kl  # -ELBO in nats per image
            step = ops.cast(self.optimizer.iterations + 1, "float32")
            # warmup_steps = 0: weight 1 from the first step
            kl_weight = ops.minimum(1.0, step / max(self.warmup_steps, 1))
            objective = reconstruction + kl_weight * kl  # the -ELBO after the warm-up
        gradients = tape.gradient(objective, self.trainable_weights)
        pairs = zip(gradients, self.trainable_weights, strict=True)
        self.optimizer.apply_gradients(pairs)
        for tracker, value in zip(
            self.trackers, (loss, reconstruction, kl), strict=True
        ):
            tracker.update_state(value)
        return {tracker.name: tracker.result() for tracker in self.trackers}


# %% [markdown]
# The next cell is plumbing — reusing finished runs, logging — that a first reading can skim.
# `train_vae` builds one model, its input pipeline and its per-epoch evaluation on the
# validation set, and hands them to `training.fit_or_load`. The evaluation calls `elbo_terms`
# (from the package; the test scores below come from it too): for each image it computes the
# reconstruction term, the KL term and $-\mathcal{L}$ with $z$ sampled from $q_\phi(z \mid x)$,
# and averages them over the images, with the chapter's own loss terms passed in as `nll=` and
# `kl=`. `fit_or_load` reuses a finished model only when everything that shaped it is the same —
# the settings passed here *and* the code of the cells above and the loss terms — so editing the
# train step (say, weighting the KL by a β) and rerunning trains afresh. The learning rate
# follows a cosine from `learning_rate` down to 5% of it: large steps early, fine ones at the end.


# %%
# exported to vaegan_utils.vae
def train_vae(
    name,
    x_train,
    x_val,
    latent_dim,
    hidden,
    epochs,
    output_dir,
    batch_size=100,
    learning_rate=2e-3,
    seed=0,
    binarize=False,
    warmup_epochs=0,
    retrain=False,
):
    """Train one VAE on ``x_train`` (or reuse the same finished run in ``output_dir``),
    logging the -ELBO on up to 5,000 images of ``x_val`` every epoch: (model, run).

    With ``binarize`` the training images are binarized afresh on every pass; pass
    ``x_val`` binarized once. The KL weight warms up over ``warmup_epochs`` epochs.
    """
    steps_per_epoch = len(x_train) // batch_size
    warmup_steps = warmup_epochs * steps_per_epoch
    model = VAE(latent_dim, hidden, warmup_steps=warmup_steps, seed=seed, name=name)
    steps = epochs * steps_per_epoch
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05)
    # 50 steps per call into the compiled step: fewer Python round trips
    model.compile(optimizer=keras.optimizers.Adam(schedule), steps_per_execution=50)
    model(x_val[:1])  # build the weights
    batches = pipelines.image_batches(x_train, batch_size, seed=seed, binarize=binarize)
    x_eval = x_val[:5000]

    def evaluate(epoch):  # -ELBO with z sampled, on (up to) 5,000 validation images
        # this chapter's loss terms: an edit to them reaches the evaluation too
        losses = {"nll": bernoulli_nll, "kl": gaussian_kl}
        terms = elbo_terms(model.encoder, model.decoder, x_eval, seed=seed, **losses)
        return {f"val_{key}": value for key, value in terms.items()}

    settings = {  # everything that shapes the run: a change retrains
        "latent_dim": latent_dim,
        "hidden": hidden,
        "epochs": epochs,
        "binarize": binarize,
        "warmup_epochs": warmup_epochs,
        "n_train": len(x_train),
        "n_val": len(x_val),
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "seed": seed,
    }
    code = [Sampling, build_encoder, build_decoder, VAE, train_vae]  # this function too
    code += [bernoulli_nll, gaussian_kl, elbo_terms]
    run = training.fit_or_load(
        model,
        batches,
        epochs,
        output_dir,
        name,
        evaluate,
        settings=settings,
        code=code,
        retrain=retrain,
    )
    return model, run


# %%
# the chapter's loss terms, for every evaluation below (edit them above and rerun)
losses = {"nll": bernoulli_nll, "kl": gaussian_kl}
common = {  # what every model of this chapter shares
    "x_train": x_train,
    "output_dir": out,
    "batch_size": batch_size,
    "learning_rate": learning_rate,
    "seed": seed,
    "retrain": retrain,
}

# %% [markdown]
# ## A 2-D latent space
#
# With two latent dimensions the encoder's means can be drawn directly. Each point is a *training*
# image's mean code $\mu_\phi(x)$, coloured by its digit, though the model never saw a label. The
# dashed square runs from the 5% to the 95% quantile of the prior $\mathcal{N}(0, 1)$ in each
# dimension; the picture of the decoder's output below takes its codes from it.

# %%
vae_2d, run_2d = train_vae(
    "vae_2d", x_val=x_val, latent_dim=2, hidden=hidden_2d, epochs=epochs_2d, **common
)
train_codes = vae_2d.encoder.predict(x_train, batch_size=1000, verbose=0)[0]  # (n, 2)
# (400, 2): normal quantiles 0.05 ... 0.95 in each dimension
grid = plotting.normal_grid(20)
low, high = grid.min(), grid.max()
inside = np.mean(np.all((train_codes >= low) & (train_codes <= high), axis=1))
ax = plotting.latent_scatter(train_codes[:10_000], y_train[:10_000])
ax.add_patch(
    plt.Rectangle((low, low), high - low, high - low, fill=False, linestyle="--")
)
plt.show()
terms_2d = elbo_terms(vae_2d.encoder, vae_2d.decoder, x_test, seed=seed, **losses)

# %% tags=["remove-cell"]
results.add("vae_2d.grid_share", inside, "{:.0%}")
results.add("vae_2d.test_neg_elbo", terms_2d["neg_elbo"], "{:.1f}")

# %% [markdown]
# The square holds {glue:}`vae_2d.grid_share` of the training codes (the prior itself puts
# $0.9^2$ = 81% of its mass there). Evenly spaced *quantiles* of the prior spread the grid where
# the prior puts its mass — and, to the extent that the KL term pulled the codes toward the prior,
# where the codes are. Decoding the 20x20 grid (in one batch) shows the *manifold* the decoder has
# learned — the images it draws across the plane — each digit flowing into its neighbours. Its
# axes are the scatter plot's: find where each digit's cluster lies, and look at the blends
# between neighbouring clusters. The grid's top row is its largest $z_2$ and its left column
# its smallest $z_1$ (the 95% and 5% quantiles): the top-left image is decoded from the dashed
# square's top-left corner. (This 2-D model's own test $-\mathcal{L}$ on grey levels is
# {glue:}`vae_2d.test_neg_elbo` nats: two dimensions are a picture, not a good model.)

# %%
manifold = ops.convert_to_numpy(
    ops.sigmoid(vae_2d.decoder.predict(grid, batch_size=400, verbose=0))
)
plotting.show_grid(manifold, 20, 20)
plt.show()

# %% [markdown]
# ### Explore the plane yourself
#
# In the rendered book and on Colab, the cell below puts the 2-D decoder *in your browser*: move the
# pointer over the plane (or drag the marker, touch it, or focus the plane and use the arrow keys)
# and the digit on the right is decoded on the spot from where the marker is. The dots are the mean
# codes of {glue:}`explorer_points` training digits, coloured by their label. The decoder is this very model, its
# weights inlined as 16-bit floats and run by a few lines of JavaScript, no server involved.

# %%
# (16, 2): decoded by Keras too, so a test can compare
reference = plotting.normal_grid(4)
explorer_points = 3000
page = explorer.latent_explorer(
    vae_2d.decoder, train_codes, y_train, reference, explorer_points
)
print(
    f"explorer: {vae_2d.decoder.count_params():,} decoder weights, "
    f"{len(page) / 1e3:.0f} kB of HTML"
)
display(HTML(page))

# %% tags=["remove-cell"]
results.add("explorer_points", explorer_points, "{:,}")

# %% [markdown]
# ### The mean code and samples from $q$
#
# The encoder gives a *distribution* over codes for each image, not a point. How much does that
# matter for what the decoder draws? Below, the ten test digits (of the first 1,000) where a
# sample $z \sim q_\phi(z \mid x)$ changes the decoded image most, each decoded from its mean
# code, from two samples, and — to show what a wider posterior would mean — from two codes drawn
# with five times $q$'s standard deviation:


# %%
def mean_and_samples(model, images, n_samples=3, widen=1.0):
    """Decodings of the mean code and of n_samples codes drawn with widen x the
    posterior's standard deviation: (1 + n_samples, n, 28, 28)."""
    mean, log_var = model.encoder.predict(images, verbose=0)
    noise = (
        np.random.default_rng(seed)
        .standard_normal((n_samples, *mean.shape))
        .astype(np.float32)
    )
    codes = np.concatenate(
        [mean[None], mean + widen * np.exp(0.5 * log_var) * noise]
    )  # (1+s, n, d)
    decoded = ops.sigmoid(model.decoder(codes.reshape(-1, mean.shape[1])))  # one batch
    return ops.convert_to_numpy(decoded).reshape(len(codes), len(images), 28, 28)


shift_images = 1000
one_sample = mean_and_samples(
    vae_2d, x_test[:shift_images], n_samples=1
)  # (2, n, 28, 28)
# per image: mean |pixel change|, (n,)
shift_each = np.abs(one_sample[1] - one_sample[0]).mean(axis=(1, 2))
widest = np.argsort(shift_each)[::-1][:10]  # where a sample changes the image most
decoded_2d = mean_and_samples(vae_2d, x_test[widest], n_samples=2)  # (3, 10, 28, 28)
wider_2d = mean_and_samples(vae_2d, x_test[widest], n_samples=2, widen=5.0)
columns = {"original": x_test[widest], "mean of q": decoded_2d[0]}
columns.update({f"sample {i}": decoded_2d[i] for i in (1, 2)})
columns.update({f"5× wider q,\nsample {i}": wider_2d[i] for i in (1, 2)})
plotting.comparison_grid(
    columns, row_labels=[str(d) for d in y_test[widest]], scale=0.95
)
plt.show()

# %% tags=["remove-cell"]
results.add(
    "vae_2d.widest_shift",
    float(np.abs(decoded_2d[1:] - decoded_2d[:1]).mean()),
    "{:.3f}",
)
results.add(
    "vae_2d.wider_shift", float(np.abs(wider_2d[1:] - wider_2d[:1]).mean()), "{:.3f}"
)
# the digit each mean code draws, as the book's MNIST classifier (chapter 03) reads it,
# for these ten and for the first shift_images test images
classifier = evaluation.load_classifier()
_, read_widest = evaluation.features_and_probabilities(classifier, decoded_2d[0])
_, read_all = evaluation.features_and_probabilities(classifier, one_sample[0])
other_digit = read_all.argmax(axis=1) != y_test[:shift_images]  # (n,)
results.add(
    "vae_2d.mean_other_digit", int(np.sum(read_widest.argmax(axis=1) != y_test[widest]))
)
results.add("vae_2d.mean_other_share", other_digit.mean(), "{:.0%}")
# where the mean codes lie: the share of their 50 nearest training codes that carry the
# input's label, where the mean decodes another digit and where it decodes the input's
test_codes = vae_2d.encoder.predict(x_test[:shift_images], verbose=0)[0]  # (n, 2)
_, nearest = cKDTree(train_codes).query(test_codes, k=50)  # (n, 50) training indices
own_label = np.mean(y_train[nearest] == y_test[:shift_images, None], axis=1)  # (n,)
for key, where in (("other", other_digit), ("same", ~other_digit)):
    share = own_label[where].mean() if where.any() else float("nan")
    results.add(f"vae_2d.own_label_{key}", share, "{:.0%}")

# %% [markdown]
# Even for these ten, a sample from $q$ moved the decoded image by only
# {glue:}`vae_2d.widest_shift` per pixel on average (pixels run from 0 to 1): the samples are the
# mean's digit with small changes of stroke. Five times $q$'s spread moved them by
# {glue:}`vae_2d.wider_shift` — look at the last two columns for what a vaguer encoder would
# draw.
#
# The "mean of q" column need not draw the input's digit: the book's MNIST classifier (the
# yardstick of {doc}`03_gan_mnist`) reads {glue:}`vae_2d.mean_other_digit` of its ten images as
# a digit other than the input's label, and {glue:}`vae_2d.mean_other_share` of the mean
# decodings of the first {glue:}`shift_images` test images. Two dimensions do not keep ten
# digits apart: the clusters in the scatter plot touch and overlap, and an image whose mean code
# lies among other digits' codes is decoded as what is drawn there. Of the 50 training codes
# nearest a mean code, on average {glue:}`vae_2d.own_label_other` carry the input's own label
# where the mean decodes another digit, against {glue:}`vae_2d.own_label_same` where it decodes
# the input's.
#
# ## A 20-D latent space
#
# Ten times the latent dimensions and wider layers, the same code and loss: the sigmoid
# cross-entropy between grey-level pixels and the decoder's logits, plus the KL term. On grey
# levels this is a *cross-entropy* with a floor, not a likelihood: even a perfect decoder pays the
# entropy of the grey levels themselves (printed below). The lab trains the same model on
# binarized digits, where it is a likelihood.

# %%
vae_grey, run_grey = train_vae(
    "vae_grey",
    x_val=x_val,
    latent_dim=latent_dim,
    hidden=hidden,
    epochs=epochs_grey,
    **common,
)
grey_terms = elbo_terms(vae_grey.encoder, vae_grey.decoder, x_test, seed=seed, **losses)
floor = x_test.reshape(len(x_test), -1).astype(np.float64).clip(1e-12, 1 - 1e-12)
grey_floor = float(
    -(floor * np.log(floor) + (1 - floor) * np.log1p(-floor)).sum(1).mean()
)
print(
    f"test -ELBO {grey_terms['neg_elbo']:.2f} = "
    f"reconstruction {grey_terms['reconstruction']:.2f} + "
    f"KL {grey_terms['kl']:.2f} nats"
)
print(f"entropy of the grey levels (the floor of this loss): {grey_floor:.2f} nats")

# %% [markdown]
# Each digit's first test image, decoded by the 20-D model from its mean code and three samples
# (compare each sample column with the mean; how much they differ is measured next):

# %%
first_of_each = np.array([np.flatnonzero(y_test == digit)[0] for digit in range(10)])
decoded_20d = mean_and_samples(vae_grey, x_test[first_of_each])
columns = {"original": x_test[first_of_each], "mean of q": decoded_20d[0]}
columns.update({f"sample {i}": decoded_20d[i] for i in (1, 2, 3)})
plotting.comparison_grid(columns, row_labels=[str(d) for d in range(10)])
plt.show()


# %%
def sample_shift(model, images):
    """Per image, mean |pixel change| between decoding the mean code and a posterior
    sample, (n,); and the posterior's mean standard deviation over the dimensions the
    model uses."""
    decoded = mean_and_samples(model, images, n_samples=1)
    _, log_var = model.encoder.predict(images, verbose=0)
    std = np.exp(0.5 * log_var)  # (n, d)
    # the dimensions whose mean code varies across images: the ones the model uses
    active = np.var(model.encoder.predict(images, verbose=0)[0], axis=0) > 0.01
    return np.abs(decoded[1] - decoded[0]).mean(axis=(1, 2)), float(
        std[:, active].mean()
    )


shifts_2d, std_2d = sample_shift(vae_2d, x_test[:shift_images])
shifts_20d, std_20d = sample_shift(vae_grey, x_test[:shift_images])
shift_2d, shift_20d = shifts_2d.mean(), shifts_20d.mean()
print(
    f"mean |sample - mean| per pixel: 2-D {shift_2d:.3f}, 20-D {shift_20d:.3f}; "
    f"posterior std (dimensions in use): 2-D {std_2d:.2f}, 20-D {std_20d:.2f}"
)

# %% tags=["remove-cell"]
results.add("shift_images", shift_images, "{:,}")
for key, shifts in (("vae_2d", shifts_2d), ("grey", shifts_20d)):
    se = shifts.std(ddof=1) / np.sqrt(len(shifts))  # over the images
    results.add(f"{key}.sample_shift", shifts.mean(), f"{{:.4f}} ± {se:.4f}")
results.add("vae_2d.posterior_std", std_2d, "{:.2f}")
results.add("grey.posterior_std", std_20d, "{:.2f}")

# %% [markdown]
# Over {glue:}`shift_images` test images (one sample each; mean ± standard error over the
# images), a posterior sample moved the decoded
# image by {glue:}`vae_2d.sample_shift` per pixel on average on the 2-D model, and by
# {glue:}`grey.sample_shift` on the 20-D model. The posterior's standard
# deviation, averaged over the dimensions each model uses (those whose mean code varies across
# images), was {glue:}`vae_2d.posterior_std` of the prior's unit width in 2-D and
# {glue:}`grey.posterior_std` in 20-D. That is why, with $d$ = 20 as with $d$ = 2, samples from
# $q$ look like its mean: each image pins its code down to a small fraction of the
# prior's width, because widening $q$ (which would lower the KL term) costs more reconstruction than
# it saves. (The two models also differ in width and training length, so this contrasts the two
# models of this chapter, not latent sizes alone.)
#
# Images drawn from the model itself, $z \sim \mathcal{N}(0, I)$, decoded. Blurry strokes are the
# signature of a Bernoulli decoder trained on an ELBO — each pixel's probability, not a sample, is
# shown. Look for blends of two digits: possibly codes from regions of the prior that no
# training image's $q$ covers.

# %%
prior_codes = keras.random.normal((40, latent_dim), seed=seed)
plotting.show_grid(
    ops.convert_to_numpy(ops.sigmoid(vae_grey.decoder(prior_codes))), 4, 10
)
plt.show()

# %% [markdown]
# ## Training curves
#
# The validation loss and its two terms against the training epoch, for both
# models (a one-sample $-\mathcal{L}$ on 5,000 validation images, the same draws every epoch).
# From the first epoch to the last, the 20-D model's reconstruction went from
# {glue:}`grey.rec_curve` nats and its KL from {glue:}`grey.kl_curve`; the 2-D model's from
# {glue:}`vae_2d.rec_curve` and {glue:}`vae_2d.kl_curve`. A rising KL means that on average each image's
# $q$ moves further from the prior as training goes on — the price of a better reconstruction.

# %%
panels = {
    "-ELBO (validation)": ["val_neg_elbo"],
    "reconstruction": ["val_reconstruction"],
    "KL": ["val_kl"],
}
plotting.training_curves(
    {"2-D": run_2d.records, "20-D": run_grey.records}, panels, x="epoch"
)
plt.show()

# %% tags=["remove-cell"]
for key, run in (("vae_2d", run_2d), ("grey", run_grey)):
    for term, short in (("val_reconstruction", "rec"), ("val_kl", "kl")):
        first, last = run.column(term)[[0, -1]]
        results.add(f"{key}.{short}_curve", f"{first:.1f} to {last:.1f}")

# %% [markdown]
# ## The numbers

# %%
terms = {"2-D": terms_2d, "20-D": grey_terms}
runs = {"2-D": run_2d, "20-D": run_grey}
show.table(
    [
        {
            "model": name,
            "test −ELBO (nats)": terms[name]["neg_elbo"],
            "reconstruction": terms[name]["reconstruction"],
            "KL": terms[name]["kl"],
            "epochs": len(runs[name].records),
            "training s": round(runs[name].seconds),
        }
        for name in terms
    ],
    floatfmt="{:.2f}",
)

# %% tags=["remove-cell"]
# the lab's settings study: the spread of the 20-D grey model retrained with other seeds
study = assets.measurements("vae_settings")["rows"]
reseeded = assets.seed_runs(study, "grey-24")
grey_sd = intervals.sd_interval([row["final_val_neg_elbo"] for row in reseeded])
for key, value in grey_terms.items():
    results.add(f"grey.{key}", value, "{:.1f}")
results.add("grey.entropy_floor", grey_floor, "{:.1f}")
results.add("grey.epochs", len(run_grey.records))
results.add("grey.train_seconds", run_grey.seconds, "{:.0f}")
results.add("grey.seed_sd", grey_sd.mean, "{:.2f}")
results.add("grey.val_neg_elbo", run_grey.column("val_neg_elbo")[-1], "{:.2f}")
results.add("vae_2d.epochs", len(run_2d.records), glue_it=False)
results.add("vae_2d.train_seconds", run_2d.seconds, glue_it=False)
results.add("latent_dim", latent_dim)

# %% [markdown]
# The 20-D model's test $-\mathcal{L}$ is {glue:}`grey.neg_elbo` nats (one $z$ per image: an
# estimate), of which {glue:}`grey.entropy_floor` nats are the floor that even a perfect decoder
# would pay on grey pixels. Its KL term, {glue:}`grey.kl` nats, is what the information in the
# codes costs; compare the 2-D model's row. {doc}`02_vae_mnist_lab` shows how these settings
# were chosen, and that retraining such a model with other seeds moves its validation
# $-\mathcal{L}$ by a standard deviation of about {glue:}`grey.seed_sd` nats.

# %%
print(f"metrics of run {results['run_id']}: {results.save()}")

# %% [markdown]
# ## Summary
#
# - A VAE is three pieces: an encoder that outputs $\mu$ and $\log\sigma^2$, the reparameterised
#   sample $z = \mu + \sigma \odot \varepsilon$, a decoder that outputs logits; its loss is the
#   reconstruction cross-entropy plus the closed-form KL, both summed per image.
# - Unsupervised, the 2-D latent space gathers each digit in a region of its own, but the
#   regions touch and overlap: {glue:}`vae_2d.mean_other_share` of the mean decodings of
#   test images read as another digit. Its quantile grid decodes into a smooth manifold of
#   digits — which you can explore live above.
# - Samples from $q$ look like its mean: each image pins its code down to a small part of the
#   prior's width.
# - On grey levels the loss is a cross-entropy with a floor of {glue:}`grey.entropy_floor` nats,
#   not a likelihood; {doc}`02_vae_mnist_lab` trains the model on binarized digits, estimates its
#   $-\log p(x)$, and shows how the settings were chosen.
# - Trained weights, the epoch logs and a `metrics.json` are saved in `output_dir`. A rerun with the
#   same settings and code reuses the weights; any change (a parameter, the train step) trains
#   afresh, and an interrupted run resumes from its last finished epoch.
#
# ## Exercises
#
# Each exercise edits the notebook; rerunning it retrains exactly the models whose settings or code
# changed.
#
# 1. In `VAE.train_step`, divide the reconstruction term by 784, the number of pixels
#    (`reconstruction = ops.mean(bernoulli_nll(x, logits)) / 784`): a mean over pixels instead of
#    a sum, as `keras.losses.binary_crossentropy` computes. Predict first, then rerun: what happens
#    to the KL term, to the square's share of codes (the variable `inside`) and to the images
#    decoded from the mean codes?
#
# :::{admonition} Solution
# :class: dropdown
# Averaging over pixels shrinks the reconstruction term 784-fold while the KL term stays a sum:
# relative to the ELBO, the KL now weighs 784 times more. The optimum moves toward $q$ = prior:
# the KL term collapses toward 0, most (often all) latent dimensions go unused (the lab calls them
# inactive), the mean codes collapse toward the origin, so almost all fall inside the square, and
# the reconstructions turn into a blurry average digit. (The test $-\mathcal{L}$, which
# `elbo_terms` computes with the chapter's `bernoulli_nll`, still a sum, gets much worse.) This is a β-VAE with
# β = 784: only the ratio of the two terms matters, since dividing the whole loss by 784 would
# change little — Adam's steps hardly depend on the gradient's overall scale.
# :::
#
# 2. Weight the KL term by β in `VAE.train_step`: the gradient comes from `objective`, so write
#    the number into that line, e.g. `objective = reconstruction + 4.0 * kl_weight * kl`. (Type
#    the number itself: a variable set in another cell would not count as a code change, and the
#    old model would be reused. Each edit retrains both models, one to two minutes on 2 cores.)
#    Train with β = 0.5, 2 and 4 and note, each time, the 2-D model's KL on the test set
#    (`terms_2d`) and the share of codes in the dashed square (`inside`). How do the scatter plot
#    and the manifold change?
#
# :::{admonition} Solution
# :class: dropdown
# A larger β makes information in the codes dearer: the KL falls, each $q$ widens, and the mean
# codes crowd toward the origin, so the square's share rises — and can pass the prior's 81%,
# since the mean codes then spread less than the prior; the manifold gets smoother but blurrier,
# with rarer digits squeezed out. β < 1 does the
# opposite: a larger KL, codes spread beyond the square, gaps the decoder never trained on, and
# sharper reconstructions. Each edit retrains (and replaces the earlier `vae_2d` run).
# :::
