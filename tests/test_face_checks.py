"""vaegan_utils.face_checks: nearest images, the copy detector and its controls, the face check."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from vaegan_utils import data, face_checks


def test_nearest_with_ratio_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    originals = rng.random((50, 4, 4))
    pool = np.concatenate([originals, originals[:, :, ::-1]])  # images and their mirrors
    ids = np.tile(np.arange(50), 2)
    samples = rng.random((20, 4, 4))
    found = face_checks.nearest_with_ratio(samples, pool, ids, batch_size=6)
    d = cdist(samples.reshape(20, -1), pool.reshape(100, -1))
    nearest = d.argmin(1)
    np.testing.assert_array_equal(found.index, nearest)
    np.testing.assert_allclose(found.distance, d.min(1), rtol=1e-9)
    d[ids[None, :] == ids[nearest][:, None]] = np.inf  # neither the nearest nor its mirror
    np.testing.assert_allclose(found.ratio, found.distance / d.min(1), rtol=1e-9)


def test_ratio_test_tells_copies_from_averages() -> None:
    rng = np.random.default_rng(4)
    pool = rng.random((40, 6, 6))
    copies = pool[:5] + rng.normal(0, 0.01, (5, 6, 6))
    average = np.repeat(pool.mean(0, keepdims=True), 5, axis=0)  # near everything, copies nothing
    found = face_checks.nearest_with_ratio(np.concatenate([copies, average]), pool)
    assert np.all(found.ratio[:5] < 0.1) and np.all(found.ratio[5:] > 0.8)
    np.testing.assert_array_equal(found.index[:5], np.arange(5))
    # Leave-one-out: a pool image is not its own neighbour.
    loo = face_checks.nearest_with_ratio(pool, pool, exclude_ids=np.arange(40))
    assert np.all(loo.index != np.arange(40)) and np.all(loo.distance > 0.5)  # not 0: itself
    with pytest.raises(ValueError, match="pool_ids"):
        face_checks.nearest_with_ratio(pool, pool, pool_ids=np.arange(3))


def test_shifted_matches_the_augmentation_and_the_pool_holds_every_version() -> None:
    import tensorflow as tf

    images = np.random.default_rng(0).random((3, 8, 8)).astype(np.float32)
    moved = face_checks.shifted(images, 1, -2)
    np.testing.assert_array_equal(moved[:, 1:, :6], images[:, :-1, 2:])  # the interior moves
    padded = tf.pad(images, [[0, 0], [2, 2], [2, 2]], mode="REFLECT").numpy()
    np.testing.assert_array_equal(moved, padded[:, 1:9, 4:12])  # the border as flip_and_shift's
    pool, ids = face_checks.augmented_pool(images, max_shift=1)
    assert pool.shape == (3 * 2 * 9, 8, 8) and np.bincount(ids).tolist() == [18, 18, 18]
    np.testing.assert_array_equal(pool[ids == 0][0], face_checks.shifted(images[:1], -1, -1)[0])
    with pytest.raises(ValueError, match="max_shift"):
        face_checks.augmented_pool(images, max_shift=-1)


def test_ratio_threshold_fits_the_controls() -> None:
    ratios = np.array([0.0, 0.1, 0.4, 0.8, 0.9, 0.95])
    is_copy = np.array([True, True, True, False, False, False])
    assert face_checks.fit_ratio_threshold(ratios, is_copy) == pytest.approx(0.6)
    noisy = np.array([True, True, False, True, False, False])  # one copy sits among non-copies
    threshold = face_checks.fit_ratio_threshold(ratios, noisy)
    assert np.sum((ratios < threshold) != noisy) == 1
    with pytest.raises(ValueError, match="is_copy"):
        face_checks.fit_ratio_threshold(ratios, np.ones(6, bool))


def test_face_classifier_ranks_faces_above_nonfaces_blurs_and_averages() -> None:
    faces = data.load_faces(size=32, source="offline").images
    nonfaces = data.load_nonfaces(32)
    assert nonfaces.shape == (100, 32, 32) and 0 <= nonfaces.min() and nonfaces.max() <= 1
    found = face_checks.cross_validated_face_probability(faces, nonfaces)
    real = found["real faces"]
    accuracy = (np.mean(real > 0.5) + np.mean(found["non-face crops"] < 0.5)) / 2
    assert accuracy > 0.8  # out of fold: each image scored by a model that never saw it
    for name in ("blurred faces", "averages of 4 faces", "faces blurred by 1 px"):
        assert np.median(found[name]) < np.quantile(real, 0.1), name  # below 90% of faces
    classifier = face_checks.FaceClassifier().fit(faces, nonfaces)
    flat = np.full((1, 32, 32), 0.5, np.float32)
    assert classifier.probability(flat)[0] < np.median(real)  # a grey square is no face
    assert classifier.probability(faces.mean(0, keepdims=True))[0] < np.quantile(real, 0.1)
    # the control: without the hard negatives, slightly blurred faces pass as faces
    plain = face_checks.cross_validated_face_probability(faces, nonfaces, hard=False)
    assert np.median(plain["faces blurred by 1 px"]) > np.quantile(plain["real faces"], 0.1)
    with pytest.raises(ValueError, match="size"):
        data.load_nonfaces(0)


def test_blur_and_averages_against_their_definitions() -> None:
    images = np.zeros((3, 9, 9), np.float32)
    images[:, 4, 4] = 1.0
    smooth = face_checks.blurred(images, 1.0)
    assert smooth[0, 4, 4] == pytest.approx(1 / (2 * np.pi), rel=0.05)  # a Gaussian's peak
    assert smooth.sum() == pytest.approx(3.0, rel=1e-3)  # mass kept
    mean = face_checks.averages(np.arange(4.0)[:, None, None] * np.ones((4, 2, 2)), 4, 2)
    np.testing.assert_allclose(mean, 1.5)
    ramp = np.tile(np.arange(6.0), (6, 1))  # rises by 1 a column
    edges = face_checks.gradient_magnitude(np.stack([ramp, 2 * ramp, 0 * ramp]))
    # Sobel: a central difference (2) times a [1, 2, 1] smoothing (4), image by image
    np.testing.assert_allclose(
        edges[:, 2:4, 2:4], [[[8.0]], [[16.0]], [[0.0]]] * np.ones((3, 2, 2))
    )
    with pytest.raises(ValueError, match="sigma"):
        face_checks.blurred(images, 0.0)
    with pytest.raises(ValueError, match="k"):
        face_checks.averages(images, 1, 2)


def test_hard_copy_controls_are_near_their_faces_and_harder_than_plain_copies() -> None:
    faces = data.load_faces(size=32, source="offline").images
    pool = faces[:80]
    hard = face_checks.hard_copy_controls(pool, 20, seed=0)
    assert set(hard) == {"copy with noise 0.10", "70/30 blend of two faces", "copy shifted 0.5 px"}
    nearest = {
        name: face_checks.nearest_with_ratio(images, pool) for name, (images, _) in hard.items()
    }
    plain = face_checks.nearest_with_ratio(pool[:20], pool[20:])  # new faces: the far end
    for name, found in nearest.items():
        assert all(copy for _, copy in hard.values())
        assert np.median(found.ratio) < np.median(plain.ratio), name
    rng = np.random.default_rng(0)  # the blend's larger part is the face the seed drew first
    first = rng.choice(80, 20, replace=False)
    np.testing.assert_array_equal(nearest["70/30 blend of two faces"].index, first)


def _control_ratios(kinds: dict, pool: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, ...]:
    images = np.concatenate([imgs for imgs, _ in kinds.values()]).astype(np.float32)
    is_copy = np.concatenate([np.full(len(imgs), copy) for imgs, copy in kinds.values()])
    fit = np.concatenate([np.arange(len(imgs)) % 2 == 0 for imgs, _ in kinds.values()])
    return face_checks.nearest_with_ratio(images, pool, ids).ratio, is_copy, fit


def test_copy_detector_classifies_every_held_out_control_on_the_offline_faces() -> None:
    """Chapter 05's rule: threshold fitted on half of the controls, all of the other half right."""
    faces = data.load_faces(size=32, source="offline").images
    pool_faces, kinds = face_checks.copy_controls(faces, 80, max_shift=2, seed=0)
    assert {"exact copy", "mirrored copy", "copy shifted 1-2 px", "copy with noise 0.05",
            "held-out face", "mean face", "flat grey"} == set(kinds)  # fmt: skip
    held = kinds["held-out face"][0]
    assert len(held) == 20 and not any(np.any(np.all(pool_faces == h, axis=(1, 2))) for h in held)
    pool, ids = face_checks.augmented_pool(pool_faces, 2)
    ratios, is_copy, fit = _control_ratios(kinds, pool, ids)
    threshold = face_checks.fit_ratio_threshold(ratios[fit], is_copy[fit])
    assert np.all((ratios[~fit] < threshold) == is_copy[~fit])
    # What it must catch without help: a pool of the faces alone (no shifted versions) lets
    # shifted copies through at the same rule, so the augmented pool is what catches them.
    bare_ratios, _, _ = _control_ratios(kinds, pool_faces, np.arange(len(pool_faces)))
    shifted = np.concatenate(
        [np.full(len(v[0]), n == "copy shifted 1-2 px") for n, v in kinds.items()]
    )
    assert np.mean(bare_ratios[shifted] < threshold) < 0.5


def test_copy_controls_reject_bad_splits() -> None:
    faces = np.random.default_rng(0).random((10, 8, 8))
    with pytest.raises(ValueError, match="n_pool"):
        face_checks.copy_controls(faces, 9)
    with pytest.raises(ValueError, match="too small"):
        face_checks.copy_controls(faces, 5)
