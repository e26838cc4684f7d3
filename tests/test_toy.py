"""vaegan_utils.toy: the linear-Gaussian model against scipy and Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
from keras import ops
from scipy import stats

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


def test_full_kl_against_a_hand_computed_2d_case() -> None:
    """KL(q || p) for 2-D Gaussians, each term worked out by hand (d = 2).

    cov_p = [[2, 1], [1, 2]]: det 3, inverse [[2, -1], [-1, 2]] / 3. cov_q = diag(1, 2):
    det 2. trace(cov_p^-1 cov_q) = (2 * 1 + 2 * 2) / 3 = 2. For mean_q - mean_p = (1, 2)
    the Mahalanobis term is (2 + 8 - 4) / 3 = 2, for equal means 0. log det p - log det
    q = log 1.5. Hence KL = (2 + 2 - 2 + log 1.5) / 2 and (2 + 0 - 2 + log 1.5) / 2. The
    reverse KL(p || q) = 2 - log(1.5) / 2 differs, so swapped arguments are caught too.
    """
    cov_p = np.array([[2.0, 1.0], [1.0, 2.0]])
    cov_q = np.diag([1.0, 2.0])
    mean_q = np.array([[1.0, 2.0], [0.0, 0.0]])
    kl = toy.gaussian_kl_full(mean_q, cov_q, np.zeros(2), cov_p)
    expected = [1.0 + 0.5 * np.log(1.5), 0.5 * np.log(1.5)]
    np.testing.assert_allclose(kl, expected, rtol=1e-12)
    reverse = toy.gaussian_kl_full(np.zeros(2), cov_p, mean_q[0], cov_q)
    np.testing.assert_allclose(reverse, 2.0 - 0.5 * np.log(1.5), rtol=1e-12)


def test_full_kl_matches_monte_carlo() -> None:
    """KL(q || p) = E_q[log q(z) - log p(z)], estimated with scipy's densities."""
    rng = np.random.default_rng(8)
    n = 200_000
    for _ in range(3):
        a, b = rng.normal(size=(2, 3, 3))
        cov_q, cov_p = a @ a.T + 0.2 * np.eye(3), b @ b.T + 0.2 * np.eye(3)
        mean_q, mean_p = rng.normal(size=(2, 3))
        z = rng.multivariate_normal(mean_q, cov_q, size=n)
        log_q = stats.multivariate_normal.logpdf(z, mean_q, cov_q)
        samples = log_q - stats.multivariate_normal.logpdf(z, mean_p, cov_p)
        stderr = samples.std(ddof=1) / np.sqrt(n)
        kl = toy.gaussian_kl_full(mean_q, cov_q, mean_p, cov_p)
        assert abs(samples.mean() - kl) < 4 * stderr, (samples.mean(), kl, stderr)


def _proposal_log_weights(
    model: toy.LinearGaussian, x: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """log p(x, z) - log q(z) for ``n`` fresh z ~ q: a shifted, too broad diagonal q."""
    post_mean, post_cov = model.posterior(x)
    mean, std = post_mean + 0.3, 2.0 * np.sqrt(np.diag(post_cov))
    z = mean + std * rng.standard_normal((n, *post_mean.shape))
    log_q = stats.norm.logpdf(z, mean, std).sum(-1)
    return model.log_joint(x, z) - log_q  # (n, len(x))


def test_importance_weighted_bound_converges_to_log_px(
    model: toy.LinearGaussian,
) -> None:
    """L_k from independent groups stays below log p(x) and climbs to it as k grows."""
    rng = np.random.default_rng(7)
    x = model.sample(20, rng)[0]
    log_px = model.log_marginal(x).mean()
    post_mean, post_cov = model.posterior(x)
    elbo = model.elbo(x, post_mean + 0.3, 4.0 * np.diag(np.diag(post_cov))).mean()
    n, ks = 100_000, (1, 10, 100, 1000)
    gaps, stderrs = [], []
    for k in ks:  # fresh samples for every k, as in chapter 01
        groups = vae.grouped_log_mean_exp(_proposal_log_weights(model, x, n, rng), k)
        assert groups.shape == (n // k, len(x))  # n // k disjoint groups
        per_group = log_px - groups.mean(axis=1)  # (groups,): mean over the 20 x
        gaps.append(per_group.mean())
        stderrs.append(per_group.std(ddof=1) / np.sqrt(len(per_group)))
    gaps, stderrs = np.array(gaps), np.array(stderrs)
    # A bound: no estimate of L_k lies above log p(x) by more than 3 standard errors.
    assert np.all(gaps > -3 * stderrs), (gaps, stderrs)
    # L_1 is this proposal's ELBO, known in closed form, and far from tight.
    assert abs(gaps[0] - (log_px - elbo)) < 4 * stderrs[0]
    assert gaps[0] > 1.0
    # L_k increases in k: each gap is below the last by over 3 standard errors.
    assert np.all(np.diff(gaps) < -3 * np.hypot(stderrs[1:], stderrs[:-1])), gaps
    # ... and the gap closes: at k = 1000 it is within 0.01 nats of zero.
    assert gaps[-1] < 0.01 + 3 * stderrs[-1]


def test_random_model_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="latent_dim"):
        toy.LinearGaussian.random(data_dim=3, latent_dim=0)
    with pytest.raises(ValueError, match="noise_std"):
        toy.LinearGaussian.random(data_dim=3, latent_dim=1, noise_std=0.0)
