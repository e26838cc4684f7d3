"""Input pipelines: shuffled batches of images, binarized or augmented afresh on every pass; and
the same augmentation as a layer in front of a discriminator (:func:`augmented_discriminator`)."""

from __future__ import annotations

from typing import Any

import numpy as np


def image_batches(
    images: np.ndarray,
    batch_size: int,
    seed: int = 0,
    binarize: bool = False,
    shuffle: bool = True,
    flip: bool = False,
    max_shift: int = 0,
):
    """A ``tf.data`` pipeline of float32 image batches, reshuffled every epoch.

    With ``binarize=True`` each pixel is re-drawn as Bernoulli(intensity) every time a batch is
    produced: *dynamic* binarization. ``flip`` and ``max_shift`` augment every batch afresh with
    :func:`flip_and_shift` (for small data sets such as the offline faces).
    """
    import tensorflow as tf

    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if batch_size > len(images):
        raise ValueError(f"batch_size={batch_size} exceeds the {len(images)} images; lower it")
    _check_shift(max_shift, images.shape[1:3])
    if not np.all(np.isfinite(images)):
        raise ValueError(
            f"images hold {np.sum(~np.isfinite(images))} NaN or infinite values; "
            "clean or drop those images first"
        )
    if binarize and (images.min() < 0 or images.max() > 1):
        raise ValueError(
            f"binarize=True needs intensities in [0, 1], got [{images.min()}, {images.max()}]; "
            "divide 0-255 images by 255"
        )
    # Shuffle and batch indices, then gather whole batches: much cheaper on a CPU than a
    # per-image pipeline, which competes with training for the same cores.
    pixels = tf.constant(images.astype(np.float32))
    dataset = tf.data.Dataset.range(len(images))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True).map(lambda idx: tf.gather(pixels, idx))
    if binarize:
        # One stateless seed per batch, drawn afresh on every pass over the data: a stateful
        # random op inside map() would replay the same draws each epoch (static binarization).
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        dataset = tf.data.Dataset.zip(dataset, seeds).map(
            lambda x, pair: tf.cast(
                tf.random.stateless_uniform(tf.shape(x), seed=pair) < x, x.dtype
            )
        )
    if flip or max_shift:
        # Seeds from a different stream than binarization's, so the two draws are independent.
        seeds = tf.data.Dataset.random(seed=seed + 1, rerandomize_each_iteration=True).batch(2)
        dataset = tf.data.Dataset.zip(dataset, seeds).map(
            lambda x, pair: flip_and_shift(x, pair, flip, max_shift)
        )
    # tf.data's default rewrites the map into a parallel map on an autotuned, unbounded thread
    # pool; tearing its iterator down at the end of fit() then waited 6-30 s on these 2 cores
    # (measured), once per training run. A gather per batch needs no parallelism.
    options = tf.data.Options()
    options.experimental_optimization.map_parallelization = False
    options.autotune.enabled = False
    return dataset.prefetch(2).with_options(options)


def _check_shift(max_shift: int, image_shape: tuple[int, ...]) -> None:
    if not isinstance(max_shift, int | np.integer) or max_shift < 0:
        raise ValueError(f"max_shift must be a whole number of pixels >= 0, got {max_shift!r}")
    if max_shift >= min(image_shape):
        raise ValueError(
            f"max_shift={max_shift} must be smaller than the images' sides {image_shape}; lower it"
        )


def flip_and_shift(images: Any, seed: Any, flip: bool = True, max_shift: int = 2) -> Any:
    """Randomly mirror (left-right) and shift each image of a batch; a stateless, seeded draw.

    Args:
        images: ``(batch, h, w)`` or ``(batch, h, w, c)`` tensor.
        seed: two integers (``tf.random.stateless_*`` style); the same seed gives the same draw.
        flip: mirror each image with probability 1/2.
        max_shift: shift each image by up to this many pixels in each direction, independently
            in rows and columns, filling the border by reflection.
    """
    import tensorflow as tf

    images = tf.convert_to_tensor(images)
    _check_shift(max_shift, tuple(images.shape[1:3]))
    batch, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    flip_seed, shift_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    if flip:
        mirrored = tf.random.stateless_uniform([batch], flip_seed) < 0.5
        mask = tf.reshape(mirrored, [-1] + [1] * (images.shape.rank - 1))
        images = tf.where(mask, tf.reverse(images, axis=[2]), images)
    if max_shift:
        pad = [[0, 0], [max_shift, max_shift], [max_shift, max_shift]]
        pad += [[0, 0]] * (images.shape.rank - 3)
        padded = tf.pad(images, pad, mode="REFLECT")  # (b, h + 2s, w + 2s[, c])
        offsets = tf.random.stateless_uniform(
            [batch, 2], shift_seed, minval=0, maxval=2 * max_shift + 1, dtype=tf.int32
        )
        rows = offsets[:, :1] + tf.range(height)[None, :]  # (b, h): each image's own window
        cols = offsets[:, 1:] + tf.range(width)[None, :]  # (b, w)
        images = tf.gather(padded, rows, axis=1, batch_dims=1)  # (b, h, w + 2s[, c])
        images = tf.gather(images, cols, axis=2, batch_dims=1)  # (b, h, w[, c])
    return images


def augmented_discriminator(
    discriminator: Any, flip: bool = True, max_shift: int = 2, seed: int = 0
) -> Any:
    """``discriminator`` behind :func:`flip_and_shift`, applied in training only.

    Every image D judges in a train step, real or generated, is mirrored and shifted alike, and
    the gradient reaches G through the augmentation (differentiable augmentation, Zhao et al.
    2020): G is not pushed to draw mirrored or shifted faces, which it is when only the real
    batches are augmented. At inference D sees images as they are. Returns a ``keras.Model``
    with the discriminator's weights and no others.
    """
    import keras

    _check_shift(max_shift, tuple(discriminator.input.shape[1:3]))

    class FlipAndShift(keras.layers.Layer):
        def __init__(self) -> None:
            super().__init__(name="flip_and_shift")
            self.seeds = keras.random.SeedGenerator(seed)

        def call(self, images: Any, training: bool | None = None) -> Any:
            if not training:
                return images
            draw = keras.ops.cast(self.seeds.next(), "int32")  # a fresh draw per call
            return flip_and_shift(images, draw, flip=flip, max_shift=max_shift)

    inputs = keras.Input(discriminator.input.shape[1:])
    return keras.Model(inputs, discriminator(FlipAndShift()(inputs)), name="augmented_d")
