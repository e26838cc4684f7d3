"""vaegan_utils.toy: the linear-Gaussian model against scipy and Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from keras import ops
from scipy import special, stats

from vaegan_utils import toy, vae


@pytest.fixture
def model() -> toy.LinearGaussian:
    return toy.LinearGaussian.random(data_dim=6, latent_dim=3, noise_std=0.7, seed=1)


@pytest.fixture
def x(model: toy.LinearGaussian) -> np.ndarray:
    return model.sample(5, np.random.default_rng(2))[0]


def test_log_marginal_matches_scipy(model: toy.LinearGaussian, x: np.ndarray) -> None:
    expected = stats.multivariate_normal.logpdf(x, model.bias, model.marginal_cov())
    np.testing.assert_allclose(model.log_marginal(x), expected)


def test_posterior_matches_gaussian_conditioning(model: toy.LinearGaussian, x: np.ndarray) -> None:
    """Condition the joint Gaussian of (z, x) directly: an independent formula."""
    gain = model.weight.T @ np.linalg.inv(model.marginal_cov())  # Cov[z, x] Cov[x]^-1
    mean, cov = model.posterior(x)
    np.testing.assert_allclose(mean, (x - model.bias) @ gain.T, atol=1e-10)
    np.testing.assert_allclose(cov, np.eye(3) - gain @ model.weight, atol=1e-10)


def test_log_joint_matches_scipy(model: toy.LinearGaussian, x: np.ndarray) -> None:
    z = np.random.default_rng(3).normal(size=(5, 3))
    expected = [
        stats.multivariate_normal.logpdf(x[i], model.weight @ z[i] + model.bias, 0.49 * np.eye(6))
        + stats.multivariate_normal.logpdf(z[i], np.zeros(3), np.eye(3))
        for i in range(5)
    ]
    np.testing.assert_allclose(model.log_joint(x, z), expected)


def test_closed_form_elbo_matches_monte_carlo(model: toy.LinearGaussian, x: np.ndarray) -> None:
    rng = np.random.default_rng(4)
    mean = rng.normal(size=(5, 3))
    cov = np.diag([0.3, 0.5, 0.2])
    z = mean + rng.standard_normal((100_000, 5, 3)) * np.sqrt(np.diag(cov))
    samples = model.log_joint(x, z) - stats.multivariate_normal.logpdf(z - mean, np.zeros(3), cov)
    stderr = samples.std(0) / np.sqrt(len(z))
    assert np.all(np.abs(samples.mean(0) - model.elbo(x, mean, cov)) < 4 * stderr)


def test_elbo_gap_is_kl_to_posterior(model: toy.LinearGaussian, x: np.ndarray) -> None:
    rng = np.random.default_rng(5)
    post_mean, post_cov = model.posterior(x)
    for _ in range(20):
        mean = post_mean + rng.normal(size=post_mean.shape)
        factor = rng.normal(size=(3, 3))
        cov = factor @ factor.T + 0.1 * np.eye(3)
        elbo = model.elbo(x, mean, cov)
        assert np.all(elbo <= model.log_marginal(x))
        kl = toy.gaussian_kl_full(mean, cov, post_mean, post_cov)
        np.testing.assert_allclose(model.log_marginal(x) - elbo, kl, rtol=1e-8)
    np.testing.assert_allclose(model.elbo(x, post_mean, post_cov), model.log_marginal(x))


def test_full_kl_reduces_to_the_diagonal_closed_form() -> None:
    rng = np.random.default_rng(6)
    mean, log_var = rng.normal(size=(4, 3)), rng.normal(size=(1, 3))
    full = toy.gaussian_kl_full(mean, np.diag(np.exp(log_var[0])), np.zeros(3), np.eye(3))
    diag = ops.convert_to_numpy(vae.gaussian_kl(mean, np.repeat(log_var, 4, axis=0)))
    np.testing.assert_allclose(full, diag, rtol=1e-6)


def test_importance_weighted_bound_converges_to_log_px(model: toy.LinearGaussian) -> None:
    """With a proposal broader than the posterior, L_k climbs to the exact log p(x)."""
    rng = np.random.default_rng(7)
    x = model.sample(20, rng)[0]
    post_mean, post_cov = model.posterior(x)
    std = 2.0 * np.sqrt(np.diag(post_cov))
    k_max = 20_000
    z = post_mean + 0.3 + std * rng.standard_normal((k_max, 20, 3))
    log_q = stats.norm.logpdf(z, post_mean + 0.3, std).sum(-1)
    log_w = model.log_joint(x, z) - log_q  # (k, 20)
    gaps = [
        np.mean(model.log_marginal(x) - (special.logsumexp(log_w[:k], 0) - np.log(k)))
        for k in (1, 10, 100, 1000, k_max)
    ]
    assert gaps[0] > 1.0  # the ELBO of this proposal is far from tight
    assert abs(gaps[1]) < gaps[0] / 10
    assert abs(gaps[3]) < 0.05 and abs(gaps[-1]) < 0.02


def test_random_model_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="latent_dim"):
        toy.LinearGaussian.random(data_dim=3, latent_dim=0)
    with pytest.raises(ValueError, match="noise_std"):
        toy.LinearGaussian.random(data_dim=3, latent_dim=1, noise_std=0.0)
