"""Exact log p(x) of a decoder with a 2-D latent space, by quadrature on a grid of z.

For a Bernoulli decoder, ``log p(x) = log ∫ p(x | z) N(z; 0, I) dz``. With two latent dimensions
the integral can be summed on a regular grid: no importance sampling, so no sampling noise and
no one-sided bias, only a quadrature error, which :func:`log_px_by_quadrature` measures by
redoing the sum on a grid of half the resolution and on a smaller box. Conventions as in
:mod:`vaegan_utils.vae`: nats per image, the decoder returns logits.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

LOG_2PI = math.log(2.0 * math.pi)
#: Fewest grid points per axis accepted: below this the grid cannot resolve a posterior.
MIN_GRID_POINTS = 21


@dataclass(frozen=True)
class Quadrature:
    """log p(x) per image, ``(n,)`` in nats, and the same sum on two coarser grids."""

    log_px: np.ndarray  # the full grid: ±limit, grid_points per axis
    log_px_half: np.ndarray  # every other grid point: the same box at half the resolution
    log_px_inner: np.ndarray  # the full resolution on the smaller box ±inner_limit
    limit: float
    inner_limit: float
    spacing: float  # between neighbouring grid points, per axis

    @property
    def error(self) -> np.ndarray:
        """Per image, the larger change from the two coarser grids, ``(n,)``: a measure of the
        quadrature error (the full grid, finer and larger than both, is expected to be closer)."""
        return np.maximum(
            np.abs(self.log_px - self.log_px_half), np.abs(self.log_px - self.log_px_inner)
        )


def _latent_dim(decoder: Callable) -> int | None:
    shape = getattr(decoder, "input_shape", None)
    if isinstance(shape, tuple) and shape and isinstance(shape[-1], int):
        return shape[-1]
    return None


def log_px_by_quadrature(
    decoder: Callable,
    x: np.ndarray,
    limit: float = 6.0,
    grid_points: int = 601,
    inner_fraction: float = 0.8,
    chunk: int = 4096,
    image_batch: int = 1000,
) -> Quadrature:
    """Exact log p(x) per image for a Bernoulli ``decoder`` with a 2-D latent space.

    ``decoder(z)``: codes ``(m, 2)`` -> logits ``(m, ...)``, one per pixel of an image of ``x``
    (``(n, ...)`` in {0, 1}). The sum runs over a ``grid_points`` × ``grid_points`` grid on the
    box ±``limit`` (in prior standard deviations), each point weighted by its cell's area:
    ``log p(x) ≈ logsumexp_g [log p(x | z_g) + log N(z_g; 0, I)] + 2 log spacing``. Each grid
    point is decoded once, whole grid rows of about ``chunk`` points at a time; ``log p(x | z)``
    for all images and those points is ``x @ logits.T − Σ softplus(logits)``, in float64,
    ``image_batch`` images at a time.
    """
    dim = _latent_dim(decoder)
    if dim is not None and dim != 2:
        raise ValueError(
            f"decoder: quadrature needs a 2-D latent space, this decoder takes {dim}-D codes; "
            "estimate log p(x) by importance sampling instead (vae.iwae_log_weights)"
        )
    if not isinstance(grid_points, int | np.integer) or grid_points < MIN_GRID_POINTS:
        raise ValueError(
            f"grid_points: {grid_points!r} is too coarse; use an odd number of at least "
            f"{MIN_GRID_POINTS} points per axis (e.g. 601)"
        )
    if grid_points % 2 == 0:
        raise ValueError(
            f"grid_points must be odd (got {grid_points}), so that every other point spans the "
            f"same box for the half-resolution check; use {grid_points + 1}"
        )
    if not (np.isfinite(limit) and limit > 0):
        raise ValueError(f"limit must be a positive number of standard deviations, got {limit}")
    if not 0 < inner_fraction < 1:
        raise ValueError(f"inner_fraction must lie strictly between 0 and 1, got {inner_fraction}")
    if chunk <= 0 or image_batch <= 0:
        raise ValueError(f"chunk ({chunk}) and image_batch ({image_batch}) must be positive")
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x must hold images, (n, ...) with n >= 1; got shape {x.shape}")
    flat_x = x.reshape(len(x), -1).astype(np.float64)
    if not np.all((flat_x == 0) | (flat_x == 1)):
        raise ValueError(
            "x must be binary (0 or 1): on grey levels the Bernoulli decoder defines no "
            "likelihood; binarize the images first (data.binarize)"
        )

    axis = np.linspace(-limit, limit, grid_points)
    spacing = float(axis[1] - axis[0])
    centre = grid_points // 2
    inner_half = max(1, round(inner_fraction * centre))  # grid steps from 0 to the inner edge
    inner = slice(centre - inner_half, centre + inner_half + 1)
    rows_per_chunk = max(1, chunk // grid_points)  # whole rows of the grid at a time
    sums = np.full((3, len(x)), -np.inf)  # running logsumexp: full, half, inner grids
    for first_row in range(0, grid_points, rows_per_chunk):
        rows = np.arange(first_row, min(first_row + rows_per_chunk, grid_points))
        z1, z2 = np.meshgrid(axis[rows], axis, indexing="ij")  # (r, G) each
        z = np.stack([z1.ravel(), z2.ravel()], axis=1)  # (r * G, 2)
        logits = np.asarray(decoder(z.astype(np.float32)), dtype=np.float64)
        logits = logits.reshape(len(z), -1)  # (r * G, pixels)
        if logits.shape[1] != flat_x.shape[1]:
            raise ValueError(
                f"decoder returns {logits.shape[1]} logits per code but the images of x have "
                f"{flat_x.shape[1]} pixels; pass images of the decoder's shape"
            )
        log_prior = -LOG_2PI - 0.5 * np.sum(z**2, axis=1)  # (r * G,)
        softplus = np.maximum(logits, 0.0) + np.log1p(np.exp(-np.abs(logits)))  # stable
        offset = log_prior - softplus.sum(axis=1)  # (r * G,)
        even = slice(first_row % 2, None, 2)  # local rows with an even grid index
        in_box = (rows >= inner.start) & (rows < inner.stop)  # local rows in the inner box
        for first in range(0, len(x), image_batch):
            images = slice(first, first + image_batch)
            # log p(x | z) + log N(z) per image and grid point: (b, r, G)
            log_joint = (flat_x[images] @ logits.T + offset).reshape(-1, len(rows), grid_points)
            parts = (log_joint, log_joint[:, even, ::2], log_joint[:, in_box, inner])
            for grid, part in enumerate(parts):
                if part.size:
                    chunk_sum = logsumexp(part, axis=(1, 2))
                    sums[grid, images] = np.logaddexp(sums[grid, images], chunk_sum)
    cell = 2 * math.log(spacing)
    return Quadrature(
        log_px=sums[0] + cell,
        log_px_half=sums[1] + cell + 2 * math.log(2.0),  # cells twice as wide per axis
        log_px_inner=sums[2] + cell,
        limit=float(limit),
        inner_limit=float(axis[centre + inner_half]),
        spacing=spacing,
    )
