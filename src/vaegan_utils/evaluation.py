"""Scoring generated MNIST digits with a small classifier trained by this project.

The classifier (``scripts/train_mnist_classifier.py``) ships with the package; its weights are
hash-checked before use. From it:

- an Inception-style score, exp(E_x KL(p(y|x) ‖ p(y))), between 1 and 10 (10: every sample is a
  confident digit and all ten digits are equally frequent);
- the Fréchet distance between Gaussians fitted to its penultimate features on generated images
  and on real images (the MNIST test set);
- the fraction of samples assigned to each digit (mode collapse shows as classes vanishing);
- precision and recall in the same feature space (Kynkäänniemi et al. 2019): the share of
  generated images that fall inside the real images' manifold (fidelity) and the share of real
  images that fall inside the generated ones' (coverage).
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
    reference_features: np.ndarray | None = None

    @classmethod
    def from_real(cls, real_images: np.ndarray, classifier: keras.Model | None = None) -> Scorer:
        """A scorer whose reference is ``real_images`` (e.g. the first 5,000 test digits)."""
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


def shifted(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``images`` ``(n, h, w[, c])`` moved by ``dy`` rows and ``dx`` columns, the border filled by
    reflection (as ``training.flip_and_shift`` does)."""
    s = max(abs(dy), abs(dx))
    if s == 0:
        return images.copy()
    pad = [(0, 0), (s, s), (s, s)] + [(0, 0)] * (images.ndim - 3)
    padded = np.pad(images, pad, mode="reflect")
    h, w = images.shape[1:3]
    return padded[:, s - dy : s - dy + h, s - dx : s - dx + w]


def augmented_pool(
    images: np.ndarray, max_shift: int = 2, mirror: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Every training image in every version augmentation can show: mirrored or not, shifted by
    up to ``max_shift`` pixels each way. Returns the pool ``(n * versions, ...)`` and each
    version's id (the index of its original), for :func:`nearest_with_ratio`."""
    if max_shift < 0:
        raise ValueError(f"max_shift must be >= 0, got {max_shift}")
    sources = [images, images[:, :, ::-1]] if mirror else [images]
    offsets = range(-max_shift, max_shift + 1)
    versions = [shifted(source, dy, dx) for source in sources for dy in offsets for dx in offsets]
    ids = np.tile(np.arange(len(images)), len(versions))
    return np.concatenate(versions), ids


def copy_controls(
    faces: np.ndarray,
    n_pool: int,
    max_shift: int = 2,
    mirror: bool = True,
    noise: float = 0.05,
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, bool]]]:
    """Labelled controls for a copy detector.

    ``faces`` ``(n, h, w[, c])`` in [0, 1] are split at random into ``n_pool`` pool faces and
    ``n - n_pool`` held-out ones (k of them). Returns the pool faces and ``{kind: (images, is a
    copy)}``: k exact copies of pool faces, k mirrored copies (when ``mirror``), k copies shifted
    by 1 to ``max_shift`` pixels (when ``max_shift`` > 0), k copies with Gaussian noise of standard
    deviation ``noise``; and, not copies, the k held-out faces, the mean face (and its mirror
    image) and two flat grey images.
    """
    if not 2 <= n_pool <= len(faces) - 2:
        raise ValueError(f"n_pool must leave at least 2 faces on each side, got {n_pool}")
    k = len(faces) - n_pool
    if 3 * k > n_pool:
        raise ValueError(f"n_pool={n_pool} is too small for {k} held-out faces; raise it")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(faces))
    pool, held = faces[order[:n_pool]], faces[order[n_pool:]]
    kinds = {"exact copy": (pool[:k], True)}
    if mirror:
        kinds["mirrored copy"] = (pool[k : 2 * k, :, ::-1], True)
    if max_shift > 0:
        moves = [(int(rng.choice([-1, 1]) * rng.integers(1, max_shift + 1)),
                  int(rng.integers(-max_shift, max_shift + 1))) for _ in range(k)]  # fmt: skip
        moved = [
            shifted(pool[2 * k + i : 2 * k + i + 1], dy, dx)[0] for i, (dy, dx) in enumerate(moves)
        ]
        kinds[f"copy shifted 1-{max_shift} px"] = (np.stack(moved), True)
    noisy = np.clip(pool[:k] + rng.normal(0.0, noise, pool[:k].shape), 0.0, 1.0)
    kinds[f"copy with noise {noise:g}"] = (noisy.astype(faces.dtype), True)
    kinds["held-out face"] = (held, False)
    kinds["mean face"] = (np.stack([pool.mean(0), pool[:, :, ::-1].mean(0)]), False)
    grey = [np.full(faces.shape[1:], value, faces.dtype) for value in (0.5, faces.mean())]
    kinds["flat grey"] = (np.stack(grey), False)
    return pool, kinds


def fit_ratio_threshold(ratios: np.ndarray, is_copy: np.ndarray) -> float:
    """The ratio threshold (a copy: ratio below it) with the fewest errors on labelled controls,
    placed midway between the neighbouring ratios it separates."""
    ratios, is_copy = np.asarray(ratios, float), np.asarray(is_copy, bool)
    if is_copy.all() or not is_copy.any():
        raise ValueError("is_copy must label some controls copies and some not")
    values = np.sort(ratios)
    candidates = np.concatenate([[values[0] - 1e-6], (values[1:] + values[:-1]) / 2])
    errors = [np.sum((ratios < t) != is_copy) for t in candidates]
    return float(candidates[int(np.argmin(errors))])


class FaceClassifier:
    """A logistic regression on pixels telling faces from the offline set's non-face crops.

    With 100 faces and 100 non-faces it can tell face-like structure from other image content;
    it cannot tell a good face from a mediocre one, nor one person from another.
    """

    def __init__(self, strength: float = 0.01):
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(C=strength, max_iter=2000)

    def fit(self, faces: np.ndarray, nonfaces: np.ndarray) -> FaceClassifier:
        """Fit on ``faces`` (label 1) and ``nonfaces`` (label 0), grey images of one size."""
        x = np.concatenate([faces, nonfaces]).reshape(len(faces) + len(nonfaces), -1)
        y = np.concatenate([np.ones(len(faces)), np.zeros(len(nonfaces))])
        self.model.fit(x, y)
        return self

    def probability(self, images: np.ndarray) -> np.ndarray:
        """P(face) of each image, ``(n,)``."""
        return self.model.predict_proba(np.asarray(images).reshape(len(images), -1))[:, 1]


def cross_validated_face_probability(
    faces: np.ndarray, nonfaces: np.ndarray, folds: int = 5, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold P(face) of every face and every non-face (each scored by a classifier that
    did not train on it): the real-data reference for generated faces."""
    rng = np.random.default_rng(seed)
    face_fold = rng.permutation(len(faces)) % folds
    nonface_fold = rng.permutation(len(nonfaces)) % folds
    p_faces, p_nonfaces = np.zeros(len(faces)), np.zeros(len(nonfaces))
    for fold in range(folds):
        model = FaceClassifier().fit(faces[face_fold != fold], nonfaces[nonface_fold != fold])
        p_faces[face_fold == fold] = model.probability(faces[face_fold == fold])
        p_nonfaces[nonface_fold == fold] = model.probability(nonfaces[nonface_fold == fold])
    return p_faces, p_nonfaces


@dataclass(frozen=True)
class Interval:
    """A mean over seeds with its two-sided t-interval."""

    mean: float
    low: float
    high: float
    n: int  # seeds (pairs) it rests on

    def word(self, above: str = "higher", below: str = "lower") -> str:
        """``above`` when the whole interval lies above 0, ``below`` when below, otherwise
        "no measurable difference" (for a Fréchet distance: ``above="worse", below="better"``)."""
        if self.low > 0:
            return above
        if self.high < 0:
            return below
        return "no measurable difference"

    def __format__(self, spec: str) -> str:
        """``f"{interval:+.2f}"`` -> ``"+1.23 (-0.40 to +2.86)"``."""
        return f"{self.mean:{spec}} ({self.low:{spec}} to {self.high:{spec}})"


def paired_interval(after, before=None, level: float = 0.95) -> Interval:
    """Mean of ``after - before`` (paired by seed; ``before`` omitted: of ``after`` itself) and
    its t-interval at ``level``, from the sample standard deviation (ddof = 1)."""
    from scipy import stats

    values = np.asarray(after, dtype=float)
    if before is not None:
        before = np.asarray(before, dtype=float)
        if before.shape != values.shape:
            raise ValueError(f"after and before must pair up, got {values.shape}, {before.shape}")
        values = values - before
    if values.ndim != 1 or len(values) < 2:
        raise ValueError(f"need a 1-D array of at least 2 seeds, got shape {values.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    mean = float(values.mean())
    return Interval(mean, mean - half, mean + half, len(values))
