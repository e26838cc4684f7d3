"""A linear-Gaussian latent variable model in which everything a VAE estimates is exact.

    z ~ N(0, I_d),    x | z ~ N(W z + b, σ² I_D)

The marginal p(x) = N(b, W Wᵀ + σ² I) and the posterior p(z | x) are Gaussian in closed form, so
the ELBO, its gap and the importance-weighted bound can be checked against exact values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_2PI = np.log(2.0 * np.pi)


def gaussian_kl_full(
    mean_q: np.ndarray, cov_q: np.ndarray, mean_p: np.ndarray, cov_p: np.ndarray
) -> np.ndarray:
    """KL(N(mean_q, cov_q) ‖ N(mean_p, cov_p)); covariances ``(d, d)``, means ``(..., d)``."""
    d = cov_q.shape[-1]
    inv_p = np.linalg.inv(cov_p)
    diff = mean_p - mean_q
    _, logdet_p = np.linalg.slogdet(cov_p)
    _, logdet_q = np.linalg.slogdet(cov_q)
    trace = np.trace(inv_p @ cov_q)
    mahalanobis = np.einsum("...i,ij,...j->...", diff, inv_p, diff)
    return 0.5 * (trace + mahalanobis - d + logdet_p - logdet_q)


@dataclass(frozen=True)
class LinearGaussian:
    """z ~ N(0, I_d), x | z ~ N(weight @ z + bias, noise_std² I_D)."""

    weight: np.ndarray  # (D, d)
    bias: np.ndarray  # (D,)
    noise_std: float

    @classmethod
    def random(
        cls, data_dim: int, latent_dim: int, noise_std: float = 0.5, seed: int = 0
    ) -> LinearGaussian:
        """A model with standard normal weights and biases."""
        if data_dim <= 0 or latent_dim <= 0:
            raise ValueError(
                f"data_dim and latent_dim must be positive, got {data_dim}, {latent_dim}"
            )
        if noise_std <= 0:
            raise ValueError(f"noise_std must be positive, got {noise_std}")
        rng = np.random.default_rng(seed)
        return cls(
            rng.standard_normal((data_dim, latent_dim)), rng.standard_normal(data_dim), noise_std
        )

    @property
    def latent_dim(self) -> int:
        return self.weight.shape[1]

    @property
    def data_dim(self) -> int:
        return self.weight.shape[0]

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` draws ``(x, z)``: ``(n, D)`` and ``(n, d)``."""
        z = rng.standard_normal((n, self.latent_dim))
        noise = self.noise_std * rng.standard_normal((n, self.data_dim))
        return z @ self.weight.T + self.bias + noise, z

    def marginal_cov(self) -> np.ndarray:
        """Cov[x] = W Wᵀ + σ² I, ``(D, D)``."""
        return self.weight @ self.weight.T + self.noise_std**2 * np.eye(self.data_dim)

    def log_marginal(self, x: np.ndarray) -> np.ndarray:
        """Exact log p(x) for ``x`` of shape ``(n, D)``; returns ``(n,)``."""
        cov = self.marginal_cov()
        chol = np.linalg.cholesky(cov)
        white = np.linalg.solve(chol, (x - self.bias).T)  # (D, n)
        logdet = 2.0 * np.sum(np.log(np.diag(chol)))
        return -0.5 * (self.data_dim * LOG_2PI + logdet + np.sum(white**2, axis=0))

    def posterior(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact p(z | x) = N(mean, cov): ``mean`` ``(n, d)``, ``cov`` ``(d, d)`` (shared)."""
        precision = np.eye(self.latent_dim) + self.weight.T @ self.weight / self.noise_std**2
        cov = np.linalg.inv(precision)
        mean = (x - self.bias) @ self.weight @ cov / self.noise_std**2  # cov is symmetric
        return mean, cov

    def log_joint(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """log p(x | z) + log p(z); ``x`` ``(n, D)``, ``z`` ``(..., n, d)`` -> ``(..., n)``."""
        residual = x - z @ self.weight.T - self.bias  # (..., n, D)
        log_lik = -0.5 * (
            self.data_dim * (LOG_2PI + 2 * np.log(self.noise_std))
            + np.sum(residual**2, axis=-1) / self.noise_std**2
        )
        log_prior = -0.5 * (self.latent_dim * LOG_2PI + np.sum(z**2, axis=-1))
        return log_lik + log_prior

    def elbo(self, x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
        """ELBO of q(z) = N(mean, cov) in closed form: E_q[log p(x, z)] + H[q]; returns ``(n,)``.

        ``mean``: ``(n, d)``; ``cov``: ``(d, d)`` shared by all n (or ``(n, d, d)``).
        """
        residual = x - mean @ self.weight.T - self.bias  # (n, D)
        spread = np.trace(self.weight @ cov @ self.weight.T, axis1=-2, axis2=-1)
        expected_log_lik = -0.5 * (
            self.data_dim * (LOG_2PI + 2 * np.log(self.noise_std))
            + (np.sum(residual**2, axis=-1) + spread) / self.noise_std**2
        )
        expected_log_prior = -0.5 * (
            self.latent_dim * LOG_2PI + np.sum(mean**2, axis=-1) + np.trace(cov, axis1=-2, axis2=-1)
        )
        _, logdet = np.linalg.slogdet(cov)
        entropy = 0.5 * (self.latent_dim * (LOG_2PI + 1.0) + logdet)
        return expected_log_lik + expected_log_prior + entropy
