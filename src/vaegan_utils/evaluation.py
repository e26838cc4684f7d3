"""Scoring generated MNIST digits with a small classifier trained by this project.

The classifier (``scripts/train_mnist_classifier.py``) ships with the package; its weights are
hash-checked before use. From it:

- an Inception-style score, exp(E_x KL(p(y|x) ‖ p(y))), between 1 and 10 (10: every sample is a
  confident digit and all ten digits are equally frequent);
- the Fréchet distance between Gaussians fitted to its penultimate features on generated images
  and on real images (the MNIST test set);
- the fraction of samples assigned to each digit (mode collapse shows as classes vanishing).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import keras
import numpy as np
from scipy import linalg

WEIGHTS_NAME = "mnist_classifier.weights.h5"
#: SHA-256 of the shipped weights; ``scripts/train_mnist_classifier.py`` prints it.
WEIGHTS_SHA256 = "27b8630c21b5fcaef396e223def8822dbb90cd75a567508ddec42729b8d9e540"


def build_classifier() -> keras.Model:
    """A small CNN: ``(batch, 28, 28)`` images in [0, 1] -> 10 logits; layer "features" is 128-D."""
    images = keras.Input(shape=(28, 28))
    x = keras.layers.Reshape((28, 28, 1))(images)  # (b, 28, 28) -> (b, 28, 28, 1)
    x = keras.layers.Conv2D(32, 3, activation="relu")(x)  # -> (b, 26, 26, 32)
    x = keras.layers.MaxPooling2D()(x)  # -> (b, 13, 13, 32)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)  # -> (b, 11, 11, 64)
    x = keras.layers.MaxPooling2D()(x)  # -> (b, 5, 5, 64)
    x = keras.layers.Flatten()(x)  # -> (b, 1600)
    x = keras.layers.Dense(128, activation="relu", name="features")(x)
    x = keras.layers.Dropout(0.3)(x)
    logits = keras.layers.Dense(10, name="logits")(x)
    return keras.Model(images, logits, name="mnist_classifier")


def weights_path() -> Path:
    """Where the shipped classifier weights are."""
    return Path(str(resources.files("vaegan_utils") / "assets" / WEIGHTS_NAME))


def load_classifier(path: str | Path | None = None, sha256: str | None = None) -> keras.Model:
    """The trained classifier, after checking its weights file against the known hash."""
    path = Path(path) if path is not None else weights_path()
    expected = sha256 or WEIGHTS_SHA256
    if not path.exists():
        raise FileNotFoundError(
            f"no classifier weights at {path}; train them: python scripts/train_mnist_classifier.py"
        )
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected:
        raise ValueError(
            f"classifier weights {path} have sha256 {actual[:12]}…, expected {expected[:12]}…"
        )
    model = build_classifier()
    model.load_weights(path)
    return model


@dataclass
class Scorer:
    """Scores batches of generated digits against reference statistics of real test digits."""

    classifier: keras.Model
    reference_mean: np.ndarray
    reference_cov: np.ndarray

    @classmethod
    def from_real(cls, real_images: np.ndarray, classifier: keras.Model | None = None) -> Scorer:
        """A scorer whose Fréchet reference is ``real_images`` (e.g. the MNIST test set)."""
        classifier = classifier if classifier is not None else load_classifier()
        features, _ = features_and_probabilities(classifier, real_images)
        return cls(classifier, features.mean(0), np.cov(features, rowvar=False))

    def score(self, images: np.ndarray) -> dict[str, object]:
        """Inception-style score, Fréchet distance and class fractions of ``images``."""
        features, probabilities = features_and_probabilities(self.classifier, images)
        fractions = np.bincount(probabilities.argmax(1), minlength=10) / len(images)
        return {
            "score": inception_score(probabilities),
            "frechet": frechet_distance(
                features.mean(0),
                np.cov(features, rowvar=False),
                self.reference_mean,
                self.reference_cov,
            ),
            "class_fractions": fractions.tolist(),
        }

    def score_record(self, images: np.ndarray) -> dict[str, float]:
        """:meth:`score` as a flat record of floats for an epoch log: ``score``, ``frechet``,
        ``min_class_fraction`` and ``class_0`` … ``class_9``."""
        result = self.score(images)
        fractions = result.pop("class_fractions")
        return {
            "score": float(result["score"]),
            "frechet": float(result["frechet"]),
            "min_class_fraction": float(min(fractions)),
            **{f"class_{digit}": float(fraction) for digit, fraction in enumerate(fractions)},
        }


def features_and_probabilities(
    classifier: keras.Model, images: np.ndarray, batch_size: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """Penultimate features ``(n, 128)`` and class probabilities ``(n, 10)`` of ``images``."""
    images = np.asarray(images, np.float32).reshape(-1, 28, 28)  # also accepts (n, 28, 28, 1)
    probe = keras.Model(
        classifier.input, [classifier.get_layer("features").output, classifier.output]
    )
    features, logits = probe.predict(images, batch_size=batch_size, verbose=0)
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    return features.astype(np.float64), probabilities / probabilities.sum(1, keepdims=True)


def inception_score(probabilities: np.ndarray, eps: float = 1e-12) -> float:
    """exp(mean_x KL(p(y|x) ‖ p(y))) for class probabilities ``(n, classes)``."""
    marginal = probabilities.mean(0)
    kl = np.sum(probabilities * (np.log(probabilities + eps) - np.log(marginal + eps)), axis=1)
    return float(np.exp(kl.mean()))


def frechet_distance(
    mean_a: np.ndarray,
    cov_a: np.ndarray,
    mean_b: np.ndarray,
    cov_b: np.ndarray,
    eps: float = 1e-6,
) -> float:
    """‖μa − μb‖² + tr(Σa + Σb − 2 (Σa Σb)^½), the Fréchet distance between two Gaussians.

    ReLU features have dead units, so the covariances can be singular; a ridge of ``eps`` on both
    diagonals keeps the matrix square root well defined (its effect is of order ``eps``).
    """
    cov_a = cov_a + eps * np.eye(len(cov_a))
    cov_b = cov_b + eps * np.eye(len(cov_b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(cov_a @ cov_b)
    root = np.real(root)  # round-off can leave tiny imaginary parts
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2.0 * root))


@dataclass
class Nearest:
    """Each sample's nearest pool image and how distinctly nearest it is."""

    index: np.ndarray  # (n,) pool index of the nearest image
    distance: np.ndarray  # (n,) Euclidean distance d1 to it
    ratio: np.ndarray  # (n,) d1 / d2, d2: distance to the nearest image of another identity


def nearest_with_ratio(
    samples: np.ndarray,
    pool: np.ndarray,
    pool_ids: np.ndarray | None = None,
    exclude_ids: np.ndarray | None = None,
    batch_size: int = 256,
) -> Nearest:
    """Nearest pool image of each sample, with the ratio test for copies.

    A copy of a pool image is much nearer to it than to anything else (``ratio`` near 0); a
    new image, or a blurry average of many, is about as near to several (``ratio`` well above a
    copy's), even when its distance is small. ``pool_ids`` marks pool images that are versions
    of one original (a face and its mirror image share an id): the second distance is to the
    nearest *other* id.
    ``exclude_ids`` gives, per sample, an id it may not match (leave-one-out for pool members).
    """
    pool_ids = np.arange(len(pool)) if pool_ids is None else np.asarray(pool_ids)
    if pool_ids.shape != (len(pool),):
        raise ValueError(f"pool_ids must hold one id per pool image, got {pool_ids.shape}")
    if exclude_ids is not None and np.shape(exclude_ids) != (len(samples),):
        raise ValueError(f"exclude_ids must hold one id per sample, got {np.shape(exclude_ids)}")
    if len(np.unique(pool_ids)) < (3 if exclude_ids is not None else 2):
        raise ValueError("the pool needs images of at least two ids left to compare; enlarge it")
    flat_pool = pool.reshape(len(pool), -1).astype(np.float64)
    pool_norms = np.sum(flat_pool**2, axis=1)
    index, first, second = [], [], []
    for start in range(0, len(samples), batch_size):
        flat = (
            samples[start : start + batch_size].reshape(-1, flat_pool.shape[1]).astype(np.float64)
        )
        squared = np.sum(flat**2, axis=1)[:, None] + pool_norms[None, :] - 2.0 * flat @ flat_pool.T
        distances = np.sqrt(np.maximum(squared, 0.0))  # (batch, pool)
        if exclude_ids is not None:
            own = np.asarray(exclude_ids)[start : start + batch_size]
            distances[pool_ids[None, :] == own[:, None]] = np.inf
        nearest = distances.argmin(1)
        rows = np.arange(len(flat))
        index.append(nearest)
        first.append(distances[rows, nearest])
        distances[pool_ids[None, :] == pool_ids[nearest][:, None]] = np.inf
        second.append(distances.min(1))
    d1, d2 = np.concatenate(first), np.concatenate(second)
    return Nearest(
        np.concatenate(index), d1, np.divide(d1, d2, out=np.zeros_like(d1), where=d2 > 0)
    )
