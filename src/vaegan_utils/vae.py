"""VAE building blocks: the loss terms with explicit reductions, sampling, models, estimators.

Conventions, used everywhere in the book:

- images are ``(batch, 28, 28)`` floats in [0, 1]; the decoder returns *logits* of the same shape;
- every loss term is a **sum over pixels (or latent dimensions) per image**, returning ``(batch,)``;
  averaging over the batch happens once, in the train step. Numbers are therefore in nats per image.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

LOG_2PI = math.log(2.0 * math.pi)


def bernoulli_nll(x, logits):
    """−log p(x | z) for a Bernoulli decoder: sigmoid cross-entropy summed over pixels.

    ``x``: ``(batch, ...)`` targets in [0, 1]; ``logits``: same shape. Returns ``(batch,)``.
    For grey-level ``x`` this is a cross-entropy, not a likelihood.
    """
    # Stable form of −[x log σ(l) + (1−x) log(1−σ(l))] = softplus(l) − x·l.
    per_pixel = ops.softplus(logits) - x * logits
    return ops.sum(ops.reshape(per_pixel, (ops.shape(per_pixel)[0], -1)), axis=1)


def gaussian_kl(mean, log_var):
    """KL(N(mean, diag(exp(log_var))) ‖ N(0, I)) in closed form, summed over latent dims.

    ``mean``, ``log_var``: ``(batch, latent_dim)``. Returns ``(batch,)``.
    """
    return 0.5 * ops.sum(ops.square(mean) + ops.exp(log_var) - 1.0 - log_var, axis=-1)


def diag_gaussian_log_prob(z, mean, log_var):
    """log N(z; mean, diag(exp(log_var))), summed over the last axis."""
    return -0.5 * ops.sum(LOG_2PI + log_var + ops.square(z - mean) * ops.exp(-log_var), axis=-1)


def log_mean_exp(log_w, axis: int = 0):
    """log((1/k) Σ_k exp(log_w)) along ``axis``, computed stably: the importance-weighted bound."""
    k = ops.shape(log_w)[axis]
    return ops.logsumexp(log_w, axis=axis) - ops.log(ops.cast(k, log_w.dtype))


@keras.saving.register_keras_serializable(package="vaegan_utils")
class Sampling(layers.Layer):
    """The reparameterisation trick: z = mean + exp(log_var / 2) · ε, ε ~ N(0, I)."""

    def __init__(self, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, mean, log_var):
        epsilon = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * epsilon

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}


def build_encoder(
    latent_dim: int, hidden: tuple[int, ...] = (512, 256), name: str = "encoder"
) -> keras.Model:
    """MLP encoder: ``(batch, 28, 28)`` images -> ``(mean, log_var)``, each ``(batch, d)``."""
    _check_latent_dim(latent_dim)
    images = keras.Input(shape=(28, 28))
    h = layers.Flatten()(images)  # (batch, 28, 28) -> (batch, 784)
    for units in hidden:
        h = layers.Dense(units, activation="relu")(h)
    mean = layers.Dense(latent_dim, name="mean")(h)
    log_var = layers.Dense(latent_dim, name="log_var")(h)
    return keras.Model(images, [mean, log_var], name=name)


def build_decoder(
    latent_dim: int, hidden: tuple[int, ...] = (256, 512), name: str = "decoder"
) -> keras.Model:
    """MLP decoder: ``(batch, latent_dim)`` codes -> ``(batch, 28, 28)`` Bernoulli logits."""
    _check_latent_dim(latent_dim)
    z = keras.Input(shape=(latent_dim,))
    h = z
    for units in hidden:
        h = layers.Dense(units, activation="relu")(h)
    logits = layers.Dense(28 * 28)(h)
    logits = layers.Reshape((28, 28))(logits)  # (batch, 784) -> (batch, 28, 28)
    return keras.Model(z, logits, name=name)


def _check_latent_dim(latent_dim: int) -> None:
    if not isinstance(latent_dim, int) or latent_dim <= 0:
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")


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
) -> dict[str, float] | dict[str, np.ndarray]:
    """Reconstruction term, KL term and −ELBO over ``x``, in nats per image.

    z is *sampled* from q(z|x) (one draw per image), as the ELBO defines it, not set to the mean.
    Returns the means over ``x``, or with ``per_image`` the ``(len(x),)`` arrays.
    """
    rng = keras.random.SeedGenerator(seed)
    recon, kl = [], []
    for batch in _batches(x, batch_size):
        mean, log_var = encoder(batch, training=False)
        z = mean + ops.exp(0.5 * log_var) * keras.random.normal(ops.shape(mean), seed=rng)
        recon.append(ops.convert_to_numpy(bernoulli_nll(batch, decoder(z, training=False))))
        kl.append(ops.convert_to_numpy(gaussian_kl(mean, log_var)))
    terms = {"reconstruction": np.concatenate(recon), "kl": np.concatenate(kl)}
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
    peak = grouped.max(axis=1, keepdims=True)
    return np.log(np.mean(np.exp(grouped - peak), axis=1)) + peak[:, 0]


def iwae_log_weights(
    encoder: keras.Model,
    decoder: keras.Model,
    x: np.ndarray,
    k: int,
    batch_size: int = 50,
    chunk: int = 500,
    seed: int = 0,
) -> np.ndarray:
    """log p(x, z_i) − log q(z_i | x) for k samples z_i ~ q(z|x) per image: ``(k, len(x))``.

    Samples are drawn ``chunk`` at a time to bound memory.
    """
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
            log_px_z = -bernoulli_nll(ops.reshape(targets, ops.shape(logits)), logits)
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
