"""vaegan_utils.evaluation: the score, the Fréchet distance, neighbours, the shipped classifier."""

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


def test_nearest_neighbours_match_brute_force() -> None:
    rng = np.random.default_rng(1)
    pool, samples = rng.random((300, 6, 6)), rng.random((40, 6, 6))
    expected = cdist(samples.reshape(40, -1), pool.reshape(300, -1)).argmin(1)
    np.testing.assert_array_equal(
        evaluation.nearest_neighbours(samples, pool, batch_size=7), expected
    )


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
