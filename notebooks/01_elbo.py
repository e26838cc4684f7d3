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

# the commit of the package this notebook's outputs were executed with
# (tools.notebooks writes it into the .ipynb)
PACKAGE_REF = "main"
REPOSITORY = "git+https://github.com/vaegan-book/vaegan-book"
PACKAGE = f"vaegan-utils @ {REPOSITORY}@{PACKAGE_REF}"
# Colab only: install the book's package at that commit, keep Colab's TF
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", PACKAGE], check=True)

# %% tags=["parameters"]
quick = False  # True: fewer Monte Carlo samples, for CI
seed = 0
output_dir = "outputs/01_elbo"

# %%
import matplotlib.pyplot as plt
import numpy as np
from keras import ops
from scipy import stats
from vaegan_utils import reporting, show, toy, vae

n_mc = 20_000 if quick else 200_000  # Monte Carlo samples for the KL check
max_k = 256 if quick else 4096  # largest number of importance samples
# importance samples spent on each L_k (in groups of k)
samples_per_k = 2**13 if quick else 2**17
# logging on, seeded, output directory made, run card printed; results: metrics.json
out, results = reporting.start(output_dir, seed=seed, quick=quick)

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
# **Derivation** {cite:p}`kingma2013autoencoding` (appendix B). Both distributions factorise over
# dimensions, so the KL is a sum of $d$ one-dimensional terms. In one dimension, with
# $q = \mathcal{N}(\mu, \sigma^2)$ and $p = \mathcal{N}(0, 1)$,
#
# $$
# \mathrm{KL}(q \,\|\, p) = \mathbb{E}_q[\log q(z)] - \mathbb{E}_q[\log p(z)].
# $$
#
# The first term is minus the entropy of a Gaussian:
# $\mathbb{E}_q[\log q(z)] = -\tfrac12\log(2\pi\sigma^2) - \tfrac12\,\mathbb{E}_q[(z-\mu)^2]/\sigma^2
# = -\tfrac12\log(2\pi\sigma^2) - \tfrac12$. The second needs only the second moment
# $\mathbb{E}_q[z^2] = \mu^2 + \sigma^2$: $\mathbb{E}_q[\log p(z)] = -\tfrac12\log(2\pi) - \tfrac12(\mu^2 +
# \sigma^2)$. Subtracting, the $\log 2\pi$ terms cancel and
# $\mathrm{KL} = \tfrac12(\mu^2 + \sigma^2 - 1 - \log\sigma^2)$, each dimension's share of
# {eq}`kl-closed-form`. It is zero exactly at $\mu = 0, \sigma = 1$, and it grows quadratically as a
# code moves away from the origin and logarithmically as $\sigma$ shrinks: the price of information.
#
# The encoder outputs $\log \sigma^2$ rather than $\sigma$, so that any real output is valid. This is
# the function the VAE chapter trains with; it sums over latent dimensions and returns one value per
# image:

# %%
show.source(vae.gaussian_kl)

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
# For {glue:}`n_random_q` random Gaussians $q$ (random means and random full covariances) and every
# observation, we compare the closed-form ELBO with the exact $\log p(x)$ and the gap with
# $\mathrm{KL}(q \,\|\, p(z \mid x))$, equation {eq}`elbo-gap`. Then we set $q$ to the posterior.

# %% tags=["nbval-check-output"]
n_random_q = 1000
violations, identity_error = 0, 0.0
for _ in range(n_random_q):
    mean = post_mean + rng.normal(scale=1.0, size=post_mean.shape)
    factor = rng.normal(size=(2, 2))
    cov = factor @ factor.T + 0.05 * np.eye(2)
    elbo = model.elbo(x, mean, cov)
    kl_to_posterior = toy.gaussian_kl_full(mean, cov, post_mean, post_cov)
    violations += int(np.sum(elbo > log_px))
    identity_error = max(
        identity_error, float(np.max(np.abs(log_px - elbo - kl_to_posterior)))
    )
tight_gap = float(np.max(np.abs(log_px - model.elbo(x, post_mean, post_cov))))
assert violations == 0 and identity_error < 1e-9 and tight_gap < 1e-9  # round-off only
print(f"ELBO > log p(x) in {violations} of {n_random_q * len(x):,} cases")
print("largest |log p(x) - ELBO - KL(q || posterior)| below 1e-9: True")
print("largest gap with q = posterior below 1e-9: True")

# %% tags=["remove-cell"]
results.add("n_random_q", n_random_q, "{:,}")
results.add("elbo_violations", violations, "{:,}")
results.add("n_cases", n_random_q * len(x), "{:,}")
results.add("identity_error", identity_error, "{:.0e}")
results.add("tight_gap", tight_gap, "{:.0e}")

# %% [markdown]
# The ELBO exceeded $\log p(x)$ in {glue:}`elbo_violations` of {glue:}`n_cases` cases, the gap matched
# the KL divergence to within
# {glue:}`identity_error` nats (floating-point round-off), and with $q$ equal to the posterior the gap
# vanished to {glue:}`tight_gap` nats.
#
# ### Fit $q$ yourself
#
# Here $q$ was handed to us. A VAE instead *learns* it, by climbing the ELBO with reparameterised
# gradients {eq}`reparam`. Do the same for one observation: a diagonal Gaussian
# $q(z) = \mathcal{N}(\mu, \mathrm{diag}(\sigma^2))$, $z = \mu + \sigma \odot \varepsilon$, the
# gradient of $\log p(x, z)$ through $z$, averaged over a few draws of $\varepsilon$ per step,
# plus the exact gradient of $q$'s entropy ($\sum_j \log \sigma_j$ plus a constant), which adds
# 1 to each $\log\sigma_j$'s gradient. The closed-form ELBO of the current $q$ is tracked as it
# climbs.


# %%
def fit_q(x_one, steps=300, n_draws=16, learning_rate=0.01, seed=seed):
    """Reparameterised gradient ascent on the ELBO of a diagonal Gaussian q for one x:
    the closed-form ELBO after every step, (steps,), and the final (mean, std)."""
    fit_rng = np.random.default_rng(seed + 1)  # its own stream: later cells keep theirs
    mean, log_std = np.zeros(model.latent_dim), np.zeros(model.latent_dim)
    curve = []
    for _ in range(steps):
        std = np.exp(log_std)
        eps = fit_rng.standard_normal((n_draws, model.latent_dim))  # (n_draws, d)
        z = mean + std * eps
        residual = x_one - z @ model.weight.T - model.bias  # (n_draws, D)
        grad_z = -z + residual @ model.weight / model.noise_std**2  # ∇_z log p(x, z)
        mean += learning_rate * grad_z.mean(axis=0)
        log_std += learning_rate * ((grad_z * eps).mean(axis=0) * std + 1.0)
        cov = np.diag(np.exp(2 * log_std))
        curve.append(model.elbo(x_one[None], mean[None], cov)[0])
    return np.array(curve), (mean, np.exp(log_std))


precision = np.linalg.inv(post_cov)  # the posterior's precision (the same for every x)
# Steps above 2 / (largest eigenvalue of the precision) diverge: try learning_rate=0.05.
print(
    f"2 / largest precision eigenvalue: {2 / np.linalg.eigvalsh(precision).max():.3f}"
)
curve, (fit_mean, fit_std) = fit_q(x[0])
best_diag = model.elbo(x[:1], post_mean[:1], np.diag(1 / np.diag(precision)))[0]
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(curve, label="ELBO of the fitted q")
ax.axhline(log_px[0], color="black", linestyle="--", label=r"exact $\log p(x)$")
ax.axhline(best_diag, color="tab:red", linestyle=":", label="best diagonal q")
ax.set(xlabel="gradient step", ylabel="nats", ylim=(curve[10] - 1, log_px[0] + 0.5))
ax.legend(fontsize="small")
plt.show()

# %% tags=["remove-cell"]
results.add("fit.final_gap", float(log_px[0] - curve[-1]), "{:.3f}")
results.add("fit.best_gap", float(log_px[0] - best_diag), "{:.3f}")
results.add("fit.to_best", float(best_diag - curve[-1]), "{:.3f}")
results.add("fit.mean_error", float(np.abs(fit_mean - post_mean[0]).max()), "{:.2f}")

# %% [markdown]
# At the end of the ascent the fitted $q$'s ELBO is {glue:}`fit.final_gap` nats below $\log p(x)$,
# {glue:}`fit.to_best` nats from the best any diagonal Gaussian can do, itself {glue:}`fit.best_gap`
# nats below: that part of the gap is the posterior's correlation, which a diagonal $q$ cannot hold
# (see "Why the best factorised $q$ is too narrow" below). Its mean lies within
# {glue:}`fit.mean_error` of the posterior mean in every coordinate. A VAE's encoder does this for
# every $x$ at once, with one network instead of one $(\mu, \sigma)$ per image.
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
    vae.diag_gaussian_log_prob(z, mu, log_var)
    - vae.diag_gaussian_log_prob(z, 0.0, 0.0 * z)
)
sizes = np.unique(np.geomspace(10, n_mc, 30).astype(int))
running = np.cumsum(log_ratio) / np.arange(1, n_mc + 1)
kl_mc = float(running[-1])
kl_mc_stderr = float(log_ratio.std(ddof=1) / np.sqrt(n_mc))
kl_z = (kl_mc - kl_exact) / kl_mc_stderr  # the discrepancy in standard errors

fig, ax = plt.subplots(figsize=(5, 3))
ax.loglog(
    sizes,
    np.abs(running[sizes - 1] - kl_exact),
    ".",
    label="|Monte Carlo − closed form|",
)
ax.loglog(
    sizes,
    log_ratio.std(ddof=1) / np.sqrt(sizes),
    "--",
    label=r"one standard error, $\propto 1/\sqrt{n}$",
)
ax.set(xlabel="samples n", ylabel="nats")
ax.legend(fontsize="small")
plt.show()

# %% tags=["nbval-check-output"]
print(f"closed form: {kl_exact:.4f} nats")
print(f"Monte Carlo: {kl_mc:.4f} ± {kl_mc_stderr:.4f} nats ({n_mc:,} samples)")
assert abs(kl_z) < 4, "closed form and Monte Carlo disagree"

# %% tags=["remove-cell"]
results.add("kl_exact", kl_exact, "{:.3f}")
results.add("kl_mc", kl_mc, f"{{:.3f}} ± {kl_mc_stderr:.3f}")
results.add("kl_mc_stderr", kl_mc_stderr, glue_it=False)
results.add("kl_z", abs(kl_z), "{:.1f}")

# %% [markdown]
# Closed form {glue:}`kl_exact` nats, Monte Carlo {glue:}`kl_mc` nats (± one standard error): they
# differ by {glue:}`kl_z` standard errors, what sampling noise alone produces (the notebook stops if
# the difference exceeds 4).
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
#
# $\mathcal{L}_k$ is an *expectation*, so it is estimated by an average: for each $k$ we draw fresh
# samples, split them into disjoint groups of $k$, compute $\log \frac1k\sum_i w_i$ in each group
# (averaged over the 100 observations) and average over the groups; the spread between groups gives a
# standard error. (Reading $\mathcal{L}_k$ off one draw of $k$ samples — or off the first $k$ of one
# long draw — gives one noisy value per $k$, which can wander above $\log p(x)$.)

# %% [markdown]
# ### Why the best factorised $q$ is too narrow
#
# The ELBO's gap is $\mathrm{KL}(q \,\|\, p(z \mid x))$, the KL *from* $q$: it charges $q$ for putting
# mass where the posterior has little, and little for missing mass the posterior has (only through
# $q$'s entropy). For a Gaussian posterior with mean $m$ and precision matrix $\Lambda$, the diagonal
# $q$ that minimises it has its mean at $m$ and variances $1/\Lambda_{jj}$, never more than the
# posterior's own marginal variances $\Sigma_{jj}$ (equality only without correlation). So the
# mean-field $q$ sits inside the posterior, as the ellipses show for the first observation:

# %%
# mean-field variances: 1 / diagonal of precision
mf_var = 1.0 / np.diag(np.linalg.inv(post_cov))
mf_log_var = np.broadcast_to(np.log(mf_var), post_mean.shape)  # (100, 2)
variance_share = mf_var / np.diag(post_cov)  # (2,): below 1 = too narrow
angles = np.linspace(0, 2 * np.pi, 200)
circle = np.stack([np.cos(angles), np.sin(angles)])  # (2, 200)
fig, ax = plt.subplots(figsize=(4, 4))
for cov, label in ((post_cov, "posterior"), (np.diag(mf_var), "best mean-field q")):
    # 2-sd contour
    ellipse = post_mean[0][:, None] + 2 * np.linalg.cholesky(cov) @ circle
    ax.plot(*ellipse, label=label)
ax.set(
    xlabel="$z_1$",
    ylabel="$z_2$",
    aspect="equal",
    title="2-standard-deviation contours",
)
ax.legend(fontsize="small")
plt.show()
print("mean-field variance / posterior variance:", np.round(variance_share, 3))

# %% tags=["remove-cell"]
results.add("mf_variance_share", variance_share.tolist(), glue_it=False)
results.add("mf_variance_share_min", variance_share.min(), "{:.0%}")

# %% [markdown]
# The factorised $q$ keeps only {glue:}`mf_variance_share_min` of the posterior's variance in each
# coordinate (with two dimensions the share is $1 - \rho^2$ for both, $\rho$ the posterior
# correlation). With the importance weights of this $q$, the bound $\mathcal{L}_k$ against $k$:


# %%
def toy_log_weights(n, rng, chunk=8192):
    """log p(x, z) - log q(z) for n samples from the mean-field q: (n, 100)."""
    parts = []
    for start in range(0, n, chunk):
        z = post_mean + np.sqrt(mf_var) * rng.standard_normal(
            (min(chunk, n - start), *post_mean.shape)
        )
        log_q = ops.convert_to_numpy(
            vae.diag_gaussian_log_prob(z, post_mean, mf_log_var)
        )
        parts.append(model.log_joint(x, z) - log_q)  # (chunk, 100)
    return np.concatenate(parts)


ks = 2 ** np.arange(0, int(np.log2(max_k)) + 1)
iwae_bounds, iwae_stderr = [], []
for k in ks:  # independent samples for every k
    per_group = vae.grouped_log_mean_exp(toy_log_weights(samples_per_k, rng), k).mean(
        axis=1
    )
    iwae_bounds.append(per_group.mean())
    iwae_stderr.append(per_group.std(ddof=1) / np.sqrt(len(per_group)))
iwae_bounds, iwae_stderr = np.array(iwae_bounds), np.array(iwae_stderr)
elbo_mf = model.elbo(x, post_mean, np.diag(mf_var)).mean()

# %%
fig, (ax, gap_ax) = plt.subplots(1, 2, figsize=(10, 3.2))
ax.errorbar(
    ks,
    iwae_bounds,
    yerr=2 * iwae_stderr,
    fmt="o-",
    capsize=3,
    label=r"$\mathcal{L}_k$ ± 2 standard errors",
)
ax.axhline(log_px.mean(), color="black", linestyle="--", label=r"exact $\log p(x)$")
ax.axhline(elbo_mf, color="tab:red", linestyle=":", label="ELBO, closed form")
ax.set(xscale="log", xlabel="importance samples k", ylabel="nats (mean over 100 x)")
ax.legend(fontsize="small")
gap_ax.errorbar(
    ks, log_px.mean() - iwae_bounds, yerr=2 * iwae_stderr, fmt="o-", capsize=3
)
gap_ax.axhline(0, color="black", linewidth=0.8)
gap_ax.set(
    xscale="log",
    xlabel="importance samples k",
    ylabel="nats",
    title=r"gap $\log p(x) - \mathcal{L}_k$",
)
fig.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
# above log p(x) beyond 3 standard errors
above = iwae_bounds - log_px.mean() > 3 * iwae_stderr
falls = np.diff(iwae_bounds) < -3 * np.hypot(iwae_stderr[1:], iwae_stderr[:-1])
assert not above.any() and not falls.any(), (
    "the L_k curve is not a bound that rises with k"
)
assert abs(iwae_bounds[0] - elbo_mf) < 3 * iwae_stderr[0]  # L_1 is the ELBO
print(f"exact log p(x): {log_px.mean():.3f}")
print(f"ELBO (mean-field q): {elbo_mf:.3f}")
print("L_k below log p(x) and rising with k, within 3 standard errors: True")

# %% tags=["remove-cell"]
results.add("log_px", float(log_px.mean()), glue_it=False)
results.add("elbo_mean_field", float(elbo_mf), glue_it=False)
results.add("iwae_ks", ks.tolist(), glue_it=False)
results.add("iwae_bounds", iwae_bounds.tolist(), glue_it=False)
results.add("iwae_stderr", iwae_stderr.tolist(), glue_it=False)
results.add(
    "iwae_gap_k1", log_px.mean() - iwae_bounds[0], f"{{:.3f}} ± {iwae_stderr[0]:.4f}"
)
results.add(
    "iwae_gap_kmax",
    log_px.mean() - iwae_bounds[-1],
    f"{{:.4f}} ± {iwae_stderr[-1]:.4f}",
)
results.add("iwae_kmax", int(ks[-1]), "{:,}")

# %%
# E_q[w^2] is finite only if 2 x (posterior precision) - (q's precision) is pos. def.
q_precision = np.diag(1 / mf_var)  # the mean-field q's precision
margin = np.linalg.eigvalsh(2 * precision - q_precision).min()
rho = post_cov[0, 1] / np.sqrt(post_cov[0, 0] * post_cov[1, 1])
print(f"posterior correlation rho = {rho:.3f} (rho^2 = {rho**2:.3f})")
print(f"smallest eigenvalue of 2 Lambda_post - Lambda_q: {margin:.3f}")

# %% tags=["remove-cell"]
results.add("rho_squared", float(rho**2), "{:.2f}")
results.add(
    "weights_variance",
    "finite: every eigenvalue of that matrix is positive"
    if margin > 0
    else "infinite: that matrix has a negative eigenvalue",
)

# %% [markdown]
# With one sample the bound sits {glue:}`iwae_gap_k1` nats below $\log p(x)$ (± one standard error);
# with {glue:}`iwae_kmax` samples the gap is down to {glue:}`iwae_gap_kmax` nats.
#
# How fast $\mathcal{L}_k$ closes in depends on the spread of the weights $w = p(x, z)/q(z)$. For
# Gaussians, $\mathbb{E}_q[w^2] \propto \int p(z \mid x)^2 / q(z)\,dz$ is finite only if twice the
# posterior's precision minus $q$'s precision, $2\Lambda_p - \Lambda_q$, is positive definite. The
# mean-field $q$ has $\Lambda_q = \mathrm{diag}(\Lambda_p)$, so in two dimensions this asks for
# $\rho^2 < 1/4$; here $\rho^2$ = {glue:}`rho_squared`, and the weights' variance is
# {glue:}`weights_variance`. (The same argument with $w^s$ shows that only the moments of order
# $s < 1/|\rho|$ are finite.) With infinite variance the average of $k$ weights is ruled by rare,
# huge weights: the bias of $\mathcal{L}_k$ need not fall like $1/k$ but more slowly, so the curve
# keeps creeping up after it looks flat, and its last step understates the gap that remains — by
# more, the heavier the tail. A last step never bounds that gap; with heavy tails it is a poor
# guide to it.
#
# ### Why not sample from the prior?
#
# Any distribution can serve as the proposal in $p(x) = \mathbb{E}_{r(z)}[p(x, z)/r(z)]$ — the prior
# too, which needs no encoder: $p(x) = \mathbb{E}_{p(z)}[p(x \mid z)]$. But the prior puts its samples
# wherever codes are plausible *a priori*, and the posterior of one observation is a small region of
# that space. The **effective sample size** of $n$ importance weights,
# $\mathrm{ESS} = (\sum_i w_i)^2 / \sum_i w_i^2$, says how many of them count: $n$ when all weights are
# equal, 1 when one weight dominates. For linear-Gaussian models with a growing latent dimension
# $d$ and a fixed data dimension of {glue:}`ess_data_dim` (noise standard deviation
# {glue:}`ess_noise`; each $d$ draws its own weights $W$, with standard normal entries),
# $n$ = {glue:}`ess_samples` samples for one observation each. An ESS counted from samples cannot
# fall below 1, so the plot also shows the value it approaches as $n$ grows, in closed form: for
# the prior as proposal $n\,\mathbb{E}[w]^2 / \mathbb{E}[w^2]$ with
# $\mathbb{E}_{p(z)}[p(x \mid z)^2] = (4\pi\sigma^2)^{-D/2}\,\mathcal{N}(x;\, b,\, WW^\top +
# \tfrac{\sigma^2}{2} I)$, since the square of a Gaussian density in $x$ is a Gaussian with half the
# variance.


# %%
def effective_sample_fraction(log_w):
    """ESS / n of importance weights given as logs (numerically stable)."""
    w = np.exp(log_w - log_w.max())
    return w.sum() ** 2 / (w**2).sum() / len(w)


def expected_ess_prior(model, x):
    """ESS / n expected for the prior as proposal, E[w]² / E[w²]: (observations,)."""
    D, noise_var = model.data_dim, model.noise_std**2
    wwt = model.weight @ model.weight.T  # (D, D)
    log_second = -D / 2 * np.log(4 * np.pi * noise_var) + stats.multivariate_normal(
        model.bias, wwt + noise_var / 2 * np.eye(D)
    ).logpdf(x)  # log E_p(z)[p(x | z)^2]
    return np.exp(2 * model.log_marginal(x) - log_second)


# %%
n_ess, ess_dims, ess_observations = 10_000, [1, 2, 5, 10, 20, 50], 20
ess_data_dim, ess_noise = 50, 2.0
ess_prior, ess_posterior, ess_expected = [], [], []  # (len(ess_dims), observations)
for d in ess_dims:
    toy_model = toy.LinearGaussian.random(ess_data_dim, d, ess_noise, seed=seed + d)
    x_d, _ = toy_model.sample(ess_observations, rng)  # (observations, D)
    ess_expected.append(expected_ess_prior(toy_model, x_d))
    # proposal: the prior; log w = log p(x | z)
    z_prior = rng.standard_normal((n_ess, 1, d))
    log_w_prior = (
        toy_model.log_joint(x_d, z_prior)
        - stats.multivariate_normal(np.zeros(d)).logpdf(z_prior[:, 0])[:, None]
    )  # (n, observations)
    ess_prior.append([effective_sample_fraction(w) for w in log_w_prior.T])
    # proposal: the exact posterior (a perfect encoder)
    mean_d, cov_d = toy_model.posterior(x_d)
    z_post = (
        mean_d
        + rng.standard_normal((n_ess, *mean_d.shape)) @ np.linalg.cholesky(cov_d).T
    )
    # (n, obs)
    log_q = stats.multivariate_normal(np.zeros(d), cov_d).logpdf(z_post - mean_d)
    ess_posterior.append(
        [
            effective_sample_fraction(w)
            for w in (toy_model.log_joint(x_d, z_post) - log_q).T
        ]
    )
ess_prior, ess_posterior = np.array(ess_prior), np.array(ess_posterior)
ess_expected = np.array(ess_expected)

# %%
fig, ax = plt.subplots(figsize=(5, 3))
for values, label in (
    (ess_prior, "the prior p(z)"),
    (ess_posterior, "the posterior (ideal encoder)"),
):
    low, mid, high = np.percentile(values, [25, 50, 75], axis=1)
    ax.errorbar(
        ess_dims,
        mid,
        yerr=[mid - low, high - mid],
        fmt="o-",
        capsize=3,
        label=f"proposal: {label}",
    )
ax.plot(
    ess_dims,
    np.median(ess_expected, axis=1),
    "k--",
    label="prior, expected (closed form, median)",
)
ax.axhline(1 / n_ess, color="grey", linestyle=":", label="ESS = 1: one sample")
ax.set_yscale("log")
ax.set(xlabel="latent dimension d", ylabel="ESS / n (median, quartiles)")
ax.legend(fontsize="small")
plt.show()
sampled_vs_expected = np.median(ess_prior[0]) / np.median(ess_expected[0])

# %% tags=["remove-cell"]
results.add("ess_samples", n_ess, "{:,}")
results.add("ess_data_dim", ess_data_dim)
results.add("ess_noise", ess_noise)
results.add("ess_expected_d50", np.median(ess_expected[-1]) * n_ess, "{:.0e}")
results.add("ess_agreement_d1", sampled_vs_expected, "{:.2f}")
results.add("ess_observations", ess_observations)
results.add("ess_prior", np.median(ess_prior, axis=1).tolist(), glue_it=False)
results.add("ess_prior_d1", np.median(ess_prior[0]) * n_ess, "{:,.0f}")
results.add(
    "ess_prior_d10", np.median(ess_prior[ess_dims.index(10)]) * n_ess, "{:,.1f}"
)
results.add("ess_prior_d50", np.median(ess_prior[-1]) * n_ess, "{:,.2f}")
results.add("ess_posterior_min", ess_posterior.min(), "{:.3f}")

# %% [markdown]
# With the prior as proposal, the {glue:}`ess_samples` samples were worth a median (over
# {glue:}`ess_observations` observations) of {glue:}`ess_prior_d1` equally weighted ones at $d = 1$,
# {glue:}`ess_prior_d10` at $d = 10$ and {glue:}`ess_prior_d50` at $d = 50$: an estimate of
# $\log p(x)$ from them rests on a handful of samples, and it gets worse as the latent space grows
# (the posterior's volume relative to the prior's shrinks exponentially in $d$). Where few weights
# matter, the sampled ESS agrees with its closed-form large-$n$ value (at $d = 1$ their medians
# differ by a factor {glue:}`ess_agreement_d1`); from there on it sticks near 1, the least it can
# be, while the closed form keeps falling — at $d = 50$ to an ESS of {glue:}`ess_expected_d50`
# out of {glue:}`ess_samples` samples. So the sampled ESS flatters the prior: it cannot see posterior
# mass that no sample reached. With
# the posterior as proposal every weight equals $p(x)$ and every sample counts (ESS / n, whose
# most is 1, was {glue:}`ess_posterior_min` at its smallest). The
# encoder is a learned approximation of that ideal proposal — one network that outputs a good $q$
# for every $x$ — which is why both the VAE's training and its likelihood estimate sample from it.
#
# ### Reparameterised against score-function gradients
#
# All three estimators of $\nabla_\mu \mathcal{L}$ below are unbiased; what differs is their
# variance. For a diagonal Gaussian $q$ with mean $\mu$ and standard deviations $s$, one sample
# $z = \mu + s\odot\varepsilon$ gives
#
# - reparameterised: $\nabla_z \log p(x, z)$, since $\partial z/\partial\mu = I$ makes
#   $\nabla_\mu = \nabla_z$ (and the entropy of $q$ does not depend on $\mu$);
# - score function: $\big(\log p(x, z) - \log q(z)\big)\,(z - \mu)/s^2$, since
#   $\nabla_\mu \log q(z) = (z - \mu)/s^2$ (the extra term $-\mathbb{E}_q[\nabla_\mu \log q(z)]$,
#   from $\log q$'s own dependence on $\mu$, is zero);
# - score function with a baseline: $\big(\log p(x, z) - \log q(z) - b\big)\,(z - \mu)/s^2$, where
#   $b$ is the average of $f = \log p(x, z) - \log q(z)$ over the *other* samples of a small batch
#   of {glue:}`baseline_batch` drawn together (leave-one-out, so $b$ does not depend on this sample
#   and the estimator stays unbiased, since $\mathbb{E}_q[(z-\mu)/s^2] = 0$). This control variate is
#   the standard variance reduction for score-function estimators, and the fair opponent for the
#   reparameterised one.
#
# The exact gradient is known here, $\nabla_\mu \mathcal{L} = -\mu + W^\top(x - W\mu - b)/\sigma^2$.
# How far $q$ is from the posterior $\mathcal{N}(m, \Sigma)$ is measured in the posterior's own
# spread: $q$ keeps its marginal standard deviations $s_j = \Sigma_{jj}^{1/2}$, and its mean sits
# $c$ of them above the posterior mean in every coordinate, $\mu = m + c\,s$. We first compare
# single-sample estimates for the first observation of the $D$ = {glue:}`grad_check_data_dim`,
# $d$ = {glue:}`grad_check_latent_dim` model above, at $c$ = {glue:}`offset_sds`. Then we compare
# the estimators' variances in two sweeps on larger models, with data dimension
# $D$ = {glue:}`grad_data_dim` (noise standard deviation 0.5): the first changes the latent
# dimension $d$ at $c$ = {glue:}`offset_sds`; the second changes $c$ at $d$ = {glue:}`offset_dim`,
# with the same models, observations and noise draws for every $c$. Each point is
# {glue:}`grad_seeds` seeds (each its own model, with standard normal $W$ and $b$, and its own
# observation) of {glue:}`grad_samples` samples; the plots show the geometric mean of the variance
# ratio over the seeds, with error bars of ± one standard error of the mean of its $\log_{10}$.


# %%
def gradient_estimates(model, x, mean, std, n, rng, batch=8):
    """Single-sample reparameterised and score-function estimates of the ELBO's gradient
    in mean; a sample's baseline: the mean of f over the other samples of its batch."""
    eps = rng.standard_normal((n, model.latent_dim))  # (n, d)
    z = mean + std * eps
    residual = x - z @ model.weight.T - model.bias  # (n, D)
    # ∇_z log p(x, z), (n, d)
    reparam = -z + residual @ model.weight / model.noise_std**2
    log_q = -0.5 * np.sum(np.log(2 * np.pi * std**2) + eps**2, axis=1)
    f = model.log_joint(x[None], z[:, None])[:, 0] - log_q  # (n,)
    score = f[:, None] * (z - mean) / std**2  # (n, d)
    groups = f.reshape(-1, batch)  # (n / batch, batch)
    # leave-one-out
    baseline = ((groups.sum(1, keepdims=True) - groups) / (batch - 1)).ravel()
    score_baseline = (f - baseline)[:, None] * (z - mean) / std**2  # (n, d)
    exact = (
        -mean
        + (x - mean @ model.weight.T - model.bias) @ model.weight / model.noise_std**2
    )
    return reparam, score, score_baseline, exact


# %%
baseline_batch, check_samples = 8, 8000
# c: q's mean minus the posterior mean, in posterior s.d.s in every coordinate
offset_sds = 1.0
x1 = x[0]  # the first observation of the D = 10, d = 2 model
std1 = np.sqrt(np.diag(post_cov))
mean1 = post_mean[0] + offset_sds * std1
reparam, score, score_baseline, exact = gradient_estimates(
    model, x1, mean1, std1, check_samples, rng, baseline_batch
)
# each estimator's mean minus the exact gradient (coordinate 1): absolute, and in
# standard errors
bias_abs = [e[:, 0].mean() - exact[0] for e in (reparam, score, score_baseline)]
bias_z = [
    b / (e[:, 0].std(ddof=1) / np.sqrt(len(e)))
    for b, e in zip(bias_abs, (reparam, score, score_baseline), strict=True)
]


# %%
def sweep_problem(d, rep):
    """Seed `rep`'s sweep model (D = grad_data_dim, latent dimension d), one observation
    `x_d` (1, D), its posterior's mean (1, d) and covariance (d, d), and the generator
    that goes on to draw the samples: the same for every offset."""
    rng_d = np.random.default_rng([seed, rep, d])
    model_d = toy.LinearGaussian.random(
        grad_data_dim, d, 0.5, seed=int(rng_d.integers(2**32))
    )
    x_d, _ = model_d.sample(1, rng_d)  # (1, D)
    mean_d, cov_d = model_d.posterior(x_d)
    return model_d, x_d, mean_d, cov_d, rng_d


def variance_ratios(d, offset, rep, n):
    """One seed's per-sample variances, summed over coordinates: the score function's
    and the score function's with a baseline, each / the reparameterised one's, and
    the reparameterised one's / ‖exact ∇‖². q: the posterior's marginal s.d.s s, its
    mean `offset` × s above the posterior mean in every coordinate."""
    model_d, x_d, mean_d, cov_d, rng_d = sweep_problem(d, rep)
    std_d = np.sqrt(np.diag(cov_d))
    *estimates, exact_d = gradient_estimates(
        model_d, x_d[0], mean_d[0] + offset * std_d, std_d, n, rng_d, baseline_batch
    )
    reparam_var, score_var, baseline_var = (
        e.var(axis=0, ddof=1).sum() for e in estimates
    )
    return (
        score_var / reparam_var,
        baseline_var / reparam_var,
        reparam_var / np.sum(exact_d**2),
    )


# %%
def variance_theory(d, offset, rep):
    """The exact quantities behind variance_ratios(d, offset, rep), from A = SΣ⁻¹S:
    a dict of log p(x), E_q f (the ELBO), KL(q ‖ posterior), the means of A_jj and
    (A²)_jj, Σ's condition number, ½‖A − I‖²_F, the reparameterised variance / its
    value for A = I, and the score function's variance ratios, plain and with the
    baseline, from the A = I formulas (`*_formula`) and from the exact ones
    (`*_exact`)."""
    model_d, x_d, mean_d, cov_d, _ = sweep_problem(d, rep)
    std_d = np.sqrt(np.diag(cov_d))
    log_px_d = model_d.log_marginal(x_d)[0]
    mean_f = model_d.elbo(x_d, mean_d + offset * std_d, np.diag(std_d**2))[0]
    a = std_d[:, None] * np.linalg.inv(cov_d) * std_d  # A, (d, d)
    off = a - np.eye(d)  # A − I
    row = a.sum(axis=1)  # A1, (d,)
    var_f = offset**2 * row @ row + 0.5 * np.sum(off**2)
    weight = 1 / std_d**2  # (d,)
    reparam_var = weight @ np.diag(a @ a)  # summed over coordinates
    shared = var_f + offset**2 * row**2 + 2 * np.diag(off @ off)  # (d,)
    plain = weight @ (mean_f**2 - 2 * mean_f * np.diag(off) + shared)
    based = weight @ (shared + var_f / (baseline_batch - 1))
    return {
        "log_px": log_px_d,
        "mean_f": mean_f,
        "kl": log_px_d - mean_f,
        "a_diag": np.diag(a).mean(),
        "a2_diag": np.diag(a @ a).mean(),
        "cond": np.linalg.cond(cov_d),  # the posterior's condition number
        "floor": 0.5 * np.sum(off**2),
        "reparam_growth": reparam_var / weight.sum(),
        "plain_formula": mean_f**2 + offset**2 * (d + 1),
        "baseline_formula": offset**2 * (1 + d * baseline_batch / (baseline_batch - 1)),
        "plain_exact": plain / reparam_var,
        "baseline_exact": based / reparam_var,
    }


# %%
def stack(rows):
    """Nested lists (points, seeds) of dicts -> a dict of (points, seeds) arrays."""
    return {
        key: np.array([[r[key] for r in row] for row in rows]) for key in rows[0][0]
    }


# %%
grad_data_dim, grad_seeds, grad_samples = 50, 6, 2000  # D ≥ the largest d
dims = [1, 2, 5, 10, 20, 50]  # at c = offset_sds
offsets, offset_dim = [0.1, 0.3, 1.0, 3.0, 10.0], 10  # at d = offset_dim
# (points, seeds, 3): score function, with baseline (both / reparameterised), and
# reparameterised / ‖exact ∇‖²
by_dim = np.array(
    [
        [variance_ratios(d, offset_sds, rep, grad_samples) for rep in range(grad_seeds)]
        for d in dims
    ]
)
by_offset = np.array(
    [
        [variance_ratios(offset_dim, c, rep, grad_samples) for rep in range(grad_seeds)]
        for c in offsets
    ]
)
# the exact quantities: dicts of (points, seeds) arrays
theory_dim = stack(
    [[variance_theory(d, offset_sds, rep) for rep in range(grad_seeds)] for d in dims]
)
theory_offset = stack(
    [
        [variance_theory(offset_dim, c, rep) for rep in range(grad_seeds)]
        for c in offsets
    ]
)


# %%
def plot_ratios(ax, xs, ratios, xlabel, title, formula):
    """Geometric mean over seeds of each score-function variance / the reparameterised
    one, with ± one standard error of the mean of its log10, and dashed, the A = I
    formula for the baseline's ratio at each point, `formula` (points,)."""
    for column, label in ((0, "score function"), (1, "score function, baseline")):
        logs = np.log10(ratios[:, :, column])  # (points, seeds)
        mid = logs.mean(axis=1)
        se = logs.std(axis=1, ddof=1) / np.sqrt(logs.shape[1])
        errors = [10**mid - 10 ** (mid - se), 10 ** (mid + se) - 10**mid]
        ax.errorbar(xs, 10**mid, yerr=errors, fmt="o-", capsize=3, label=label)
    ax.plot(xs, formula, "--", color="C1", label=r"baseline, formula $c^2(1+dB/(B-1))$")
    ax.axhline(1, color="grey", linestyle=":", label="reparameterised")
    ax.set(xscale="log", yscale="log", xlabel=xlabel, title=title)
    ax.set_xticks(xs, [f"{value:g}" for value in xs], minor=False)
    ax.minorticks_off()
    ax.set_ylabel("variance / reparameterised variance")
    ax.legend(fontsize="small")


# %%
fig, (left, middle, right) = plt.subplots(1, 3, figsize=(14, 3.4))
bins = np.linspace(*np.percentile(score[:, 0], [1, 99]), 60)
# values outside the plain score function's 1st to 99th percentile are left out
for estimate, label in (
    (score, "score function"),
    (score_baseline, "score function, baseline"),
    (reparam, "reparameterised"),
):
    left.hist(estimate[:, 0], bins=bins, histtype="step", linewidth=1.5, label=label)
left.axvline(exact[0], color="black", linestyle="--", label="exact")
left.set(
    xlabel=r"single-sample estimate of $\partial\mathcal{L}/\partial\mu_1$",
    ylabel="count",
    title=f"one observation, D = {model.data_dim}, d = {model.latent_dim}, "
    f"c = {offset_sds:g}",
)
left.legend(fontsize="small")
plot_ratios(
    middle,
    dims,
    by_dim,
    "latent dimension d",
    f"D = {grad_data_dim}, c = {offset_sds:g}",
    theory_dim["baseline_formula"][:, 0],  # the same for every seed
)
plot_ratios(
    right,
    offsets,
    by_offset,
    "offset c (posterior s.d.s)",
    f"D = {grad_data_dim}, d = {offset_dim}",
    theory_offset["baseline_formula"][:, 0],
)
fig.tight_layout()
plt.show()

# %% tags=["nbval-check-output"]
# geometric means over the seeds: (points, 3)
by_dim_mean = 10 ** np.log10(by_dim).mean(axis=1)
by_offset_mean = 10 ** np.log10(by_offset).mean(axis=1)
# score function, and with baseline, / reparameterised: (len(dims),)
variance_ratio, baseline_ratio = by_dim_mean[:, 0], by_dim_mean[:, 1]
# each mean within 4 standard errors of the exact value
centred = max(abs(z) for z in bias_z) < 4
print(f"means minus exact gradient, in standard errors: {np.round(bias_z, 1).tolist()}")
for name, values, means in (("d", dims, by_dim_mean), ("c", offsets, by_offset_mean)):
    for value, (plain, based, _) in zip(values, means, strict=True):
        print(
            f"{name} = {value:4g}: score-function variance 10^{np.log10(plain):.1f}, "
            f"with baseline 10^{np.log10(based):.1f} times the reparameterised one"
        )

# %%
# the c sweep: the reparameterised variance / ‖exact ∇‖², geometric means over the seeds
for c, relative in zip(offsets, by_offset_mean[:, 2], strict=True):
    print(f"c = {c:4g}: reparameterised variance {relative:.3g} × ‖exact ∇‖²")

# %%
# the d sweep at c = offset_sds, means over the seeds: what changes with d besides d
print(
    f"{'d':>3} {'log p(x)':>9} {'E_q f':>8} {'KL(q‖p)':>8} {'c²d/2':>6} "
    f"{'mean A_jj':>10} {'mean (A²)_jj':>13} {'cond Σ':>7}"
)
columns = ("log_px", "mean_f", "kl", "a_diag", "a2_diag", "cond")
for i, d in enumerate(dims):
    log_px_d, mean_f, kl, a_diag, a2_diag, cond = (
        theory_dim[k][i].mean() for k in columns
    )
    print(
        f"{d:3d} {log_px_d:9.1f} {mean_f:8.1f} {kl:8.1f} {offset_sds**2 * d / 2:6.1f} "
        f"{a_diag:10.2f} {a2_diag:13.1f} {cond:7.0f}"
    )

# %% tags=["remove-cell"]
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def number(value, power=False):
    """A positive `value` to two significant figures: 0.12, 2.1, 14, 130, and from 1000
    on (or from 100 on when `power`) 1.5×10³."""
    rounded = float(f"{value:.2g}")
    exponent = int(np.floor(np.log10(rounded)))
    if exponent >= 3 or (power and exponent >= 2):
        mantissa = f"{rounded / 10**exponent:.1f}"
        return f"{mantissa}×10" + str(exponent).translate(SUPERSCRIPT)
    return f"{rounded:.{max(0, 1 - exponent)}f}"


def span(values):
    """The range of positive `values`, both ends in the same format: text."""
    power = max(values) >= 999.5
    low, high = number(min(values), power), number(max(values), power)
    return f"about {low}" if low == high else f"{low} to {high}"


def geometric(values, axis=-1):
    """Geometric mean (over seeds, the last axis by default)."""
    return 10 ** np.log10(values).mean(axis=axis)


def trend(low, high):
    """How a ratio changed from `low` to `high`, (seeds,) each, paired by seed: text."""
    change = np.log10(high) - np.log10(low)  # (seeds,)
    mean, se = change.mean(), change.std(ddof=1) / np.sqrt(len(change))
    size = f"{mean:+.1f} ± {se:.2f} orders of magnitude"
    if abs(mean) < 2 * se:
        return f"changed by no more than its noise ({size})"
    return f"{'rose' if mean > 0 else 'fell'} by {size.lstrip('+-')}"


# %% tags=["remove-cell"]
d1_ratio = by_dim[0, :, 1]  # with baseline, d = dims[0]: (seeds,)
d1_stderr = d1_ratio.std(ddof=1) / np.sqrt(grad_seeds)
for key, value, fmt in (
    ("grad_data_dim", grad_data_dim, None),
    ("grad_seeds", grad_seeds, None),
    ("grad_samples", grad_samples, "{:,}"),
    ("grad_check_data_dim", model.data_dim, None),
    ("grad_check_latent_dim", model.latent_dim, None),
    ("check_samples", check_samples, "{:,}"),
    ("offset_sds", offset_sds, "{:g}"),
    ("offset_dim", offset_dim, None),
    ("offset_min", min(offsets), "{:g}"),
    ("offset_max", max(offsets), "{:g}"),
):
    results.add(key, value, fmt)
results.add("baseline_batch", baseline_batch)
results.add(
    "centred",
    centred,
    "All three centre on the exact gradient (each mean within 4 standard errors of it)"
    if centred
    else "Not every estimator's mean came within 4 standard "
    "errors of the exact gradient (a rare draw, or a bug)",
)

# %% tags=["remove-cell"]
results.add("bias_abs", [float(b) for b in bias_abs], glue_it=False)
results.add("bias_z", [float(z) for z in bias_z], glue_it=False)
results.add(
    "bias_detail",
    "; ".join(
        f"{name} {b:+.2g} ({z:+.1f})"
        for name, b, z in zip(
            ("reparameterised", "score function", "with the baseline"),
            bias_abs,
            bias_z,
            strict=True,
        )
    ),
)
results.add("exact_grad_1", exact[0], "{:.3g}")
results.add("variance_dims", dims, glue_it=False)
results.add("variance_ratio", variance_ratio.tolist(), glue_it=False)
results.add("baseline_ratio", baseline_ratio.tolist(), glue_it=False)
results.add("variance_offsets", offsets, glue_it=False)
results.add("variance_ratio_by_offset", by_offset_mean[:, 0].tolist(), glue_it=False)
results.add("baseline_ratio_by_offset", by_offset_mean[:, 1].tolist(), glue_it=False)

# %% tags=["remove-cell"]
# the left panel: each estimator's spread, the other two's estimates outside the plain
# score function's 1st to 99th percentile (the bins), and the baseline's tallest bin
results.add(
    "check_sd_detail",
    "; ".join(
        f"{name} {number(e[:, 0].std(ddof=1))}"
        for name, e in (
            ("reparameterised", reparam),
            ("score function", score),
            ("with the baseline", score_baseline),
        )
    ),
)
outside = sum(
    int(np.sum((e[:, 0] < bins[0]) | (e[:, 0] > bins[-1])))
    for e in (score_baseline, reparam)
)
results.add("check_outside", outside, "{:,}")
results.add("check_others", 2 * check_samples, "{:,}")
tallest = int(np.argmax(np.histogram(score_baseline[:, 0], bins)[0]))
bin_low, bin_high = bins[tallest], bins[tallest + 1]
results.add(
    "baseline_peak",
    f"peaks at 0, not at the exact gradient: its tallest bin, from {bin_low:.1f} to "
    f"{bin_high:.1f}, holds 0"
    if bin_low <= 0 <= bin_high
    else f"peaks between {bin_low:.1f} and {bin_high:.1f}, not at 0",
)

# %% tags=["remove-cell"]
results.add("variance_ratio_orders", span(variance_ratio))
results.add("baseline_ratio_orders", span(baseline_ratio))
results.add("baseline_gain_orders", span(variance_ratio / baseline_ratio))
results.add("variance_trend_d", trend(by_dim[0, :, 0], by_dim[-1, :, 0]))
results.add("baseline_trend_d", trend(by_dim[0, :, 1], by_dim[-1, :, 1]))
results.add("variance_trend_offset", trend(by_offset[0, :, 0], by_offset[-1, :, 0]))
results.add("baseline_trend_offset", trend(by_offset[0, :, 1], by_offset[-1, :, 1]))
results.add("baseline_ratio_near", number(by_offset_mean[0, 1]))
results.add("baseline_range_near", span(by_offset[0, :, 1]))
results.add("reparam_relative_near", number(by_offset_mean[0, 2]))
results.add("baseline_formula_d1", theory_dim["baseline_formula"][0, 0], "{:.2f}")
results.add("baseline_ratio_d1", d1_ratio.mean(), f"{{:.2f}} ± {d1_stderr:.2f}")
# the least of both score-function ratios over both sweeps
results.add(
    "baseline_ratio_min",
    number(min(by_dim_mean[:, :2].min(), by_offset_mean[:, :2].min())),
)
results.add("variance_peak_dim", dims[int(np.argmax(variance_ratio))])
results.add("variance_low_dim", dims[int(np.argmin(variance_ratio))])
# the d sweep: the posterior's shape, means over the seeds at d = dims[0] and dims[-1]
for key, fmt in (("log_px", "{:.1f}"), ("mean_f", "{:.1f}"), ("a_diag", None)):
    for end, i in (("d1", 0), ("d50", -1)):
        value = theory_dim[key][i].mean()
        results.add(f"sweep_{key}_{end}", value if fmt else number(value), fmt)
results.add("sweep_kl_d50", theory_dim["kl"][-1].mean(), "{:.0f}")
results.add("sweep_kl_uncorrelated_d50", offset_sds**2 * dims[-1] / 2, "{:g}")
results.add("sweep_a2_diag_range", span(theory_dim["a2_diag"].mean(axis=1)))
results.add("sweep_cond_range", span(theory_dim["cond"].mean(axis=1)))

# %% tags=["remove-cell"]
# the plain ratio in the d sweep: the A = I formula with the measured E f, and that
# formula / the reparameterised variance's growth over its A = I value
plain_formula = geometric(theory_dim["plain_formula"])  # (len(dims),)
reparam_growth = geometric(theory_dim["reparam_growth"])
plain_corrected = geometric(theory_dim["plain_formula"] / theory_dim["reparam_growth"])
results.add("plain_formula_range", span(plain_formula[[0, -1]]))
results.add(
    "plain_formula_rise", np.log10(plain_formula[-1] / plain_formula[0]), "{:.1f}"
)
results.add("plain_rise", np.log10(variance_ratio[-1] / variance_ratio[0]), "{:.1f}")
results.add("reparam_growth_d50", number(reparam_growth[-1]))
results.add("plain_corrected_d50", number(plain_corrected[-1], power=True))
results.add("plain_ratio_d50", number(variance_ratio[-1], power=True))
results.add("baseline_formula_d50", number(theory_dim["baseline_formula"][-1, 0]))
results.add("baseline_ratio_d50", number(baseline_ratio[-1]))
results.add("floor_d50", number(geometric(theory_dim["floor"][-1])))
# the c sweep: the floor ½‖A − I‖²_F, and the A = I baseline formula against the run
results.add("floor_range", span(theory_offset["floor"][0]))
results.add("baseline_formula_near", number(theory_offset["baseline_formula"][0, 0]))
far = [i for i, c in enumerate(offsets) if c >= 1]
results.add("offset_far_min", offsets[far[0]], "{:g}")
results.add(
    "baseline_fit_far",
    ", ".join(
        f"{number(theory_offset['baseline_formula'][i, 0])} against "
        f"{number(by_offset_mean[i, 1])} at $c$ = {offsets[i]:g}"
        for i in far
    ),
)
# the exact formulas against every measured point of both sweeps, geometric means
exact_gap = max(
    np.abs(np.log10(geometric(theory[key]) / measured[:, column])).max()
    for theory, measured in ((theory_dim, by_dim_mean), (theory_offset, by_offset_mean))
    for key, column in (("plain_exact", 0), ("baseline_exact", 1))
)
results.add("exact_gap", 100 * (10**exact_gap - 1), "{:.0f} %")

# %% [markdown]
# {glue:}`centred`. On coordinate 1 of the first observation of the $D$ =
# {glue:}`grad_check_data_dim`, $d$ = {glue:}`grad_check_latent_dim` model, where the exact
# $\partial\mathcal{L}/\partial\mu_1$ is {glue:}`exact_grad_1`, the means of
# {glue:}`check_samples` single-sample estimates differed from it by (in standard errors in
# brackets): {glue:}`bias_detail`.
#
# The left panel shows these single-sample estimates as histograms. Its range is the plain score
# function's 1st to 99th percentile: the 1 % of those estimates at either end are left out, and
# so are the other two estimators' beyond it ({glue:}`check_outside` of their
# {glue:}`check_others`). Their standard deviations were: {glue:}`check_sd_detail`. The histogram
# with the baseline {glue:}`baseline_peak`. Each of its estimates is the product of two noisy
# factors, $f - b$ and $(z_1 - \mu_1)/s_1^2$, both zero on average; where either is near 0 so is
# the product, so the estimates pile up around 0. They are right only on average: the exact
# gradient is their mean, which comes from how the two factors vary together and shows in the
# unequal tails, not in the peak.
#
# In the $d$ sweep at $c$ = {glue:}`offset_sds`, the plain score-function estimator's variance
# was {glue:}`variance_ratio_orders` times the reparameterised one's over the $d$ from 1 to 50.
# The baseline cut it by a factor of {glue:}`baseline_gain_orders`, yet it stayed
# {glue:}`baseline_ratio_orders` times the reparameterised variance: even with its standard
# variance reduction, the score function needs that many more samples for the same precision.
# (A change below is the mean ± standard error over seeds of the change in $\log_{10}$ of the
# ratio, paired by seed.) From $d = 1$ to $d = 50$ the ratio with the baseline
# {glue:}`baseline_trend_d`. The plain one's was highest at $d$ = {glue:}`variance_peak_dim` and
# lowest at $d$ = {glue:}`variance_low_dim`, and from $d = 1$ to $d = 50$ it
# {glue:}`variance_trend_d`. From $c$ =
# {glue:}`offset_min` to $c$ = {glue:}`offset_max` at $d$ = {glue:}`offset_dim`, the ratio with
# the baseline {glue:}`baseline_trend_offset`, and the plain one {glue:}`variance_trend_offset`.
# Close to the posterior the baseline's ratio was only {glue:}`baseline_ratio_near` (at $c$ =
# {glue:}`offset_min`), but the gradient is no easier to estimate there: it is small itself, and
# even the reparameterised estimator's variance was {glue:}`reparam_relative_near` times
# $\|\nabla_\mu \mathcal{L}\|^2$ (printed above for every $c$).
#
# The $d$ sweep does not change $d$ alone. With $D$ fixed, the posterior grows more correlated and
# worse conditioned as $d$ approaches $D$ (the table above; means over the seeds). Its precision
# $\Sigma^{-1}$, scaled to $A = S\Sigma^{-1}S$ with $S = \operatorname{diag}(s)$, has diagonal
# $A_{jj} = 1/(1 - R_j^2)$, where $R_j^2$ is the share of $z_j$'s posterior variance that the
# other coordinates explain: 1 for an uncorrelated posterior. Its mean rose from
# {glue:}`sweep_a_diag_d1` at $d = 1$ to {glue:}`sweep_a_diag_d50` at $d = 50$, and the
# condition number of $\Sigma$ (its largest variance along a principal axis over its smallest)
# went from {glue:}`sweep_cond_range`. Meanwhile
# $\log p(x)$ fell from {glue:}`sweep_log_px_d1` to {glue:}`sweep_log_px_d50` nats and the ELBO
# $\mathbb{E}_q f$ from {glue:}`sweep_mean_f_d1` to {glue:}`sweep_mean_f_d50`: at $d = 50$,
# $\mathrm{KL}(q \,\|\, p(z \mid x))$ was {glue:}`sweep_kl_d50` nats, not the $c^2 d/2$ =
# {glue:}`sweep_kl_uncorrelated_d50` that the same offset costs against an uncorrelated
# posterior.
#
# Both sweeps follow from $f$. With $\mu = m + c\,s$ and $z = \mu + s \odot \varepsilon$,
# $f = \log p(x) + \log p(z \mid x) - \log q(z)$ is a constant minus
# $\big(c\,\mathbf{1}^\top\! A\varepsilon + \tfrac12 \varepsilon^\top (A - I)\varepsilon\big)$.
# Were the posterior uncorrelated, $A = I$ and $f = \mathbb{E}f - c\sum_j \varepsilon_j$, and the
# variances follow in closed form: the baseline estimator's is $c^2\,(1 + d\,B/(B - 1))$ times
# the reparameterised one's ($B$ = {glue:}`baseline_batch`), which is $c^2(1 + d)$ plus
# $c^2 d/(B - 1)$, the leave-one-out mean's own noise; the plain one's is
# $(\mathbb{E}f)^2 + c^2(d + 1)$ times it, with $\mathbb{E}f$ the ELBO,
# $\log p(x) - \mathrm{KL}(q \,\|\, p(z \mid x))$. At $d = 1$, where nothing can correlate, the
# baseline formula gives {glue:}`baseline_formula_d1` and the sweep measured
# {glue:}`baseline_ratio_d1`.
#
# Put the measured $\mathbb{E}f$ into the plain formula and it rises from
# {glue:}`plain_formula_range` between $d = 1$ and $d = 50$, by {glue:}`plain_formula_rise`
# orders of magnitude; the measured ratio rose by {glue:}`plain_rise`. The formula's $A = I$ also
# sets the denominator: the reparameterised variance is $\sum_j (A^2)_{jj}/s_j^2$, not
# $\sum_j 1/s_j^2$, and the mean $(A^2)_{jj}$ went from {glue:}`sweep_a2_diag_range` over the
# sweep, so at $d = 50$ the reparameterised variance was {glue:}`reparam_growth_d50` times its
# $A = I$ value. Divided by that growth, the formula gives {glue:}`plain_corrected_d50` at
# $d = 50$, and the run measured {glue:}`plain_ratio_d50`. The plain ratio stayed flat because
# the numerator (through $\mathbb{E}f$) and the denominator (through the posterior's
# conditioning) grew together. With the baseline the correlations do not cancel: the term
# $\tfrac12\varepsilon^\top(A - I)\varepsilon$, whose variance $\tfrac12\|A - I\|_F^2$ was
# {glue:}`floor_d50` at $d = 50$, adds to the numerator, and there the $A = I$ formula gives
# {glue:}`baseline_formula_d50` against the measured {glue:}`baseline_ratio_d50`.
#
# The same term bounds the $c$ sweep from below. At $d$ = {glue:}`offset_dim` the baseline
# formula (dashed in the right panel, as in the middle one) fits from $c$ = {glue:}`offset_far_min` on ({glue:}`baseline_fit_far`), but at
# $c$ = {glue:}`offset_min` it gives {glue:}`baseline_formula_near` while the run measured
# {glue:}`baseline_ratio_near` ({glue:}`baseline_range_near` across the seeds). The term
# $\tfrac12\varepsilon^\top(A - I)\varepsilon$ does not shrink with $c$: its variance
# $\tfrac12\|A - I\|_F^2$ was {glue:}`floor_range` across the seeds, and it sets a floor of about
# that size under the ratio however close $q$'s mean comes to the posterior's.
#
# :::{admonition} The variances for a correlated posterior
# :class: dropdown
# Kept in full, with $a = A\mathbf{1}$, $M = A - I$ and
# $\operatorname{Var} f = c^2\|a\|^2 + \tfrac12\|M\|_F^2$, one sample's variance in coordinate $j$,
# times $s_j^2$, is $(A^2)_{jj}$ for the reparameterised estimator,
# $V_j + \operatorname{Var} f/(B - 1)$ with the baseline and
# $(\mathbb{E}f)^2 - 2\,\mathbb{E}f\,M_{jj} + V_j$ without, where
# $V_j = \operatorname{Var} f + c^2 a_j^2 + 2(M^2)_{jj}$ (Gaussian moments up to the sixth; for
# $A = I$ these are the formulas above). Summed over $j$ and computed for each seed, their ratios'
# geometric means came within {glue:}`exact_gap` of every measured point of both sweeps.
# :::
#
# For every $d$ and every offset measured here ($c$ from {glue:}`offset_min` to
# {glue:}`offset_max`), the reparameterised estimator had the least variance, at least
# {glue:}`baseline_ratio_min` times less than the score function with a baseline. That is this
# toy's evidence for why VAEs sample with {eq}`reparam`; the score function remains the tool for
# discrete latents, where no reparameterisation exists.

# %%
print(f"metrics of run {results['run_id']}: {results.save()}")

# %% [markdown]
# ## Summary
#
# - The ELBO {eq}`elbo` is a lower bound on $\log p(x)$ by Jensen's inequality; its gap is exactly
#   $\mathrm{KL}(q \,\|\, p(z \mid x))$ {eq}`elbo-gap`, verified here to round-off.
# - For a diagonal Gaussian encoder and a standard normal prior the KL term has the closed form
#   {eq}`kl-closed-form`; no sampling is needed for it.
# - Fitting $q$ by reparameterised gradient ascent climbs the ELBO to the best its family can
#   reach; a diagonal $q$ then stops short of $\log p(x)$ by the posterior's correlation.
# - The importance-weighted bound {eq}`iwae` closes the gap as $k$ grows: it is how we will measure a
#   VAE's likelihood.
#   With the mean-field $q$ of a correlated posterior its weights can have infinite variance,
#   which slows the tightening.
# - The best factorised $q$ under-covers a correlated posterior: the KL from $q$ punishes excess mass
#   far more than missing mass.
# - Sampling from the prior to estimate $\log p(x)$ collapses to a handful of effective samples as the
#   latent dimension grows; a good proposal (the encoder) is what makes the estimate work.
# - The reparameterisation trick {eq}`reparam` gave gradient estimates with
#   {glue:}`variance_ratio_orders` times less variance than the plain score-function estimator,
#   and {glue:}`baseline_ratio_orders` times less than one with a baseline ($d$ from 1 to 50,
#   $q$'s mean off by {glue:}`offset_sds` × the posterior standard deviation in each coordinate).
#   Its advantage over the score function with a baseline {glue:}`baseline_trend_d` from $d = 1$
#   to $d = 50$, a sweep in which the posterior also grew more correlated (at a fixed $D$).
#
# ## Exercises
#
# 1. Show that $\mathcal{L}_k \le \mathcal{L}_{k+1}$ (hint: the average of $k+1$ weights is an average
#    of averages of $k$ of them).
#
# :::{admonition} Solution
# :class: dropdown
# With $w_i = p(x, z_i)/q(z_i \mid x)$ for $k+1$ independent draws, the average of all $k+1$
# weights equals the average, over the $k+1$ ways of leaving one draw out, of the averages of
# the remaining $k$: $\frac{1}{k+1}\sum_i w_i = \frac{1}{k+1}\sum_j \big(\frac1k \sum_{i \ne j} w_i\big)$.
# The log is concave, so by Jensen's inequality
# $\log \frac{1}{k+1}\sum_i w_i \ge \frac{1}{k+1}\sum_j \log\big(\frac1k \sum_{i \ne j} w_i\big)$.
# Take expectations: each term on the right has the distribution of a $k$-sample estimate, so the
# right side's expectation is $\mathcal{L}_k$ and the left side's is $\mathcal{L}_{k+1}$.
# :::
#
# 2. Show that subtracting a baseline $b$ that does not depend on the sample keeps the score-function
#    estimator unbiased, and find the constant $b$ that minimises its variance here. Does it beat
#    the leave-one-out mean?
#
# :::{admonition} Solution
# :class: dropdown
# The score has mean zero: $\mathbb{E}_q[\nabla \log q(z)] = \int \nabla q(z)\,dz = \nabla \int q = 0$,
# so $\mathbb{E}_q[b\,\nabla \log q(z)] = b \cdot 0 = 0$ for any $b$ that does not depend on $z$, and
# $(f - b)\nabla \log q$ has the same mean as $f\,\nabla \log q$. (The leave-one-out mean of the
# *other* samples is independent of the sample it is subtracted from, so it qualifies too.) With
# $s = \nabla \log q(z)$, the summed variance over coordinates is
# $\mathbb{E}[(f - b)^2 \|s\|^2] - \|\nabla\mathcal{L}\|^2$, a quadratic in $b$, smallest at
# $b^* = \mathbb{E}[f \|s\|^2] / \mathbb{E}[\|s\|^2]$ — a weighted mean of $f$, not its plain mean.
# Estimate $b^*$ from the same samples (`f` and `(z - mean) / std**2` in `gradient_estimates`),
# compute the variance with it, and compare with the leave-one-out column: which wins depends on
# how strongly $f$ varies with $\|s\|^2$ here, and an estimated $b^*$ pays for its own noise.
# :::
#
# 3. Make the toy posterior nearly uncorrelated (orthogonal columns of $W$). What happens to the
#    mean-field gap?
#
# :::{admonition} Solution
# :class: dropdown
# The posterior covariance is $(I + W^\top W / \sigma^2)^{-1}$. With orthogonal columns
# $W^\top W$ is diagonal, so the posterior is a diagonal Gaussian: the mean-field family then
# contains it, the best factorised $q$ *is* the posterior, and the gap
# $\mathrm{KL}(q \,\|\, p(z \mid x))$ is exactly 0. For nearly orthogonal columns the gap is small
# and grows with the off-diagonal correlation of the posterior.
# :::
