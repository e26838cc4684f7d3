"""Scoring generated MNIST digits with a small classifier trained by this project.

The classifier (``scripts/train_mnist_classifier.py``) ships with the package; its weights are
hash-checked before use. From it:

- an Inception-style score, exp(E_x KL(p(y|x) ‖ p(y))), between 1 and 10 (10: every sample is a
  confident digit and all ten digits are equally frequent);
- the Fréchet distance between Gaussians fitted to its penultimate features on generated images
  and on real reference images (in the book, a random half of the MNIST test set);
- the fraction of samples assigned to each digit (mode collapse shows as classes vanishing);
- precision and recall in the same feature space (Kynkäänniemi et al. 2019): the share of
  generated images that fall inside the real images' manifold (fidelity) and the share of real
  images that fall inside the generated ones' (coverage).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Mapping
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
    reference_features: np.ndarray | None = None

    @classmethod
    def from_real(cls, real_images: np.ndarray, classifier: keras.Model | None = None) -> Scorer:
        """A scorer whose reference is ``real_images`` (e.g. a random half of the test digits,
        :func:`vaegan_utils.data.random_halves`)."""
        classifier = classifier if classifier is not None else load_classifier()
        features, _ = features_and_probabilities(classifier, real_images)
        return cls(classifier, features.mean(0), np.cov(features, rowvar=False), features)

    def score(self, images: np.ndarray, with_recall: bool = False) -> dict[str, object]:
        """Inception-style score, Fréchet distance and class fractions of ``images``; with
        ``with_recall``, also precision and recall against the reference (k = 3)."""
        features, probabilities = features_and_probabilities(self.classifier, images)
        fractions = np.bincount(probabilities.argmax(1), minlength=10) / len(images)
        result: dict[str, object] = {
            "score": inception_score(probabilities),
            "frechet": frechet_distance(
                features.mean(0),
                np.cov(features, rowvar=False),
                self.reference_mean,
                self.reference_cov,
            ),
            "class_fractions": fractions.tolist(),
        }
        if with_recall:
            if self.reference_features is None:
                raise ValueError("this scorer kept no reference features; build it by from_real")
            precision, recall = precision_recall(self.reference_features, features)
            result.update(precision=precision, recall=recall)
        return result

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
    """Penultimate features ``(n, 128)`` and class probabilities ``(n, 10)`` of ``images``:
    ``(n, 28, 28)`` or ``(n, 28, 28, 1)`` intensities in [0, 1]."""
    images = np.asarray(images, np.float32)
    if images.ndim not in (3, 4) or images.shape[1:3] != (28, 28) or images.size == 0:
        raise ValueError(f"images must be (n, 28, 28) digits, got shape {images.shape}")
    if not np.all(np.isfinite(images)):
        raise ValueError("images hold NaN or infinite values; score finite images only")
    if images.min() < 0.0 or images.max() > 1.0:
        raise ValueError(
            f"images must be intensities in [0, 1], got [{images.min():g}, {images.max():g}]; "
            "divide 0-255 images by 255"
        )
    images = images.reshape(-1, 28, 28)  # (n, 28, 28, 1) -> (n, 28, 28)
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


def frechet_extrapolated(
    features: np.ndarray,
    reference_features: np.ndarray,
    sizes: tuple[int, ...] = (1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000),
    repeats: int = 3,
    seed: int = 0,
) -> dict[str, object]:
    """The Fréchet distance with its small-sample bias removed: FD∞ (Chong & Forsyth, 2020).

    The estimate from n samples on each side exceeds the true distance by about c / n, so
    random subsets of ``sizes`` from both ``features`` and ``reference_features`` (``(n, d)``
    each, ``repeats`` draws per size) are scored and a line in 1/n is fitted; its intercept is
    the distance at n → ∞. For two samples of one population FD∞ scatters around 0 and can
    be negative, so compare FD∞ values by difference, never by ratio. Returns
    ``frechet_inf``, ``slope`` (c), ``sizes`` and the mean ``distances`` at each size.
    """
    sizes = tuple(int(n) for n in sizes)
    available = min(len(features), len(reference_features))
    if len(set(sizes)) < 2 or min(sizes) < 2 or max(sizes) > available:
        raise ValueError(
            f"sizes must hold at least two different sizes in [2, {available}] (the smaller "
            f"sample), got {sizes}"
        )
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    rng = np.random.default_rng(seed)
    distances = []
    for n in sizes:
        draws = []
        for _ in range(repeats):
            a = features[rng.choice(len(features), n, replace=False)]
            b = reference_features[rng.choice(len(reference_features), n, replace=False)]
            draws.append(
                frechet_distance(
                    a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
                )
            )
        distances.append(float(np.mean(draws)))
    slope, intercept = np.polyfit(1.0 / np.asarray(sizes, float), distances, 1)
    return {
        "frechet_inf": float(intercept),
        "slope": float(slope),
        "sizes": list(sizes),
        "distances": distances,
    }


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``(len(a), len(b))`` between the rows of ``a`` and ``b``."""
    squared = np.sum(a**2, 1)[:, None] + np.sum(b**2, 1)[None, :] - 2.0 * a @ b.T
    return np.maximum(squared, 0.0)


def knn_radii(features: np.ndarray, k: int = 3, batch_size: int = 1000) -> np.ndarray:
    """Distance from each row of ``features`` ``(n, d)`` to its k-th nearest other row, ``(n,)``."""
    if not 1 <= k < len(features):
        raise ValueError(f"k must be between 1 and n - 1 = {len(features) - 1}, got {k}")
    radii = []
    for start in range(0, len(features), batch_size):
        squared = _squared_distances(features[start : start + batch_size], features)
        radii.append(np.sqrt(np.partition(squared, k, axis=1)[:, k]))  # column 0: the point itself
    return np.concatenate(radii)


def manifold_share(
    points: np.ndarray, manifold: np.ndarray, radii: np.ndarray, batch_size: int = 1000
) -> float:
    """Share of ``points`` inside the union of balls of ``radii`` around ``manifold``'s rows."""
    inside = []
    for start in range(0, len(points), batch_size):
        squared = _squared_distances(points[start : start + batch_size], manifold)
        inside.append(np.any(squared <= radii[None, :] ** 2, axis=1))
    return float(np.concatenate(inside).mean())


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall of ``fake`` against ``real`` features (Kynkäänniemi et al.
    2019), each manifold the union of balls reaching each point's k-th nearest neighbour.

    Precision: share of fake points inside the real manifold (are the samples realistic?).
    Recall: share of real points inside the fake manifold (is all of the data covered?).
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake must be (n, d) features, got {real.shape}, {fake.shape}")
    precision = manifold_share(fake, real, knn_radii(real, k))
    recall = manifold_share(real, fake, knn_radii(fake, k))
    return precision, recall


def quality_targets(
    floor_frechet: float, frechet_factor: float = 2.0
) -> dict[str, Callable[[Mapping[str, float]], bool]]:
    """The book's targets for generated digits, as predicates on a score record
    (:meth:`Scorer.score_record`): score ≥ 9, Fréchet distance ≤ ``frechet_factor`` times the
    real-data floor ``floor_frechet``, every digit ≥ 5% of the samples, and all three at once."""
    if floor_frechet <= 0 or frechet_factor <= 0:
        raise ValueError(
            f"floor_frechet and frechet_factor must be positive, got {floor_frechet}, "
            f"{frechet_factor}"
        )
    checks: dict[str, Callable[[Mapping[str, float]], bool]] = {
        "score >= 9": lambda r: r["score"] >= 9.0,
        f"Fréchet <= {frechet_factor:g}x floor": (
            lambda r: r["frechet"] <= frechet_factor * floor_frechet
        ),
        "every digit >= 5%": lambda r: r["min_class_fraction"] >= 0.05,
    }
    parts = list(checks.values())
    checks["all three"] = lambda r: all(check(r) for check in parts)
    return checks
