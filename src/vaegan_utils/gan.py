"""A DCGAN for 28x28 digits and square faces: its players, losses, train step and sampling.

The players, both losses and the train step (:class:`GAN`) are taught in chapter 03 and
*generated* from its cells (the region at the end of this module, ``python -m tools.export``):
edit the chapter, not that region. Written here by hand: :class:`GANBase` (the two players, their
optimizers, the logged means and the EMA generator), :class:`Recipe` (the settings of a run, the
book's recipe as defaults), :func:`sample` and :func:`load_generator`.

The architecture follows the book's seed: the discriminator is three convolutions (each followed
by batch norm and dropout), a dense layer and a dense layer to one logit; the generator maps z
through a dense layer to a small feature map, batch norm, reshape, a resize to a larger map and
four transposed convolutions, batch norm after each of the first three, the fourth producing the
image through a sigmoid.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers, ops


def sample(
    generator: keras.Model, n: int, seed: int | keras.random.SeedGenerator, batch_size: int = 500
) -> np.ndarray:
    """``n`` images from ``generator`` for z ~ N(0, I), as a NumPy array (inference mode).

    A ``keras.random.SeedGenerator`` draws new codes at every call; an int, the same ones.
    """
    if n <= 0:
        raise ValueError(f"n must be a positive number of samples, got {n}")
    z = keras.random.normal((n, generator.input.shape[-1]), seed=seed)  # (n, latent_dim)
    return ops.convert_to_numpy(generator.predict(z, batch_size=batch_size, verbose=0))


class GANBase(keras.Model):
    """The plumbing of a GAN: its two players, its options, an optimizer each, the logged means,
    and ``ema_generator``, the generator to sample from: with ``ema`` above 0 a copy of G whose
    weights follow an exponential moving average of G's (decay ``ema``), with ``ema`` 0 G
    itself. ``r1_gamma`` above 0 adds lazy R1 on real images to D's loss every ``r1_every``
    steps. :class:`GAN` adds the train step (generated from chapter 03).
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        latent_dim: int,
        balance: bool = False,
        saturating: bool = False,
        real_label: float = 1.0,
        summed_d_loss: bool = False,
        ema: float = 0.0,
        r1_gamma: float = 0.0,
        r1_every: int = 8,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not 0.5 < real_label <= 1.0:
            raise ValueError(f"real_label must be in (0.5, 1], got {real_label}")
        if not 0.0 <= ema < 1.0:
            raise ValueError(f"ema must be in [0, 1) (0: no averaging), got {ema}")
        if r1_gamma < 0:
            raise ValueError(f"r1_gamma must be >= 0 (0: no R1), got {r1_gamma}")
        if not isinstance(r1_every, int | np.integer) or r1_every < 1:
            raise ValueError(f"r1_every must be a whole number >= 1, got {r1_every!r}")
        self.generator, self.discriminator = generator, discriminator
        self.latent_dim, self.balance, self.ema = latent_dim, balance, ema
        self.saturating, self.real_label = saturating, real_label
        self.summed_d_loss = summed_d_loss
        self.r1_gamma, self.r1_every = float(r1_gamma), int(r1_every)
        self.ema_generator = generator  # the generator to sample from
        if ema:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        self.seed_generator = keras.random.SeedGenerator(seed)
        names = ("d_loss", "g_loss", "d_paused", "g_paused", "g_grad_norm")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.built = True  # both players are functional models, built already

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer | None = None,
        g_optimizer: keras.optimizers.Optimizer | None = None,
        learning_rate: float = 2e-4,
        beta_1: float = 0.5,
        beta_2: float = 0.999,
        steps_per_execution: int = 50,
        **kwargs,
    ):
        """Give each player its optimizer: by default Adam with ``learning_rate``, ``beta_1``
        (DCGAN's 0.5 unless given) and ``beta_2`` for both. ``steps_per_execution`` steps run
        per call into the compiled step (fewer Python round trips)."""
        if learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {learning_rate}")
        super().compile(optimizer=None, steps_per_execution=steps_per_execution, **kwargs)

        def adam() -> keras.optimizers.Optimizer:
            return keras.optimizers.Adam(learning_rate, beta_1=beta_1, beta_2=beta_2)

        self.d_optimizer = d_optimizer or adam()
        self.g_optimizer = g_optimizer or adam()
        # Build the optimizer states now: variables cannot be created inside tf.cond.
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def call(self, z, training=False):
        return self.ema_generator(z, training=training)


#: A model builder: chapter 03's ``build_generator`` or ``build_discriminator``, or an edit of it.
Builder = Callable[..., keras.Model]

AUGMENTATIONS = ("none", "both sides")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """Everything that shapes a DCGAN's training except the seed and the schedule, with the
    book's recipe (chapter 03's choices, chosen in its lab) as defaults, but for Adam's
    ``beta_1`` and ``beta_2`` and R1's ``r1_gamma``: chapter 03 sets those itself (0, 0.99 and
    0.1, from its lab's levers), chapters 04 and 05 keep the defaults (0.5, 0.999, no R1).

    ``augmentation="both sides"`` puts D behind :func:`pipelines.augmented_discriminator` with
    ``max_shift`` (chapter 05). Change a field with ``dataclasses.replace(recipe, ...)``.
    """

    latent_dim: int = 64
    g_width: int = 32  # channels of G's last hidden layer (2x that before it)
    d_width: int = 32  # channels of D's first convolution (2x that after it)
    dropout: float = 0.0  # D's, after each convolution (the reference code's: 0.3)
    batch_norm: bool = True
    learning_rate: float = 2e-3  # Adam's, both players
    beta_1: float = 0.5
    batch_size: int = 64
    balance: bool = False  # the reference code's balance rule
    saturating: bool = False  # True: G minimises log(1 - D(G(z)))
    ema: float = 0.999  # decay of the EMA generator we sample from (0: G itself)
    beta_2: float = 0.999  # Adam's, both players
    r1_gamma: float = 0.0  # lazy R1 on real images every 8 steps (0: none)
    image_size: int = 28
    channels: int = 1
    augmentation: str = "none"
    max_shift: int = 0

    def __post_init__(self) -> None:
        for field in ("latent_dim", "g_width", "d_width", "batch_size", "channels"):
            value = getattr(self, field)
            if not isinstance(value, int | np.integer) or value <= 0:
                raise ValueError(f"{field} must be a positive whole number, got {value!r}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if self.augmentation not in AUGMENTATIONS:
            raise ValueError(
                f"augmentation must be one of {AUGMENTATIONS}, got {self.augmentation!r}"
            )

    def asdict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-ready), for a run's settings."""
        return dataclasses.asdict(self)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Recipe:
        """The recipe within a run's settings (other keys, such as ``seed``, are ignored)."""
        names = {field.name for field in dataclasses.fields(cls)}
        # fields added later: a run written before them trained with their defaults
        later = {"beta_2", "r1_gamma"}
        missing = sorted(names - later - set(settings))
        if missing:
            raise ValueError(
                f"the settings lack {missing}: they were not written from a Recipe; rerun the "
                "notebook that trained them"
            )
        return cls(**{key: settings[key] for key in names if key in settings})

    def build(
        self,
        seed: int = 0,
        build_generator: Builder | None = None,
        build_discriminator: Builder | None = None,
        model_class: type[GANBase] | None = None,
        compile: bool = True,
    ) -> GANBase:
        """A new GAN with this recipe, compiled (Adam, ``learning_rate``, ``beta_1``).

        The builders and ``model_class`` default to this module's copies of chapter 03's
        (:func:`build_generator`, :func:`build_discriminator`, :class:`GAN`); pass the
        chapter's own to use an edit of them.
        """
        build_generator = build_generator or globals()["build_generator"]
        build_discriminator = build_discriminator or globals()["build_discriminator"]
        size, channels, norm = self.image_size, self.channels, self.batch_norm
        generator = build_generator(
            self.latent_dim, size, channels, width=self.g_width, batch_norm=norm
        )
        discriminator = build_discriminator(
            size, channels, width=self.d_width, batch_norm=norm, dropout=self.dropout
        )
        if self.augmentation == "both sides":
            from vaegan_utils.pipelines import augmented_discriminator

            # the augmentation's own stream of draws, apart from the GAN's
            discriminator = augmented_discriminator(
                discriminator, max_shift=self.max_shift, seed=seed + 1
            )
        model = (model_class or GAN)(
            generator,
            discriminator,
            self.latent_dim,
            balance=self.balance,
            saturating=self.saturating,
            ema=self.ema,
            r1_gamma=self.r1_gamma,
            seed=seed,
        )
        if compile:
            model.compile(learning_rate=self.learning_rate, beta_1=self.beta_1, beta_2=self.beta_2)
        return model


def load_generator(
    output_dir: str | Path,
    name: str = "gan",
    build_generator: Builder | None = None,
    build_discriminator: Builder | None = None,
) -> keras.Model:
    """The generator a finished run samples from (the EMA generator when the run used ``ema``),
    rebuilt from its directory alone: the :class:`Recipe` in ``{name}_run.json``'s settings and
    the weights in ``{name}.weights.h5`` written by ``training.fit_gan``.

    The builders default to this module's copies of chapter 03's; the chapter passes its own, so
    that an edit of them rebuilds the model it trained.
    """
    directory = Path(output_dir)
    run_path, weights = directory / f"{name}_run.json", directory / f"{name}.weights.h5"
    if not run_path.exists() or not weights.exists():
        raise FileNotFoundError(
            f"no finished run {name!r} in {directory} (need {run_path.name} and {weights.name}); "
            "train it first, or pass the output_dir and name the notebook used"
        )
    run_info = json.loads(run_path.read_text())
    if not run_info.get("finished"):
        trained_in = run_info.get("trained_in")
        raise ValueError(f"run {trained_in} in {directory} did not finish; rerun it")
    from vaegan_utils.runs import broken_files, run_files

    broken = broken_files(run_files(directory, name), run_info)
    if broken:
        raise ValueError(
            f"the run in {directory} cannot be loaded: {broken}; rerun the notebook that "
            "trained it (it retrains when its files fail this check)"
        )
    recipe = Recipe.from_settings(run_info["fingerprint"]["settings"])
    model = recipe.build(
        build_generator=build_generator, build_discriminator=build_discriminator, compile=False
    )
    model.load_weights(weights)
    return model.ema_generator


# ---- Generated from notebooks/03_gan_mnist.py: edit the chapter, not this code. ----
# fmt: off


def build_discriminator(
    image_size: int = 28,
    channels: int = 1,
    width: int = 32,
    batch_norm: bool = True,
    dropout: float = 0.0,
    name: str = "discriminator",
) -> keras.Model:
    """Images ``(batch, size, size[, channels])`` in [0, 1] -> logits ``(batch, 1)``."""
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    shape = (
        (image_size, image_size)
        if channels == 1
        else (image_size, image_size, channels)
    )
    images = keras.Input(shape=shape)
    x = layers.Reshape((image_size, image_size, channels))(images)
    x = layers.Rescaling(2.0, offset=-1.0)(x)  # [0, 1] -> [-1, 1]
    # size -> size/4
    for filters, strides in ((width, 2), (2 * width, 2), (2 * width, 1)):
        x = layers.Conv2D(
            filters, 4 if strides == 2 else 3, strides=strides, padding="same"
        )(x)
        if batch_norm:
            x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)  # (b, size/4 * size/4 * 2w)
    x = layers.Dense(128)(x)
    x = layers.LeakyReLU(0.2)(x)
    logit = layers.Dense(1)(x)
    return keras.Model(images, logit, name=name)


def build_generator(
    latent_dim: int = 64,
    image_size: int = 28,
    channels: int = 1,
    width: int = 32,
    batch_norm: bool = True,
    name: str = "generator",
) -> keras.Model:
    """z ``(batch, latent_dim)`` -> images ``(batch, size, size[, channels])``.

    ``image_size`` must be 4 times a whole number (28: MNIST, 32 or 64: faces).
    """
    if latent_dim <= 0 or width <= 0:
        raise ValueError(
            f"latent_dim and width must be positive, got {latent_dim}, {width}"
        )
    if image_size % 4 or image_size < 8:
        raise ValueError(
            f"image_size must be a multiple of 4 and >= 8, got {image_size}"
        )
    quarter = image_size // 4

    def norm(x):
        return layers.BatchNormalization(momentum=0.9)(x) if batch_norm else x

    z = keras.Input(shape=(latent_dim,))
    x = layers.Dense(4 * 4 * 2 * width)(z)
    x = layers.LeakyReLU(0.2)(norm(x))
    x = layers.Reshape((4, 4, 2 * width))(x)  # (b, 4, 4, 2w)
    # -> (b, size/4, size/4, 2w)
    x = layers.Resizing(quarter, quarter, interpolation="bilinear")(x)
    x = layers.Conv2DTranspose(2 * width, 3, padding="same")(x)  # same size
    x = layers.LeakyReLU(0.2)(norm(x))
    x = layers.Conv2DTranspose(2 * width, 4, strides=2, padding="same")(x)  # -> size/2
    x = layers.LeakyReLU(0.2)(norm(x))
    # -> (b, size, size, w)
    x = layers.Conv2DTranspose(width, 4, strides=2, padding="same")(x)
    x = layers.LeakyReLU(0.2)(norm(x))
    x = layers.Conv2DTranspose(channels, 3, padding="same", activation="sigmoid")(x)
    if channels == 1:
        # (b, size, size, 1) -> (b, size, size)
        x = layers.Reshape((image_size, image_size))(x)
    return keras.Model(z, x, name=name)


def discriminator_loss(real_logits, fake_logits, real_label: float = 1.0):
    """−½[log D(x) + log(1 − D(G(z)))], averaged over the batch.

    The two cross-entropies are *averaged*, so that at D's chance level both players'
    losses equal log 2 and the balance rule compares like with like. A ``real_label``
    below 1 is one-sided label smoothing.
    """
    real = real_label * ops.softplus(-real_logits) + (1.0 - real_label) * ops.softplus(
        real_logits
    )
    return 0.5 * (ops.mean(real) + ops.mean(ops.softplus(fake_logits)))


def generator_loss(fake_logits, saturating: bool = False):
    """The generator's loss, averaged over the batch.

    Non-saturating (default): −log D(G(z)), which has strong gradients exactly when D
    rejects the fakes. Saturating (the minimax original): log(1 − D(G(z))), whose
    gradient vanishes then.
    """
    if saturating:
        return -ops.mean(ops.softplus(fake_logits))  # log(1 − σ(l)) = −softplus(l)
    return ops.mean(ops.softplus(-fake_logits))


class GAN(GANBase):
    """A generator and a discriminator trained against each other, one step at a time.

    Each step draws z, generates fakes once and computes both losses from that one
    forward pass. The discriminator's update uses its own gradients; the generator's
    gradients flow through the discriminator without changing its weights. With
    ``balance=True`` the seed's balance rule pauses a side: D is not updated when twice
    its loss is below G's, and G is not updated when twice its loss is below D's (D's
    loss averaged over its real and fake halves, or summed with ``summed_d_loss=True``,
    the other common choice). With ``ema`` above 0, the EMA generator's weights follow
    an exponential moving average of G's (decay ``ema``).

    Logged per step (averaged over each ``fit`` epoch): both losses, whether each side
    was paused, and the norm of the generator's gradient.
    """

    def train_step(self, real):
        import tensorflow as tf

        if isinstance(real, tuple):  # train_on_batch passes (x, y, sample_weight)
            real = real[0]
        z = keras.random.normal(
            (tf.shape(real)[0], self.latent_dim), seed=self.seed_generator
        )
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            fake = self.generator(z, training=True)
            real_logits = self.discriminator(real, training=True)  # (batch, 1)
            fake_logits = self.discriminator(fake, training=True)  # (batch, 1)
            d_loss = discriminator_loss(real_logits, fake_logits, self.real_label)
            g_loss = generator_loss(fake_logits, self.saturating)
            # D's objective: its loss, plus R1 when it is on
            d_total = d_loss + self.r1_penalty(real) if self.r1_gamma else d_loss
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        d_grads = d_tape.gradient(d_total, d_vars)
        g_grads = g_tape.gradient(g_loss, g_vars)

        # The balance rule: a side sits this step out when twice its loss is below the
        # other's. (The saturating G loss is negative, so the rule always compares the
        # non-saturating one.)
        d_level = 2.0 * d_loss if self.summed_d_loss else d_loss
        g_level = generator_loss(fake_logits, saturating=False)
        train_d = tf.logical_or(not self.balance, d_level * 2.0 >= g_level)
        train_g = tf.logical_or(not self.balance, g_level * 2.0 >= d_level)

        def apply(optimizer, grads, variables):
            def update():
                optimizer.apply(grads, variables)
                return tf.constant(True)

            return update

        tf.cond(
            train_d,
            apply(self.d_optimizer, d_grads, d_vars),
            lambda: tf.constant(False),
        )
        tf.cond(
            train_g,
            apply(self.g_optimizer, g_grads, g_vars),
            lambda: tf.constant(False),
        )
        # EMA: decay * average + (1 - decay) * G, batch-norm statistics too
        if self.ema:
            step = ops.cast(self.g_optimizer.iterations, "float32")
            # short memory at first
            decay = ops.minimum(self.ema, (1.0 + step) / (10.0 + step))
            for average, weight in zip(
                self.ema_generator.weights, self.generator.weights, strict=True
            ):
                average.assign(decay * average + (1.0 - decay) * weight)

        values = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_paused": 1.0 - ops.cast(train_d, "float32"),
            "g_paused": 1.0 - ops.cast(train_g, "float32"),
            "g_grad_norm": ops.sqrt(sum(ops.sum(ops.square(g)) for g in g_grads)),
        }
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def r1_penalty(self, real):
        """Lazy R1 on real digits: every ``r1_every``-th step of D,
        ``r1_every`` x gamma/2 x mean ||grad_x D(x)||², else 0."""
        import tensorflow as tf

        def penalty():
            with tf.GradientTape() as tape:
                tape.watch(real)
                total = ops.sum(self.discriminator(real, training=True))
            grads = tape.gradient(total, real)  # (batch, 28, 28)
            grads = ops.reshape(grads, (ops.shape(grads)[0], -1))  # (batch, 784)
            squared = ops.sum(ops.square(grads), axis=1)  # (batch,)
            return self.r1_every * 0.5 * self.r1_gamma * ops.mean(squared)

        due = self.d_optimizer.iterations % self.r1_every == 0
        return tf.cond(due, penalty, lambda: tf.constant(0.0))


# fmt: on
# ---- End of the code generated from notebooks/03_gan_mnist.py. ----
