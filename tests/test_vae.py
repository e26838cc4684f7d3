"""vaegan_utils.vae: loss terms against independent oracles, estimators against exact answers."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops
from scipy import integrate, special, stats

from vaegan_utils import toy, vae


def to_numpy(tensor) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(tensor), dtype=np.float64)


# -------------------------------------------------------------------------------- loss terms


def test_gaussian_kl_matches_monte_carlo() -> None:
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(1, 4))
    log_var = rng.normal(scale=0.7, size=(1, 4))
    closed = to_numpy(vae.gaussian_kl(mean, log_var))[0]
    z = mean + np.exp(0.5 * log_var) * rng.standard_normal((200_000, 4))
    log_ratio = stats.norm.logpdf(z, mean, np.exp(0.5 * log_var)).sum(1) - stats.norm.logpdf(z).sum(
        1
    )
    stderr = log_ratio.std() / np.sqrt(len(z))
    assert abs(log_ratio.mean() - closed) < 4 * stderr


@pytest.mark.parametrize(("mu", "log_var"), [(0.0, 0.0), (1.5, -1.0), (-0.3, 0.8)])
def test_gaussian_kl_matches_numerical_integration_in_1d(mu: float, log_var: float) -> None:
    sd = np.exp(0.5 * log_var)

    def integrand(z: float) -> float:
        q = stats.norm.pdf(z, mu, sd)
        return q * (stats.norm.logpdf(z, mu, sd) - stats.norm.logpdf(z))

    expected, _ = integrate.quad(integrand, mu - 12 * sd, mu + 12 * sd)
    closed = to_numpy(vae.gaussian_kl(np.array([[mu]]), np.array([[log_var]])))[0]
    assert closed == pytest.approx(expected, abs=1e-6)


def test_gaussian_kl_sums_over_latent_dims_per_example() -> None:
    mean = np.zeros((3, 5), np.float32)
    log_var = np.zeros((3, 5), np.float32)
    mean[1, :] = 1.0  # each dim contributes 0.5 * 1²
    kl = to_numpy(vae.gaussian_kl(mean, log_var))
    assert kl.shape == (3,)
    np.testing.assert_allclose(kl, [0.0, 2.5, 0.0], atol=1e-6)


def test_bernoulli_nll_is_summed_cross_entropy_per_image() -> None:
    rng = np.random.default_rng(1)
    x = rng.random((4, 28, 28)).astype(np.float32)
    logits = rng.normal(scale=3.0, size=(4, 28, 28)).astype(np.float32)
    p = special.expit(logits.astype(np.float64))
    expected = -(x * np.log(p) + (1 - x) * np.log1p(-p)).reshape(4, -1).sum(1)
    nll = to_numpy(vae.bernoulli_nll(x, logits))
    assert nll.shape == (4,)
    np.testing.assert_allclose(nll, expected, rtol=1e-5)
    # Keras' binary cross-entropy *averages* over the last axis, (4, 28, 28) -> (4, 28).
    keras_bce = to_numpy(keras.losses.binary_crossentropy(x, logits, from_logits=True))
    np.testing.assert_allclose(nll, keras_bce.sum(1) * 28, rtol=1e-4)


def test_bernoulli_nll_is_stable_for_large_logits() -> None:
    x = np.array([[1.0, 0.0]], np.float32)
    logits = np.array([[200.0, -200.0]], np.float32)
    assert to_numpy(vae.bernoulli_nll(x, logits))[0] == pytest.approx(0.0, abs=1e-6)
    wrong = to_numpy(vae.bernoulli_nll(1 - x, logits))[0]
    assert wrong == pytest.approx(400.0, rel=1e-5)


def test_diag_gaussian_log_prob_matches_scipy() -> None:
    rng = np.random.default_rng(2)
    z, mean = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    log_var = rng.normal(scale=0.5, size=(6, 3))
    expected = [
        stats.multivariate_normal.logpdf(z[i], mean[i], np.diag(np.exp(log_var[i])))
        for i in range(6)
    ]
    np.testing.assert_allclose(to_numpy(vae.diag_gaussian_log_prob(z, mean, log_var)), expected)


# -------------------------------------------------------------------------------- layers, models


def test_sampling_layer_has_the_requested_moments() -> None:
    mean = np.full((50_000, 2), [1.0, -2.0], np.float32)
    log_var = np.full((50_000, 2), [0.0, np.log(4.0)], np.float32)
    z = to_numpy(vae.Sampling(seed=0)(mean, log_var))
    np.testing.assert_allclose(z.mean(0), [1.0, -2.0], atol=0.03)
    np.testing.assert_allclose(z.std(0), [1.0, 2.0], rtol=0.02)


def test_model_shapes() -> None:
    encoder, decoder = vae.build_encoder(7), vae.build_decoder(7)
    mean, log_var = encoder(np.zeros((5, 28, 28), np.float32))
    assert tuple(mean.shape) == (5, 7) and tuple(log_var.shape) == (5, 7)
    assert tuple(decoder(np.zeros((5, 7), np.float32)).shape) == (5, 28, 28)


@pytest.mark.parametrize("latent_dim", [0, -2, 2.0])
def test_model_builders_reject_bad_latent_dims(latent_dim) -> None:
    with pytest.raises(ValueError, match="latent_dim"):
        vae.build_encoder(latent_dim)
    with pytest.raises(ValueError, match="latent_dim"):
        vae.build_decoder(latent_dim)


# -------------------------------------------------------------------------------- estimators


def _one_dim_model(scale: np.ndarray, offset: np.ndarray, log_var_q: float):
    """Encoder q(z|x) = N(0, exp(log_var_q)); decoder logits = scale * z + offset (1-D latent)."""
    images = keras.Input(shape=(28, 28))
    flat = keras.layers.Flatten()(images)
    zero = keras.layers.Lambda(lambda t: 0.0 * t[:, :1])(flat)
    encoder = keras.Model(images, [zero, zero + log_var_q])
    z = keras.Input(shape=(1,))
    logits = keras.layers.Lambda(
        lambda t: ops.reshape(t * scale.reshape(1, -1) + offset.reshape(1, -1), (-1, 28, 28))
    )(z)
    return encoder, keras.Model(z, logits)


def _exact_log_px(x: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> float:
    """log ∫ N(z; 0, 1) Π_i Bern(x_i; σ(scale_i z + offset_i)) dz by quadrature."""

    def log_integrand(z: float) -> float:
        logits = scale * z + offset
        log_lik = np.sum(x * -np.logaddexp(0, -logits) + (1 - x) * -np.logaddexp(0, logits))
        return log_lik + stats.norm.logpdf(z)

    grid = np.linspace(-10, 10, 20_001)
    values = np.array([log_integrand(z) for z in grid])
    peak = values.max()
    return peak + np.log(integrate.trapezoid(np.exp(values - peak), grid))


def test_iwae_converges_to_the_exact_log_likelihood() -> None:
    rng = np.random.default_rng(3)
    scale = (0.25 * rng.standard_normal(784)).astype(np.float32)
    offset = rng.normal(size=784).astype(np.float32)
    x = (rng.random((2, 28, 28)) < 0.5).astype(np.float32)
    encoder, decoder = _one_dim_model(scale, offset, log_var_q=float(np.log(0.5)))
    exact = np.array([_exact_log_px(image.ravel(), scale, offset) for image in x])
    elbo = vae.elbo_terms(encoder, decoder, np.repeat(x, 500, axis=0), batch_size=1000)
    k1 = exact.mean() + elbo["neg_elbo"]  # the ELBO's gap, averaged over 500 draws
    nll = vae.iwae_nll(encoder, decoder, x, k=5000, batch_size=2, chunk=1000)
    gap = nll + exact
    assert k1 > 1.0  # a poor q: the ELBO is more than a nat below log p(x)
    assert np.all(gap > -0.05) and np.all(gap < 0.1 * k1)


def test_iwae_equals_likelihood_when_decoder_ignores_z() -> None:
    offset = np.linspace(-2, 2, 784).astype(np.float32)
    encoder, decoder = _one_dim_model(np.zeros(784, np.float32), offset, log_var_q=0.0)
    x = (np.random.default_rng(4).random((3, 28, 28)) < 0.5).astype(np.float32)
    exact = -to_numpy(vae.bernoulli_nll(x, np.broadcast_to(offset.reshape(28, 28), x.shape)))
    np.testing.assert_allclose(vae.iwae_nll(encoder, decoder, x, k=7, chunk=3), -exact, rtol=1e-5)
    terms = vae.elbo_terms(encoder, decoder, x)
    assert terms["kl"] == pytest.approx(0.0, abs=1e-6)
    assert terms["neg_elbo"] == pytest.approx(-exact.mean(), rel=1e-5)


def test_iwae_rejects_bad_k() -> None:
    encoder, decoder = _one_dim_model(np.zeros(784, np.float32), np.zeros(784, np.float32), 0.0)
    with pytest.raises(ValueError, match="k must"):
        vae.iwae_nll(encoder, decoder, np.zeros((1, 28, 28), np.float32), k=0)


def test_active_units_counts_dimensions_that_vary() -> None:
    images = keras.Input(shape=(28, 28))
    flat = keras.layers.Flatten()(images)
    # Three dimensions follow the image, two are constant.
    mean = keras.layers.Lambda(lambda t: ops.concatenate([t[:, :3], 0.0 * t[:, :2]], axis=1))(flat)
    encoder = keras.Model(images, [mean, mean])
    x = np.random.default_rng(5).random((200, 28, 28)).astype(np.float32)
    assert vae.active_units(encoder, x) == 3


def bound_curve_problems(means, stderrs, log_px, z: float = 3.0) -> list[str]:
    """Why an estimated L_k curve is not a valid importance-weighted bound curve: it must stay
    below log p(x) and never fall as k grows, both within ``z`` standard errors."""
    means, stderrs = np.asarray(means), np.asarray(stderrs)
    problems = [
        f"L_{i} = {m:.4f} above log p(x) = {log_px:.4f}"
        for i, (m, s) in enumerate(zip(means, stderrs, strict=True))
        if m > log_px + z * s
    ]
    problems += [
        f"L falls from index {i} to {i + 1}"
        for i in range(len(means) - 1)
        if means[i + 1] < means[i] - z * np.hypot(stderrs[i], stderrs[i + 1])
    ]
    return problems


def _toy_log_weights(n: int, rng: np.random.Generator):
    """log p(x, z) - log q(z) of chapter 01's toy: the mean-field q of a correlated posterior."""
    model = toy.LinearGaussian.random(data_dim=10, latent_dim=2, noise_std=0.5, seed=0)
    x, _ = model.sample(100, np.random.default_rng(0))
    mean, cov = model.posterior(x)
    std = np.sqrt(1.0 / np.diag(np.linalg.inv(cov)))  # mean-field q
    eps = rng.standard_normal((n, *mean.shape))  # (n, 100, 2)
    z = mean + std * eps
    log_q = -0.5 * np.sum(np.log(2 * np.pi * std**2) + eps**2, axis=-1)
    return model.log_joint(x, z) - log_q, float(model.log_marginal(x).mean())


def test_grouped_iwae_curve_is_a_valid_bound_and_the_single_draw_is_not() -> None:
    ks = [1, 4, 16, 64, 256, 1024]
    rng = np.random.default_rng(1)
    means, stderrs = [], []
    for k in ks:  # fresh, independent samples for every k
        log_w, log_px = _toy_log_weights(64 * 1024 // 4, rng)
        per_group = vae.grouped_log_mean_exp(log_w, k).mean(axis=1)  # (groups,): mean over x
        means.append(per_group.mean())
        stderrs.append(per_group.std(ddof=1) / np.sqrt(len(per_group)))
    assert bound_curve_problems(means, stderrs, log_px) == []
    assert means[-1] > means[0]  # it tightens
    # The control: one draw with nested prefixes, the old estimate. Over 10 draws its noise,
    # with no error bars, crosses log p(x) or dips as k grows.
    failures = 0
    for seed in range(10):
        log_w, log_px = _toy_log_weights(1024, np.random.default_rng(seed))
        nested = [vae.grouped_log_mean_exp(log_w[:k], k)[0].mean() for k in ks]
        failures += bool(bound_curve_problems(nested, np.zeros(len(ks)), log_px))
    assert failures >= 5


def test_grouped_log_mean_exp_against_a_direct_sum() -> None:
    log_w = np.random.default_rng(0).normal(size=(10, 3)) * 5
    groups = vae.grouped_log_mean_exp(log_w, 4)  # 2 groups; the last 2 samples are dropped
    expected = np.log(np.exp(log_w[:8]).reshape(2, 4, 3).mean(axis=1))
    np.testing.assert_allclose(groups, expected)
    with pytest.raises(ValueError, match="k"):
        vae.grouped_log_mean_exp(log_w, 11)


def test_nll_from_gain_is_unbiased_and_its_standard_error_calibrated() -> None:
    """Oracle: a synthetic test set with known per-image log p(x). Each repetition draws a
    random subset for the gain and one noisy ELBO per image; over repetitions the estimate
    centres on the true mean and its spread matches the reported standard error."""
    rng = np.random.default_rng(0)
    n, m, repetitions = 2000, 100, 400
    log_px = -rng.gamma(20.0, 4.5, size=n)  # true log p(x), about -90 nats
    gap = rng.gamma(2.0, 2.5, size=n)  # log p(x) - ELBO, varies by image
    noise = 15.0  # per-image Monte Carlo sd of a one-sample ELBO (as large as the gain term)
    estimates, errors, variances = [], [], []
    for _ in range(repetitions):
        one_sample = log_px - gap + noise * rng.standard_normal(n)
        subset = rng.choice(n, m, replace=False)
        gain = gap[subset] + 0.3 * rng.standard_normal(m)  # L_k - L_1 with a little noise
        draws = [log_px[subset] - gap[subset] + noise * rng.standard_normal(m) for _ in "ab"]
        variance = vae.two_draw_variance(*draws)
        variances.append(variance)
        estimate, stderr = vae.nll_from_gain(float(-one_sample.mean()), n, gain, variance)
        estimates.append(estimate)
        errors.append(stderr)
    estimates = np.array(estimates)
    truth = -log_px.mean()
    assert np.mean(variances) == pytest.approx(noise**2, rel=0.05)  # E[(a - b)^2] / 2
    # unbiased: within 4 standard errors of the mean over repetitions
    assert abs(estimates.mean() - truth) < 4 * estimates.std(ddof=1) / np.sqrt(repetitions)
    # calibrated: the reported error matches the observed spread within 15%
    assert np.mean(errors) == pytest.approx(estimates.std(ddof=1), rel=0.15)


def test_nll_from_gain_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="gain"):
        vae.nll_from_gain(90.0, 100, np.array([1.0]), 1.0)
    with pytest.raises(ValueError, match="n_images"):
        vae.nll_from_gain(90.0, 1, np.array([1.0, 2.0]), 1.0)
    with pytest.raises(ValueError, match="two draws"):
        vae.two_draw_variance(np.ones(3), np.ones(4))
