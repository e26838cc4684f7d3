"""vaegan_utils.evaluation: the score, the Fréchet distance, neighbours, the shipped classifier."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from vaegan_utils import data, evaluation, face_checks, intervals


def test_inception_score_extremes() -> None:
    confident = np.eye(10)[np.arange(1000) % 10]  # every class, each sample certain
    assert evaluation.inception_score(confident) == pytest.approx(10.0, rel=1e-6)
    one_class = np.eye(10)[np.zeros(1000, int)]
    assert evaluation.inception_score(one_class) == pytest.approx(1.0, rel=1e-6)
    unsure = np.full((1000, 10), 0.1)
    assert evaluation.inception_score(unsure) == pytest.approx(1.0, rel=1e-6)
    two_classes = np.eye(10)[np.arange(1000) % 2]
    assert evaluation.inception_score(two_classes) == pytest.approx(2.0, rel=1e-6)


def test_frechet_distance_closed_forms() -> None:
    rng = np.random.default_rng(0)
    factor = rng.normal(size=(5, 5))
    cov = factor @ factor.T + np.eye(5)
    mean = rng.normal(size=5)
    assert evaluation.frechet_distance(mean, cov, mean, cov) == pytest.approx(0.0, abs=1e-6)
    # Diagonal covariances commute: the distance is ‖Δμ‖² + Σ (σa − σb)².
    sd_a, sd_b = rng.uniform(0.5, 2, 5), rng.uniform(0.5, 2, 5)
    expected = np.sum((mean - 1.0) ** 2) + np.sum((sd_a - sd_b) ** 2)
    got = evaluation.frechet_distance(mean, np.diag(sd_a**2), np.ones(5), np.diag(sd_b**2), eps=0)
    assert got == pytest.approx(expected, rel=1e-8)
    other = factor.T @ factor + 0.5 * np.eye(5)
    forward = evaluation.frechet_distance(mean, cov, -mean, other)
    # Singular covariances (dead ReLU units) still give a finite distance, without warnings.
    singular = np.diag([1.0, 2.0, 0.0, 0.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = evaluation.frechet_distance(mean, singular, mean, singular @ singular)
    assert np.isfinite(value) and value == pytest.approx(
        np.sum((np.sqrt([1, 2, 3]) - [1, 2, 3]) ** 2), abs=1e-4
    )
    assert forward == pytest.approx(evaluation.frechet_distance(-mean, other, mean, cov), rel=1e-6)


def test_classifier_weights_are_hash_checked(tmp_path: Path) -> None:
    broken = tmp_path / "weights.weights.h5"
    shutil.copy(evaluation.weights_path(), broken)
    payload = bytearray(broken.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    broken.write_bytes(bytes(payload))
    with pytest.raises(ValueError, match="sha256"):
        evaluation.load_classifier(broken)
    with pytest.raises(FileNotFoundError, match="train_mnist_classifier"):
        evaluation.load_classifier(tmp_path / "missing.weights.h5")


@pytest.fixture(scope="module")
def test_digits(mnist_cache: Path) -> data.MNIST:
    import os

    os.environ["VAEGAN_DATA_DIR"] = str(mnist_cache)
    try:
        return data.load_mnist(source="cache", n_train=2000)
    finally:
        os.environ.pop("VAEGAN_DATA_DIR")


def test_shipped_classifier_is_accurate(test_digits: data.MNIST) -> None:
    classifier = evaluation.load_classifier()
    _, probabilities = evaluation.features_and_probabilities(classifier, test_digits.x_test)
    accuracy = np.mean(probabilities.argmax(1) == test_digits.y_test)
    assert accuracy >= 0.99


def test_scorer_on_real_digits(test_digits: data.MNIST) -> None:
    scorer = evaluation.Scorer.from_real(test_digits.x_test)
    itself = scorer.score(test_digits.x_test)
    assert itself["frechet"] == pytest.approx(0.0, abs=1e-3)
    train = scorer.score(test_digits.x_train)
    assert train["score"] > 9.0 and 0 < train["frechet"] < 5
    assert min(train["class_fractions"]) > 0.05 and sum(train["class_fractions"]) == pytest.approx(
        1
    )
    blank = scorer.score(np.zeros((500, 28, 28), np.float32))
    assert blank["score"] < 1.5 and blank["frechet"] > 50 * train["frechet"]


def test_score_record_is_flat(test_digits: data.MNIST) -> None:
    scorer = evaluation.Scorer.from_real(test_digits.x_test)
    digit = test_digits.x_test[:1]  # "generated" images that are all one real digit
    record = scorer.score_record(np.repeat(digit, 300, axis=0))
    assert set(record) == {"score", "frechet", "min_class_fraction"} | {
        f"class_{k}" for k in range(10)
    }
    assert all(isinstance(value, float) for value in record.values())
    assert record[f"class_{test_digits.y_test[0]}"] == 1.0 and record["min_class_fraction"] == 0.0
    assert record["score"] == pytest.approx(1.0, abs=1e-3)
    real = scorer.score_record(test_digits.x_train[:1000])
    assert real["min_class_fraction"] > 0.05
    assert sum(real[f"class_{k}"] for k in range(10)) == pytest.approx(1.0)


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


def test_knn_radii_and_manifold_share_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(60, 5)), rng.normal(size=(45, 5)) + 0.5
    distances = cdist(real, real)  # oracle: scipy's distances, sorted per row
    np.testing.assert_allclose(
        evaluation.knn_radii(real, 3, batch_size=7), np.sort(distances)[:, 3]
    )
    radii = np.sort(distances)[:, 3]
    expected = np.mean(np.any(cdist(fake, real) <= radii[None, :], axis=1))
    assert evaluation.manifold_share(fake, real, radii, batch_size=8) == pytest.approx(expected)
    with pytest.raises(ValueError, match="k must be"):
        evaluation.knn_radii(real, 60)


def test_precision_and_recall_tell_fidelity_from_coverage() -> None:
    """Controls: the same distribution scores high on both; half the modes keeps precision and
    loses recall; samples off the data keep neither."""
    rng = np.random.default_rng(1)
    centres = np.array([[0.0, 0.0], [10.0, 0.0]])

    def modes(n: int, which: list[int]) -> np.ndarray:
        return centres[rng.choice(which, n)] + rng.normal(size=(n, 2))

    real = modes(1000, [0, 1])
    precision, recall = evaluation.precision_recall(real, modes(1000, [0, 1]))
    assert precision > 0.9 and recall > 0.9
    precision, recall = evaluation.precision_recall(real, modes(1000, [0]))  # mode collapse
    assert precision > 0.9 and 0.35 < recall < 0.6
    precision, recall = evaluation.precision_recall(real, modes(1000, [0, 1]) + [0.0, 30.0])
    assert precision == 0.0 and recall == 0.0
    with pytest.raises(ValueError, match="features"):
        evaluation.precision_recall(real, real[:, :1])


def test_scorer_reports_precision_and_recall_on_request(test_digits: data.MNIST) -> None:
    scorer = evaluation.Scorer.from_real(test_digits.x_test[:1000])
    real = scorer.score(test_digits.x_train[:1000], with_recall=True)
    assert real["precision"] > 0.6 and real["recall"] > 0.6
    ones = test_digits.x_train[:3000][test_digits.y_train[:3000] == 1][:300]
    collapsed = scorer.score(ones, with_recall=True)  # one digit: realistic, covers little
    assert collapsed["precision"] > 0.6 and collapsed["recall"] < 0.3
    assert "precision" not in scorer.score(ones)


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


def test_face_classifier_tells_faces_from_the_nonface_crops() -> None:
    faces = data.load_faces(size=32, source="offline").images
    nonfaces = data.load_nonfaces(32)
    assert nonfaces.shape == (100, 32, 32) and 0 <= nonfaces.min() and nonfaces.max() <= 1
    p_faces, p_nonfaces = face_checks.cross_validated_face_probability(faces, nonfaces)
    accuracy = (np.mean(p_faces > 0.5) + np.mean(p_nonfaces < 0.5)) / 2
    assert accuracy > 0.8  # out of fold: each image scored by a model that never saw it
    classifier = face_checks.FaceClassifier().fit(faces, nonfaces)
    flat = np.full((1, 32, 32), 0.5, np.float32)
    assert classifier.probability(flat)[0] < np.median(p_faces)  # a grey square is no face
    with pytest.raises(ValueError, match="size"):
        data.load_nonfaces(0)


def test_paired_interval_matches_scipys_paired_t_test() -> None:
    """Oracle: scipy's paired t-test gives the same mean difference and confidence interval."""
    from scipy import stats

    rng = np.random.default_rng(3)
    before = rng.normal(10.0, 2.0, 5)
    after = before + rng.normal(0.5, 1.0, 5)
    interval = intervals.paired_interval(after, before)
    oracle = stats.ttest_rel(after, before).confidence_interval(0.95)
    assert interval.mean == pytest.approx(np.mean(after - before))
    assert (interval.low, interval.high) == pytest.approx((oracle.low, oracle.high))
    one_sample = stats.ttest_1samp(after, 0.0).confidence_interval(0.9)
    alone = intervals.paired_interval(after, level=0.9)
    assert (alone.low, alone.high) == pytest.approx((one_sample.low, one_sample.high))
    assert interval.n == 5 and f"{interval:+.1f}".count("to") == 1


def test_interval_words_follow_the_interval() -> None:
    """Controls: a clear rise, a clear fall and a difference buried in noise."""
    rises = intervals.paired_interval([1.0, 1.1, 0.9, 1.2, 1.0])
    falls = intervals.paired_interval([-1.0, -1.1, -0.9, -1.2, -1.0])
    noise = intervals.paired_interval([1.0, -1.0, 0.5, -0.6, 0.2])
    assert rises.word() == "higher" and falls.word() == "lower"
    assert noise.word() == "no measurable difference"
    assert rises.word(above="worse", below="better") == "worse"
    assert falls.word(above="worse", below="better") == "better"


def test_paired_interval_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="pair up"):
        intervals.paired_interval([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2 seeds"):
        intervals.paired_interval([1.0])
    with pytest.raises(ValueError, match="level"):
        intervals.paired_interval([1.0, 2.0], level=95)


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


def test_scorer_rejects_images_on_the_wrong_scale() -> None:
    """0-255 digits or NaN pixels would give garbage scores without a word."""
    classifier = evaluation.build_classifier()  # untrained: the check comes first
    digits = np.random.default_rng(0).random((20, 28, 28)).astype(np.float32)
    with pytest.raises(ValueError, match="divide 0-255"):
        evaluation.Scorer.from_real(255 * digits, classifier)
    digits[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        evaluation.Scorer.from_real(digits, classifier)
    with pytest.raises(ValueError, match="28, 28"):
        evaluation.Scorer.from_real(np.zeros((5, 32, 32), np.float32), classifier)


def test_quality_targets_are_the_books_three_and_their_conjunction() -> None:
    targets = evaluation.quality_targets(floor_frechet=2.0)
    good = {"score": 9.1, "frechet": 5.9, "min_class_fraction": 0.06}
    assert list(targets) == ["score >= 9", "Fréchet <= 3x floor", "every digit >= 5%", "all three"]
    assert all(check(good) for check in targets.values())
    for key, bad in (("score", 8.9), ("frechet", 6.1), ("min_class_fraction", 0.04)):
        record = {**good, key: bad}
        assert not targets["all three"](record)
        assert sum(check(record) for check in list(targets.values())[:3]) == 2
    with pytest.raises(ValueError, match="floor_frechet"):
        evaluation.quality_targets(0.0)
