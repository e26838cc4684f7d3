"""vaegan_utils.gan: shapes, losses and their gradients, the balance rule in the train step."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from vaegan_utils import gan, training


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


def _toy_gan(
    balance: bool, d_bias: float = 0.0, d_outputs: tuple[float, float] | None = None, **options
) -> gan.GAN:
    """A 4x4 GAN whose discriminator's confidence is set by ``d_bias`` on mean intensity: white
    (real) images get logit ``d_bias``, the nearly black fakes about ``-d_bias``. With
    ``d_outputs = (D(real), D(fake))`` the discriminator gives exactly those probabilities (the
    generator then draws the same fake for every z)."""
    keras.utils.set_random_seed(0)
    z = keras.Input((2,))
    kernel = "zeros" if d_outputs else "glorot_uniform"
    pixels = keras.layers.Dense(
        16,
        activation="sigmoid",
        kernel_initializer=kernel,
        bias_initializer=keras.initializers.Constant(-6.0),
    )(z)
    generator = keras.Model(z, keras.layers.Reshape((4, 4))(pixels))
    weight, bias = 2 * d_bias, -d_bias
    if d_outputs:  # logit = weight * mean + bias through (1, real logit) and (fake mean, fake)
        real_logit, fake_logit = (float(np.log(p / (1 - p))) for p in d_outputs)
        fake_mean = 1 / (1 + np.exp(6.0))
        weight = (real_logit - fake_logit) / (1 - fake_mean)
        bias = real_logit - weight
    images = keras.Input((4, 4))
    mean = keras.layers.Lambda(lambda t: ops.mean(t, axis=(1, 2))[:, None])(images)
    logit = keras.layers.Dense(
        1,
        kernel_initializer=keras.initializers.Constant(weight),
        bias_initializer=keras.initializers.Constant(bias),
    )(mean)
    discriminator = keras.Model(images, logit)
    model = gan.GAN(generator, discriminator, latent_dim=2, balance=balance, **options)
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


def _pause_regions(d_real: float, d_fake: float, summed: bool) -> tuple[bool, bool]:
    """The rule's two conditions written with D's outputs (the chapter's derivation)."""
    real, fake = -np.log(d_real), -np.log(1 - d_fake)  # D's two cross-entropies
    g = -np.log(d_fake)  # G's non-saturating loss
    d = real + fake if summed else (real + fake) / 2
    return 2 * d < g, 2 * g < d  # (D paused, G paused)


@pytest.mark.parametrize("summed", [False, True])
@pytest.mark.parametrize("d_bias", [4.0, 1.0, -1.0, -4.0])
def test_pause_conditions_match_the_derivation(summed: bool, d_bias: float) -> None:
    """The train step pauses exactly where the closed-form conditions say, for both losses."""
    model = _toy_gan(balance=True, d_bias=d_bias, summed_d_loss=summed)
    real = np.ones((8, 4, 4), np.float32)
    fake = ops.convert_to_numpy(model.generator(np.zeros((1, 2), np.float32)))  # same for all z
    d_real = float(ops.sigmoid(model.discriminator(real[:1]))[0, 0])
    d_fake = float(ops.sigmoid(model.discriminator(fake))[0, 0])
    d_paused, g_paused = _pause_regions(d_real, d_fake, summed)
    d_changed, g_changed, logs = _one_step(model, real)
    assert (logs["d_paused"] == 1.0, logs["g_paused"] == 1.0) == (d_paused, g_paused)
    assert (not d_changed, not g_changed) == (d_paused, g_paused)


def test_summed_loss_moves_the_thresholds() -> None:
    """With D's loss summed, G pauses where D rates fakes above 0.62 (averaged: never here)."""
    assert _pause_regions(0.999, 0.65, summed=True) == (False, True)
    assert _pause_regions(0.999, 0.65, summed=False) == (False, False)
    assert _pause_regions(0.999, 0.45, summed=False) == (True, False)  # averaged: p < ~0.5
    assert _pause_regions(0.999, 0.45, summed=True) == (False, False)  # summed: p < ~0.38


@pytest.mark.parametrize("summed", [False, True])
@pytest.mark.parametrize("d_outputs", [(0.999, 0.65), (0.999, 0.45)])
def test_the_train_step_pauses_where_the_two_conventions_differ(
    summed: bool, d_outputs: tuple[float, float]
) -> None:
    """Where the averaged and the summed D loss give different decisions (chapter 03's pause
    regions), the train step follows the convention it was given: a step that ignored
    ``summed_d_loss`` fails one of the two cases."""
    assert _pause_regions(*d_outputs, summed=True) != _pause_regions(*d_outputs, summed=False)
    model = _toy_gan(balance=True, d_outputs=d_outputs, summed_d_loss=summed)
    real = np.ones((8, 4, 4), np.float32)
    fake = ops.convert_to_numpy(model.generator(np.ones((1, 2), np.float32)))
    d_real = float(ops.sigmoid(model.discriminator(real[:1]))[0, 0])
    d_fake = float(ops.sigmoid(model.discriminator(fake))[0, 0])
    np.testing.assert_allclose([d_real, d_fake], d_outputs, rtol=1e-4)
    d_paused, g_paused = _pause_regions(*d_outputs, summed=summed)
    d_changed, g_changed, logs = _one_step(model, real)
    assert (logs["d_paused"] == 1.0, logs["g_paused"] == 1.0) == (d_paused, g_paused)
    assert (not d_changed, not g_changed) == (d_paused, g_paused)


def test_ema_generator_is_the_running_average_of_g() -> None:
    model = _toy_gan(balance=False, d_bias=1.0, ema=0.9)
    before = [w.copy() for w in model.generator.get_weights()]
    np.testing.assert_array_equal(model.ema_generator.get_weights()[0], before[0])
    assert model.ema_generator is not model.generator
    model.train_on_batch(np.ones((8, 4, 4), np.float32))
    decay = min(0.9, 2 / 11)  # after the first update: (1 + t) / (10 + t) with t = 1
    for average, old, new in zip(
        model.ema_generator.get_weights(), before, model.generator.get_weights(), strict=True
    ):
        np.testing.assert_allclose(average, decay * old + (1 - decay) * new, rtol=1e-5, atol=1e-7)
    assert not np.array_equal(model.generator.get_weights()[0], before[0])  # G did move
    plain = _toy_gan(balance=False, d_bias=1.0)  # ema 0: no averaging, G itself
    assert plain.ema_generator is plain.generator
    with pytest.raises(ValueError, match="ema"):
        _toy_gan(balance=False, d_bias=1.0, ema=1.0)


@pytest.mark.parametrize(("ema", "augmented"), [(0.0, False), (0.99, False), (0.99, True)])
def test_load_generator_rebuilds_the_ema_generator_from_a_run_directory(
    tmp_path, ema: float, augmented: bool
) -> None:
    augmentation = {"augmentation": "both sides", "max_shift": 2} if augmented else {}
    recipe = gan.Recipe(latent_dim=8, g_width=4, d_width=4, ema=ema, **augmentation)
    settings = recipe.asdict()
    model = recipe.build(compile=False)  # chapter 05's D behind its augmentation if augmented
    model.compile(steps_per_execution=1)
    batches = tf.data.Dataset.from_tensor_slices(np.random.default_rng(0).random((16, 28, 28)))
    training.fit_gan(model, batches.batch(4).repeat(), 4, 2, tmp_path, "gan", settings=settings)
    loaded = gan.load_generator(tmp_path)
    z = np.random.default_rng(1).normal(size=(3, 8)).astype(np.float32)
    np.testing.assert_allclose(
        ops.convert_to_numpy(loaded(z)), ops.convert_to_numpy(model.ema_generator(z)), atol=1e-6
    )
    if ema:  # the averaged G, not the raw one
        assert not np.allclose(
            ops.convert_to_numpy(loaded(z)), ops.convert_to_numpy(model.generator(z))
        )
    with pytest.raises(FileNotFoundError, match="no finished run"):
        gan.load_generator(tmp_path / "elsewhere")
    run = tmp_path / "gan_run.json"
    run.write_text(run.read_text().replace('"finished": true', '"finished": false'))
    with pytest.raises(ValueError, match="did not finish"):
        gan.load_generator(tmp_path)


@pytest.mark.parametrize("eval_every", [2, 3, 5])
def test_fit_gan_trains_exactly_the_steps_asked_for(tmp_path, eval_every: int) -> None:
    """Keras runs whole calls of ``steps_per_execution`` (the GAN's default: 50), even past an
    epoch's end: without the harness's fix, 2 evaluations 3 steps apart trained 100 steps."""
    generator, discriminator = (
        gan.build_generator(8, 28, width=4),
        gan.build_discriminator(28, width=4),
    )
    model = gan.GAN(generator, discriminator, 8, balance=False)  # every step updates both
    model.compile()  # steps_per_execution=50
    batches = tf.data.Dataset.from_tensor_slices(np.random.default_rng(0).random((16, 28, 28)))
    steps = 2 * eval_every
    run = training.fit_gan(model, batches.batch(4).repeat(), steps, eval_every, tmp_path, "gan")
    assert int(model.g_optimizer.iterations.numpy()) == steps
    assert int(model.d_optimizer.iterations.numpy()) == steps
    assert [record["step"] for record in run.records] == [0, eval_every, steps]


def test_fit_gan_stops_when_its_stop_test_says_so(tmp_path) -> None:
    """A stop test that fires after step 4 ends a 10-step run there, marks the record and is
    reused as such; control: a test that never fires trains every step."""

    def build() -> gan.GAN:
        generator, discriminator = (
            gan.build_generator(8, 28, width=4),
            gan.build_discriminator(28, width=4),
        )
        model = gan.GAN(generator, discriminator, 8, balance=False)  # both update each step
        model.compile(steps_per_execution=1)
        return model

    def after_four(records: list[dict]) -> bool:
        return records[-1]["step"] >= 4

    def never(records: list[dict]) -> bool:
        return False

    batches = tf.data.Dataset.from_tensor_slices(np.random.default_rng(0).random((16, 28, 28)))
    batches = batches.batch(4).repeat()
    model = build()
    run = training.fit_gan(model, batches, 10, 2, tmp_path, "early", stop=after_four)
    assert [record["step"] for record in run.records] == [0, 2, 4]
    assert run.stopped and run.records[-1]["stopped"] is True
    assert int(model.d_optimizer.iterations.numpy()) == 4
    again = training.fit_gan(build(), batches, 10, 2, tmp_path, "early", stop=after_four)
    assert again.reused and again.stopped
    full = training.fit_gan(build(), batches, 10, 2, tmp_path, "full", stop=never)
    assert [record["step"] for record in full.records][-1] == 10 and not full.stopped


def test_sampling_leaves_batch_norm_statistics_alone() -> None:
    """gan.sample draws in inference mode; the control: a bare call, as Keras 3 runs it here,
    moves batch norm's running statistics towards the batch (why the chapters pass
    ``training=False``)."""
    keras.utils.set_random_seed(0)
    generator = gan.build_generator(8, 28, 1, 4)

    def statistics() -> np.ndarray:
        return np.concatenate([np.ravel(w) for w in generator.weights if "moving" in w.path])

    before = statistics()
    gan.sample(generator, 64, seed=1)
    generator(np.ones((64, 8), np.float32), training=False)
    assert np.array_equal(statistics(), before)
    generator(np.ones((64, 8), np.float32))
    assert not np.array_equal(statistics(), before)


def test_the_recipes_defaults_are_chapter_03s_parameters() -> None:
    from tools.notebook_code import notebook_parameters

    lesson = notebook_parameters(Path(__file__).resolve().parents[1] / "notebooks/03_gan_mnist.py")
    recipe = gan.Recipe().asdict()
    # Adam's betas and R1: chapter 03 sets its own, chapters 04 and 05 keep the defaults
    own = {"beta_1", "beta_2", "r1_gamma"}
    shared = sorted(set(recipe) & set(lesson) - own)
    assert len(shared) >= 9  # every field the lesson sets
    assert {key: recipe[key] for key in shared} == {key: lesson[key] for key in shared}


def test_a_recipe_round_trips_through_a_runs_settings_and_builds_what_it_says() -> None:
    recipe = gan.Recipe(latent_dim=8, g_width=4, d_width=4, balance=True, ema=0.0, dropout=0.2)
    settings = json.loads(json.dumps({"seed": 3, **recipe.asdict()}))
    assert gan.Recipe.from_settings(settings) == recipe
    model = recipe.build(seed=3)
    assert (model.latent_dim, model.balance, model.ema) == (8, True, 0.0)
    assert model.generator.output.shape[1:] == (28, 28)
    dropouts = [layer.rate for layer in model.discriminator.layers if "dropout" in layer.name]
    assert dropouts and set(dropouts) == {0.2}
    with pytest.raises(ValueError, match="lack"):
        gan.Recipe.from_settings({"latent_dim": 8})
    with pytest.raises(ValueError, match="augmentation"):
        gan.Recipe(augmentation="mirror")
    with pytest.raises(ValueError, match="g_width"):
        gan.Recipe(g_width=0)


@pytest.mark.parametrize("gamma", [0.1, 2.0])
def test_r1_penalty_matches_its_closed_form_on_a_linear_discriminator(gamma: float) -> None:
    # logit = w . x + b has grad_x = w at every image: penalty = every * gamma/2 * ||w||^2,
    # and its gradient in w is every * gamma * w; between due steps both are 0
    rng = np.random.default_rng(0)
    w = rng.normal(size=(28 * 28, 1)).astype("float32") * 0.1
    images = keras.Input(shape=(28, 28))
    logit = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(w))(
        keras.layers.Flatten()(images)
    )
    generator = gan.build_generator(2, width=4)
    model = gan.GAN(generator, keras.Model(images, logit), 2, r1_gamma=gamma, r1_every=8)
    model.compile()
    real = tf.constant(rng.uniform(size=(16, 28, 28)).astype("float32"))
    kernel = model.discriminator.trainable_variables[0]
    with tf.GradientTape() as tape:
        penalty = model.r1_penalty(real)
    expected = 8 * 0.5 * gamma * float(np.sum(w**2))
    np.testing.assert_allclose(float(penalty), expected, rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(penalty, kernel).numpy(), 8 * gamma * w, rtol=1e-4)
    model.d_optimizer.iterations.assign(3)  # not a multiple of 8: no penalty
    assert float(model.r1_penalty(real)) == 0.0
    model.d_optimizer.iterations.assign(16)
    np.testing.assert_allclose(float(model.r1_penalty(real)), expected, rtol=1e-5)


@pytest.mark.parametrize("due", [True, False])
def test_r1_changes_ds_step_only_on_due_steps(due: bool) -> None:
    # two GANs with the same weights and draws, one with R1: on a due step (D's update 0)
    # D moves differently and G identically; on D's update 1 both move identically
    def build(gamma: float) -> gan.GAN:
        keras.utils.set_random_seed(3)
        model = gan.Recipe(g_width=4, d_width=4, r1_gamma=gamma).build(seed=3)
        return model

    real = np.random.default_rng(1).uniform(size=(8, 28, 28)).astype("float32")
    with_r1, without = build(1.0), build(0.0)
    for a, b in zip(with_r1.get_weights(), without.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    if not due:
        for model in (with_r1, without):
            model.d_optimizer.iterations.assign(1)
    with_r1.train_on_batch(real)
    without.train_on_batch(real)
    d_diff = [
        float(np.max(np.abs(a - b)))
        for a, b in zip(
            with_r1.discriminator.get_weights(), without.discriminator.get_weights(), strict=True
        )
    ]
    g_diff = [
        float(np.max(np.abs(a - b)))
        for a, b in zip(
            with_r1.generator.get_weights(), without.generator.get_weights(), strict=True
        )
    ]
    if due:
        assert max(d_diff) > 1e-6  # R1 moved D
    else:
        assert max(d_diff) < 1e-7  # not due: no penalty, the same step
    assert max(g_diff) < 1e-6  # G's step does not see R1


def test_r1_rejects_bad_settings() -> None:
    generator, discriminator = gan.build_generator(2, width=4), gan.build_discriminator(width=4)
    with pytest.raises(ValueError, match="r1_gamma"):
        gan.GAN(generator, discriminator, 2, r1_gamma=-1.0)
    with pytest.raises(ValueError, match="r1_every"):
        gan.GAN(generator, discriminator, 2, r1_every=0)


def test_a_run_saved_before_the_r1_and_beta_2_fields_loads_with_their_defaults() -> None:
    settings = gan.Recipe().asdict()
    del settings["beta_2"], settings["r1_gamma"]
    recipe = gan.Recipe.from_settings(settings)
    assert (recipe.beta_2, recipe.r1_gamma) == (0.999, 0.0)
    del settings["ema"]
    with pytest.raises(ValueError, match="ema"):
        gan.Recipe.from_settings(settings)
