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
# # A GAN on MNIST, measured
#
# A generative adversarial network {cite:p}`goodfellow2014generative` trains two networks against
# each other: a *generator* $G$ that turns noise $z$ into images, and a *discriminator* $D$ that tells
# real images from generated ones. This chapter builds a small deep convolutional GAN (DCGAN)
# {cite:p}`radford2015unsupervised` on MNIST digits — the players, the losses and the train step are
# all defined in this notebook's cells, where you can edit them and rerun — after the theory that
# says why it should work and where it breaks. Its samples are measured as it trains, with one
# protocol throughout: a digit classifier's score, a Fréchet distance, precision and recall, and how
# evenly the ten digits are drawn, each next to the value real digits get.

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
seed = 0
output_dir = "outputs/03_gan_mnist"
# False: reuse a finished run with the same settings and code from output_dir
retrain = False
steps = 10_000  # training steps (the seed's schedule)
eval_every = 500  # steps between evaluations and snapshots
n_eval = 5000  # generated digits per evaluation (the protocol's n)
batch_size = 64
latent_dim = 64
g_width = 32  # channels of the generator's last hidden layer (2x that before it)
d_width = 32  # channels of the discriminator's first convolution (2x that after it)
learning_rate = 5e-4  # Adam's, both players
balance = False  # the seed's balance rule (off: see "The recipe")
# decay of the EMA generator we sample from (0: sample from G itself)
ema = 0.999

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, display
from keras import layers, ops
from scipy import optimize, special, stats
from vaegan_utils import (
    assets,
    data,
    evaluation,
    explorer,
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
from vaegan_utils.gan import GANBase

runtime.configure_logging()
runtime.set_seed(seed)
out = runtime.output_dir(output_dir)
if quick:
    steps, eval_every, n_eval = 400, 100, 1000
results = reporting.Results(out / "metrics.json", quick=quick, steps=steps)
print(runtime.run_card(seed=seed, quick=quick))

# %% [markdown]
# ## The game
#
# $D(x) \in (0, 1)$ is the probability $D$ gives that $x$ is real; $G$ maps $z \sim p(z)$ to images
# with some distribution $p_g$. Goodfellow et al. set the two a minimax game over one value,
#
# $$
# V(D, G) = \mathbb{E}_{x \sim p_\text{data}} \log D(x) + \mathbb{E}_{z \sim p(z)} \log\big(1 - D(G(z))\big),
# \qquad \min_G \max_D V(D, G).
# $$
#
# For a fixed $G$, $V$ is an integral over $x$ of $p_\text{data}(x) \log D(x) + p_g(x) \log(1 - D(x))$,
# and $a \log y + b \log(1 - y)$ is largest at $y = a / (a + b)$: the **optimal discriminator** is
#
# $$
# D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)} .
# $$
#
# Putting it back, with $m = (p_\text{data} + p_g)/2$,
# $V(D^*, G) = \mathrm{KL}(p_\text{data} \| m) + \mathrm{KL}(p_g \| m) - \log 4 = 2\,\mathrm{JSD}(p_\text{data} \| p_g) - \log 4$:
# against the optimal discriminator $D^*$, $G$ minimises the **Jensen–Shannon divergence**, which is 0 only
# for $p_g = p_\text{data}$. Numerically, in one dimension, with $p_\text{data} = N(0, 1)$ and
# $p_g = N(\mu, 1)$:


# %%
def game(mu, sigma, d=None):
    """V(D, G) for p_data = N(0, s^2), p_g = N(mu, s^2) by quadrature (None: D*)."""
    x = np.linspace(-12 * sigma, mu + 12 * sigma, 40_001)
    p, q = stats.norm.pdf(x, 0, sigma), stats.norm.pdf(x, mu, sigma)
    d_x = p / np.maximum(p + q, 1e-300) if d is None else d(x)
    value = np.trapezoid(special.xlogy(p, d_x) + special.xlogy(q, 1 - d_x), x)
    m = (p + q) / 2
    jsd = 0.5 * np.trapezoid(special.xlogy(p, p) - special.xlogy(p, m), x)
    jsd += 0.5 * np.trapezoid(special.xlogy(q, q) - special.xlogy(q, m), x)
    return value, jsd


value, jsd = game(1.0, 1.0)
guess, _ = game(1.0, 1.0, d=lambda x: special.expit(2.0 * (0.5 - x)))  # some other D
print(
    f"mu = 1: V(D*, G) = {value:.4f}, 2 JSD - log 4 = {2 * jsd - np.log(4):.4f}; "
    f"V for a D with twice D*'s slope: {guess:.4f} (lower, as D* is the best D)"
)
assert abs(value - (2 * jsd - np.log(4))) < 1e-6 and guess < value
results.add("theory.jsd_mu1", jsd, "{:.3f}")

# %% [markdown]
# ### Why gradients vanish
#
# The JSD is bounded: it reaches $\log 2$ once the two distributions do not overlap, and stays
# there however far apart they are. Real images lie near a thin manifold in pixel space, and early
# generated images on another, so they "barely overlap" — the case {cite:t}`arjovsky2017towards`
# analyse: a near-perfect $D$ exists, the divergence is saturated, and its gradient with respect
# to $G$'s parameters is close to zero. Below, the JSD and its slope as the two Gaussians move
# apart, for a wide pair ($\sigma = 1$) and a thin one ($\sigma = 0.05$, little overlap):

# %%
shifts = np.linspace(0.0, 3.0, 61)
fig, (ax_jsd, ax_slope) = plt.subplots(1, 2, figsize=(10, 3))
slopes = {}
for sigma in (1.0, 0.05):
    curve = np.array([game(mu, sigma)[1] for mu in shifts])  # JSD against the shift
    slopes[sigma] = np.gradient(curve, shifts)
    ax_jsd.plot(shifts, curve, label=f"σ = {sigma}")
    ax_slope.plot(shifts, slopes[sigma], label=f"σ = {sigma}")
ax_jsd.axhline(np.log(2), color="grey", linestyle=":", label="log 2")
ax_jsd.set(xlabel="shift μ of p_g", ylabel="JSD", title="Jensen–Shannon divergence")
ax_slope.set(
    xlabel="shift μ of p_g", ylabel="dJSD / dμ", title="what G's gradient follows"
)
for ax in (ax_jsd, ax_slope):
    ax.legend(fontsize="small")
fig.tight_layout()
plt.show()
at_one = np.searchsorted(shifts, 1.0)
results.add("theory.slope_wide", slopes[1.0][at_one], "{:.2f}")
results.add("theory.slope_thin", abs(slopes[0.05][at_one]), "{:.4f}")

# %% [markdown]
# One unit apart, the wide pair's JSD still rises with slope {glue:}`theory.slope_wide` per unit; the
# thin pair's slope is {glue:}`theory.slope_thin`: a generator that far off gets no signal from
# this divergence. Two practical answers follow: losses whose gradient does not vanish when $D$ wins
# (next section), and keeping $D$ from becoming perfect too early (noise, dropout, the balance rule
# below).

# %% [markdown]
# ## Data and the yardstick
#
# The generator learns from the 60,000 training digits. To judge its samples we use a small CNN
# classifier trained on MNIST by `scripts/train_mnist_classifier.py` (its weights ship with
# `vaegan_utils` and are hash-checked on loading). **One protocol** for every number in this
# chapter: $n$ = {glue:}`n_eval` generated digits against the **first 5,000 test digits** (the
# reference), and as the real-data floor the **other 5,000 test digits** against the same
# reference — digits neither the classifier nor the GAN trained on, at the same $n$. Beside it, a
# second real reference: $n$ random *training* digits, drawn from the distribution the GAN learns
# (the classifier trained on them too, so its features may fit them a little better than new ones).
#
# - an **Inception-style score** $\exp\big(\mathbb{E}_x \mathrm{KL}(p(y \mid x) \,\|\, p(y))\big)$, between 1
#   and 10: high when each sample is confidently one digit *and* all digits are drawn equally often;
# - the **Fréchet distance** between Gaussians fitted to the classifier's 128-D penultimate features
#   of the two sets {cite:p}`heusel2017gans`: low when they look alike;
# - **precision and recall** in the same feature space {cite:p}`kynkaanniemi2019improved`: the share
#   of samples that fall inside the real digits' manifold (each real feature vector's ball reaching
#   its third-nearest real neighbour), and the share of real digits inside the samples' manifold —
#   fidelity and coverage, apart;
# - the **share of samples per digit**: a class that vanishes is mode collapse.

# %%
mnist = data.load_mnist()
reference, held_out = mnist.x_test[:5000], mnist.x_test[5000:]
scorer = evaluation.Scorer.from_real(reference)
real = scorer.score(held_out[:n_eval], with_recall=True)
# random training digits
train_pick = np.random.default_rng(seed).permutation(len(mnist.x_train))
real_train = scorer.score(mnist.x_train[train_pick[:n_eval]], with_recall=True)
for name, m in (("other test half (floor)", real), ("training digits", real_train)):
    print(
        f"{name}: score {m['score']:.2f}, Fréchet {m['frechet']:.2f}, precision "
        f"{m['precision']:.3f}, recall {m['recall']:.3f}, "
        f"rarest digit {min(m['class_fractions']):.1%}"
    )
results.add("n_eval", n_eval, "{:,}")

# %% [markdown]
# A Fréchet floor is not zero, and it depends on $n$: the means and covariances are *estimated*
# from $n$ images, and the estimation noise adds a positive bias that shrinks as $n$ grows (the
# reference's own 5,000 images carry some noise too, so it levels off). A real difference between
# two sets does not shrink with $n$ — and the two halves of the MNIST test set do differ: the first
# 5,000 digits come from NIST's training set and are, by MNIST's own account, cleaner and easier
# than the last 5,000. Both real references against the same first half, at several $n$ (the test
# digits are the first $n$ of the second half in file order, not a random draw, so their column
# mixes the bias with which writers come in; the training digits are a random draw):

# %%
floor_rows = []
for n in (500, 1000, 2000, 5000):
    if n <= len(held_out):
        floor_rows.append(
            {
                "n": n,
                "other test half": scorer.score(held_out[:n])["frechet"],
                "training digits": scorer.score(mnist.x_train[train_pick[:n]])[
                    "frechet"
                ],
            }
        )
show.table(floor_rows, floatfmt="{:.2f}")
for key, column in (("floor", "other test half"), ("train_floor", "training digits")):
    results.add(f"{key}_n_first", floor_rows[0][column], "{:.2f}")
    results.add(f"{key}_n_last", floor_rows[-1][column], "{:.2f}")
results.add("floor_first_n", floor_rows[0]["n"], "{:,}")
results.add("floor_last_n", floor_rows[-1]["n"], "{:,}")

# %% [markdown]
# From $n$ = {glue:}`floor_first_n` to {glue:}`floor_last_n`, training digits go from
# {glue:}`train_floor_n_first` to {glue:}`train_floor_n_last` — the estimation bias — while the other
# test half goes from {glue:}`floor_n_first` to {glue:}`floor_n_last`. So a Fréchet distance means
# something only next to a floor at the same $n$ and reference, and a floor from a different source
# of digits can lie well above what a generator of the training distribution reaches. Below, each
# result stands next to both.

# %% [markdown]
# ## The two players
#
# The discriminator: three convolutions, each followed by batch norm, a leaky ReLU and dropout, then
# a dense layer and a dense layer to one logit. Edit either function and rerun: the training below
# notices the change and trains afresh.


# %%
# exported to vaegan_utils.gan
def build_discriminator(
    image_size: int = 28,
    channels: int = 1,
    width: int = 32,
    batch_norm: bool = True,
    dropout: float = 0.3,
    name: str = "discriminator",
) -> keras.Model:
    """Images ``(batch, size, size[, channels])`` in [0, 1] -> logits ``(batch, 1)``."""
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    shape = (
        (image_size, image_size)
        if channels == 1
        else (image_size, image_size, channels)
    )
    images = keras.Input(shape=shape)
    x = layers.Reshape((image_size, image_size, channels))(images)
    x = layers.Rescaling(2.0, offset=-1.0)(x)  # [0, 1] -> [-1, 1]
    # size -> size/4
    for filters, strides in ((width, 2), (2 * width, 2), (2 * width, 1)):
        x = layers.Conv2D(
            filters, 4 if strides == 2 else 3, strides=strides, padding="same"
        )(x)
        if batch_norm:
            x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)  # (b, size/4 * size/4 * 2w)
    x = layers.Dense(128)(x)
    x = layers.LeakyReLU(0.2)(x)
    logit = layers.Dense(1)(x)
    return keras.Model(images, logit, name=name)


# %% [markdown]
# The generator, as in the book's seed: a dense layer from $z$ to a 4x4 map, batch norm, a reshape,
# a resize to a quarter of the image size, then **four** transposed convolutions — batch norm after
# each of the first three, the fourth producing the image through a sigmoid.


# %%
# exported to vaegan_utils.gan
def build_generator(
    latent_dim: int = 64,
    image_size: int = 28,
    channels: int = 1,
    width: int = 32,
    batch_norm: bool = True,
    name: str = "generator",
) -> keras.Model:
    """z ``(batch, latent_dim)`` -> images ``(batch, size, size[, channels])``.

    ``image_size`` must be 4 times a whole number (28: MNIST, 32 or 64: faces).
    """
    if latent_dim <= 0 or width <= 0:
        raise ValueError(
            f"latent_dim and width must be positive, got {latent_dim}, {width}"
        )
    if image_size % 4 or image_size < 8:
        raise ValueError(
            f"image_size must be a multiple of 4 and >= 8, got {image_size}"
        )
    quarter = image_size // 4

    def norm(x):
        return layers.BatchNormalization(momentum=0.9)(x) if batch_norm else x

    z = keras.Input(shape=(latent_dim,))
    x = layers.Dense(4 * 4 * 2 * width)(z)
    x = layers.LeakyReLU(0.2)(norm(x))
    x = layers.Reshape((4, 4, 2 * width))(x)  # (b, 4, 4, 2w)
    # -> (b, size/4, size/4, 2w)
    x = layers.Resizing(quarter, quarter, interpolation="bilinear")(x)
    x = layers.Conv2DTranspose(2 * width, 3, padding="same")(x)  # same size
    x = layers.LeakyReLU(0.2)(norm(x))
    x = layers.Conv2DTranspose(2 * width, 4, strides=2, padding="same")(x)  # -> size/2
    x = layers.LeakyReLU(0.2)(norm(x))
    # -> (b, size, size, w)
    x = layers.Conv2DTranspose(width, 4, strides=2, padding="same")(x)
    x = layers.LeakyReLU(0.2)(norm(x))
    x = layers.Conv2DTranspose(channels, 3, padding="same", activation="sigmoid")(x)
    if channels == 1:
        # (b, size, size, 1) -> (b, size, size)
        x = layers.Reshape((image_size, image_size))(x)
    return keras.Model(z, x, name=name)


# %%
generator = build_generator(latent_dim, image_size=28, width=g_width)
discriminator = build_discriminator(image_size=28, width=d_width)
generator.summary(line_length=90)
discriminator.summary(line_length=90)

# %% [markdown]
# ### The DCGAN guidelines, and where this model departs
#
# {cite:t}`radford2015unsupervised` found a recipe that trains stably. This model keeps most of it:
#
# | DCGAN guideline | here |
# |---|---|
# | strided convolutions instead of pooling | yes (D: stride 2, 2, 1; G: transposed, stride 1, 2, 2, 1) |
# | batch norm in both players, except G's output and D's input layer | batch norm also on D's first layer (the seed's choice) |
# | no fully connected hidden layers | D has one dense layer of 128 before its logit |
# | ReLU in G, tanh output | leaky ReLU in G, sigmoid output (images in $[0, 1]$, the range D reads) |
# | leaky ReLU in D | yes, with dropout 0.3 after each convolution (not in DCGAN) |
# | Adam, learning rate $2\cdot10^{-4}$, $\beta_1 = 0.5$ | $\beta_1 = 0.5$, a larger rate for these small networks |
#
# Two more departures: G starts with a bilinear **resize** (4x4 to 7x7 for 28-pixel images, the
# seed's way to reach sizes that are not powers of two), and both players are updated
# **simultaneously**, from one batch of fakes — the seed updates D, then G on fresh fakes.
#
# **Why batch norm helps.** Normalising each layer's inputs over the batch keeps activations at a
# usable scale however the weights drift, which is thought to let gradients flow through G's deep
# stack from the first steps and to keep small differences between the samples of a batch (in
# training mode) from being lost in the first layers. DCGAN credits it with keeping G from
# collapsing all samples to a single point — a report, not a measurement; {doc}`04_gan_stability`
# measures what removing it does here.
#
# **Mode collapse, mechanically.** G's loss is an average of per-sample terms, each scoring one
# fake by D's current verdict: nothing in it rewards *covering* the data. (D sees batches of fakes
# in training mode, so its batch norm can notice a batch that is all alike; that is a side effect,
# not a term of the loss.) If D currently rates, say, 1s as the most real, the gradients of many
# codes push their samples towards what D rates highly, and G can move much of its mass there; D
# then learns to reject those, and G moves on to another digit. The game can cycle between modes instead of spreading over them —
# which is why this chapter counts class shares and measures recall, not only a score.

# %% [markdown]
# ## The losses
#
# $D$ maximises $V$: it minimises the cross-entropy of calling real images real and fakes fake
# (averaged over the two halves, as in the seed). $G$ could minimise $\log(1 - D(G(z)))$, its side of
# the same game — the *saturating* loss. The *non-saturating* loss $-\log D(G(z))$ has the same fixed
# point {cite:p}`goodfellow2014generative`. In terms of D's logit $\ell$ (with $D = \sigma(\ell)$):


# %%
# exported to vaegan_utils.gan
def discriminator_loss(real_logits, fake_logits, real_label: float = 1.0):
    """−½[log D(x) + log(1 − D(G(z)))], averaged over the batch.

    The two cross-entropies are *averaged*, so that at D's chance level both players'
    losses equal log 2 and the balance rule compares like with like. A ``real_label``
    below 1 is one-sided label smoothing.
    """
    real = real_label * ops.softplus(-real_logits) + (1.0 - real_label) * ops.softplus(
        real_logits
    )
    return 0.5 * (ops.mean(real) + ops.mean(ops.softplus(fake_logits)))


def generator_loss(fake_logits, saturating: bool = False):
    """The generator's loss, averaged over the batch.

    Non-saturating (default): −log D(G(z)), which has strong gradients exactly when D
    rejects the fakes. Saturating (the minimax original): log(1 − D(G(z))), whose
    gradient vanishes then.
    """
    if saturating:
        return -ops.mean(ops.softplus(fake_logits))  # log(1 − σ(l)) = −softplus(l)
    return ops.mean(ops.softplus(-fake_logits))


# %% [markdown]
# Why the non-saturating one: both losses and their gradients with respect to D's logit, against
# $D(G(z))$. Early in training $D$ rejects fakes ($D(G(z))$ near 0), exactly where the saturating
# loss is flat:

# %%
p_fake = np.linspace(0.001, 0.999, 999)  # D(G(z))
logit = special.logit(p_fake)
fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(10, 3))
ax_loss.plot(
    p_fake, -ops.convert_to_numpy(ops.softplus(logit)), label="saturating: log(1 − D)"
)
ax_loss.plot(
    p_fake, ops.convert_to_numpy(ops.softplus(-logit)), label="non-saturating: −log D"
)
ax_loss.set(xlabel="D(G(z))", ylabel="G's loss", title="the two generator losses")
ax_grad.semilogy(p_fake, p_fake, label="saturating: |∂/∂ℓ| = D")
ax_grad.semilogy(p_fake, 1 - p_fake, label="non-saturating: |∂/∂ℓ| = 1 − D")
ax_grad.set(
    xlabel="D(G(z))", ylabel="|gradient| w.r.t. D's logit", title="their gradients"
)
for ax in (ax_loss, ax_grad):
    ax.legend(fontsize="small")
fig.tight_layout()
plt.show()

# %% [markdown]
# Where $D(G(z)) = 0.01$, the saturating loss's gradient is 0.01 and the non-saturating one's 0.99,
# 99 times larger. At initialisation $D(G(z)) \approx \frac12$, but $D$ learns to reject the first
# blurry fakes within a few hundred steps; the run below shows how far $D(G(z))$ fell there.
# Two limits: this is the gradient with respect to $D$'s *logit*; $G$'s full gradient also passes
# through $D$'s own slope with respect to the image, which a near-perfect $D$ can flatten too. And
# against $D^*$ the non-saturating loss no longer minimises the JSD: {cite:t}`arjovsky2017towards`
# show it minimises $\mathrm{KL}(p_g \| p_\text{data}) - 2\,\mathrm{JSD}$, which penalises
# generating implausible images far more than missing some real ones — a pull towards dropping modes.

# %% [markdown]
# ## The train step
#
# One compiled step generates a batch of fakes, computes both losses from that single forward pass,
# and updates each player with its own gradients; the generator's gradients flow *through* $D$ but
# only $G$'s weights change. The seed's balance rule is a `tf.cond` inside the compiled step. With
# `ema` above 0, a copy of $G$, the **EMA generator**, follows an exponential moving average of $G$'s
# weights {cite:p}`yazici2019unusual`; we sample from it. The plumbing (the players, the optimizers,
# the logged means) is `GANBase`, imported from the package (`vaegan_utils.gan`).


# %%
# exported to vaegan_utils.gan
class GAN(GANBase):
    """A generator and a discriminator trained against each other, one step at a time.

    Each step draws z, generates fakes once and computes both losses from that one
    forward pass. The discriminator's update uses its own gradients; the generator's
    gradients flow through the discriminator without changing its weights. With
    ``balance=True`` the seed's balance rule pauses a side: D is not updated when twice
    its loss is below G's, and G is not updated when twice its loss is below D's (D's
    loss averaged over its real and fake halves, or summed with ``summed_d_loss=True``,
    the common TF1 convention). With ``ema`` above 0, the EMA generator's weights follow
    an exponential moving average of G's (decay ``ema``).

    Logged per step (averaged over each ``fit`` epoch): both losses, whether each side
    was paused, and the norm of the generator's gradient.
    """

    def train_step(self, real):
        import tensorflow as tf

        if isinstance(real, tuple):  # train_on_batch passes (x, y, sample_weight)
            real = real[0]
        z = keras.random.normal(
            (tf.shape(real)[0], self.latent_dim), seed=self.seed_generator
        )
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            fake = self.generator(z, training=True)
            real_logits = self.discriminator(real, training=True)  # (batch, 1)
            fake_logits = self.discriminator(fake, training=True)  # (batch, 1)
            d_loss = discriminator_loss(real_logits, fake_logits, self.real_label)
            g_loss = generator_loss(fake_logits, self.saturating)
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        d_grads = d_tape.gradient(d_loss, d_vars)
        g_grads = g_tape.gradient(g_loss, g_vars)

        # The balance rule: a side sits this step out when twice its loss is below the
        # other's. (The saturating G loss is negative, so the rule always compares the
        # non-saturating one.)
        d_level = 2.0 * d_loss if self.summed_d_loss else d_loss
        g_level = generator_loss(fake_logits, saturating=False)
        train_d = tf.logical_or(not self.balance, d_level * 2.0 >= g_level)
        train_g = tf.logical_or(not self.balance, g_level * 2.0 >= d_level)

        def apply(optimizer, grads, variables):
            def update():
                optimizer.apply(grads, variables)
                return tf.constant(True)

            return update

        tf.cond(
            train_d,
            apply(self.d_optimizer, d_grads, d_vars),
            lambda: tf.constant(False),
        )
        tf.cond(
            train_g,
            apply(self.g_optimizer, g_grads, g_vars),
            lambda: tf.constant(False),
        )
        # EMA: decay * average + (1 - decay) * G, batch-norm statistics too
        if self.ema:
            step = ops.cast(self.g_optimizer.iterations, "float32")
            # short memory at first
            decay = ops.minimum(self.ema, (1.0 + step) / (10.0 + step))
            for average, weight in zip(
                self.ema_generator.weights, self.generator.weights, strict=True
            ):
                average.assign(decay * average + (1.0 - decay) * weight)

        values = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_paused": 1.0 - ops.cast(train_d, "float32"),
            "g_paused": 1.0 - ops.cast(train_g, "float32"),
            "g_grad_norm": ops.sqrt(sum(ops.sum(ops.square(g)) for g in g_grads)),
        }
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


# %% [markdown]
# ### The balance rule, derived
#
# The seed pauses $D$ when twice its loss is below $G$'s, and $G$ when twice its loss is below
# $D$'s. Write $r$ for D's cross-entropy on real images, $f = -\overline{\log(1 - D(G(z)))}$ and
# $g = -\overline{\log D(G(z))}$ (means over the batch). With D's loss **averaged**, $d = (r + f)/2$:
#
# - $D$ pauses when $r + f < g$;
# - $G$ pauses when $4g < r + f$.
#
# With D's loss **summed** (the common TF1 convention), $d = r + f$: $D$ pauses when $2(r + f) < g$,
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


# %%
def threshold(condition):
    """D(G(z)) where the condition flips, for D certain on real images (r = 0)."""
    return optimize.brentq(condition, 1e-9, 1 - 1e-9)


edges = {
    "mean.d": threshold(lambda p: -np.log(1 - p) + np.log(p)),  # r + f = g
    "mean.g": threshold(lambda p: -4 * np.log(p) + np.log(1 - p)),  # 4g = r + f
    "sum.d": threshold(lambda p: -2 * np.log(1 - p) + np.log(p)),  # 2(r + f) = g
    "sum.g": threshold(lambda p: -2 * np.log(p) + np.log(1 - p)),  # 2g = r + f
}
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
# training actually produces, measured in "The recipe" below. The rule gates *updates*: while $D$ sits out, the ratio moves only through
# $G$'s update (and the noise of fresh batches), so when $G$ cannot improve — say, its gradient
# has vanished — the rule cannot bring the ratio back into $[\frac12, 2]$ by itself.

# %% [markdown]
# ## The recipe, chosen by measurement
#
# The settings in the parameters cell were chosen with `benchmarks/gan_recipe.py`: each candidate
# trained on the first 50,000 training digits with three seeds, scored (the protocol above) against
# 5,000 of the 10,000 *held-out* training digits — a validation reference; the test digits played
# no part. Every run also kept the EMA generator, scored beside the raw $G$.
# Mean ± standard error over seeds (ddof = 1):

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
results.add("recipe.levers", lever_rows, glue_it=False)
results.add("recipe.steps", recipe["steps"], "{:,}")
results.add("recipe.budget_share", recipe["steps"] / steps, "{:.0%}")
results.add(
    "recipe.decay_at_end",
    min(0.999, (1 + recipe["steps"]) / (10 + recipe["steps"])),
    "{:.4f}",
)

# %%
averaged = [row for row in recipe["rows"] if row["generator"] == "ema"]
best = min(averaged, key=lambda row: row["frechet"][0])
chosen = {  # this chapter's recipe, in the benchmark's terms
    "batch_size": batch_size,
    "g_width": g_width,
    "d_width": d_width,
    "learning_rate": learning_rate,
    "balance": balance,
}
ours = [row for row in averaged if row["settings"] == chosen]
results.add("recipe.best", best["candidate"])
results.add("recipe.best_frechet", "{:.2f} ± {:.2f}".format(*best["frechet"]))
results.add(
    "recipe.ours", ours[0]["candidate"] if ours else "a combination not measured there"
)
results.add("recipe.rule_verdict", lever_rows[0]["verdict"])
results.add(
    "recipe.vs_batch64",
    f"{lever_rows[-1]['Fréchet change']} ({lever_rows[-1]['verdict']})",
)
# the seed's rule on
rule_row = next(row for row in averaged if row["settings"]["balance"])
results.add("recipe.rule_d_paused", rule_row["d_paused"][0], "{:.0%}")
results.add("recipe.rule_g_paused", rule_row["g_paused"][0], "{:.1%}")
# %% [markdown]
# The lowest validation Fréchet distance was {glue:}`recipe.best`'s ({glue:}`recipe.best_frechet`);
# the parameters cell uses {glue:}`recipe.ours`. Against batch 64 alone its change was
# {glue:}`recipe.vs_batch64` (last row) at a higher cost a step: the wider $D$ is kept for its
# own row above. With the seed's rule on, $D$ sat out {glue:}`recipe.rule_d_paused` of the steps
# and $G$ {glue:}`recipe.rule_g_paused`. The effect of turning the rule off on the Fréchet
# distance: {glue:}`recipe.rule_verdict` (first row, raw $G$, at $D$ width 16 and batch 32). The
# recipe leaves it off, a choice of simplicity the interval does not decide; `balance = True`
# brings it back.
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
# ## Training
#
# Adam with $\beta_1 = 0.5$ for both players at a learning rate of {glue:}`gan_learning_rate`. Every
# `eval_every` steps we score {glue:}`n_eval` fresh samples of the EMA generator (and of the raw
# $G$, to see what averaging buys); its decay, $\min(\text{ema}, (1 + t)/(10 + t))$ after
# $t$ updates, reaches `ema` at step {glue:}`ema_full_step`. We also save a snapshot of a fixed grid of 64 codes, so the
# snapshots show the *same* $z$ maturing.

# %%
results.add("gan_learning_rate", learning_rate, "{:g}")
results.add("latent_dim", latent_dim)
results.add(
    "ema_full_step", int(np.ceil((10 * ema - 1) / (1 - ema))) if ema else 0, "{:,}"
)
model = GAN(generator, discriminator, latent_dim, balance=balance, ema=ema, seed=seed)
model.compile(learning_rate=learning_rate)  # Adam with beta_1 = 0.5 for both players
fixed_z = keras.random.normal((64, latent_dim), seed=seed)
frames_dir = out / "frames"
score_rng = keras.random.SeedGenerator(seed + 1)


def evaluate(step):
    """Save the fixed grid's snapshot; score fresh samples of the EMA and the raw G."""
    frame = plotting.frame_path(frames_dir, step)
    plotting.save_frame(
        ops.convert_to_numpy(model.ema_generator(fixed_z)), 8, 8, frame, scale=1
    )
    record = scorer.score_record(gan.sample(model.ema_generator, n_eval, score_rng))
    raw = scorer.score_record(gan.sample(model.generator, n_eval, score_rng))
    return {
        **record,
        **{
            f"raw_{key}": raw[key] for key in ("score", "frechet", "min_class_fraction")
        },
    }


# %%
batches = pipelines.image_batches(mnist.x_train, batch_size, seed=seed).repeat()
settings = {  # everything that shapes the run: a change retrains
    "seed": seed,
    "batch_size": batch_size,
    "latent_dim": latent_dim,
    "g_width": g_width,
    "d_width": d_width,
    "learning_rate": learning_rate,
    "balance": balance,
    "ema": ema,
    "n_eval": n_eval,
}
# the code that shapes the run: a change retrains
players = [build_generator, build_discriminator, discriminator_loss, generator_loss]
players += [GAN, GANBase]
run = training.fit_gan(
    model,
    batches,
    steps,
    eval_every,
    out,
    "gan",
    evaluate,
    settings=settings,
    code=players,
    retrain=retrain,
)

# %%
# step 0, then one record every eval_every steps
start, records = run.records[0], run.records[1:]
print(f"step 0: score {start['score']:.2f}, Fréchet {start['frechet']:.1f}")

# %% [markdown]
# ## Snapshots
#
# The same 64 codes at the start, halfway and at the end of training:

# %%
plotting.show_frames(frames_dir)  # the first, the middle and the last snapshot
plt.show()

# %% [markdown]
# And every snapshot in between, as an animation:

# %%
display(HTML(plotting.snapshots_gif_html(frames_dir)))

# %% [markdown]
# ### Walking between two codes
#
# The trained generator maps *every* code to a digit, so the path between two codes is a path
# between two digits. We walk along the great circle between them (spherical interpolation: in
# {glue:}`latent_dim` dimensions almost all of a Gaussian's mass lies near the sphere of radius $\sqrt{d}$, and the
# straight line between two codes dips inside it, where the generator saw few codes). Drag the
# slider (or focus it and use the arrow keys):


# %%
def slerp(z0, z1, t):
    """Points along the great circle from z0 to z1 (norms interpolated linearly)."""
    u0, u1 = z0 / np.linalg.norm(z0), z1 / np.linalg.norm(z1)
    angle = np.arccos(np.clip(u0 @ u1, -1.0, 1.0))
    weights = np.stack([np.sin((1 - t) * angle), np.sin(t * angle)], axis=1) / np.sin(
        angle
    )
    direction = weights @ np.stack([u0, u1])  # (len(t), latent_dim)
    return direction * ((1 - t) * np.linalg.norm(z0) + t * np.linalg.norm(z1))[:, None]


ends = ops.convert_to_numpy(fixed_z[:2])  # two codes of the snapshot grid
t = np.linspace(0.0, 1.0, 16)
# (16, 28, 28)
path_frames = ops.convert_to_numpy(model.ema_generator(slerp(ends[0], ends[1], t)))
# the static figure (also shown without JavaScript)
plotting.show_grid(path_frames, 1, 16)
plt.show()
captions = [f"t = {value:.2f}" for value in t]
display(
    HTML(explorer.frame_slider(path_frames, captions, title="from one code to another"))
)

# %% [markdown]
# ## The game, step by step
#
# Losses and the balance rule's pauses, averaged over each interval of `eval_every` steps. At the
# equilibrium of the game, $D$ cannot tell real from fake, $D^* = \frac12$ everywhere, and both
# losses sit at $\log 2 \approx 0.69$.

# %%
plotting.balance_curves(records)
plt.show()

# %%
first, last = records[0], records[-1]
results.add("loss.g_first", first["train_g_loss"], "{:.2f}")
results.add("loss.g_last", last["train_g_loss"], "{:.2f}")
results.add("loss.d_first", first["train_d_loss"], "{:.2f}")
results.add("loss.d_last", last["train_d_loss"], "{:.2f}")
results.add("loss.frechet_first", first["frechet"], "{:.1f}")
results.add("loss.frechet_last", last["frechet"], "{:.2f}")
results.add("loss.frechet_fold", first["frechet"] / last["frechet"], "{:.0f}")
results.add("loss.first_step", first["step"], "{:,}")
results.add("loss.d_of_fake_first", np.exp(-first["train_g_loss"]), "{:.2f}")
frechets = run.column("frechet")[1:]  # the evaluations after step 0, as in `records`
rho_g = stats.spearmanr(run.column("train_g_loss"), frechets).statistic
rho_d = stats.spearmanr(run.column("train_d_loss"), frechets).statistic
results.add("loss.rho_g", rho_g, "{:+.2f}")
results.add("loss.rho_d", rho_d, "{:+.2f}")
results.add(
    "loss.reading",
    "G's loss rose while the samples improved: a falling loss is not what "
    "progress looks like"
    if rho_g < -0.5
    else "G's loss says little about the samples"
    if abs(rho_g) <= 0.5
    else "they fell together in this run; still, G's loss measures G "
    "against the current D, not against the data",
)

# %% [markdown]
# **Do the losses track sample quality?** From step {glue:}`loss.first_step` to the end, $G$'s
# loss went from {glue:}`loss.g_first` to {glue:}`loss.g_last` and $D$'s from {glue:}`loss.d_first`
# to {glue:}`loss.d_last`, while the Fréchet distance fell {glue:}`loss.frechet_fold`-fold, from
# {glue:}`loss.frechet_first` to {glue:}`loss.frechet_last`. Across the evaluations the rank
# correlation of the Fréchet distance with $G$'s loss is {glue:}`loss.rho_g` (with $D$'s,
# {glue:}`loss.rho_d`): {glue:}`loss.reading`. A correlation over the whole run is dominated by the
# first intervals, when everything changes at once; it does not say the loss tracks quality later
# on (the Fréchet distance is also the averaged $G$'s, the losses the raw $G$'s). Each loss
# measures one player against the *current* other player, who keeps improving too; neither is a
# distance to the data. At equilibrium both would sit at $\log 2 \approx 0.69$; by the last interval
# $D$'s loss is {glue:}`loss.d_last` and $G$'s {glue:}`loss.g_last`. (Averaged over the first
# interval, steps 1 to {glue:}`loss.first_step`, $G$'s loss puts the geometric mean of $D(G(z))$ at
# {glue:}`loss.d_of_fake_first`: $D$ was already rejecting fakes.)

# %% [markdown]
# ## Quality over training
#
# The measurements at every evaluation, for the EMA generator and the raw $G$, with the
# other test half's values (same protocol) as a dashed line and, for the Fréchet distance, the
# training digits' as a dotted one:

# %%
fig, (ax_is, ax_fd, ax_cls) = plt.subplots(1, 3, figsize=(14, 3.3))
eval_steps = run.column("step")
for prefix, label in (("", "EMA generator"), ("raw_", "raw G")):
    ax_is.plot(eval_steps, run.column(f"{prefix}score"), label=label)
    ax_fd.semilogy(eval_steps, run.column(f"{prefix}frechet"), label=label)
    ax_cls.plot(
        eval_steps, 100 * run.column(f"{prefix}min_class_fraction"), label=label
    )
ax_is.axhline(real["score"], color="black", linestyle="--", label="other test half")
ax_is.set(xlabel="step", ylabel="score (max 10)", title="Inception-style score")
ax_fd.axhline(real["frechet"], color="black", linestyle="--", label="other test half")
ax_fd.axhline(
    real_train["frechet"], color="grey", linestyle=":", label="training digits"
)
ax_fd.set(xlabel="step", ylabel="distance", title="Fréchet distance to test digits")
ax_cls.axhline(
    100 * min(real["class_fractions"]),
    color="black",
    linestyle="--",
    label="other test half",
)
ax_cls.set(xlabel="step", ylabel="% of samples", title="rarest digit's share")
for ax in (ax_is, ax_fd, ax_cls):
    ax.legend(fontsize="small")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The final generator, measured
#
# {glue:}`n_eval` fresh samples of the final EMA generator, the same protocol, now with
# precision and recall:

# %%
# (n_eval, 28, 28)
final_samples = gan.sample(model.ema_generator, n_eval, seed=seed + 2)
final = scorer.score(final_samples, with_recall=True)
rows = [
    {
        "": name,
        "score": m["score"],
        "Fréchet": m["frechet"],
        "precision": m["precision"],
        "recall": m["recall"],
        "rarest digit": f"{min(m['class_fractions']):.1%}",
    }
    for name, m in (
        ("generated", final),
        ("other test half (floor)", real),
        ("training digits", real_train),
    )
]
show.table(rows, floatfmt="{:.3f}")
fig, ax = plt.subplots(figsize=(6, 2.5))
ax.bar(np.arange(10) - 0.2, final["class_fractions"], width=0.4, label="generated")
ax.bar(np.arange(10) + 0.2, real["class_fractions"], width=0.4, label="real")
ax.set(xticks=range(10), xlabel="digit (as classified)", ylabel="fraction")
ax.legend(fontsize="small")
plt.show()

# %% [markdown]
# ## Did it copy its training set?
#
# A generator could score well by reproducing training digits. For {glue:}`copy.n` samples we find
# the nearest training digit (pixel distance $d_1$) and the nearest *other* training digit ($d_2$).
# A copy is much nearer to its original than to anything else: its ratio $d_1 / d_2$ is small. The
# control is {glue:}`copy.n` test digits, which the generator never saw: their ratios show how small
# a ratio new digits reach by chance. We count the samples whose ratio is below the test digits'
# 1st percentile — about 1% if the generator copies no more than chance would suggest.

# %%
n_copy = min(1000, n_eval)
samples_near = face_checks.nearest_with_ratio(final_samples[:n_copy], mnist.x_train)
test_near = face_checks.nearest_with_ratio(held_out[:n_copy], mnist.x_train)
cutoff = np.quantile(test_near.ratio, 0.01)
below = int(np.sum(samples_near.ratio < cutoff))
low, high = stats.binomtest(below, n_copy).proportion_ci(0.95, method="wilson")
# ~1% by construction, itself estimated
test_below = int(np.sum(test_near.ratio < cutoff))
table = [[below, n_copy - below], [test_below, n_copy - test_below]]
# samples more often below?
p_value = stats.fisher_exact(table, alternative="greater").pvalue
results.add("copy.n", n_copy, "{:,}")
results.add("copy.share", below / n_copy, "{:.1%}")
results.add("copy.test_share", test_below / n_copy, "{:.1%}")
results.add("copy.interval", f"{low:.1%} to {high:.1%}")
results.add("copy.p_value", p_value, "{:.2g}")
copy_verdict = (
    "more samples than test digits are near-copies: the generator reproduces some "
    "training digits"
    if p_value < 0.05
    else "not distinguishable, at this n, from digits it never saw"
)
results.add("copy.verdict", copy_verdict)
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

# %% [markdown]
# {glue:}`copy.share` of the samples (95% interval {glue:}`copy.interval`) have a ratio below the
# test digits' 1st percentile, against {glue:}`copy.test_share` of the test digits — about 1% by
# construction, since the cutoff is their own 1st percentile (a one-sided Fisher test of "samples
# more often", $p$ = {glue:}`copy.p_value`, which treats that count as if it were drawn
# independently): {glue:}`copy.verdict`. (The test digits are the second half of the test set,
# which MNIST draws from a different NIST source than its first half, while the GAN trained on
# digits of both sources.) Above, the eight samples with the smallest
# ratios and their nearest training digits.

# %% [markdown]
# ## The generator, from its run directory
#
# `gan.load_generator` rebuilds the generator this notebook samples from — here the EMA generator —
# from the run directory alone (its settings and weights), e.g. to use it in another notebook.
# It builds the players with the package's copy of this chapter's cells (`vaegan_utils.gan`,
# also what chapters 4 and 5 train). A cell you edit here changes this notebook only; to make
# the package follow, edit the chapter's source in a checkout and run `make format`
# (`python -m tools.export`), which copies every cell marked `# exported to vaegan_utils.gan`.

# %%
loaded = gan.load_generator(out)
gap = np.max(
    np.abs(
        ops.convert_to_numpy(loaded(fixed_z))
        - ops.convert_to_numpy(model.ema_generator(fixed_z))
    )
)
print(
    f"loaded {loaded.name} from {out}: "
    f"largest pixel difference from the EMA generator {gap:.1e}"
)

# %% [markdown]
# ## The numbers


# %%
def first_met(condition):
    """(step, training seconds) of the first evaluation where ``condition`` holds."""
    return next(((r["step"], r["seconds"]) for r in records if condition(r)), None)


targets = evaluation.quality_targets(real["frechet"])  # the book's three, and all three
targets["Fréchet <= 3x training digits"] = lambda r: (
    r["frechet"] <= 3 * real_train["frechet"]
)
thresholds = {name: first_met(check) for name, check in targets.items()}
for name, hit in thresholds.items():
    print(
        f"{name:<30s} "
        + (
            "never met"
            if hit is None
            else f"first met at step {hit[0]:,}, after {hit[1]:.0f} s of training"
        )
    )
d_paused = run.column("train_d_paused").mean()
g_paused = run.column("train_g_paused").mean()
print(
    f"balance rule ({'on' if balance else 'off'}): "
    f"D paused {d_paused:.1%} of steps, G {g_paused:.1%}"
)

# %%
results.add("start", start, glue_it=False)
results.add("real", real, glue_it=False)
results.add("real_train", real_train, glue_it=False)
results.add("final", final, glue_it=False)
results.add("thresholds", thresholds, glue_it=False)
results.add("history", records, glue_it=False)
results.add("gan_steps", steps, "{:,}")
results.add("gan_seconds", run.seconds, "{:.0f}")
results.add("gan_ms_per_step", 1000 * run.seconds / steps, "{:.0f}")
results.add("gan_score", final["score"], "{:.2f}")
results.add("gan_frechet", final["frechet"], "{:.2f}")
results.add("gan_frechet_ratio", final["frechet"] / real["frechet"], "{:.1f}")
results.add("gan_precision", final["precision"], "{:.3f}")
results.add("gan_recall", final["recall"], "{:.3f}")
results.add("gan_min_class", min(final["class_fractions"]), "{:.1%}")
results.add("real_score", real["score"], "{:.2f}")
results.add("real_frechet", real["frechet"], "{:.2f}")
results.add("train_frechet", real_train["frechet"], "{:.2f}")
results.add(
    "gan_frechet_train_ratio", final["frechet"] / real_train["frechet"], "{:.1f}"
)
results.add("real_precision", real["precision"], "{:.3f}")
results.add("real_recall", real["recall"], "{:.3f}")
met = thresholds["all three"]
results.add(
    "gan_all_three", "was not met" if met is None else f"was met at step {met[0]:,}"
)

# %% [markdown]
# After {glue:}`gan_steps` steps ({glue:}`gan_seconds` s of training, {glue:}`gan_ms_per_step` ms a
# step on this build's machine) the EMA generator scores {glue:}`gan_score` (real digits:
# {glue:}`real_score`); its Fréchet distance is {glue:}`gan_frechet`, {glue:}`gan_frechet_ratio` times
# the other test half's {glue:}`real_frechet` and {glue:}`gan_frechet_train_ratio` times the
# training digits' {glue:}`train_frechet`; precision {glue:}`gan_precision` and recall
# {glue:}`gan_recall` (the other test half: {glue:}`real_precision` and {glue:}`real_recall`); its
# rarest digit makes up {glue:}`gan_min_class` of the samples. These are one run and one draw of
# samples: the evaluations of the last steps, in the figure above, show how much they move. The
# other test half is a weak floor — it comes from a different NIST source than the reference, and
# a generator of the training distribution can come nearer to the reference than it does — so the
# training digits are the yardstick to read. Nor is a recall above the other half's better
# coverage: the samples' wider neighbourhoods (their precision is lower) make their manifold
# larger. The combined target — score ≥ 9, Fréchet distance ≤ 3× the other test half, every digit
# ≥ 5% — {glue:}`gan_all_three` (the step at which each part was first met is printed above).

# %%
print(f"metrics of run {results['run_id']}: {results.save()}")

# %% [markdown]
# ## Summary
#
# - Against the optimal discriminator, the generator minimises the Jensen–Shannon divergence; it
#   saturates when real and generated images barely overlap, which is where gradients vanish.
# - The non-saturating loss keeps the gradient with respect to D's logit alive when D wins, at the
#   price of an objective that no longer is the JSD.
# - The seed's balance rule, with D's loss averaged and D sure of real images, pauses D over a
#   larger range of D's outputs than G; it gates updates and cannot restore the balance by itself
#   when G is stuck.
# - A GAN's losses measure each player against the other, not against the data; a classifier's
#   score, a Fréchet distance at a stated $n$, precision and recall and class shares measure the
#   samples — each next to the value real digits get.
#
# ## Exercises
#
# 1. Turn the rule on (`balance = True`), then also sum D's loss (`summed_d_loss=True` in `GAN`).
#    How often does each side pause? Compare with the edges derived above.
# 2. Set `ema = 0` and compare the final Fréchet distance with the curve of the raw G above.
# 3. Use the saturating loss (`saturating=True` in `GAN`) and plot the generator's gradient norm
#    (`train_g_grad_norm` in the log) against the non-saturating run's.
# 4. Edit `build_generator`: drop the batch norm after its dense layer. The training cell notices
#    the change and trains afresh; what happens to the rarest digit's share?
