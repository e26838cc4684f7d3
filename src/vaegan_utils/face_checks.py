"""Judging generated faces: nearest training images and copies, and a face/non-face check.

A face GAN has no classifier to score it, so its samples are checked two ways:

- for copies: each sample's nearest training image (every augmented version of it) and the
  ratio d1/d2 of its distance to that of the nearest *other* face, with a ratio threshold fitted
  on labelled controls (:func:`copy_controls`, :func:`fit_ratio_threshold`) and reported on
  harder ones (:func:`hard_copy_controls`);
- for faces: a logistic regression on pixels and their gradient magnitude against non-face
  crops, blurred faces and averages of faces (:class:`FaceClassifier`), with out-of-fold
  probabilities of real faces as the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
    reflection (as ``pipelines.flip_and_shift`` does)."""
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


def hard_copy_controls(
    pool: np.ndarray, k: int, seed: int = 0
) -> dict[str, tuple[np.ndarray, bool]]:
    """Copies that are harder to catch than :func:`copy_controls`' (all labelled copies): ``k``
    pool faces with Gaussian noise of standard deviation 0.10, 70/30 blends of two pool faces
    (the first one the larger part), and copies shifted by half a pixel each way (bilinear,
    borders reflected), grey ``(n, h, w)`` or colour images."""
    from scipy import ndimage

    if not 2 <= k <= len(pool):
        raise ValueError(f"k must be between 2 and the {len(pool)} pool faces, got {k}")
    rng = np.random.default_rng(seed)
    first = rng.choice(len(pool), k, replace=False)
    second = (first + rng.integers(1, len(pool), k)) % len(pool)  # another face
    noisy = np.clip(pool[first] + rng.normal(0.0, 0.10, pool[first].shape), 0.0, 1.0)
    blends = 0.7 * pool[first] + 0.3 * pool[second]
    signs = rng.choice([-0.5, 0.5], size=(k, 2))
    moved = np.stack(
        [
            ndimage.shift(pool[i], (dy, dx) + (0,) * (pool.ndim - 3), order=1, mode="reflect")
            for i, (dy, dx) in zip(first, signs, strict=True)
        ]
    )
    return {
        "copy with noise 0.10": (noisy.astype(pool.dtype), True),
        "70/30 blend of two faces": (blends.astype(pool.dtype), True),
        "copy shifted 0.5 px": (moved.astype(pool.dtype), True),
    }


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


def gradient_magnitude(images: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude of each grey image ``(n, h, w)``: large at sharp edges, small in
    a blurred or averaged image."""
    from scipy import ndimage

    images = np.asarray(images, np.float64)
    # image by image: on the stack, Sobel would also smooth across images
    rows = np.stack([ndimage.sobel(image, axis=0) for image in images])
    cols = np.stack([ndimage.sobel(image, axis=1) for image in images])
    return np.hypot(rows, cols)


def blurred(images: np.ndarray, sigma: float) -> np.ndarray:
    """Grey images ``(n, h, w)`` smoothed by a Gaussian of ``sigma`` pixels."""
    from scipy import ndimage

    if sigma <= 0:
        raise ValueError(f"sigma must be a positive number of pixels, got {sigma}")
    return ndimage.gaussian_filter(np.asarray(images, np.float32), (0, sigma, sigma))


def averages(images: np.ndarray, k: int, n: int, seed: int = 0) -> np.ndarray:
    """``n`` averages of ``k`` images each, drawn at random without replacement: faces an
    average can produce, blurry where the faces disagree."""
    if not 2 <= k <= len(images):
        raise ValueError(f"k must be between 2 and the {len(images)} images, got {k}")
    rng = np.random.default_rng(seed)
    return np.stack([images[rng.choice(len(images), k, replace=False)].mean(0) for _ in range(n)])


def hard_negatives(faces: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """What a face check must not call a face although it is made of faces: each face blurred
    (sigma 1.5 px) and as many averages of 4 faces."""
    return {
        "blurred faces": blurred(faces, 1.5),
        "averages of 4 faces": averages(faces, 4, len(faces), seed),
    }


class FaceClassifier:
    """A logistic regression telling faces from non-faces, on pixels and on the pixels' gradient
    magnitude (a linear model on pixels alone cannot see sharpness).

    Its negatives: non-face crops and, with ``hard=True``, each training face blurred and
    averages of training faces (:func:`hard_negatives`), so that a blurry average is no face to
    it. With 100 faces it can tell face-like structure from other image content; it cannot tell
    a good face from a mediocre one, nor one person from another. Its gradient features reward
    sharp noise, which it was not trained against (see :func:`cross_validated_face_probability`).
    """

    def __init__(self, strength: float = 0.01, hard: bool = True, seed: int = 0):
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(C=strength, max_iter=3000)
        self.hard, self.seed = hard, seed

    @staticmethod
    def features(images: np.ndarray) -> np.ndarray:
        """``(n, 2 * h * w)``: the pixels, then their gradient magnitude."""
        images = np.asarray(images, np.float64)
        flat = images.reshape(len(images), -1)
        return np.concatenate([flat, gradient_magnitude(images).reshape(len(images), -1)], 1)

    def fit(self, faces: np.ndarray, nonfaces: np.ndarray) -> FaceClassifier:
        """Fit on ``faces`` (label 1) and ``nonfaces`` (label 0, with the hard negatives made
        from ``faces``), grey images ``(n, h, w)`` of one size."""
        negatives = [nonfaces]
        if self.hard:
            negatives += list(hard_negatives(faces, self.seed).values())
        negatives = np.concatenate(negatives)
        x = self.features(np.concatenate([faces, negatives]))
        y = np.concatenate([np.ones(len(faces)), np.zeros(len(negatives))])
        self.model.fit(x, y)
        return self

    def probability(self, images: np.ndarray) -> np.ndarray:
        """P(face) of each image, ``(n,)``."""
        return self.model.predict_proba(self.features(images))[:, 1]


def cross_validated_face_probability(
    faces: np.ndarray, nonfaces: np.ndarray, folds: int = 5, seed: int = 0, hard: bool = True
) -> dict[str, np.ndarray]:
    """Out-of-fold P(face): each image scored by a classifier that did not train on it nor on
    anything made from it. ``"real faces"`` and ``"non-face crops"``, one value each; the
    check's controls, made from each fold's held-out faces: ``"blurred faces"``, ``"averages of
    4 faces"`` (:func:`hard_negatives`), ``"faces blurred by 1 px"`` (less than in training), one
    value per held-out face, and ``"mean face of a fold"``, one value per fold; and two kinds it
    was not trained against, one value per held-out face: ``"noise images"`` (uniform) and
    ``"mean face + noise 0.10"``. The gradient magnitude that makes blur visible to the check also
    rewards noise: these show by how much."""
    rng = np.random.default_rng(seed)
    face_fold = rng.permutation(len(faces)) % folds
    nonface_fold = rng.permutation(len(nonfaces)) % folds
    found: dict[str, list] = {"real faces": [], "non-face crops": []}
    order = {"real faces": [], "non-face crops": []}
    for fold in range(folds):
        held, held_nonface = face_fold == fold, nonface_fold == fold
        model = FaceClassifier(hard=hard, seed=seed).fit(faces[~held], nonfaces[~held_nonface])
        rng = np.random.default_rng(seed + fold)
        mean_face = faces[held].mean(0, keepdims=True)
        controls = {
            **hard_negatives(faces[held], seed + fold),
            "faces blurred by 1 px": blurred(faces[held], 1.0),
            "mean face of a fold": mean_face,
            # what it was not trained against: sharp noise, alone and over the mean face
            "noise images": rng.random(faces[held].shape),
            "mean face + noise 0.10": np.clip(
                mean_face + rng.normal(0.0, 0.10, faces[held].shape), 0.0, 1.0
            ),
        }
        scored = {
            "real faces": model.probability(faces[held]),
            "non-face crops": model.probability(nonfaces[held_nonface]),
            **{name: model.probability(images) for name, images in controls.items()},
        }
        for name, values in scored.items():
            found.setdefault(name, []).append(values)
        order["real faces"].append(np.flatnonzero(held))
        order["non-face crops"].append(np.flatnonzero(held_nonface))
    result = {name: np.concatenate(values) for name, values in found.items()}
    for name, indices in order.items():  # back in the images' own order
        result[name] = result[name][np.argsort(np.concatenate(indices))]
    return result
