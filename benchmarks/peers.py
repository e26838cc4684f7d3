"""The book's recipes next to the official TensorFlow tutorials, for the same training time.

    python benchmarks/peers.py                              # both pairs, 180 s of training each
    python benchmarks/peers.py --budget 60 --only vae --latent 2

Readers ask: why not just follow the TensorFlow tutorial? This script answers with numbers
measured on the machine it runs on. It re-implements two tutorials from their published code
(Keras 3 APIs, same layers, losses, optimizers, batch sizes and input pipelines) and trains each,
one after the other with the book's model, for the same wall-clock training budget. Every model
is scored at 8 evenly spaced times of its own training clock; scoring is not counted as training.

GAN, quality = Fréchet distance to the test digits (lower is better)
    tutorial (tensorflow.org/tutorials/generative/dcgan): generator Dense(7*7*256, no bias) + batch
        norm + LeakyReLU, then 5x5 transposed convolutions to 128 (stride 1), 64 and 1 channels
        (stride 2, no bias; batch norm + LeakyReLU between, tanh at the end); discriminator two 5x5
        stride-2 convolutions (64, 128) with LeakyReLU and dropout 0.3, a dense logit; z of 100
        dims; images in [-1, 1]; batch 256 (noise batch always 256); Adam(1e-4) for both; D's loss
        the *sum* of its two cross-entropies, G's the non-saturating one; both players updated at
        every step, one ``tf.function`` call per step; data through
        ``from_tensor_slices().shuffle(60000).batch(256)`` (a partial last batch every epoch).
    book (chapter 03's ``GAN``, its recipe read from its parameters cell at run time: batch size,
        widths, learning rate, balance rule, EMA decay): much smaller networks with batch norm in
        both players, Adam(lr, beta_1=0.5), z of 64 dims, images in [0, 1], sampled from the EMA
        generator, 50 steps per compiled call (``steps_per_execution``).
    Both are scored by the book's classifier (``evaluation.Scorer``) on 2,000 samples drawn in
    inference mode; the tutorial's tanh output is mapped to [0, 1]. Also recorded: the
    Inception-style score and the class shares, and the same scorer on real training digits.

VAE, quality = test −ELBO in nats per image (lower is better), at each latent size asked for
    data for both: the tutorial's, MNIST thresholded at 0.5 (``x > 0.5``, one fixed binarization;
    the book's chapter trains on dynamically binarized digits instead), 60,000 training images.
    tutorial (tensorflow.org/tutorials/generative/cvae): encoder two 3x3 stride-2 convolutions
        (32, 64, ReLU, no padding) and a dense layer to mean and log-variance; decoder dense to
        7x7x32, 3x3 transposed convolutions to 64 and 32 channels (stride 2) and to 1 logit per
        pixel; batch 32; Adam(1e-4); loss the one-sample Monte Carlo estimate
        log p(x|z) + log p(z) − log q(z|x); one ``tf.function`` call per step.
    book (chapter 02's ``VAE`` class, ``vaegan_utils.vae.VAE``, generated from the chapter):
        MLP encoder and decoder with hidden widths ``hidden`` of its parameters cell (512, 256) at
        every latent size (the chapter's own 2-D picture model is narrower, ``hidden_2d``),
        analytic KL, batch size and learning rate from the parameters cell (100, 2e-3), Adam at a
        constant rate (the chapter decays it by a cosine over its fixed epoch count; a wall-clock
        budget has no fixed end), no XLA, 50 steps per compiled call.
    Both are scored by one estimator, ``vae.elbo_terms`` (sum over pixels, analytic KL, one z per
    image, the same noise draws for every evaluation): on the first 2,000 test images at every
    checkpoint and on all 10,000 at the end. The ratio uses the 2,000-image curves of both.

The ratio, per pair: (training seconds the book's model needed to reach the tutorial's final
quality) / (the tutorial's training seconds). Below 1, the book's recipe gets there faster. The
time is that of the first checkpoint at or below the target, so it is rounded up to the next
checkpoint; it rests on one seed and one run of each model, and whatever else the machine runs
slows both (the load averages before and after are recorded). Both models' clocks include their
tracing and compilation. Both run after ``runtime.set_seed`` (op determinism on, as in the
notebooks). Results go to outputs/benchmarks/peers.json, with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers, ops  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository's tools/ (this script runs from anywhere)

from tools.notebook_code import notebook_parameters  # noqa: E402
from vaegan_utils import data, evaluation, gan, pipelines, runtime, vae  # noqa: E402

GAN_NOTEBOOK = ROOT / "notebooks" / "03_gan_mnist.py"
VAE_NOTEBOOK = ROOT / "notebooks" / "02_vae_mnist.py"
REPORT = ROOT / "outputs" / "benchmarks" / "peers.json"
CHECKPOINTS = 8  # evaluations, evenly spaced in training time
GAN_SAMPLES = 2000  # generated images scored at each evaluation
VAE_EVAL_IMAGES = 2000  # test images of the intermediate evaluations (all 10,000 at the end)
STEPS_PER_EXECUTION = 50  # the book's compiled calls, as in its notebooks
MAX_STEPS = 10**9  # "epoch" length for fit(); a Deadline callback ends it

#: The tutorials' recipes, from their code (tensorflow/docs: site/en/tutorials/generative).
DCGAN_TUTORIAL = {"noise_dim": 100, "batch_size": 256, "learning_rate": 1e-4, "buffer": 60_000}
CVAE_TUTORIAL = {"batch_size": 32, "learning_rate": 1e-4, "buffer": 60_000, "threshold": 0.5}

Record = dict[str, Any]


# --------------------------------------------------------------------------------------------
# command line


def parse_options(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, checked: ``ValueError`` names the flag whose value is wrong."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", default="180", help="training seconds per model (180)")
    parser.add_argument("--only", default=None, help="run one pair only: gan or vae")
    parser.add_argument("--latent", nargs="+", default=["2", "20"], help="VAE latent sizes (2 20)")
    parser.add_argument("--seed", default="0", help="seed of weights, data order and noise (0)")
    options = parser.parse_args(argv)

    try:
        options.budget = float(options.budget)
    except ValueError:
        raise ValueError(f"--budget must be a number of seconds, got {options.budget!r}") from None
    if not (math.isfinite(options.budget) and options.budget > 0):
        raise ValueError(f"--budget must be a positive number of seconds, got {options.budget}")
    if options.only not in (None, "gan", "vae"):
        raise ValueError(f"--only must be 'gan' or 'vae', got {options.only!r}")
    latents = []
    for value in options.latent:
        if not value.isdigit() or int(value) <= 0:
            raise ValueError(f"--latent takes positive whole numbers, got {value!r}")
        latents.append(int(value))
    options.latent = list(dict.fromkeys(latents))
    if not options.seed.isdigit():
        raise ValueError(f"--seed must be a whole number >= 0, got {options.seed!r}")
    options.seed = int(options.seed)
    return options


# --------------------------------------------------------------------------------------------
# the training clock


class Deadline(keras.callbacks.Callback):
    """Ends ``fit`` after the first compiled call that finishes past ``deadline``
    (a ``time.perf_counter`` value), and counts the steps it ran."""

    def __init__(self, deadline: float):
        super().__init__()
        self.deadline = deadline
        self.steps = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.steps = batch + 1  # Keras passes the index of the call's last step
        if time.perf_counter() >= self.deadline:
            self.model.stop_training = True


def timed_run(
    label: str,
    budget: float,
    train_until: Callable[[float], int],
    evaluate: Callable[[bool], Record],
    describe: Callable[[Record], str],
) -> list[Record]:
    """Train for ``budget`` seconds in chunks, evaluating at ``CHECKPOINTS`` evenly spaced times.

    ``train_until(deadline)`` trains until ``time.perf_counter()`` passes ``deadline`` and
    returns the steps it ran; ``evaluate(final)`` scores the model (``final``: the last time).
    Only training chunks count on the clock. Each record is labelled with the last checkpoint
    time its clock has passed: a chunk that overruns several (the first one also traces and
    compiles; the book's models stop only every 50 steps) skips the ones in between.
    """
    records: list[Record] = []
    seconds, steps, passed = 0.0, 0, 0
    while passed < CHECKPOINTS:
        start = time.perf_counter()
        steps += train_until(start + budget * (passed + 1) / CHECKPOINTS - seconds)
        seconds += time.perf_counter() - start
        passed = min(CHECKPOINTS, max(passed + 1, int(seconds * CHECKPOINTS / budget)))
        record = {"checkpoint": passed, "seconds": seconds, "steps": steps}
        record.update(evaluate(passed == CHECKPOINTS))
        records.append(record)
        print(f"{label:<28s} {seconds:7.1f} s {steps:8,d} steps  {describe(record)}", flush=True)
    return records


def python_loop(step: Callable[[Any], Any], dataset: Any) -> Callable[[float], int]:
    """The tutorials' training loop: one ``tf.function`` call per batch, until the deadline."""
    iterator = iter(dataset)

    def train_until(deadline: float) -> int:
        steps = 0
        while time.perf_counter() < deadline:
            step(next(iterator))
            steps += 1
        return steps

    return train_until


def fit_loop(model: keras.Model, dataset: Any) -> Callable[[float], int]:
    """The book's training loop: ``model.fit`` on a repeated dataset, ended by a deadline."""

    def train_until(deadline: float) -> int:
        stop = Deadline(deadline)
        model.fit(
            dataset,
            steps_per_epoch=MAX_STEPS,
            epochs=1,
            verbose=0,
            shuffle=False,  # the input pipeline shuffles
            callbacks=[stop],
        )
        return stop.steps

    return train_until


def compare(peer: list[Record], book: list[Record], key: str) -> Record:
    """When the book's model first reached the peer's final ``key`` (lower is better)."""
    target, peer_seconds = peer[-1][key], peer[-1]["seconds"]
    reached = next((record["seconds"] for record in book if record[key] <= target), None)
    return {
        "quality": key,
        "peer_final": target,
        "peer_seconds": peer_seconds,
        "book_final": book[-1][key],
        "book_seconds": book[-1]["seconds"],
        "book_seconds_to_peer_final": reached,
        "ratio": None if reached is None else reached / peer_seconds,
    }


def print_pair(
    title: str, names: tuple[str, str], runs: tuple[list[Record], list[Record]], key: str
) -> None:
    """Both models' (training seconds -> quality) at each checkpoint, side by side."""
    print(f"\n{title}")
    print(f"  {'checkpoint':<11s}" + "".join(f"{name:>34s}" for name in names))
    by_checkpoint = [{record["checkpoint"]: record for record in run} for run in runs]
    for checkpoint in range(1, CHECKPOINTS + 1):
        cells = []
        for run in by_checkpoint:
            record = run.get(checkpoint)
            cells.append(
                f"{'':>34s}"
                if record is None
                else f"{record['seconds']:9.1f} s {record['steps']:9,d} steps {record[key]:8.2f}"
            )
        print(f"  {checkpoint:>2d}/{CHECKPOINTS:<8d}" + "".join(cells))


def ratio_text(comparison: Record, peer: str, book: str, quality: str) -> str:
    """The pair's one-line verdict."""
    head = f"{book} vs {peer}, {quality}: {peer}'s final {comparison['peer_final']:.2f}"
    if comparison["ratio"] is None:
        return (
            f"{head}; {book} did not reach it: not reached in {comparison['book_seconds']:.0f} s "
            f"(its final: {comparison['book_final']:.2f})"
        )
    return (
        f"{head} after {comparison['peer_seconds']:.0f} s; {book} reached it after "
        f"{comparison['book_seconds_to_peer_final']:.0f} s: ratio {comparison['ratio']:.2f}"
    )


# --------------------------------------------------------------------------------------------
# GAN: the DCGAN tutorial and chapter 03


def tutorial_generator(noise_dim: int) -> keras.Model:
    """The DCGAN tutorial's generator: z ``(b, noise_dim)`` -> ``(b, 28, 28, 1)`` in [-1, 1]."""
    return keras.Sequential(
        [
            keras.Input(shape=(noise_dim,)),
            layers.Dense(7 * 7 * 256, use_bias=False),  # (b, 100) -> (b, 12544)
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((7, 7, 256)),  # -> (b, 7, 7, 256)
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),  # 7x7x128
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),  # 14x14x64
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(
                1, 5, strides=2, padding="same", use_bias=False, activation="tanh"
            ),  # -> (b, 28, 28, 1)
        ],
        name="tutorial_generator",
    )


def tutorial_discriminator() -> keras.Model:
    """The DCGAN tutorial's discriminator: ``(b, 28, 28, 1)`` in [-1, 1] -> one logit each."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(64, 5, strides=2, padding="same"),  # -> (b, 14, 14, 64)
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),  # -> (b, 7, 7, 128)
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Flatten(),  # -> (b, 6272)
            layers.Dense(1),  # -> (b, 1)
        ],
        name="tutorial_discriminator",
    )


def gan_quality(scorer: evaluation.Scorer, images: np.ndarray) -> Record:
    """Fréchet distance, Inception-style score and class shares of ``(n, 28, 28)`` in [0, 1]."""
    result = scorer.score(images)
    fractions = [float(fraction) for fraction in result["class_fractions"]]
    return {
        "frechet": float(result["frechet"]),
        "score": float(result["score"]),
        "min_class_fraction": min(fractions),
        "class_fractions": fractions,
    }


def describe_gan(record: Record) -> str:
    return (
        f"Fréchet {record['frechet']:8.2f}  score {record['score']:5.2f}  "
        f"rarest digit {record['min_class_fraction']:5.1%}"
    )


def run_tutorial_gan(
    x_train: np.ndarray, scorer: evaluation.Scorer, budget: float, seed: int
) -> list[Record]:
    """Train and score the DCGAN tutorial's recipe for ``budget`` seconds."""
    recipe = DCGAN_TUTORIAL
    keras.utils.set_random_seed(seed)
    generator = tutorial_generator(recipe["noise_dim"])
    discriminator = tutorial_discriminator()
    cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
    g_optimizer = keras.optimizers.Adam(learning_rate=recipe["learning_rate"])
    d_optimizer = keras.optimizers.Adam(learning_rate=recipe["learning_rate"])
    g_vars, d_vars = generator.trainable_variables, discriminator.trainable_variables
    g_optimizer.build(g_vars)
    d_optimizer.build(d_vars)
    noise = keras.random.SeedGenerator(seed)

    @tf.function
    def train_step(real):  # real: (b, 28, 28, 1) in [-1, 1], b = 256 (or the epoch's rest)
        z = keras.random.normal((recipe["batch_size"], recipe["noise_dim"]), seed=noise)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(z, training=True)  # (256, 28, 28, 1)
            real_logits = discriminator(real, training=True)  # (b, 1)
            fake_logits = discriminator(fake, training=True)  # (256, 1)
            g_loss = cross_entropy(ops.ones_like(fake_logits), fake_logits)
            d_loss = cross_entropy(ops.ones_like(real_logits), real_logits) + cross_entropy(
                ops.zeros_like(fake_logits), fake_logits
            )
        g_optimizer.apply(g_tape.gradient(g_loss, g_vars), g_vars)
        d_optimizer.apply(d_tape.gradient(d_loss, d_vars), d_vars)

    scaled = (2.0 * x_train - 1.0)[..., None].astype(np.float32)  # (n, 28, 28, 1) in [-1, 1]
    dataset = (
        tf.data.Dataset.from_tensor_slices(scaled)
        .shuffle(recipe["buffer"], seed=seed)
        .batch(recipe["batch_size"])
        .repeat()
    )
    eval_noise = keras.random.SeedGenerator(seed + 1)

    def evaluate(final: bool) -> Record:
        z = keras.random.normal((GAN_SAMPLES, recipe["noise_dim"]), seed=eval_noise)
        images = generator.predict(z, batch_size=500, verbose=0)  # (n, 28, 28, 1) in [-1, 1]
        return gan_quality(scorer, (images[..., 0] + 1.0) / 2.0)  # -> (n, 28, 28) in [0, 1]

    train_until = python_loop(train_step, dataset)
    return timed_run("[gan] tutorial DCGAN", budget, train_until, evaluate, describe_gan)


def run_book_gan(
    x_train: np.ndarray, scorer: evaluation.Scorer, budget: float, seed: int, recipe: Record
) -> list[Record]:
    """Train and score chapter 03's GAN, built from the notebook's parameters, for ``budget`` s."""
    keras.utils.set_random_seed(seed)
    model = gan.Recipe(**recipe).build(seed, compile=False)
    model.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate=recipe["learning_rate"], beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(learning_rate=recipe["learning_rate"], beta_1=0.5),
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    batches = pipelines.image_batches(x_train, recipe["batch_size"], seed=seed).repeat()
    eval_noise = keras.random.SeedGenerator(seed + 1)

    def evaluate(final: bool) -> Record:
        return gan_quality(scorer, gan.sample(model.ema_generator, GAN_SAMPLES, eval_noise))

    return timed_run("[gan] book 03", budget, fit_loop(model, batches), evaluate, describe_gan)


def gan_pair(mnist: data.MNIST, budget: float, seed: int) -> Record:
    """The DCGAN tutorial, then chapter 03's GAN; their histories and the ratio."""
    params = notebook_parameters(GAN_NOTEBOOK)
    recipe = {
        key: params[key]
        for key in ("batch_size", "latent_dim", "g_width", "d_width", "dropout",
                    "learning_rate", "balance", "saturating", "ema")
    }  # fmt: skip
    scorer = evaluation.Scorer.from_real(mnist.x_test)
    rng = np.random.default_rng(seed)
    real = gan_quality(scorer, mnist.x_train[rng.choice(len(mnist.x_train), GAN_SAMPLES, False)])
    print(f"[gan] real training digits: {describe_gan(real)}")
    print(f"[gan] book recipe from {GAN_NOTEBOOK.name}: {recipe}", flush=True)
    peer = run_tutorial_gan(mnist.x_train, scorer, budget, seed)
    book = run_book_gan(mnist.x_train, scorer, budget, seed, recipe)
    return {
        "quality": "Fréchet distance to the 10,000 test digits, 2,000 samples (lower is better)",
        "real_training_digits": real,
        "tutorial": {"recipe": DCGAN_TUTORIAL, "history": peer},
        "book": {"recipe": recipe, "notebook": GAN_NOTEBOOK.name, "history": book},
        "comparison": compare(peer, book, "frechet"),
    }


# --------------------------------------------------------------------------------------------
# VAE: the CVAE tutorial and chapter 02


def tutorial_cvae(latent_dim: int) -> tuple[keras.Model, keras.Model]:
    """The CVAE tutorial's encoder ``(b, 28, 28, 1)`` -> ``(b, 2 * latent_dim)`` (mean and
    log-variance, concatenated) and decoder ``(b, latent_dim)`` -> logits ``(b, 28, 28, 1)``."""
    encoder = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, strides=2, activation="relu"),  # -> (b, 13, 13, 32)
            layers.Conv2D(64, 3, strides=2, activation="relu"),  # -> (b, 6, 6, 64)
            layers.Flatten(),  # -> (b, 2304)
            layers.Dense(2 * latent_dim),  # -> (b, 2d), no activation
        ],
        name=f"tutorial_encoder_{latent_dim}",
    )
    decoder = keras.Sequential(
        [
            keras.Input(shape=(latent_dim,)),
            layers.Dense(7 * 7 * 32, activation="relu"),  # -> (b, 1568)
            layers.Reshape((7, 7, 32)),  # -> (b, 7, 7, 32)
            layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),  # 14x14
            layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),  # 28x28
            layers.Conv2DTranspose(1, 3, strides=1, padding="same"),  # -> (b, 28, 28, 1) logits
        ],
        name=f"tutorial_decoder_{latent_dim}",
    )
    return encoder, decoder


def book_interface(
    encoder: keras.Model, decoder: keras.Model, latent_dim: int
) -> tuple[keras.Model, keras.Model]:
    """The tutorial's networks with the book's shapes, for ``vae.elbo_terms`` (shared weights):
    ``(b, 28, 28)`` -> ``(mean, log_var)`` and ``(b, latent_dim)`` -> logits ``(b, 28, 28)``."""
    images = keras.Input(shape=(28, 28))
    stats = encoder(layers.Reshape((28, 28, 1))(images))  # (b, 28, 28) -> (b, 28, 28, 1) -> (b, 2d)
    mean, log_var = ops.split(stats, 2, axis=-1)  # (b, d) each
    z = keras.Input(shape=(latent_dim,))
    logits = layers.Reshape((28, 28))(decoder(z))  # (b, 28, 28, 1) -> (b, 28, 28)
    return keras.Model(images, [mean, log_var]), keras.Model(z, logits)


def vae_evaluator(
    encoder: keras.Model, decoder: keras.Model, x_test: np.ndarray, seed: int
) -> Callable[[bool], Record]:
    """Test −ELBO and its terms (nats per image) on the first 2,000 test images; at the end
    also on all of them (``*_all``). The same images and noise draws at every evaluation."""

    def evaluate(final: bool) -> Record:
        if not final:
            return vae.elbo_terms(encoder, decoder, x_test[:VAE_EVAL_IMAGES], seed=seed)
        terms = vae.elbo_terms(encoder, decoder, x_test, seed=seed, per_image=True)
        record = {key: float(value[:VAE_EVAL_IMAGES].mean()) for key, value in terms.items()}
        record.update({f"{key}_all": float(value.mean()) for key, value in terms.items()})
        return record

    return evaluate


def describe_vae(record: Record) -> str:
    text = (
        f"-ELBO {record['neg_elbo']:7.2f} = {record['reconstruction']:7.2f} + KL "
        f"{record['kl']:5.2f} nats (first {VAE_EVAL_IMAGES:,} test images)"
    )
    if "neg_elbo_all" in record:
        text += f"; all test images: {record['neg_elbo_all']:.2f}"
    return text


def run_tutorial_vae(
    x_train: np.ndarray, x_test: np.ndarray, latent_dim: int, budget: float, seed: int
) -> list[Record]:
    """Train and score the CVAE tutorial's recipe for ``budget`` seconds."""
    recipe = CVAE_TUTORIAL
    keras.utils.set_random_seed(seed)
    encoder, decoder = tutorial_cvae(latent_dim)
    variables = encoder.trainable_variables + decoder.trainable_variables
    optimizer = keras.optimizers.Adam(learning_rate=recipe["learning_rate"])
    optimizer.build(variables)
    noise = keras.random.SeedGenerator(seed)

    @tf.function
    def train_step(x):  # x: (32, 28, 28, 1) in {0, 1}
        with tf.GradientTape() as tape:
            mean, log_var = ops.split(encoder(x, training=True), 2, axis=-1)  # (b, d) each
            z = mean + ops.exp(0.5 * log_var) * keras.random.normal(ops.shape(mean), seed=noise)
            logits = decoder(z, training=True)  # (b, 28, 28, 1)
            log_px_z = -vae.bernoulli_nll(x, logits)  # (b,), summed over pixels
            log_pz = vae.diag_gaussian_log_prob(z, ops.zeros_like(z), ops.zeros_like(z))  # (b,)
            log_qz_x = vae.diag_gaussian_log_prob(z, mean, log_var)  # (b,)
            loss = -ops.mean(log_px_z + log_pz - log_qz_x)  # one-sample Monte Carlo -ELBO
        optimizer.apply(tape.gradient(loss, variables), variables)

    dataset = (
        tf.data.Dataset.from_tensor_slices(x_train[..., None])  # (n, 28, 28) -> (n, 28, 28, 1)
        .shuffle(recipe["buffer"], seed=seed)
        .batch(recipe["batch_size"])
        .repeat()
    )
    evaluate = vae_evaluator(*book_interface(encoder, decoder, latent_dim), x_test, seed)
    label = f"[vae {latent_dim}] tutorial CVAE"
    return timed_run(label, budget, python_loop(train_step, dataset), evaluate, describe_vae)


def run_book_vae(
    x_train: np.ndarray,
    x_test: np.ndarray,
    latent_dim: int,
    budget: float,
    seed: int,
    recipe: dict[str, Any],
) -> list[Record]:
    """Train and score chapter 02's ``VAE`` class for ``budget`` seconds."""
    keras.utils.set_random_seed(seed)
    hidden = tuple(recipe["hidden"])
    model = vae.VAE(latent_dim, hidden, seed=seed, name=f"book_vae_{latent_dim}")
    model.compile(  # as train_vae() does, but at a constant learning rate (no fixed end)
        optimizer=keras.optimizers.Adam(learning_rate=recipe["learning_rate"]),
        jit_compile=False,
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    model(x_test[:1])  # build the weights
    batches = pipelines.image_batches(x_train, recipe["batch_size"], seed=seed).repeat()
    evaluate = vae_evaluator(model.encoder, model.decoder, x_test, seed)
    label = f"[vae {latent_dim}] book 02"
    return timed_run(label, budget, fit_loop(model, batches), evaluate, describe_vae)


def vae_pairs(mnist: data.MNIST, latents: list[int], budget: float, seed: int) -> Record:
    """For each latent size: the CVAE tutorial, then chapter 02's VAE; histories and ratios."""
    threshold = CVAE_TUTORIAL["threshold"]
    x_train = (mnist.x_train > threshold).astype(np.float32)  # (60000, 28, 28) in {0, 1}
    x_test = (mnist.x_test > threshold).astype(np.float32)  # (10000, 28, 28) in {0, 1}
    params = notebook_parameters(VAE_NOTEBOOK)
    recipe = {key: params[key] for key in ("hidden", "batch_size", "learning_rate")}
    print(f"[vae] book recipe from {VAE_NOTEBOOK.name}: {recipe}", flush=True)
    results: Record = {
        "quality": f"test -ELBO in nats per image on the first {VAE_EVAL_IMAGES:,} thresholded "
        "test images (lower is better); *_all: all 10,000, at the last checkpoint",
    }
    for latent_dim in latents:
        peer = run_tutorial_vae(x_train, x_test, latent_dim, budget, seed)
        book = run_book_vae(x_train, x_test, latent_dim, budget, seed, recipe)
        results[f"latent_{latent_dim}"] = {
            "tutorial": {"recipe": CVAE_TUTORIAL, "history": peer},
            "book": {"recipe": recipe, "notebook": VAE_NOTEBOOK.name, "history": book},
            "comparison": compare(peer, book, "neg_elbo"),
        }
    return results


# --------------------------------------------------------------------------------------------


def machine() -> Record:
    """What the numbers were measured on."""
    return {
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "device": runtime.device_name(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "load_average_start": list(os.getloadavg()),
    }


def write_report(report: Record) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    runtime.configure_logging()
    runtime.set_seed(options.seed)
    report: Record = {
        "machine": machine(),
        "budget_seconds": options.budget,
        "checkpoints": CHECKPOINTS,
        "seed": options.seed,
    }
    info = report["machine"]
    print(
        f"{info['machine']}, {info['cpu_count']} CPUs, {info['device']}, TensorFlow "
        f"{info['tensorflow']}, Keras {info['keras']}; {options.budget:g} s of training per model",
        flush=True,
    )
    mnist = data.load_mnist()
    if options.only in (None, "gan"):
        report["gan"] = gan_pair(mnist, options.budget, options.seed)
        write_report(report)
    if options.only in (None, "vae"):
        report["vae"] = vae_pairs(mnist, options.latent, options.budget, options.seed)
    report["machine"]["load_average_end"] = list(os.getloadavg())
    write_report(report)

    if "gan" in report:
        result = report["gan"]
        names = ("tutorial DCGAN", "book 03")
        runs = (result["tutorial"]["history"], result["book"]["history"])
        real = result["real_training_digits"]["frechet"]
        title = (
            f"GAN: training seconds -> Fréchet distance (lower is better; real digits {real:.2f})"
        )
        print_pair(title, names, runs, "frechet")
        print("  " + ratio_text(result["comparison"], *names, "Fréchet distance"))
    for latent_dim in options.latent if "vae" in report else []:
        result = report["vae"][f"latent_{latent_dim}"]
        names = ("tutorial CVAE", "book 02")
        runs = (result["tutorial"]["history"], result["book"]["history"])
        title = (
            f"VAE, latent {latent_dim}: training seconds -> test -ELBO, nats "
            f"(first {VAE_EVAL_IMAGES:,} test images; lower is better)"
        )
        print_pair(title, names, runs, "neg_elbo")
        print("  " + ratio_text(result["comparison"], *names, "test -ELBO"))
        finals = [run[-1]["neg_elbo_all"] for run in runs]
        print(
            f"  on all 10,000 test images: {names[0]} {finals[0]:.2f}, {names[1]} {finals[1]:.2f}"
        )
    print(
        f"\n{info['machine']}, {info['cpu_count']} CPUs, TensorFlow {info['tensorflow']}; "
        f"load average {info['load_average_start'][0]:.1f} at the start, "
        f"{info['load_average_end'][0]:.1f} at the end. Report: {REPORT.relative_to(ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
