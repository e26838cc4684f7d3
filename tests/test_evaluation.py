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
    found = evaluation.nearest_with_ratio(samples, pool, ids, batch_size=6)
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
    found = evaluation.nearest_with_ratio(np.concatenate([copies, average]), pool)
    assert np.all(found.ratio[:5] < 0.1) and np.all(found.ratio[5:] > 0.8)
    np.testing.assert_array_equal(found.index[:5], np.arange(5))
    # Leave-one-out: a pool image is not its own neighbour.
    loo = evaluation.nearest_with_ratio(pool, pool, exclude_ids=np.arange(40))
    assert np.all(loo.index != np.arange(40)) and np.all(loo.ratio <= 1.0)
    with pytest.raises(ValueError, match="pool_ids"):
        evaluation.nearest_with_ratio(pool, pool, pool_ids=np.arange(3))
