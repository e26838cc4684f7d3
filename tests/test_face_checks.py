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


def test_copy_controls_are_copies_of_pool_faces() -> None:
    faces = data.load_faces(size=32, source="offline").images[:40]
    kinds = face_checks.copy_controls(faces, 10, max_shift=2, mirror=True, noise=0.05, seed=1)
    assert list(kinds) == ["exact copy", "mirrored copy", "copy shifted 1-2 px",
                           "copy with noise 0.05"]  # fmt: skip
    pool, ids = face_checks.augmented_pool(faces, 2)
    for name in ("exact copy", "mirrored copy", "copy shifted 1-2 px"):
        found = face_checks.nearest_with_ratio(kinds[name], pool, ids)
        np.testing.assert_allclose(found.distance, 0.0, atol=1e-5)  # each is one version
    noise = kinds["copy with noise 0.05"] - kinds["exact copy"]
    assert 0.03 < noise.std() < 0.05  # clipping at 0 and 1 trims a little
    bare = face_checks.copy_controls(faces, 10, max_shift=0, mirror=False)
    assert list(bare) == ["exact copy", "copy with noise 0.05"]
    with pytest.raises(ValueError, match="k must"):
        face_checks.copy_controls(faces, 41)


def test_hard_copy_controls_are_near_their_faces_and_harder_than_plain_copies() -> None:
    faces = data.load_faces(size=32, source="offline").images
    pool = faces[:80]
    hard = face_checks.hard_copy_controls(pool, 20, seed=0)
    assert list(hard) == ["copy with noise 0.10", "copy shifted 0.5 px",
                          "90/10 blend of two faces", "80/20 blend of two faces",
                          "70/30 blend of two faces", "60/40 blend of two faces",
                          "55/45 blend of two faces", "50/50 blend of two faces"]  # fmt: skip
    nearest = {name: face_checks.nearest_with_ratio(images, pool) for name, images in hard.items()}
    plain = face_checks.nearest_with_ratio(pool[:20], pool[20:])  # new faces: the far end
    for name, found in nearest.items():
        if not name.startswith(("55/45", "50/50")):
            assert np.median(found.ratio) < np.median(plain.ratio), name
    # Half of each face: as near to one as to the other, a ratio of 1 by construction.
    assert np.median(nearest["50/50 blend of two faces"].ratio) > 0.99
    rng = np.random.default_rng(0)  # the blend's larger part is the face the seed drew first
    first = rng.choice(80, 20, replace=False)
    np.testing.assert_array_equal(nearest["90/10 blend of two faces"].index, first)
    medians = [np.median(nearest[f"{w}/{100 - w} blend of two faces"].ratio)
               for w in (90, 80, 70, 60, 55, 50)]  # fmt: skip
    assert medians == sorted(medians)  # the more of the second face, the weaker the evidence
    with pytest.raises(ValueError, match="weights"):
        face_checks.hard_copy_controls(pool, 20, weights=(0.4,))


def test_null_ratios_are_leave_one_out_and_the_threshold_keeps_its_rate() -> None:
    rng = np.random.default_rng(5)
    faces = rng.random((30, 5, 5))
    null = face_checks.null_ratios(faces)
    d = cdist(faces.reshape(30, -1), faces.reshape(30, -1))
    np.fill_diagonal(d, np.inf)  # brute force: each against the others
    two = np.sort(d, axis=1)[:, :2]
    np.testing.assert_allclose(null, two[:, 0] / two[:, 1], rtol=1e-9)
    for rate in (0.05, 0.1, 0.3):
        threshold = face_checks.threshold_at_rate(null, rate)
        assert np.mean(null < threshold) <= rate  # never more false positives than declared
        assert np.mean(null <= threshold) > rate - 1 / len(null)  # and not needlessly fewer
    with pytest.raises(ValueError, match="rate"):
        face_checks.threshold_at_rate(null, 0.01)  # 30 ratios cannot resolve 1%
    with pytest.raises(ValueError, match="rate"):
        face_checks.threshold_at_rate(null, 1.5)


def test_centred_unit_ignores_contrast_and_the_shared_face() -> None:
    rng = np.random.default_rng(6)
    mean = rng.random((4, 4))
    images = rng.random((3, 4, 4))
    unit = face_checks.centred_unit(images, mean)
    np.testing.assert_allclose(np.sqrt((unit**2).sum(axis=(1, 2))), 1.0)
    stronger = mean + 2.5 * (images - mean)  # the same face at higher contrast
    np.testing.assert_allclose(face_checks.centred_unit(stronger, mean), unit, atol=1e-12)
    with pytest.raises(ValueError, match="mean face"):
        face_checks.centred_unit(mean[None], mean)


def test_scrambled_faces_keep_their_statistics_and_lose_their_layout() -> None:
    rng = np.random.default_rng(7)
    images = 0.4 + 0.2 * rng.random((4, 8, 8))  # away from 0 and 1: no clipping
    shuffled = face_checks.pixel_shuffled(images, seed=1)
    np.testing.assert_array_equal(np.sort(shuffled.reshape(4, -1)), np.sort(images.reshape(4, -1)))
    assert not np.allclose(shuffled, images)
    scrambled = face_checks.phase_scrambled(images, seed=1)
    np.testing.assert_allclose(  # the amplitude spectrum is kept
        np.abs(np.fft.fft2(scrambled)), np.abs(np.fft.fft2(images)), rtol=1e-6, atol=1e-9
    )
    assert np.abs(scrambled - images).mean() > 0.02  # the pixels are not
    made = face_checks.made_negatives(images, kinds=("upside-down faces", "noise images"))
    np.testing.assert_array_equal(made["upside-down faces"], images[:, ::-1])
    assert made["noise images"].shape == images.shape
    with pytest.raises(ValueError, match="kinds"):
        face_checks.made_negatives(images, kinds=("sideways faces",))


def test_auc_matches_sklearn_and_control_rows_use_the_real_faces_line() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(8)
    positives, negatives = rng.integers(0, 5, 30), rng.integers(0, 4, 20)  # with ties
    expected = roc_auc_score(np.r_[np.ones(30), np.zeros(20)], np.r_[positives, negatives])
    assert face_checks.auc(positives, negatives) == pytest.approx(expected)
    scored = {"real faces": np.linspace(0.5, 1.0, 11), "other": np.array([0.4, 0.6, 0.9])}
    (row,) = face_checks.control_rows(scored)
    assert row["images"] == "other" and row["share above the line"] == pytest.approx(2 / 3)
    assert row["mean P(face)"] == pytest.approx(19 / 30)
    with pytest.raises(ValueError, match="auc"):
        face_checks.auc([], [1.0])


def test_face_check_rejects_what_has_a_face_statistics_but_no_face() -> None:
    faces = data.load_faces(size=32, source="offline").images[:80]
    nonfaces = data.load_nonfaces(32)
    found = face_checks.face_check_controls(faces, nonfaces, leave_out=False)
    rows = {row["images"]: row for row in face_checks.control_rows(found)}
    accuracy = (np.mean(found["real faces"] > 0.5) + np.mean(found["non-face crops"] < 0.5)) / 2
    assert accuracy > 0.8  # out of fold: each image scored by a model that never saw it
    for kind in ("pixel-shuffled faces", "phase-scrambled faces", "upside-down faces",
                 "noise images", "blurred faces", "non-face crops"):  # fmt: skip
        assert rows[kind]["share above the line"] < 0.2, kind
        assert rows[kind]["AUC against real faces"] > 0.9, kind
    assert rows["averages of 4 faces"]["AUC against real faces"] > 0.8  # its weak spot
    # The control: the check's old design, with only blurred and averaged faces as made
    # negatives, lets noise over the mean face (a kind neither design trains on) pass.
    unseen = "mean face + noise 0.10"
    assert rows[unseen]["share above the line"] < 0.2
    old = face_checks.face_check_controls(
        faces, nonfaces, negatives=("blurred faces", "averages of 4 faces"), leave_out=False
    )
    assert face_checks.control_rows(old)[-1]["images"] == unseen
    assert face_checks.control_rows(old)[-1]["share above the line"] > 0.5
    with pytest.raises(ValueError, match="folds"):
        face_checks.face_check_controls(faces, nonfaces, folds=1)


def test_nearest_sample_distance_matches_brute_force_over_versions() -> None:
    rng = np.random.default_rng(9)
    faces, samples = rng.random((6, 5, 5)), rng.random((40, 5, 5))
    found = face_checks.nearest_sample_distance(faces, samples, max_shift=1, mirror=True)
    versions, ids = face_checks.augmented_pool(faces, 1, True)
    d = cdist(versions.reshape(len(versions), -1), samples.reshape(40, -1)).min(1)
    np.testing.assert_allclose(found, [d[ids == i].min() for i in range(6)])
    copies = np.concatenate([samples, faces[:2, :, ::-1]])  # two faces copied, mirrored
    again = face_checks.nearest_sample_distance(faces, copies, max_shift=1, mirror=True)
    np.testing.assert_allclose(again[:2], 0.0, atol=1e-12)
    mean = faces.mean(0)
    unit = face_checks.nearest_sample_distance(
        faces, samples, 1, True, transform=lambda x: face_checks.centred_unit(x, mean)
    )
    versions_unit = face_checks.centred_unit(versions, mean).reshape(len(versions), -1)
    samples_unit = face_checks.centred_unit(samples, mean).reshape(40, -1)
    d = cdist(versions_unit, samples_unit).min(1)
    np.testing.assert_allclose(unit, [d[ids == i].min() for i in range(6)])


def test_recover_finds_the_least_squares_code_of_a_linear_generator() -> None:
    import keras

    rng = np.random.default_rng(10)
    weights, bias = rng.normal(size=(3, 16)), rng.normal(size=16)
    generator = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(16), keras.layers.Reshape((4, 4))]
    )
    generator.layers[0].set_weights([weights.astype(np.float32), bias.astype(np.float32)])
    reachable = (rng.normal(size=(2, 3)) @ weights + bias).reshape(2, 4, 4)
    other = rng.normal(size=(2, 4, 4))
    images = np.concatenate([reachable, other]).astype(np.float32)
    drawn, errors = face_checks.recover(generator, images, 3, steps=600, learning_rate=0.1)
    codes, *_ = np.linalg.lstsq(weights.T, (images.reshape(4, -1) - bias).T, rcond=None)
    best = ((codes.T @ weights + bias - images.reshape(4, -1)) ** 2).mean(1)  # the oracle
    np.testing.assert_allclose(errors, best, atol=1e-3)
    np.testing.assert_allclose(((drawn - images) ** 2).mean(axis=(1, 2)), errors, rtol=1e-4)
    with pytest.raises(ValueError, match="steps"):
        face_checks.recover(generator, images, 3, steps=0)


def test_null_rate_range_matches_uniform_nulls() -> None:
    """Oracle: with uniform null ratios, a threshold's true false-positive rate is the
    threshold itself; over many nulls its spread matches the Beta range."""
    rng = np.random.default_rng(11)
    rates = [face_checks.threshold_at_rate(rng.random(80), 0.05) for _ in range(4000)]
    low, high = face_checks.null_rate_range(80, 0.05)
    assert np.quantile(rates, 0.025) == pytest.approx(low, rel=0.15)
    assert np.quantile(rates, 0.975) == pytest.approx(high, rel=0.1)
    assert low < 0.05 < high


def test_auc_interval_covers_at_its_level() -> None:
    """Oracle: over repeated draws of two normal samples with a known AUC, the Hanley-McNeil
    interval covers it close to 95% of the time."""
    from scipy import stats

    rng = np.random.default_rng(12)
    true_auc = stats.norm.cdf(1.0 / np.sqrt(2))  # N(1, 1) above N(0, 1)
    covered = 0
    for _ in range(1000):
        area, low, high = face_checks.auc_interval(rng.normal(1, 1, 20), rng.normal(0, 1, 80))
        covered += low <= true_auc <= high
        assert low <= area <= high
    assert 0.92 < covered / 1000 < 0.98
