"""vaegan_utils.pipelines: batches, dynamic binarization, augmentation, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from vaegan_utils import pipelines


def _images(n: int = 64) -> np.ndarray:
    return np.random.default_rng(0).random((n, 4, 4)).astype(np.float32)


def test_image_batches_shapes_and_dynamic_binarization() -> None:
    images = _images()
    dataset = pipelines.image_batches(images, 16, binarize=True, shuffle=False)
    first_pass = np.concatenate(list(dataset))
    second_pass = np.concatenate(list(dataset))
    assert first_pass.shape == (64, 4, 4)
    assert set(np.unique(first_pass)) == {0.0, 1.0}
    # Every pass over the data (every epoch) draws a new binarization of the same images.
    assert np.mean(first_pass != second_pass) > 0.2
    # Bernoulli(p) has mean p: averaged over many passes, the draws approach the grey levels.
    average = np.mean([np.concatenate(list(dataset)) for _ in range(200)], axis=0)
    assert np.abs(average - images).max() < 0.15
    assert abs(average.mean() - images.mean()) < 0.01


def test_image_batches_without_shuffle_keep_order() -> None:
    images = _images()
    first = next(iter(pipelines.image_batches(images, 8, shuffle=False)))
    np.testing.assert_array_equal(first, images[:8])


def test_image_batches_do_not_run_the_gather_on_an_autotuned_thread_pool() -> None:
    """With tf.data's default parallel map on an autotuned pool, tearing a fit's iterator down
    waited 6-30 s per training run on 2 cores; the pipeline opts out of both."""
    options = pipelines.image_batches(_images(), 8).options()
    assert options.experimental_optimization.map_parallelization is False
    assert options.autotune.enabled is False


@pytest.mark.parametrize("batch_size", [0, 65])
def test_image_batches_reject_bad_batch_sizes(batch_size: int) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        pipelines.image_batches(_images(), batch_size)


def test_image_batches_reject_images_that_would_poison_training() -> None:
    """NaN pixels would turn every loss into NaN; 0-255 pixels break binarization silently."""
    images = _images()
    images[3, 1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pipelines.image_batches(images, 8)
    with pytest.raises(ValueError, match="divide 0-255"):
        pipelines.image_batches(255 * _images(), 8, binarize=True)
    pipelines.image_batches(255 * _images(), 8)  # grey levels on any scale are the caller's call


def _candidates(image: np.ndarray, max_shift: int) -> list[np.ndarray]:
    """Every flip/shift of one image the augmentation may produce, built with numpy alone."""
    pad = [(max_shift, max_shift)] * 2 + [(0, 0)] * (image.ndim - 2)
    out = []
    for source in (image, image[:, ::-1]):
        padded = np.pad(source, pad, mode="reflect")
        h, w = image.shape[:2]
        for dy in range(2 * max_shift + 1):
            for dx in range(2 * max_shift + 1):
                out.append(padded[dy : dy + h, dx : dx + w])
    return out


@pytest.mark.parametrize("shape", [(40, 6, 7), (40, 6, 7, 3)])
def test_flip_and_shift_matches_a_numpy_oracle(shape: tuple[int, ...]) -> None:
    images = np.random.default_rng(1).random(shape).astype(np.float32)
    out = pipelines.flip_and_shift(images, [3, 4], flip=True, max_shift=2).numpy()
    assert out.shape == images.shape
    chosen = []
    for image, result in zip(images, out, strict=True):
        matches = [k for k, c in enumerate(_candidates(image, 2)) if np.array_equal(c, result)]
        assert matches, "an output is no flip/shift of its input"
        chosen.append(matches[0])
    # Per-image draws: several different transforms in one batch, mirrored and not.
    assert len(set(chosen)) > 10
    assert min(chosen) < 25 <= max(chosen)
    again = pipelines.flip_and_shift(images, [3, 4], flip=True, max_shift=2).numpy()
    np.testing.assert_array_equal(out, again)  # stateless: same seed, same draw
    other = pipelines.flip_and_shift(images, [3, 5], flip=True, max_shift=2).numpy()
    assert not np.array_equal(out, other)


def test_flip_and_shift_off_is_identity_and_flip_only_mirrors() -> None:
    images = _images(32)
    np.testing.assert_array_equal(
        pipelines.flip_and_shift(images, [0, 1], flip=False, max_shift=0), images
    )
    mirrored = pipelines.flip_and_shift(images, [0, 1], flip=True, max_shift=0).numpy()
    same = [np.array_equal(a, b) for a, b in zip(mirrored, images, strict=True)]
    flipped = [np.array_equal(a, b[:, ::-1]) for a, b in zip(mirrored, images, strict=True)]
    assert all(s or f for s, f in zip(same, flipped, strict=True))
    assert 6 <= sum(flipped) <= 26  # about half of 32


def test_image_batches_augment_afresh_every_epoch() -> None:
    images = _images(64)
    dataset = pipelines.image_batches(images, 16, shuffle=False, flip=True, max_shift=1)
    first, second = np.concatenate(list(dataset)), np.concatenate(list(dataset))
    assert first.shape == images.shape
    assert not np.array_equal(first, second)
    for image, result in zip(images, first, strict=True):
        assert any(np.array_equal(c, result) for c in _candidates(image, 1))


@pytest.mark.parametrize("max_shift", [-1, 4, 1.5])
def test_augmentation_rejects_bad_shifts(max_shift: object) -> None:
    with pytest.raises(ValueError, match="max_shift"):
        pipelines.image_batches(_images(), 8, max_shift=max_shift)


def test_augmented_discriminator_augments_what_it_judges_in_training_only() -> None:
    import keras
    import tensorflow as tf

    from vaegan_utils import face_checks, gan

    images = np.random.default_rng(0).random((16, 8, 8)).astype(np.float32)
    inputs = keras.Input((8, 8))
    see = keras.Model(inputs, keras.layers.Reshape((64,))(inputs))  # a D that shows its input
    judge = pipelines.augmented_discriminator(see, flip=True, max_shift=1, seed=3)
    real_d = gan.build_discriminator(28, 1, 4)
    wrapped = pipelines.augmented_discriminator(real_d)
    assert [id(w) for w in wrapped.weights] == [id(w) for w in real_d.weights]  # none added
    np.testing.assert_array_equal(judge(images), images.reshape(16, 64))  # inference: as is
    seen = keras.ops.convert_to_numpy(judge(images, training=True)).reshape(16, 8, 8)
    versions, ids = face_checks.augmented_pool(images, max_shift=1)  # every flip and shift
    for k in range(16):  # each image seen as one of its own versions
        mine = versions[ids == k]
        assert np.any(np.all(np.isclose(mine, seen[k]), axis=(1, 2)))
    assert not np.array_equal(seen, images)  # and not all as they are
    x = tf.Variable(images)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(judge(x, training=True) ** 2)
    assert tape.gradient(total, x) is not None  # G's gradient passes through
    with pytest.raises(ValueError, match="max_shift"):
        pipelines.augmented_discriminator(see, max_shift=8)
