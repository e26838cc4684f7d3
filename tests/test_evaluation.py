"""vaegan_utils.evaluation: score, Fréchet distance, precision and recall, the classifier."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from vaegan_utils import data, evaluation


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
    good = {"score": 9.1, "frechet": 3.9, "min_class_fraction": 0.06}
    assert list(targets) == ["score >= 9", "Fréchet <= 2x floor", "every digit >= 5%", "all three"]
    assert all(check(good) for check in targets.values())
    for key, bad in (("score", 8.9), ("frechet", 4.1), ("min_class_fraction", 0.04)):
        record = {**good, key: bad}
        assert not targets["all three"](record)
        assert sum(check(record) for check in list(targets.values())[:3]) == 2
    with pytest.raises(ValueError, match="floor_frechet"):
        evaluation.quality_targets(0.0)


def _gaussian_features(n: int, shift: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(99).normal(size=(32, 32)) / np.sqrt(32)
    return rng.normal(size=(n, 32)) @ mixing + shift  # (n, 32), covariance mixing^T mixing


def test_frechet_extrapolated_removes_the_small_sample_bias() -> None:
    # oracle: equal covariances and means shifted by s in each of 32 coordinates have
    # FD = 32 s^2 exactly; the plain estimate at n = 2,000 is biased up by about c / n
    reference = _gaussian_features(2000, 0.0, seed=1)
    for shift, true in ((0.0, 0.0), (0.1, 32 * 0.01)):
        sample = _gaussian_features(2000, shift, seed=2)
        plain = evaluation.frechet_distance(
            sample.mean(0), np.cov(sample, rowvar=False),
            reference.mean(0), np.cov(reference, rowvar=False),
        )  # fmt: skip
        fit = evaluation.frechet_extrapolated(sample, reference, sizes=(500, 750, 1000, 2000))
        assert plain - true > 0.2  # the bias the fit must remove (the control)
        assert abs(fit["frechet_inf"] - true) < 0.2 * (plain - true)  # 80% of it gone
        assert fit["slope"] > 0 and fit["distances"][0] > fit["distances"][-1]


def test_frechet_extrapolated_rejects_sizes_it_cannot_draw() -> None:
    a, b = _gaussian_features(100, 0.0, 1), _gaussian_features(80, 0.0, 2)
    with pytest.raises(ValueError, match="sizes"):
        evaluation.frechet_extrapolated(a, b, sizes=(50, 90))
    with pytest.raises(ValueError, match="sizes"):
        evaluation.frechet_extrapolated(a, b, sizes=(50,))
    with pytest.raises(ValueError, match="repeats"):
        evaluation.frechet_extrapolated(a, b, sizes=(40, 80), repeats=0)
