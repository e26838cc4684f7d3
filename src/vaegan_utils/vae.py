"""A VAE on MNIST: its loss terms, its model and train step, and estimators of its quality.

The loss terms (:func:`bernoulli_nll`, :func:`gaussian_kl`), the sampling layer, the encoder and
decoder, the model with its train step (:class:`VAE`) and :func:`train_vae` are taught in
chapter 02 and *generated* from its cells (the region at the end of this module,
``python -m tools.export``): edit the chapter, not that region. Written here by hand: the
estimators (ELBO terms, importance-weighted bounds, active units).

Conventions, used everywhere in the book:

- images are ``(batch, 28, 28)`` floats in [0, 1]; the decoder returns *logits* of the same shape;
- every loss term is a **sum over pixels (or latent dimensions) per image**, returning ``(batch,)``;
  averaging over the batch happens once, in the train step. Numbers are therefore in nats per image.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops
from scipy import special

from vaegan_utils import pipelines, training

LOG_2PI = math.log(2.0 * math.pi)

#: A loss term: ``(targets, logits) -> (batch,)`` or ``(mean, log_var) -> (batch,)``.
LossTerm = Callable[[Any, Any], Any]


def diag_gaussian_log_prob(z, mean, log_var):
    """log N(z; mean, diag(exp(log_var))), summed over the last axis."""
    return -0.5 * ops.sum(LOG_2PI + log_var + ops.square(z - mean) * ops.exp(-log_var), axis=-1)


def _batches(x: np.ndarray, batch_size: int):
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    for start in range(0, len(x), batch_size):
        yield np.asarray(x[start : start + batch_size], dtype=np.float32)


def elbo_terms(
    encoder: keras.Model,
    decoder: keras.Model,
    x: np.ndarray,
    batch_size: int = 1000,
    seed: int = 0,
    per_image: bool = False,
    nll: LossTerm | None = None,
    kl: LossTerm | None = None,
) -> dict[str, float] | dict[str, np.ndarray]:
    """Reconstruction term, KL term and −ELBO over ``x``, in nats per image.

    z is *sampled* from q(z|x) (one draw per image), as the ELBO defines it, not set to the mean.
    Returns the means over ``x``, or with ``per_image`` the ``(len(x),)`` arrays.
    ``nll(x, logits)`` and ``kl(mean, log_var)`` are the loss terms (default: this module's
    :func:`bernoulli_nll` and :func:`gaussian_kl`); chapter 02 passes its own, so that an edit
    to them reaches the evaluation as it reaches training.
    """
    nll, kl = nll or bernoulli_nll, kl or gaussian_kl
    rng = keras.random.SeedGenerator(seed)
    recon, divergence = [], []
    for batch in _batches(x, batch_size):
        mean, log_var = encoder(batch, training=False)
        z = mean + ops.exp(0.5 * log_var) * keras.random.normal(ops.shape(mean), seed=rng)
        recon.append(ops.convert_to_numpy(nll(batch, decoder(z, training=False))))
        divergence.append(ops.convert_to_numpy(kl(mean, log_var)))
    terms = {"reconstruction": np.concatenate(recon), "kl": np.concatenate(divergence)}
    terms["neg_elbo"] = terms["reconstruction"] + terms["kl"]
    if per_image:
        return terms
    return {key: float(value.mean()) for key, value in terms.items()}


def grouped_log_mean_exp(log_w: np.ndarray, k: int) -> np.ndarray:
    """Split the first axis of ``log_w`` (``(s, ...)`` log importance weights) into ``s // k``
    disjoint groups of ``k`` and return each group's log-mean-exp, ``(s // k, ...)``.

    Each group gives an independent, unbiased draw of the k-sample bound's integrand
    ``log (1/k) Σ_i w_i``, so their mean estimates L_k and their spread its standard error.
    (Nested prefixes of one draw, ``log_w[:k]`` for growing k, give one correlated draw per k
    instead: its noise can push the estimate of L_k above log p(x).)
    """
    if not isinstance(k, int | np.integer) or k <= 0 or k > len(log_w):
        raise ValueError(f"k must be a whole number in [1, {len(log_w)}], got {k!r}")
    groups = len(log_w) // k
    grouped = np.asarray(log_w[: groups * k]).reshape(groups, k, *np.shape(log_w)[1:])
    return special.logsumexp(grouped, axis=1) - np.log(k)


def iwae_log_weights(
    encoder: keras.Model,
    decoder: keras.Model,
    x: np.ndarray,
    k: int,
    batch_size: int = 50,
    chunk: int = 500,
    seed: int = 0,
    nll: LossTerm | None = None,
) -> np.ndarray:
    """log p(x, z_i) − log q(z_i | x) for k samples z_i ~ q(z|x) per image: ``(k, len(x))``.

    Samples are drawn ``chunk`` at a time to bound memory. ``nll(x, logits)`` is −log p(x | z)
    (default: :func:`bernoulli_nll`).
    """
    nll = nll or bernoulli_nll
    if k <= 0:
        raise ValueError(f"k must be a positive number of importance samples, got {k}")
    rng = keras.random.SeedGenerator(seed)
    estimates = []
    for batch in _batches(x, batch_size):
        mean, log_var = encoder(batch, training=False)  # (b, d) each
        log_w = []
        for start in range(0, k, chunk):
            n = min(chunk, k - start)
            eps = keras.random.normal((n, *ops.shape(mean)), seed=rng)  # (n, b, d)
            z = mean + ops.exp(0.5 * log_var) * eps
            flat_z = ops.reshape(z, (-1, ops.shape(mean)[1]))  # (n*b, d)
            logits = decoder(flat_z, training=False)  # (n*b, 28, 28)
            targets = ops.tile(batch[None], (n, 1, 1, 1))  # (n, b, 28, 28)
            log_px_z = -nll(ops.reshape(targets, ops.shape(logits)), logits)
            log_px_z = ops.reshape(log_px_z, (n, -1))  # (n, b)
            log_pz = diag_gaussian_log_prob(z, 0.0, ops.zeros_like(z))
            log_qz = diag_gaussian_log_prob(z, mean, log_var)
            log_w.append(ops.convert_to_numpy(log_px_z + log_pz - log_qz))
        estimates.append(np.concatenate(log_w))  # (k, b)
    return np.concatenate(estimates, axis=1)


def iwae_nll(
    encoder: keras.Model,
    decoder: keras.Model,
    x: np.ndarray,
    k: int,
    batch_size: int = 50,
    chunk: int = 500,
    seed: int = 0,
) -> np.ndarray:
    """Importance-weighted estimate of −log p(x) per image, with k samples from q(z|x).

    log p(x) ≥ E[log (1/k) Σ_i p(x, z_i) / q(z_i | x)], tight as k → ∞ (Burda et al. 2015).
    Returns ``(len(x),)`` in nats.
    """
    log_w = iwae_log_weights(encoder, decoder, x, k, batch_size, chunk, seed)
    return -grouped_log_mean_exp(log_w, k)[0]


def two_draw_variance(first: np.ndarray, second: np.ndarray) -> float:
    """The per-image variance of a Monte Carlo estimate from two independent draws of it on the
    same images, ``(n,)`` each: E[(a − b)²] / 2."""
    first, second = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if first.shape != second.shape or first.ndim != 1 or len(first) < 2:
        raise ValueError(
            f"first and second must be two draws on the same images, (n,) with n >= 2; "
            f"got {first.shape} and {second.shape}"
        )
    return float(np.mean((first - second) ** 2) / 2)


def nll_from_gain(
    neg_elbo: float, n_images: int, gain: np.ndarray, elbo_variance: float
) -> tuple[float, float]:
    """−log p(x) of a data set from its one-sample −ELBO and the importance-weighted gain.

    ``neg_elbo`` is the mean one-sample −ELBO over all ``n_images``; ``gain`` holds
    ``L_k − L_1`` of a random subset of them, ``(m,)``, the costly part; ``elbo_variance`` is the
    per-image Monte Carlo variance of the one-sample ELBO (:func:`two_draw_variance`). Returns
    ``(neg_elbo − mean gain, standard error)``: the error adds, as independent terms, the
    subset's sampling spread of the gain (ddof = 1) and the ELBO's Monte Carlo noise.
    """
    gain = np.asarray(gain, dtype=float)
    if gain.ndim != 1 or len(gain) < 2:
        raise ValueError(f"gain must be (m,) with m >= 2 images, got shape {gain.shape}")
    if n_images < len(gain) or elbo_variance < 0:
        raise ValueError(
            f"n_images ({n_images}) must be at least the subset's {len(gain)} images and "
            f"elbo_variance ({elbo_variance}) non-negative"
        )
    estimate = float(neg_elbo - gain.mean())
    stderr = float(np.sqrt(gain.var(ddof=1) / len(gain) + elbo_variance / n_images))
    return estimate, stderr


def active_units(
    encoder: keras.Model, x: np.ndarray, threshold: float = 0.01, batch_size: int = 1000
) -> int:
    """Latent dimensions whose posterior mean varies across images: Cov_x(E_q[z]) > threshold."""
    means = np.concatenate(
        [
            ops.convert_to_numpy(encoder(batch, training=False)[0])
            for batch in _batches(x, batch_size)
        ]
    )
    return int(np.sum(means.var(axis=0) > threshold))


# ---- Generated from notebooks/02_vae_mnist.py: edit the chapter, not this code. ----
# fmt: off


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


class Sampling(layers.Layer):
    """The reparameterisation trick: z = mean + exp(log_var / 2) · ε, ε ~ N(0, I)."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, mean, log_var):
        epsilon = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * epsilon  # (batch, d)


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


# fmt: on
# ---- End of the code generated from notebooks/02_vae_mnist.py. ----
