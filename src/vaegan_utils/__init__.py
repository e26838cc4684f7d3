"""Shared plumbing for the VAE & GAN book: data, run-time set-up, plotting, notebook tooling."""

__version__ = "0.1.0"
