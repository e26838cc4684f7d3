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
# draws everywhere in between. A 20-D latent space gives the numbers: the ELBO on the test set, its
# split into reconstruction and KL, how many latent dimensions the model uses, and an
# importance-weighted estimate of $-\log p(x)$ that can be compared with the literature.

# %% [markdown]
# ## Setup

# %%
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q",
         "vaegan-utils @ git+https://github.com/vaegan-book/vaegan-book"],
        check=True,
    )

# %% tags=["parameters"]
quick = False  # True: a small, fast run for CI
seed = 0
output_dir = "outputs/02_vae_mnist"
latent_dim = 20  # the latent size of the models we measure
hidden = (512, 256)  # encoder layer widths of the 20-D models; the decoder mirrors them
hidden_2d = (256, 128)  # ... of the 2-D model
batch_size = 100
learning_rate = 1e-3
epochs_2d = 3  # training epochs of the 2-D model (pictures)
epochs_grey = 4  # ... of the 20-D model on grey-level MNIST (the seed's loss)
epochs_binary = 8  # ... of the 20-D model on dynamically binarized MNIST (a likelihood)
iwae_k = 1000  # importance samples per test image for the estimate of -log p(x)
iwae_images = 500  # test images (a random subset) for that estimate
retrain = False  # False: reuse trained weights found in output_dir

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import ops

from vaegan_utils import data, plotting, runtime, training, vae

runtime.configure_logging()
runtime.set_seed(seed)
out = runtime.output_dir(output_dir)
n_train = 10_000 if quick else None
if quick:
    epochs_2d, epochs_grey, epochs_binary, iwae_k, iwae_images = 1, 3, 2, 100, 100
print(runtime.run_card(seed=seed, quick=quick))

# %% [markdown]
# ## Data
#
# Grey-level images for the pictures and for the seed's loss; for a likelihood, the same images
# binarized *dynamically* (a fresh Bernoulli draw of every pixel each time a batch is used) with the
# test set binarized once, with a fixed seed — see {doc}`00_data_tour`.

# %%
grey = data.load_mnist(n_train=n_train, seed=seed)
x_test, y_test = grey.x_test, grey.y_test  # (10000, 28, 28) in [0, 1]
x_test_binary = data.binarize(x_test, seed=seed)  # (10000, 28, 28) in {0, 1}, drawn once
print(f"train {grey.x_train.shape}, test {x_test.shape}, source: {grey.source}")

# %% [markdown]
# ## The model
#
# The two loss terms are the ones derived in {doc}`01_elbo`, implemented once in `vaegan_utils.vae`.
# Both **sum** over pixels (or latent dimensions) and return one number per image; the train step
# takes the **mean over the batch**. Every loss below is therefore in nats per image. (Averaging over
# pixels instead, as `keras.losses.binary_crossentropy` does, silently weights the KL term 784 times
# more heavily relative to the reconstruction.)

# %%
runtime.show_source(vae.bernoulli_nll)

# %% [markdown]
# The encoder and decoder are multilayer perceptrons (`vae.build_encoder`, `vae.build_decoder`),
# and `vae.Sampling` draws $z = \mu + \sigma \odot \varepsilon$, the reparameterisation trick
# {eq}`reparam`. The training step is where the ELBO is put together:

# %%
class VAE(keras.Model):
    """Encoder -> (mean, log-variance) -> sampled z -> decoder logits, trained on -ELBO."""

    def __init__(self, latent_dim, hidden, **kwargs):
        super().__init__(**kwargs)
        self.encoder = vae.build_encoder(latent_dim, hidden)
        self.decoder = vae.build_decoder(latent_dim, hidden[::-1])
        self.sampling = vae.Sampling(seed=seed)
        self.trackers = [keras.metrics.Mean(name) for name in ("loss", "reconstruction", "kl")]

    @property
    def metrics(self):
        return self.trackers

    def call(self, x, training=False):
        mean, log_var = self.encoder(x, training=training)  # (batch, d) each
        z = self.sampling(mean, log_var)  # (batch, d)
        return self.decoder(z, training=training), mean, log_var  # logits (batch, 28, 28)

    def train_step(self, x):
        with tf.GradientTape() as tape:
            logits, mean, log_var = self(x, training=True)
            reconstruction = ops.mean(vae.bernoulli_nll(x, logits))  # sum over pixels, mean over batch
            kl = ops.mean(vae.gaussian_kl(mean, log_var))  # sum over latent dims, mean over batch
            loss = reconstruction + kl  # -ELBO in nats per image
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights, strict=True))
        for tracker, value in zip(self.trackers, (loss, reconstruction, kl), strict=True):
            tracker.update_state(value)
        return {tracker.name: tracker.result() for tracker in self.trackers}


def train(name, latent_dim, hidden, train_images, test_images, epochs, binarize=False):
    """Build, train (or load) one VAE; log the test -ELBO (z sampled) after every epoch."""
    model = VAE(latent_dim, hidden, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        jit_compile=False,  # XLA brings nothing measurable here, and op determinism excludes it
        steps_per_execution=50,  # fewer Python round trips: small models are overhead-bound
    )
    model(test_images[:1])  # build the weights
    batches = training.image_batches(train_images, batch_size, seed=seed, binarize=binarize)

    def evaluate():  # on the first 2,000 test images, to keep the curves cheap
        terms = vae.elbo_terms(model.encoder, model.decoder, test_images[:2000], seed=seed)
        return {f"test_{key}": value for key, value in terms.items()}

    log = training.fit_or_load(model, batches, epochs, out, name, evaluate, retrain=retrain)
    return model, log


# %% [markdown]
# ## A 2-D latent space
#
# With two latent dimensions the encoder's means can be drawn directly. Each point is a test image,
# coloured by its digit, though the model never saw a label.

# %%
vae_2d, log_2d = train("vae_2d", 2, hidden_2d, grey.x_train, x_test, epochs_2d)
codes_2d = ops.convert_to_numpy(vae_2d.encoder.predict(x_test, batch_size=1000, verbose=0)[0])
plotting.latent_scatter(codes_2d, y_test)
plt.show()

# %% [markdown]
# Because the prior is $\mathcal{N}(0, I)$, the evenly spaced *quantiles* of a normal distribution
# cover the latent plane where the codes actually are. Decoding a 20x20 grid of them (in one batch)
# shows the manifold the decoder has learned, each digit flowing into its neighbours:

# %%
grid = plotting.normal_grid(20)  # (400, 2) codes
manifold = ops.convert_to_numpy(ops.sigmoid(vae_2d.decoder.predict(grid, batch_size=400, verbose=0)))
plotting.show_grid(manifold, 20, 20)
plt.show()

# %% [markdown]
# ## A 20-D latent space, on grey levels
#
# This is the seed's model and loss: the sigmoid cross-entropy between grey-level pixels and the
# decoder's logits. For grey levels this is a *cross-entropy*, not a likelihood: even a perfect
# decoder pays the entropy of the grey levels themselves.

# %%
vae_grey, log_grey = train("vae_grey", latent_dim, hidden, grey.x_train, x_test, epochs_grey)
grey_terms = vae.elbo_terms(vae_grey.encoder, vae_grey.decoder, x_test, seed=seed)
grey_active = vae.active_units(vae_grey.encoder, x_test)
floor = x_test.reshape(len(x_test), -1).astype(np.float64).clip(1e-12, 1 - 1e-12)
grey_floor = float(-(floor * np.log(floor) + (1 - floor) * np.log1p(-floor)).sum(1).mean())
print(f"test -ELBO {grey_terms['neg_elbo']:.2f} = reconstruction {grey_terms['reconstruction']:.2f}"
      f" + KL {grey_terms['kl']:.2f} nats; active units {grey_active}/{latent_dim}")
print(f"entropy of the grey levels (the floor of this loss): {grey_floor:.2f} nats")

# %% [markdown]
# Where each digit's *mean* code (the average of $\mu_\phi(x)$ over its test images) decodes to, next
# to a test image of that digit, its reconstruction from the mean code, and reconstructions from three
# samples $z \sim q_\phi(z \mid x)$:

# %%
first_of_each = np.array([np.flatnonzero(y_test == digit)[0] for digit in range(10)])
originals = x_test[first_of_each]  # (10, 28, 28)
means_test, log_vars_test = vae_grey.encoder.predict(x_test, batch_size=1000, verbose=0)
class_means = np.stack([means_test[y_test == digit].mean(0) for digit in range(10)])  # (10, d)
own_mean, own_log_var = means_test[first_of_each], log_vars_test[first_of_each]
noise = np.random.default_rng(seed).standard_normal((3, *own_mean.shape)).astype(np.float32)
posterior_draws = own_mean + np.exp(0.5 * own_log_var) * noise  # (3, 10, d)
codes = np.concatenate([class_means, own_mean, posterior_draws.reshape(-1, latent_dim)])  # (50, d)
decoded = ops.convert_to_numpy(ops.sigmoid(vae_grey.decoder(codes)))  # (50, 28, 28), one batch
columns = {"class mean": decoded[:10], "original": originals, "mean of q": decoded[10:20]}
columns.update({f"sample {i + 1}": decoded[20 + 10 * i : 30 + 10 * i] for i in range(3)})
plotting.comparison_grid(columns, row_labels=[str(d) for d in range(10)])
plt.show()

# %% [markdown]
# And images drawn from the model itself: $z \sim \mathcal{N}(0, I)$, decoded. Blurry strokes are the
# signature of a Bernoulli decoder trained on an ELBO — each pixel's probability, not a sample, is
# shown.

# %%
prior_codes = keras.random.normal((40, latent_dim), seed=seed)
plotting.show_grid(ops.convert_to_numpy(ops.sigmoid(vae_grey.decoder(prior_codes))), 4, 10)
plt.show()

# %% [markdown]
# ## A 20-D latent space, on binarized MNIST: a likelihood
#
# On binary pixels the Bernoulli decoder defines a proper likelihood, and the literature reports
# $-\log p(x)$ in nats on binarized MNIST. The same architecture is trained on dynamically binarized
# images; its test ELBO and an importance-weighted estimate with $k$ samples, {eq}`iwae`, are
# measured on the fixed binarization of the test set.

# %%
vae_bin, log_bin = train(
    "vae_binary", latent_dim, hidden, grey.x_train, x_test_binary, epochs_binary, binarize=True
)
bin_terms = vae.elbo_terms(vae_bin.encoder, vae_bin.decoder, x_test_binary, seed=seed)
bin_active = vae.active_units(vae_bin.encoder, x_test_binary)
print(f"test -ELBO {bin_terms['neg_elbo']:.2f} = reconstruction {bin_terms['reconstruction']:.2f}"
      f" + KL {bin_terms['kl']:.2f} nats; active units {bin_active}/{latent_dim}")

# %% [markdown]
# The importance-weighted estimate costs $k$ decoder passes per image, too many for all 10,000 test
# images on a CPU. It is computed on a random subset, where it measures how much the bound gains
# over the ELBO of the same images; the test set's $-\log p(x)$ is its cheap, exact-on-all-images
# $-\mathcal{L}$ minus that gain. (Subtracting the gain, not averaging the subset's estimate
# directly, removes the subset's luck in drawing easy or hard digits.)

# %%
subset = np.sort(np.random.default_rng(seed).choice(len(x_test_binary), iwae_images, replace=False))
nll_subset = vae.iwae_nll(vae_bin.encoder, vae_bin.decoder, x_test_binary[subset], k=iwae_k, seed=seed)
elbo_subset = vae.elbo_terms(
    vae_bin.encoder, vae_bin.decoder, x_test_binary[subset], seed=seed, per_image=True
)["neg_elbo"]
gain = elbo_subset - nll_subset  # per image, >= 0 on average: L_k tightens the ELBO
nll = bin_terms["neg_elbo"] - gain.mean()
nll_stderr = gain.std() / np.sqrt(len(gain))
print(f"IWAE (k={iwae_k}) gain over the ELBO on {iwae_images} test images: "
      f"{gain.mean():.2f} ± {nll_stderr:.2f} nats")
print(f"-log p(x) on the test set: {bin_terms['neg_elbo']:.2f} - {gain.mean():.2f} = "
      f"{nll:.2f} ± {nll_stderr:.2f} nats")

# %% [markdown]
# ## Training curves
#
# Test reconstruction and KL terms, separately, against training time. The KL term *rises* during
# training: the encoder learns to put information into $z$, which costs KL and pays for itself in
# reconstruction.

# %%
runs = {"grey": log_grey.records, "binary": log_bin.records}
plotting.training_curves(
    runs, {"-ELBO (test)": ["test_neg_elbo"], "reconstruction (test)": ["test_reconstruction"],
           "KL (test)": ["test_kl"]}
)
plt.show()

# %% [markdown]
# ## The numbers

# %%
seconds = log_grey.column("seconds")
neg_elbo_curve = log_grey.column("test_neg_elbo")
within_45 = neg_elbo_curve[seconds <= 45]
best_within_45 = float(within_45.min()) if len(within_45) else float("nan")
reached_100 = seconds[neg_elbo_curve <= 100]
seconds_to_100 = float(reached_100[0]) if len(reached_100) else None
iwae_reference = 86.76  # IWAE paper, Table 1: VAE, 1 stochastic layer, k=1 training, 3,280 passes
epochs_reference = 3280

summary = {
    "grey -ELBO (nats)": grey_terms["neg_elbo"],
    "grey reconstruction": grey_terms["reconstruction"],
    "grey KL": grey_terms["kl"],
    "grey entropy floor": grey_floor,
    "binarized -ELBO (nats)": bin_terms["neg_elbo"],
    "binarized reconstruction": bin_terms["reconstruction"],
    "binarized KL": bin_terms["kl"],
    f"binarized -log p(x), IWAE k={iwae_k}": float(nll),
}
for key, value in summary.items():
    print(f"{key:<38s} {value:8.2f}")
print(f"active units: grey {grey_active}/{latent_dim}, binarized {bin_active}/{latent_dim}")
print(f"training time: 2-D {log_2d.seconds:.0f} s, grey {log_grey.seconds:.0f} s, "
      f"binarized {log_bin.seconds:.0f} s")

runtime.glue("grey_neg_elbo", f"{grey_terms['neg_elbo']:.1f}")
runtime.glue("grey_recon", f"{grey_terms['reconstruction']:.1f}")
runtime.glue("grey_kl", f"{grey_terms['kl']:.1f}")
runtime.glue("grey_floor", f"{grey_floor:.1f}")
runtime.glue("grey_active", f"{grey_active}")
runtime.glue("grey_epochs", f"{len(log_grey.records)}")
runtime.glue("grey_seconds", f"{log_grey.seconds:.0f}")
runtime.glue("grey_best_45s", f"{best_within_45:.1f}")
runtime.glue("grey_seconds_to_100", "never" if seconds_to_100 is None else f"after {seconds_to_100:.0f} s")
runtime.glue("bin_neg_elbo", f"{bin_terms['neg_elbo']:.1f}")
runtime.glue("bin_recon", f"{bin_terms['reconstruction']:.1f}")
runtime.glue("bin_kl", f"{bin_terms['kl']:.1f}")
runtime.glue("bin_active", f"{bin_active}")
runtime.glue("bin_epochs", f"{len(log_bin.records)}")
runtime.glue("bin_seconds", f"{log_bin.seconds:.0f}")
runtime.glue("iwae_nll", f"{nll:.1f} ± {nll_stderr:.1f}")
runtime.glue("iwae_k", f"{iwae_k:,}")
runtime.glue("iwae_images", f"{iwae_images:,}")
runtime.glue("iwae_gain", f"{gain.mean():.1f}")
runtime.glue("iwae_vs_paper", f"{nll - iwae_reference:.1f}")
runtime.glue("paper_epoch_ratio", f"{epochs_reference / len(log_bin.records):,.0f}")
runtime.glue("latent_dim", f"{latent_dim}")

# %% [markdown]
# | | grey levels (seed's loss) | binarized (likelihood) |
# | --- | --- | --- |
# | test $-\mathcal{L}$, z sampled (nats) | {glue:}`grey_neg_elbo` | {glue:}`bin_neg_elbo` |
# | reconstruction term | {glue:}`grey_recon` | {glue:}`bin_recon` |
# | KL term | {glue:}`grey_kl` | {glue:}`bin_kl` |
# | active latent units (of {glue:}`latent_dim`) | {glue:}`grey_active` | {glue:}`bin_active` |
# | epochs, training seconds | {glue:}`grey_epochs`, {glue:}`grey_seconds` | {glue:}`bin_epochs`, {glue:}`bin_seconds` |
#
# - **Grey levels.** The test $-\mathcal{L}$ of {glue:}`grey_neg_elbo` nats includes the
#   {glue:}`grey_floor` nats that even a perfect decoder would pay on grey pixels. Measured after
#   each epoch (on the first 2,000 test images), the best value within the first 45 s of training
#   was {glue:}`grey_best_45s` nats; 100 nats was reached {glue:}`grey_seconds_to_100`.
# - **Binarized.** Importance sampling with $k$ = {glue:}`iwae_k` on {glue:}`iwae_images` random
#   test images tightens the bound by {glue:}`iwae_gain` nats, which puts $-\log p(x)$ on the test set
#   at {glue:}`iwae_nll` nats. The IWAE paper {cite:p}`burda2015importance` reports 86.76 nats for a VAE with
#   one stochastic layer on binarized MNIST; ours is {glue:}`iwae_vs_paper` nats worse, after
#   {glue:}`paper_epoch_ratio` times fewer passes over the data (3,280 there) and with a smaller network.
# - **Active units** are latent dimensions whose posterior mean varies across test images
#   ($\operatorname{Cov}_x \mathbb{E}_q[z_j] > 0.01$); the rest sit at the prior and carry nothing.

# %%
metrics = {
    "quick": quick,
    "grey": {**grey_terms, "active_units": grey_active, "entropy_floor": grey_floor,
             "best_neg_elbo_within_45s": best_within_45, "seconds_to_100_nats": seconds_to_100,
             "epochs": len(log_grey.records), "train_seconds": log_grey.seconds},
    "binary": {**bin_terms, "active_units": bin_active, "iwae_nll": float(nll),
               "iwae_nll_stderr": float(nll_stderr), "iwae_k": iwae_k, "iwae_images": iwae_images,
               "iwae_gain": float(gain.mean()), "iwae_nll_subset": float(nll_subset.mean()),
               "epochs": len(log_bin.records), "train_seconds": log_bin.seconds},
    "vae_2d": {"epochs": len(log_2d.records), "train_seconds": log_2d.seconds,
               "test_neg_elbo": log_2d.records[-1]["test_neg_elbo"]},
    "reference_iwae_paper_vae_nats": iwae_reference,
}
print(runtime.save_metrics(out / "metrics.json", metrics))

# %% [markdown]
# ## Summary
#
# - A VAE is three pieces: an encoder that outputs $\mu$ and $\log\sigma^2$, the reparameterised
#   sample $z = \mu + \sigma \odot \varepsilon$, a decoder that outputs logits; its loss is the
#   reconstruction cross-entropy plus the closed-form KL, both summed per image.
# - Unsupervised, the 2-D latent space separates the digits, and its quantile grid decodes into a
#   smooth manifold of digits.
# - On grey levels the loss is a cross-entropy with a floor of {glue:}`grey_floor` nats; only on
#   binarized MNIST is it a likelihood, estimated here at {glue:}`iwae_nll` nats by importance sampling.
# - Trained weights, the epoch logs and a `metrics.json` are saved in `output_dir`; a rerun loads them,
#   and an interrupted run resumes from its last epoch.
#
# ## Exercises
#
# 1. Replace the sum over pixels by a mean (`keras.losses.binary_crossentropy`). What happens to the
#    KL term and to the active units? Why?
# 2. Train with $\beta \cdot \mathrm{KL}$ for $\beta \in \{0.5, 2, 4\}$ and watch the trade-off between
#    the reconstruction and KL terms in the 2-D picture.
# 3. Estimate $-\log p(x)$ with $k = 1, 10, 100, 1000$. How fast does the estimate converge, and how
#    does its standard error change?
