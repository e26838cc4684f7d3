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
# # The ELBO, derived and checked
#
# A variational autoencoder {cite:p}`kingma2013autoencoding` is trained by maximising the *evidence
# lower bound* (ELBO) on $\log p(x)$. This chapter derives the ELBO two ways, the closed-form KL term
# and the reparameterisation trick that the VAE of the next chapter uses, and then checks every step
# numerically on a small linear-Gaussian model in which $\log p(x)$ and the posterior are known
# exactly. Nothing here is trained: it runs in seconds.

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
quick = False  # True: fewer Monte Carlo samples, for CI
seed = 0
output_dir = "outputs/01_elbo"

# %%
import matplotlib.pyplot as plt
import numpy as np
from keras import ops

from vaegan_utils import runtime, toy, vae

runtime.configure_logging()
out = runtime.output_dir(output_dir)
n_mc = 20_000 if quick else 200_000  # Monte Carlo samples for the KL check
max_k = 256 if quick else 4096  # largest number of importance samples
print(runtime.run_card(seed=seed, quick=quick))

# %% [markdown]
# ## The problem
#
# A latent variable model draws a code $z \sim p(z)$ and then an observation $x \sim p_\theta(x \mid z)$.
# Learning $\theta$ by maximum likelihood needs the *evidence*
#
# $$
# \log p_\theta(x) = \log \int p_\theta(x \mid z)\, p(z)\, dz ,
# $$ (evidence)
#
# an integral over all codes that has no closed form once $p_\theta(x \mid z)$ is a neural network.
# Variational inference replaces it by a bound that can be estimated with samples from an
# *approximate posterior* $q_\phi(z \mid x)$ — in a VAE, the encoder.
#
# ## Derivation 1: Jensen's inequality
#
# Multiply and divide by $q_\phi(z \mid x)$ inside the integral, then use that $\log$ is concave:
#
# $$
# \log p_\theta(x)
#   = \log \mathbb{E}_{q_\phi(z \mid x)}\!\left[\frac{p_\theta(x, z)}{q_\phi(z \mid x)}\right]
#   \;\ge\; \mathbb{E}_{q_\phi(z \mid x)}\!\left[\log p_\theta(x, z) - \log q_\phi(z \mid x)\right]
#   =: \mathcal{L}(\theta, \phi; x).
# $$ (elbo)
#
# Splitting $p_\theta(x, z) = p_\theta(x \mid z)\,p(z)$ gives the form a VAE optimises, a
# reconstruction term minus a KL term:
#
# $$
# \mathcal{L}(\theta, \phi; x)
#   = \mathbb{E}_{q_\phi(z \mid x)}\!\left[\log p_\theta(x \mid z)\right]
#   - \mathrm{KL}\!\left(q_\phi(z \mid x) \,\|\, p(z)\right).
# $$ (elbo-split)
#
# ## Derivation 2: the gap is a KL divergence
#
# Jensen says *that* there is a gap, not *how big* it is. Write $p_\theta(x, z) = p_\theta(z \mid x)\,
# p_\theta(x)$ inside {eq}`elbo`; $\log p_\theta(x)$ does not depend on $z$ and leaves the expectation:
#
# $$
# \log p_\theta(x) = \mathcal{L}(\theta, \phi; x)
#   + \mathrm{KL}\!\left(q_\phi(z \mid x) \,\|\, p_\theta(z \mid x)\right).
# $$ (elbo-gap)
#
# So the ELBO is tight exactly when $q_\phi(z \mid x)$ equals the true posterior, and maximising it
# over $\phi$ is posterior inference, while maximising over $\theta$ pushes up the likelihood.
#
# ## The KL term in closed form
#
# With $q_\phi(z \mid x) = \mathcal{N}(\mu, \operatorname{diag}\sigma^2)$ and $p(z) = \mathcal{N}(0, I)$
# over $d$ latent dimensions, the KL term needs no sampling:
#
# $$
# \mathrm{KL}\!\left(\mathcal{N}(\mu, \operatorname{diag}\sigma^2) \,\|\, \mathcal{N}(0, I)\right)
#   = \frac{1}{2} \sum_{j=1}^{d} \left(\mu_j^2 + \sigma_j^2 - 1 - \log \sigma_j^2\right).
# $$ (kl-closed-form)
#
# The encoder outputs $\log \sigma^2$ rather than $\sigma$, so that any real output is valid. This is
# the function the VAE chapter trains with; it sums over latent dimensions and returns one value per
# image:

# %%
runtime.show_source(vae.gaussian_kl)

# %% [markdown]
# ## The reparameterisation trick
#
# The reconstruction term of {eq}`elbo-split` is an expectation under $q_\phi$, and its gradient with
# respect to $\phi$ cannot be taken through a sampling step. Writing the sample as a deterministic,
# differentiable function of $\phi$ and of noise that does not depend on $\phi$,
#
# $$
# z = \mu_\phi(x) + \sigma_\phi(x) \odot \varepsilon, \qquad \varepsilon \sim \mathcal{N}(0, I),
# $$ (reparam)
#
# moves $\phi$ inside the expectation:
# $\nabla_\phi \mathbb{E}_{q_\phi}[f(z)] = \mathbb{E}_{\varepsilon}[\nabla_\phi f(\mu_\phi + \sigma_\phi \odot \varepsilon)]$.
# The alternative, the *score-function* (REINFORCE) estimator
# $\mathbb{E}_{q_\phi}[f(z)\, \nabla_\phi \log q_\phi(z)]$, is also unbiased but, as we will measure,
# far noisier.
#
# ## Checking it all on a model with exact answers
#
# In the linear-Gaussian model $z \sim \mathcal{N}(0, I_d)$, $x \mid z \sim \mathcal{N}(Wz + b, \sigma^2 I_D)$,
# the evidence $p(x) = \mathcal{N}(b, WW^\top + \sigma^2 I)$ and the posterior $p(z \mid x)$ are
# Gaussian in closed form, and so is the ELBO of any Gaussian $q$. We take $D = 10$, $d = 2$ and
# draw 100 observations.

# %%
model = toy.LinearGaussian.random(data_dim=10, latent_dim=2, noise_std=0.5, seed=seed)
rng = np.random.default_rng(seed)
x, _ = model.sample(100, rng)  # (100, 10)
log_px = model.log_marginal(x)  # exact log p(x), (100,)
post_mean, post_cov = model.posterior(x)  # (100, 2), (2, 2)

# %% [markdown]
# ### The ELBO is a lower bound, and its gap is the KL to the posterior
#
# For 1,000 random Gaussians $q$ (random means and random full covariances) and every observation,
# we compare the closed-form ELBO with the exact $\log p(x)$ and the gap with
# $\mathrm{KL}(q \,\|\, p(z \mid x))$, equation {eq}`elbo-gap`. Then we set $q$ to the posterior.

# %% tags=["nbval-check-output"]
violations, identity_error = 0, 0.0
for _ in range(1000):
    mean = post_mean + rng.normal(scale=1.0, size=post_mean.shape)
    factor = rng.normal(size=(2, 2))
    cov = factor @ factor.T + 0.05 * np.eye(2)
    elbo = model.elbo(x, mean, cov)
    kl_to_posterior = toy.gaussian_kl_full(mean, cov, post_mean, post_cov)
    violations += int(np.sum(elbo > log_px))
    identity_error = max(identity_error, float(np.max(np.abs(log_px - elbo - kl_to_posterior))))
tight_gap = float(np.max(np.abs(log_px - model.elbo(x, post_mean, post_cov))))
print(f"ELBO > log p(x) in {violations} of 100,000 cases")
print(f"largest |log p(x) - ELBO - KL(q || posterior)|: {identity_error:.1e}")
print(f"largest gap with q = posterior: {tight_gap:.1e}")
runtime.glue("identity_error", f"{identity_error:.0e}")
runtime.glue("tight_gap", f"{tight_gap:.0e}")

# %% [markdown]
# The bound held in every case, the gap matched the KL divergence to within
# {glue:}`identity_error` nats (floating-point round-off), and with $q$ equal to the posterior the gap
# vanished to {glue:}`tight_gap` nats.
#
# ### Closed-form KL against Monte Carlo
#
# The closed form {eq}`kl-closed-form` must agree with a Monte Carlo average of
# $\log q(z) - \log p(z)$ over samples $z \sim q$. The error of the average shrinks like
# $1/\sqrt{n}$:

# %%
mu = rng.normal(size=(1, 5))
log_var = rng.normal(scale=0.5, size=(1, 5))
kl_exact = float(ops.convert_to_numpy(vae.gaussian_kl(mu, log_var))[0])
z = mu + np.exp(0.5 * log_var) * rng.standard_normal((n_mc, 5))  # (n_mc, 5)
log_ratio = ops.convert_to_numpy(
    vae.diag_gaussian_log_prob(z, mu, log_var) - vae.diag_gaussian_log_prob(z, 0.0, 0.0 * z)
)
sizes = np.unique(np.geomspace(10, n_mc, 30).astype(int))
running = np.cumsum(log_ratio) / np.arange(1, n_mc + 1)
kl_mc = float(running[-1])
kl_mc_stderr = float(log_ratio.std() / np.sqrt(n_mc))

fig, ax = plt.subplots(figsize=(5, 3))
ax.loglog(sizes, np.abs(running[sizes - 1] - kl_exact), ".", label="|Monte Carlo − closed form|")
ax.loglog(sizes, log_ratio.std() / np.sqrt(sizes), "--", label=r"one standard error, $\propto 1/\sqrt{n}$")
ax.set(xlabel="samples n", ylabel="nats")
ax.legend(fontsize="small")
plt.show()

# %% tags=["nbval-check-output"]
print(f"closed form: {kl_exact:.4f} nats")
print(f"Monte Carlo: {kl_mc:.4f} ± {kl_mc_stderr:.4f} nats ({n_mc:,} samples)")
runtime.glue("kl_exact", f"{kl_exact:.3f}")
runtime.glue("kl_mc", f"{kl_mc:.3f} ± {kl_mc_stderr:.3f}")

# %% [markdown]
# Closed form {glue:}`kl_exact` nats, Monte Carlo {glue:}`kl_mc` nats: the two agree within the
# Monte Carlo error.
#
# ### The importance-weighted bound tightens as $k$ grows
#
# Averaging $k$ importance weights inside the logarithm gives a family of bounds
# {cite:p}`burda2015importance`,
#
# $$
# \mathcal{L}_k = \mathbb{E}\left[\log \frac{1}{k} \sum_{i=1}^{k}
#   \frac{p_\theta(x, z_i)}{q_\phi(z_i \mid x)}\right], \qquad z_i \sim q_\phi(z \mid x),
# $$ (iwae)
#
# with $\mathcal{L}_1$ the ELBO and $\mathcal{L}_k \to \log p_\theta(x)$ as $k \to \infty$. The VAE
# chapter uses it to *estimate* $\log p(x)$. Here $q$ is the best *diagonal* Gaussian (mean-field)
# approximation of the correlated posterior, so even the optimal ELBO has a gap.

# %%
mf_var = 1.0 / np.diag(np.linalg.inv(post_cov))  # mean-field variances: 1 / diagonal of precision
mf_log_var = np.broadcast_to(np.log(mf_var), post_mean.shape)  # (100, 2)
ks = 2 ** np.arange(0, int(np.log2(max_k)) + 1)
z = post_mean + np.sqrt(mf_var) * rng.standard_normal((max_k, *post_mean.shape))  # (k, 100, 2)
log_w = model.log_joint(x, z) - ops.convert_to_numpy(
    vae.diag_gaussian_log_prob(z, post_mean, mf_log_var)
)  # (k, 100)
iwae_bounds = np.array([ops.convert_to_numpy(vae.log_mean_exp(log_w[:k], axis=0)).mean() for k in ks])
elbo_mf = model.elbo(x, post_mean, np.diag(mf_var)).mean()

fig, ax = plt.subplots(figsize=(5, 3))
ax.semilogx(ks, iwae_bounds, "o-", label=r"$\mathcal{L}_k$ (one draw of $k$ samples)")
ax.axhline(log_px.mean(), color="black", linestyle="--", label=r"exact $\log p(x)$")
ax.axhline(elbo_mf, color="tab:red", linestyle=":", label="ELBO, closed form")
ax.set(xlabel="importance samples k", ylabel="nats (mean over 100 x)")
ax.legend(fontsize="small")
plt.show()

# %% tags=["nbval-check-output"]
print(f"exact log p(x): {log_px.mean():.3f}")
print(f"ELBO (mean-field q): {elbo_mf:.3f}")
for k, bound in zip(ks[::3], iwae_bounds[::3], strict=True):
    print(f"L_{k:<5d} {bound:.3f}")
runtime.glue("iwae_gap_k1", f"{log_px.mean() - iwae_bounds[0]:.2f}")
runtime.glue("iwae_gap_kmax", f"{log_px.mean() - iwae_bounds[-1]:.3f}")
runtime.glue("iwae_kmax", f"{ks[-1]:,}")

# %% [markdown]
# With one sample the bound sits {glue:}`iwae_gap_k1` nats below $\log p(x)$; with
# {glue:}`iwae_kmax` samples the gap is down to {glue:}`iwae_gap_kmax` nats.
#
# ### Reparameterised against score-function gradients
#
# Both estimators of $\nabla_\mu \mathcal{L}$ are unbiased; what differs is their variance. For a
# diagonal Gaussian $q$ with mean $\mu$ and standard deviations $s$, one sample $z = \mu + s\odot\varepsilon$
# gives
#
# - reparameterised: $\nabla_z \log p(x, z)$ (the entropy of $q$ does not depend on $\mu$);
# - score function: $\big(\log p(x, z) - \log q(z)\big)\,(z - \mu)/s^2$.
#
# The exact gradient is known here, $\nabla_\mu \mathcal{L} = -\mu + W^\top(x - W\mu - b)/\sigma^2$.
# We compare single-sample estimates for one observation, then the variance as the latent dimension
# grows.

# %%
def gradient_estimates(model, x, mean, std, n, rng):
    """Single-sample reparameterised and score-function estimates of the ELBO's gradient in mean."""
    eps = rng.standard_normal((n, model.latent_dim))  # (n, d)
    z = mean + std * eps
    residual = x - z @ model.weight.T - model.bias  # (n, D)
    reparam = -z + residual @ model.weight / model.noise_std**2  # ∇_z log p(x, z), (n, d)
    log_q = -0.5 * np.sum(np.log(2 * np.pi * std**2) + eps**2, axis=1)
    f = model.log_joint(x[None], z[:, None])[:, 0] - log_q  # (n,)
    score = f[:, None] * (z - mean) / std**2  # (n, d)
    exact = -mean + (x - mean @ model.weight.T - model.bias) @ model.weight / model.noise_std**2
    return reparam, score, exact


def relative_variance(model, rng, n=20_000):
    """Per-sample variance of each estimator, summed over coordinates, over ‖exact gradient‖²."""
    x1, _ = model.sample(1, rng)
    mean1, cov1 = model.posterior(x1)
    std1 = np.sqrt(np.diag(cov1))
    reparam, score, exact = gradient_estimates(model, x1[0], mean1[0] + 0.5, std1, n, rng)
    norm = np.sum(exact**2)
    return reparam.var(axis=0).sum() / norm, score.var(axis=0).sum() / norm


x1 = x[0]
std1 = np.sqrt(np.diag(post_cov))
reparam, score, exact = gradient_estimates(model, x1, post_mean[0] + 0.5, std1, 5000, rng)
dims = [1, 2, 5, 10, 20, 50]
ratios = np.array(
    [relative_variance(toy.LinearGaussian.random(2 * d, d, 0.5, seed=seed + d), rng) for d in dims]
)  # (len(dims), 2)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
bins = np.linspace(*np.percentile(score[:, 0], [1, 99]), 60)
left.hist(score[:, 0], bins=bins, alpha=0.6, label="score function")
left.hist(reparam[:, 0], bins=bins, alpha=0.8, label="reparameterised")
left.axvline(exact[0], color="black", linestyle="--", label="exact")
left.set(xlabel=r"single-sample estimate of $\partial\mathcal{L}/\partial\mu_1$", ylabel="count")
left.legend(fontsize="small")
right.semilogy(dims, ratios[:, 1], "o-", label="score function")
right.semilogy(dims, ratios[:, 0], "o-", label="reparameterised")
right.set(xlabel="latent dimension d", ylabel="variance / ‖gradient‖²")
right.legend(fontsize="small")
fig.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
print("mean of estimates (reparam, score, exact), first coordinate:")
print(f"  {reparam[:, 0].mean():.2f}, {score[:, 0].mean():.2f}, {exact[0]:.2f}")
variance_ratio = ratios[:, 1] / ratios[:, 0]
for d, ratio in zip(dims, variance_ratio, strict=True):
    print(f"d = {d:2d}: score-function variance is {ratio:,.0f}x the reparameterised one")
runtime.glue("variance_ratio_min", f"{variance_ratio.min():,.0f}")
runtime.glue("variance_ratio_max", f"{variance_ratio.max():,.0f}")

# %% [markdown]
# Both estimators centre on the exact gradient, but the score-function estimator's variance was
# {glue:}`variance_ratio_min` to {glue:}`variance_ratio_max` times larger over the dimensions tried:
# it would need that many more samples for the same precision. This is why VAEs sample with
# {eq}`reparam`.

# %%
metrics = {
    "elbo_violations": violations,
    "gap_identity_max_error": identity_error,
    "tight_gap": tight_gap,
    "kl_closed_form": kl_exact,
    "kl_monte_carlo": kl_mc,
    "kl_monte_carlo_stderr": kl_mc_stderr,
    "log_px": float(log_px.mean()),
    "elbo_mean_field": float(elbo_mf),
    "iwae_ks": ks,
    "iwae_bounds": iwae_bounds,
    "variance_dims": dims,
    "variance_ratio": variance_ratio,
}
print(runtime.save_metrics(out / "metrics.json", metrics))

# %% [markdown]
# ## Summary
#
# - The ELBO {eq}`elbo` is a lower bound on $\log p(x)$ by Jensen's inequality; its gap is exactly
#   $\mathrm{KL}(q \,\|\, p(z \mid x))$ {eq}`elbo-gap`, verified here to round-off.
# - For a diagonal Gaussian encoder and a standard normal prior the KL term has the closed form
#   {eq}`kl-closed-form`; no sampling is needed for it.
# - The importance-weighted bound {eq}`iwae` closes the gap as $k$ grows: it is how we will measure a
#   VAE's likelihood.
# - The reparameterisation trick {eq}`reparam` gives gradient estimates with orders of magnitude less
#   variance than the score-function estimator.
#
# ## Exercises
#
# 1. Show that $\mathcal{L}_k \le \mathcal{L}_{k+1}$ (hint: the average of $k+1$ weights is an average
#    of averages of $k$ of them).
# 2. Subtract a constant baseline $c$ from $f$ in the score-function estimator. Show it stays
#    unbiased, and find the $c$ that minimises its variance here.
# 3. Make the toy posterior nearly uncorrelated (orthogonal columns of $W$). What happens to the
#    mean-field gap?
