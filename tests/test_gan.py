"""vaegan_utils.gan: shapes, losses and their gradients, the balance rule in the train step."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from vaegan_utils import gan


@pytest.mark.parametrize(("size", "channels"), [(28, 1), (32, 1), (32, 3)])
def test_model_shapes(size: int, channels: int) -> None:
    generator = gan.build_generator(16, image_size=size, channels=channels, width=8)
    discriminator = gan.build_discriminator(image_size=size, channels=channels, width=8)
    images = ops.convert_to_numpy(generator(np.zeros((3, 16), np.float32)))
    expected = (3, size, size) if channels == 1 else (3, size, size, channels)
    assert images.shape == expected
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert tuple(discriminator(images).shape) == (3, 1)


def test_sample_draws_new_codes_from_a_seed_generator_and_fixed_ones_from_an_int() -> None:
    generator = gan.build_generator(8, image_size=8, width=4)
    fixed = gan.sample(generator, 5, seed=3)
    assert fixed.shape == (5, 8, 8) and isinstance(fixed, np.ndarray)
    np.testing.assert_array_equal(fixed, gan.sample(generator, 5, seed=3, batch_size=2))
    stream = keras.random.SeedGenerator(3)
    assert not np.array_equal(gan.sample(generator, 5, stream), gan.sample(generator, 5, stream))
    with pytest.raises(ValueError, match="n must be"):
        gan.sample(generator, 0, seed=0)


@pytest.mark.parametrize("size", [30, 4])
def test_generator_rejects_bad_sizes(size: int) -> None:
    with pytest.raises(ValueError, match="image_size"):
        gan.build_generator(image_size=size)


def test_losses_at_chance_level_are_log_2() -> None:
    zeros = np.zeros((5, 1), np.float32)
    assert float(gan.discriminator_loss(zeros, zeros)) == pytest.approx(np.log(2), rel=1e-6)
    assert float(gan.generator_loss(zeros)) == pytest.approx(np.log(2), rel=1e-6)
    assert float(gan.generator_loss(zeros, saturating=True)) == pytest.approx(-np.log(2), rel=1e-6)


def test_discriminator_loss_matches_binary_cross_entropy() -> None:
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(8, 1)), rng.normal(size=(8, 1))
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    for label in (1.0, 0.9):
        expected = 0.5 * (
            np.mean(-(label * np.log(sigmoid(real)) + (1 - label) * np.log(1 - sigmoid(real))))
            + np.mean(-np.log(1 - sigmoid(fake)))
        )
        got = float(gan.discriminator_loss(real.astype(np.float32), fake.astype(np.float32), label))
        assert got == pytest.approx(expected, rel=1e-5)


def test_saturating_loss_gradient_vanishes_when_d_wins() -> None:
    """Where D rejects the fakes (logit -8), only the non-saturating loss still pushes G."""
    logits = tf.Variable(np.full((4, 1), -8.0, np.float32))
    grads = {}
    for saturating in (True, False):
        with tf.GradientTape() as tape:
            loss = gan.generator_loss(logits, saturating=saturating)
        grads[saturating] = float(tf.reduce_sum(tf.abs(tape.gradient(loss, logits))))
    assert grads[True] < 1e-3 and grads[False] > 0.9


def _toy_gan(balance: bool, d_bias: float) -> gan.GAN:
    """A 4x4 GAN whose discriminator's confidence is set by ``d_bias`` on mean intensity."""
    keras.utils.set_random_seed(0)
    z = keras.Input((2,))
    pixels = keras.layers.Dense(
        16, activation="sigmoid", bias_initializer=keras.initializers.Constant(-6.0)
    )(z)
    generator = keras.Model(z, keras.layers.Reshape((4, 4))(pixels))
    images = keras.Input((4, 4))
    mean = keras.layers.Lambda(lambda t: ops.mean(t, axis=(1, 2))[:, None])(images)
    logit = keras.layers.Dense(
        1,
        kernel_initializer=keras.initializers.Constant(2 * d_bias),
        bias_initializer=keras.initializers.Constant(-d_bias),
    )(mean)
    discriminator = keras.Model(images, logit)
    model = gan.GAN(generator, discriminator, latent_dim=2, balance=balance)
    model.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate=0.01),
        g_optimizer=keras.optimizers.Adam(learning_rate=0.01),
    )
    return model


def _one_step(model: gan.GAN, real: np.ndarray) -> tuple[bool, bool, dict]:
    d_before = [w.copy() for w in model.discriminator.get_weights()]
    g_before = [w.copy() for w in model.generator.get_weights()]
    logs = model.train_on_batch(real, return_dict=True)
    d_changed = any(
        not np.array_equal(a, b)
        for a, b in zip(d_before, model.discriminator.get_weights(), strict=True)
    )
    g_changed = any(
        not np.array_equal(a, b)
        for a, b in zip(g_before, model.generator.get_weights(), strict=True)
    )
    return d_changed, g_changed, logs


def test_balance_rule_pauses_a_discriminator_that_is_far_ahead() -> None:
    real = np.ones((8, 4, 4), np.float32)  # real images are white, fakes nearly black
    d_changed, g_changed, logs = _one_step(_toy_gan(balance=True, d_bias=4.0), real)
    assert logs["d_loss"] * 2 < logs["g_loss"]
    assert not d_changed and g_changed
    assert logs["d_paused"] == 1.0 and logs["g_paused"] == 0.0


def test_balance_rule_pauses_a_generator_that_is_far_ahead() -> None:
    # A discriminator that believes the opposite (white is fake) makes G's loss tiny.
    real = np.ones((8, 4, 4), np.float32)
    d_changed, g_changed, logs = _one_step(_toy_gan(balance=True, d_bias=-4.0), real)
    assert logs["g_loss"] * 2 < logs["d_loss"]
    assert d_changed and not g_changed
    assert logs["g_paused"] == 1.0 and logs["d_paused"] == 0.0


def test_without_the_rule_both_players_always_move() -> None:
    real = np.ones((8, 4, 4), np.float32)
    d_changed, g_changed, logs = _one_step(_toy_gan(balance=False, d_bias=4.0), real)
    assert d_changed and g_changed and logs["d_paused"] == 0.0 and logs["g_paused"] == 0.0
    assert logs["g_grad_norm"] > 0


def test_gan_rejects_bad_label_smoothing() -> None:
    generator, discriminator = gan.build_generator(4, width=8), gan.build_discriminator(width=8)
    with pytest.raises(ValueError, match="real_label"):
        gan.GAN(generator, discriminator, 4, real_label=0.4)
