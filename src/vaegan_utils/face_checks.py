"""Judging generated faces: copies, memorisation, and a face/non-face check.

A face GAN has no classifier to score it, so its samples are checked three ways:

- for copies: each sample's nearest training image (every augmented version of it) and the
  ratio d1/d2 of its distance to that of the nearest *other* face (:func:`nearest_with_ratio`),
  flagged below a threshold set on the ratios of real faces against the other faces
  (:func:`null_ratios`, :func:`threshold_at_rate`) at a declared false-positive rate, and
  checked on copies easy and hard (:func:`copy_controls`, :func:`hard_copy_controls`);
- for memorisation: training faces against faces held out of training, by their distance to the
  nearest sample (:func:`nearest_sample_distance`) and by how closely the generator can redraw
  them (:func:`recover`);
- for faces: a logistic regression on pixels and their gradient magnitude against non-face
  crops and images made of faces that are no faces (:class:`FaceClassifier`), with its controls
  scored out of fold (:func:`face_check_controls`, :func:`control_rows`).
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
    pool: np.ndarray,
    k: int,
    max_shift: int = 2,
    mirror: bool = True,
    noise: float = 0.05,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Copies of ``k`` random ``pool`` faces (``(n, h, w[, c])`` in [0, 1]) that a copy test
    must catch: exact copies, mirrored copies (when ``mirror``), copies shifted by 1 to
    ``max_shift`` pixels (when ``max_shift`` > 0) and copies with Gaussian noise of standard
    deviation ``noise``. ``{kind: images}``."""
    if not 1 <= k <= len(pool):
        raise ValueError(f"k must be between 1 and the {len(pool)} pool faces, got {k}")
    rng = np.random.default_rng(seed)
    chosen = pool[rng.choice(len(pool), k, replace=False)]
    kinds = {"exact copy": chosen.copy()}
    if mirror:
        kinds["mirrored copy"] = chosen[:, :, ::-1].copy()
    if max_shift > 0:
        moves = [(int(rng.choice([-1, 1]) * rng.integers(1, max_shift + 1)),
                  int(rng.integers(-max_shift, max_shift + 1))) for _ in range(k)]  # fmt: skip
        kinds[f"copy shifted 1-{max_shift} px"] = np.stack(
            [shifted(chosen[i : i + 1], dy, dx)[0] for i, (dy, dx) in enumerate(moves)]
        )
    noisy = np.clip(chosen + rng.normal(0.0, noise, chosen.shape), 0.0, 1.0)
    kinds[f"copy with noise {noise:g}"] = noisy.astype(pool.dtype)
    return kinds


def hard_copy_controls(
    pool: np.ndarray,
    k: int,
    seed: int = 0,
    weights: tuple[float, ...] = (0.9, 0.8, 0.7, 0.6, 0.55, 0.5),
) -> dict[str, np.ndarray]:
    """Copies that are harder to catch than :func:`copy_controls`', ``{kind: images}``: ``k``
    pool faces with Gaussian noise of standard deviation 0.10, copies shifted by half a pixel
    each way (bilinear, borders reflected), and blends of two pool faces at each of ``weights``
    (the first face the larger part: ``0.7`` makes a 70/30 blend), grey ``(n, h, w)`` or colour
    images."""
    from scipy import ndimage

    if not 2 <= k <= len(pool):
        raise ValueError(f"k must be between 2 and the {len(pool)} pool faces, got {k}")
    if not all(0.5 <= w < 1 for w in weights):
        raise ValueError(f"weights must lie in [0.5, 1), got {weights}")
    rng = np.random.default_rng(seed)
    first = rng.choice(len(pool), k, replace=False)
    second = (first + rng.integers(1, len(pool), k)) % len(pool)  # another face
    noisy = np.clip(pool[first] + rng.normal(0.0, 0.10, pool[first].shape), 0.0, 1.0)
    signs = rng.choice([-0.5, 0.5], size=(k, 2))
    moved = np.stack(
        [
            ndimage.shift(pool[i], (dy, dx) + (0,) * (pool.ndim - 3), order=1, mode="reflect")
            for i, (dy, dx) in zip(first, signs, strict=True)
        ]
    )
    kinds = {
        "copy with noise 0.10": noisy.astype(pool.dtype),
        "copy shifted 0.5 px": moved.astype(pool.dtype),
    }
    for w in weights:
        blend = w * pool[first] + (1 - w) * pool[second]
        kinds[f"{round(100 * w)}/{round(100 * (1 - w))} blend of two faces"] = blend.astype(
            pool.dtype
        )
    return kinds


def centred_unit(images: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``images`` minus ``mean`` (the training faces' mean face), each scaled to unit Euclidean
    norm: a distance between such images ignores overall contrast and the face every image
    shares, and weighs what sets one face apart."""
    centred = np.asarray(images, np.float64) - np.asarray(mean, np.float64)
    norms = np.sqrt(np.sum(centred.reshape(len(centred), -1) ** 2, axis=1))
    if np.any(norms == 0):
        raise ValueError("an image equals the mean face; it has no direction to compare")
    return centred / norms.reshape((-1,) + (1,) * (centred.ndim - 1))


def null_ratios(
    faces: np.ndarray, max_shift: int = 0, mirror: bool = False, transform=None
) -> np.ndarray:
    """The ratio test's null: each face's ratio ``d1/d2`` against every version of the *other*
    faces (leave-one-out), ``(n,)``. These are ratios of new faces, never copies; the share of
    them a threshold flags is its false-positive rate. ``transform`` (e.g. a
    :func:`centred_unit`) maps images before distances are taken."""
    pool, ids = augmented_pool(faces, max_shift, mirror)
    if transform is not None:
        faces, pool = transform(faces), transform(pool)
    return nearest_with_ratio(faces, pool, ids, exclude_ids=np.arange(len(faces))).ratio


def null_rate_range(n_null: int, rate: float, level: float = 0.95) -> tuple[float, float]:
    """How far the true false-positive rate of :func:`threshold_at_rate`'s threshold may lie
    from ``rate``: a new face falls below the k-th smallest of ``n_null`` null ratios with a
    chance distributed as Beta(k, n_null + 1 - k) (k = floor((n_null - 1) * rate) + 1), whatever
    the ratios' distribution; its central ``level`` interval."""
    from scipy import stats

    k = int(np.floor((n_null - 1) * rate)) + 1
    low, high = stats.beta.ppf([(1 - level) / 2, (1 + level) / 2], k, n_null + 1 - k)
    return float(low), float(high)


def threshold_at_rate(null: np.ndarray, rate: float) -> float:
    """The ratio threshold (a copy: ratio *below* it) that flags at most ``rate`` of the
    ``null`` ratios: their order statistic at ``rate`` (numpy's "lower" quantile)."""
    if not 0 < rate < 1:
        raise ValueError(f"rate must be a false-positive rate in (0, 1), got {rate}")
    null = np.asarray(null, float)
    if rate * (len(null) - 1) < 1:
        raise ValueError(f"{len(null)} null ratios cannot set a rate of {rate}; raise rate")
    return float(np.quantile(null, rate, method="lower"))


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


def pixel_shuffled(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each image ``(n, h, w)`` with its pixels in a random order of its own: the same grey
    levels, no structure at all."""
    rng = np.random.default_rng(seed)
    flat = np.asarray(images).reshape(len(images), -1)
    return np.stack([rng.permutation(row) for row in flat]).reshape(np.shape(images))


def phase_scrambled(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each grey image ``(n, h, w)`` with its Fourier amplitudes kept and a white-noise image's
    phases added to its own, then matched to its mean and standard deviation and clipped to
    [0, 1]: the same power spectrum (so about as many edges of each scale), no face."""
    rng = np.random.default_rng(seed)
    images = np.asarray(images, np.float64)
    spectra = np.fft.fft2(images)
    noise_phase = np.angle(np.fft.fft2(rng.random(images.shape)))  # Hermitian: stays real
    scrambled = np.real(
        np.fft.ifft2(np.abs(spectra) * np.exp(1j * (np.angle(spectra) + noise_phase)))
    )
    axes = (1, 2)
    centred = scrambled - scrambled.mean(axes, keepdims=True)
    scale = images.std(axes, keepdims=True) / np.maximum(centred.std(axes, keepdims=True), 1e-12)
    return np.clip(images.mean(axes, keepdims=True) + centred * scale, 0.0, 1.0)


NEGATIVE_KINDS: tuple[str, ...] = (
    "blurred faces",
    "averages of 4 faces",
    "pixel-shuffled faces",
    "phase-scrambled faces",
    "upside-down faces",
    "noise images",
)


def made_negatives(
    faces: np.ndarray, seed: int = 0, kinds: tuple[str, ...] = NEGATIVE_KINDS
) -> dict[str, np.ndarray]:
    """What a face check must not call a face although it is made of faces (or of their
    statistics), one image per face and kind: each face blurred (sigma 1.5 px), averages of 4
    faces, each face's pixels shuffled, its phases scrambled, the face upside down, and uniform
    noise. ``kinds`` picks some of :data:`NEGATIVE_KINDS`."""
    unknown = set(kinds) - set(NEGATIVE_KINDS)
    if unknown:
        raise ValueError(f"kinds must come from NEGATIVE_KINDS, got {sorted(unknown)}")
    makers = {
        "blurred faces": lambda: blurred(faces, 1.5),
        "averages of 4 faces": lambda: averages(faces, 4, len(faces), seed),
        "pixel-shuffled faces": lambda: pixel_shuffled(faces, seed),
        "phase-scrambled faces": lambda: phase_scrambled(faces, seed),
        "upside-down faces": lambda: np.asarray(faces)[:, ::-1].copy(),
        "noise images": lambda: np.random.default_rng(seed).random(np.shape(faces)),
    }
    return {kind: np.asarray(makers[kind](), np.float64) for kind in kinds}


class FaceClassifier:
    """A logistic regression telling faces from non-faces, on three views of each grey image:
    its pixels, their gradient magnitude (sharpness, which a linear model on pixels cannot
    compute) and a histogram of oriented gradients (HOG, Dalal and Triggs' face and pedestrian
    feature: the layout of edge directions), each feature standardised, the two classes
    weighted equally.

    Its negatives: non-face crops and the kinds of :func:`made_negatives` made from its
    training faces, so that neither a blurry average nor an image with a face's grey levels,
    power spectrum or edge energy but no face's layout passes easily. With 100 faces it can
    tell face-like structure from other image content; it cannot tell a good face from a
    mediocre one, nor one person from another.
    """

    def __init__(
        self, strength: float = 0.1, negatives: tuple[str, ...] = NEGATIVE_KINDS, seed: int = 0
    ):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.model = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=strength, class_weight="balanced", max_iter=3000),
        )
        self.negatives, self.seed = tuple(negatives), seed

    @staticmethod
    def features(images: np.ndarray) -> np.ndarray:
        """``(n, features)``: the pixels, their gradient magnitude, then HOG (9 orientations,
        cells of 4x4 pixels, blocks of 2x2 cells)."""
        from skimage.feature import hog

        images = np.asarray(images, np.float64)
        flat = images.reshape(len(images), -1)
        edges = gradient_magnitude(images).reshape(len(images), -1)
        layout = np.stack(
            [hog(image, 9, pixels_per_cell=(4, 4), cells_per_block=(2, 2)) for image in images]
        )
        return np.concatenate([flat, edges, layout], 1)

    def fit(self, faces: np.ndarray, nonfaces: np.ndarray) -> FaceClassifier:
        """Fit on ``faces`` (label 1) and ``nonfaces`` (label 0, with the negatives made from
        ``faces``), grey images ``(n, h, w)`` of one size."""
        made = made_negatives(faces, self.seed, self.negatives)
        negatives = np.concatenate([nonfaces, *made.values()])
        x = self.features(np.concatenate([faces, negatives]))
        y = np.concatenate([np.ones(len(faces)), np.zeros(len(negatives))])
        self.model.fit(x, y)
        return self

    def probability(self, images: np.ndarray) -> np.ndarray:
        """P(face) of each image, ``(n,)``."""
        return self.model.predict_proba(self.features(images))[:, 1]


UNSEEN_KINDS: tuple[str, ...] = ("faces blurred by 1 px", "mean face + noise 0.10")


def face_check_controls(
    faces: np.ndarray,
    nonfaces: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    negatives: tuple[str, ...] = NEGATIVE_KINDS,
    leave_out: bool = True,
) -> dict[str, np.ndarray]:
    """Out-of-fold P(face): each image scored by a classifier that did not train on it nor on
    anything made from it, one value per image.

    - ``"real faces"`` and ``"non-face crops"``;
    - each kind in ``negatives``, made from each fold's held-out faces: kinds the check trained
      against, though not on these images;
    - :data:`UNSEEN_KINDS`, which no classifier trained against;
    - with ``leave_out``, ``"<kind> (left out)"`` for each kind in ``negatives``: scored by a
      classifier trained without that kind, which shows whether the check generalises to a
      fooling kind it never saw.
    """
    if not 2 <= folds <= min(len(faces), len(nonfaces)):
        raise ValueError(f"folds must be between 2 and the number of images, got {folds}")
    rng = np.random.default_rng(seed)
    face_fold = rng.permutation(len(faces)) % folds
    nonface_fold = rng.permutation(len(nonfaces)) % folds
    found: dict[str, list] = {"real faces": [], "non-face crops": []}
    order: dict[str, list] = {"real faces": [], "non-face crops": []}
    for fold in range(folds):
        held, held_nonface = face_fold == fold, nonface_fold == fold
        train_faces, train_nonfaces = faces[~held], nonfaces[~held_nonface]
        model = FaceClassifier(negatives=negatives, seed=seed).fit(train_faces, train_nonfaces)
        fold_rng = np.random.default_rng(seed + fold)
        made = made_negatives(faces[held], seed + fold, negatives)
        mean_face = faces[held].mean(0, keepdims=True)
        unseen = {
            "faces blurred by 1 px": blurred(faces[held], 1.0),
            "mean face + noise 0.10": np.clip(
                mean_face + fold_rng.normal(0.0, 0.10, faces[held].shape), 0.0, 1.0
            ),
        }
        scored = {
            "real faces": model.probability(faces[held]),
            "non-face crops": model.probability(nonfaces[held_nonface]),
            **{name: model.probability(images) for name, images in made.items()},
            **{name: model.probability(images) for name, images in unseen.items()},
        }
        if leave_out:
            for kind in negatives:
                others = tuple(k for k in negatives if k != kind)
                without = FaceClassifier(negatives=others, seed=seed)
                without.fit(train_faces, train_nonfaces)
                scored[f"{kind} (left out)"] = without.probability(made[kind])
        for name, values in scored.items():
            found.setdefault(name, []).append(values)
        order["real faces"].append(np.flatnonzero(held))
        order["non-face crops"].append(np.flatnonzero(held_nonface))
    result = {name: np.concatenate(values) for name, values in found.items()}
    for name, indices in order.items():  # back in the images' own order
        result[name] = result[name][np.argsort(np.concatenate(indices))]
    return result


def auc(positives: np.ndarray, negatives: np.ndarray) -> float:
    """The area under the ROC curve of a score: the chance that a random positive scores above
    a random negative, ties counted half (the Mann-Whitney U over ``n_pos * n_neg``)."""
    from scipy import stats

    positives, negatives = np.ravel(positives), np.ravel(negatives)
    if len(positives) == 0 or len(negatives) == 0:
        raise ValueError("auc needs at least one positive and one negative score")
    u = stats.mannwhitneyu(positives, negatives, alternative="two-sided").statistic
    return float(u / (len(positives) * len(negatives)))


def auc_interval(
    positives: np.ndarray, negatives: np.ndarray, level: float = 0.95
) -> tuple[float, float, float]:
    """:func:`auc` with its Hanley-McNeil (1982) normal interval at ``level``, clipped to
    [0, 1]: ``(auc, low, high)``."""
    from scipy import stats

    area = auc(positives, negatives)
    n1, n2 = len(np.ravel(positives)), len(np.ravel(negatives))
    q1, q2 = area / (2 - area), 2 * area**2 / (1 + area)
    variance = (area * (1 - area) + (n1 - 1) * (q1 - area**2) + (n2 - 1) * (q2 - area**2)) / (
        n1 * n2
    )
    half = stats.norm.ppf((1 + level) / 2) * np.sqrt(max(variance, 0.0))
    return area, float(max(0.0, area - half)), float(min(1.0, area + half))


def control_rows(scored: dict[str, np.ndarray], line_quantile: float = 0.1) -> list[dict]:
    """One row per control kind of :func:`face_check_controls`: its mean P(face), the share of
    its images above the real faces' ``line_quantile`` quantile (9 in 10 real faces lie above
    it at 0.1) and the AUC of real faces against it (1: always told apart; 0.5: not at all)."""
    real = scored["real faces"]
    line = float(np.quantile(real, line_quantile))
    return [
        {
            "images": name,
            "mean P(face)": float(values.mean()),
            "share above the line": float(np.mean(values > line)),
            "AUC against real faces": auc(real, values),
        }
        for name, values in scored.items()
        if name != "real faces"
    ]


def nearest_sample_distance(
    faces: np.ndarray,
    samples: np.ndarray,
    max_shift: int = 0,
    mirror: bool = False,
    transform=None,
) -> np.ndarray:
    """Each face's Euclidean distance to its nearest sample, over every version of the face
    that augmentation shows (:func:`augmented_pool`), ``(n,)``; ``transform`` (e.g. a
    :func:`centred_unit`) maps the versions and the samples first. A generator that memorised
    its training faces draws samples nearer to them than to held-out faces from the same
    source."""
    from scipy.spatial.distance import cdist

    versions, ids = augmented_pool(faces, max_shift, mirror)
    if transform is not None:
        versions, samples = transform(versions), transform(samples)
    flat = np.asarray(samples, np.float64).reshape(len(samples), -1)
    nearest = cdist(versions.reshape(len(versions), -1).astype(np.float64), flat).min(1)
    return np.array([nearest[ids == i].min() for i in range(len(faces))])


def recover(
    generator,
    images: np.ndarray,
    latent_dim: int,
    steps: int = 300,
    restarts: int = 4,
    learning_rate: float = 0.05,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The generator's closest reconstruction of each image: the code ``z`` that minimises the
    mean squared error of ``G(z)``, by Adam from ``restarts`` random starts, the best start
    kept. Returns the reconstructions (shaped as ``images``) and their errors ``(n,)``. A
    generator that memorised a face can redraw it closely; a held-out face is its control."""
    import keras
    import tensorflow as tf

    if steps < 1 or restarts < 1:
        raise ValueError(f"steps and restarts must be >= 1, got {steps}, {restarts}")
    n = len(images)
    target = tf.constant(
        np.tile(np.asarray(images, np.float32), (restarts,) + (1,) * (images.ndim - 1))
    )
    z = tf.Variable(keras.random.normal((restarts * n, latent_dim), seed=seed))
    optimizer = keras.optimizers.Adam(learning_rate)

    def errors() -> tf.Tensor:
        drawn = tf.reshape(generator(z, training=False), tf.shape(target))
        return tf.reduce_mean(tf.reshape((drawn - target) ** 2, (restarts * n, -1)), axis=1)

    @tf.function
    def step() -> None:
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(errors())
        optimizer.apply_gradients([(tape.gradient(loss, z), z)])

    for _ in range(steps):
        step()
    per_start = errors().numpy().reshape(restarts, n)  # (restarts, n)
    best = per_start.argmin(0)
    chosen = z.numpy().reshape(restarts, n, latent_dim)[best, np.arange(n)]
    drawn = np.asarray(generator(chosen, training=False)).reshape(np.shape(images))
    return drawn, per_start[best, np.arange(n)]
