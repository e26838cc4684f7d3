"""vaegan_utils.quadrature: exact log p(x) of a 2-D latent model against independent oracles."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy import integrate

from vaegan_utils import quadrature, vae

# A hand-written decoder with 2 latent dimensions and 4 pixels: logits = 3 tanh(W z) + b.
W = np.array([[1.5, -0.7], [0.3, 2.0], [-1.2, 0.8], [0.9, 0.9]])
B = np.array([0.2, -0.5, 0.1, 0.0])
#: All 16 binary images of 2 x 2 pixels.
ALL_IMAGES = np.array([[int(bit) for bit in f"{i:04b}"] for i in range(16)]).reshape(16, 2, 2)


def tiny_decoder(z: np.ndarray) -> np.ndarray:
    """Codes ``(m, 2)`` -> logits ``(m, 2, 2)``."""
    return (3.0 * np.tanh(np.asarray(z, np.float64) @ W.T) + B).reshape(-1, 2, 2)


def dblquad_log_px(image: np.ndarray) -> float:
    """log ∫ p(x | z) N(z; 0, I) dz by scipy's adaptive quadrature, pixel by pixel."""
    signs = np.where(image.ravel() == 1, 1.0, -1.0)

    def density(z2: float, z1: float) -> float:
        logits = tiny_decoder(np.array([[z1, z2]])).ravel()
        log_lik = -np.logaddexp(0.0, -signs * logits).sum()  # Σ log σ(±logit)
        return float(np.exp(log_lik - np.log(2 * np.pi) - (z1 * z1 + z2 * z2) / 2))

    value, _ = integrate.dblquad(density, -10, 10, -10, 10, epsabs=1e-10, epsrel=1e-8)
    return float(np.log(value))


def test_matches_scipy_dblquad_on_a_four_pixel_decoder() -> None:
    images = ALL_IMAGES[[0, 6, 9, 15]]  # none, two and all four pixels on
    result = quadrature.log_px_by_quadrature(tiny_decoder, images, limit=7.0, grid_points=201)
    expected = [dblquad_log_px(image) for image in images]
    np.testing.assert_allclose(result.log_px, expected, atol=1e-6)
    assert result.log_px.shape == (4,)
    assert result.error.max() < 1e-5  # the convergence check agrees that the grid suffices


def test_probabilities_of_all_images_sum_to_one() -> None:
    # A Bernoulli decoder is a distribution over binary images: Σ_x p(x) = 1.
    result = quadrature.log_px_by_quadrature(tiny_decoder, ALL_IMAGES, limit=7.0, grid_points=101)
    assert np.exp(result.log_px).sum() == pytest.approx(1.0, abs=1e-8)


def test_small_chunks_and_batches_give_the_same_answer() -> None:
    whole = quadrature.log_px_by_quadrature(tiny_decoder, ALL_IMAGES, grid_points=61)
    pieces = quadrature.log_px_by_quadrature(
        tiny_decoder, ALL_IMAGES, grid_points=61, chunk=97, image_batch=3
    )
    for field in ("log_px", "log_px_half", "log_px_inner"):
        np.testing.assert_allclose(getattr(pieces, field), getattr(whole, field), rtol=1e-12)


def test_convergence_check_flags_a_box_that_cuts_off_the_posterior() -> None:
    # Shift the decoder so the posterior of the all-ones image sits near z = (2.5, 2.5).
    def shifted(z: np.ndarray) -> np.ndarray:
        return tiny_decoder(np.asarray(z) - 2.5) + 4.0

    image = np.ones((1, 2, 2))
    small = quadrature.log_px_by_quadrature(shifted, image, limit=2.0, grid_points=81)
    large = quadrature.log_px_by_quadrature(shifted, image, limit=8.0, grid_points=321)
    assert small.error[0] > 0.05  # the smaller box lost mass: the check says so
    assert large.error[0] < 1e-5
    assert large.log_px[0] - small.log_px[0] > 0.05  # the truncated sum was too low
    assert small.inner_limit < small.limit


def test_importance_weighted_bound_approaches_the_exact_value_from_below() -> None:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    decoder = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(32, activation="tanh"),
            keras.layers.Dense(784),
            keras.layers.Reshape((28, 28)),
        ]
    )
    decoder.layers[0].set_weights([rng.normal(0, 1.0, (2, 32)), np.zeros(32)])
    decoder.layers[1].set_weights([rng.normal(0, 0.08, (32, 784)), rng.normal(0, 1, 784)])
    images = keras.Input((28, 28))
    flat = keras.layers.Flatten()(images)
    mean = keras.layers.Dense(2, kernel_initializer="zeros")(flat)
    narrow = keras.initializers.Constant(-0.5)  # q = N(0, e^-0.5 I): not the posterior
    log_var = keras.layers.Dense(2, kernel_initializer="zeros", bias_initializer=narrow)(flat)
    encoder = keras.Model(images, [mean, log_var])
    probs = 1 / (1 + np.exp(-np.asarray(decoder(rng.standard_normal((20, 2))))))
    x = (rng.random(probs.shape) < probs).astype(np.float32)  # 20 images from the model

    exact = quadrature.log_px_by_quadrature(decoder, x, limit=6.0, grid_points=201)
    assert exact.error.max() < 1e-3
    log_w = vae.iwae_log_weights(encoder, decoder, x, 4000, seed=1)  # (4000, 20)
    bias, stderr = [], []
    for k in (1, 10, 100, 4000):
        per_image = (exact.log_px - vae.grouped_log_mean_exp(log_w, k)).mean(axis=0)  # (20,)
        bias.append(per_image.mean())
        stderr.append(per_image.std(ddof=1) / np.sqrt(len(per_image)))
    assert bias[0] > 4 * stderr[0]  # the ELBO sits measurably below log p(x)
    assert all(later < earlier for earlier, later in zip(bias, bias[1:], strict=False))
    assert -4 * stderr[-1] < bias[-1] < 4 * stderr[-1] + 0.02  # L_k -> log p(x), from below


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grid_points": 11}, "too coarse"),
        ({"grid_points": 100}, "must be odd"),
        ({"limit": 0.0}, "limit must be a positive"),
        ({"inner_fraction": 1.0}, "inner_fraction"),
        ({"chunk": 0}, "must be positive"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        quadrature.log_px_by_quadrature(tiny_decoder, ALL_IMAGES, **kwargs)


def test_bad_images_and_decoders_are_refused() -> None:
    with pytest.raises(ValueError, match="must be binary"):
        quadrature.log_px_by_quadrature(tiny_decoder, ALL_IMAGES * 0.5)
    with pytest.raises(ValueError, match="must hold images"):
        quadrature.log_px_by_quadrature(tiny_decoder, np.zeros((0, 2, 2)))
    with pytest.raises(ValueError, match="4 logits per code"):
        quadrature.log_px_by_quadrature(tiny_decoder, np.ones((2, 3, 3)), grid_points=21)
    with pytest.raises(ValueError, match="2-D latent space.*3-D codes"):
        quadrature.log_px_by_quadrature(vae.build_decoder(3, (8,)), np.ones((1, 28, 28)))
