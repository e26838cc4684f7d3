"""Kill and resume on the book's real pipelines: the VAE of 02 (its class taken from the notebook)
and the GAN of 03 (``vaegan_utils.gan``), each trained on MNIST through ``fit_or_load``.

A run stopped after its first interval and resumed must end where an uninterrupted run ends,
within the spread between seeds (the data order and the random streams restart on resuming, so
the two are not identical, only statistically alike).
"""

from __future__ import annotations

from pathlib import Path

import keras
import pytest

from vaegan_utils import data, evaluation, gan, pipelines, runtime, training, vae

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
EPOCHS = 3


class Interrupt(keras.callbacks.Callback):
    """Stop training after the first epoch, as a killed kernel would."""

    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt


class Iterations(keras.callbacks.Callback):
    """Record an optimizer's step count when training begins (after the backup is restored)."""

    def __init__(self, optimizer_name: str):
        super().__init__()
        self.optimizer_name, self.at_start = optimizer_name, None

    def on_train_begin(self, logs=None):
        optimizer = getattr(self.model, self.optimizer_name)
        self.at_start = int(keras.ops.convert_to_numpy(optimizer.iterations))


@pytest.fixture(scope="module")
def mnist() -> data.MNIST:
    return data.load_mnist(n_train=6000, seed=0)


def _interrupted_then_resumed(build, directory: Path, optimizer: str, **fit) -> tuple:
    model, dataset = build(0)
    with pytest.raises(KeyboardInterrupt):
        training.fit_or_load(
            model, dataset, EPOCHS, directory, "run", callbacks=[Interrupt()], **fit
        )
    stopped_at = int(keras.ops.convert_to_numpy(getattr(model, optimizer).iterations))
    resumed, dataset = build(0)  # a new kernel: new objects, weights from the backup
    iterations = Iterations(optimizer)
    run = training.fit_or_load(
        resumed, dataset, EPOCHS, directory, "run", callbacks=[iterations], **fit
    )
    assert iterations.at_start == stopped_at > 0  # the optimizer's state came back too
    assert [r["epoch"] for r in run.records if r["epoch"] > 0] == [1, 2, 3]
    assert run.records[0]["seconds"] > 0 and not run.reused
    return resumed, run


def _check_within_seed_spread(resumed: float, uninterrupted: float, others: list[float]) -> None:
    values = [uninterrupted, *others]
    spread = max(values) - min(values)
    assert abs(resumed - uninterrupted) <= 1.5 * spread, (resumed, values)


def test_the_vae_of_02_resumes_within_the_seed_spread(mnist, tmp_path: Path) -> None:
    test_images = mnist.x_test[:1000]

    def build(seed: int):
        runtime.set_seed(seed)
        model = vae.VAE(8, (128, 64), seed=seed)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), steps_per_execution=20)
        model(test_images[:1])
        return model, pipelines.image_batches(mnist.x_train, 100, seed=seed)

    def neg_elbo(model) -> float:
        return vae.elbo_terms(model.encoder, model.decoder, test_images, seed=0)["neg_elbo"]

    resumed, _ = _interrupted_then_resumed(build, tmp_path / "resumed", "optimizer")
    finals = []
    for seed in (0, 1, 2):
        model, dataset = build(seed)
        training.fit_or_load(model, dataset, EPOCHS, tmp_path / f"seed{seed}", "run")
        finals.append(neg_elbo(model))
    assert finals[0] < 200  # it trained (an untrained model: ~540 nats)
    _check_within_seed_spread(neg_elbo(resumed), finals[0], finals[1:])


def test_the_gan_of_03_resumes_within_the_seed_spread(mnist, tmp_path: Path) -> None:
    scorer = evaluation.Scorer.from_real(mnist.x_test[:1000])

    def build(seed: int):
        runtime.set_seed(seed)
        recipe = gan.Recipe(d_width=16, learning_rate=5e-4, dropout=0.3, balance=True, ema=0)
        model = recipe.build(seed)
        return model, pipelines.image_batches(mnist.x_train, 32, seed=seed).repeat()

    def frechet(model) -> float:
        return float(scorer.score(gan.sample(model.generator, 1000, seed=7))["frechet"])

    fit = {"steps_per_epoch": 50}
    resumed, _ = _interrupted_then_resumed(build, tmp_path / "resumed", "g_optimizer", **fit)
    finals = []
    for seed in (0, 1, 2):
        model, dataset = build(seed)
        training.fit_or_load(model, dataset, EPOCHS, tmp_path / f"seed{seed}", "run", **fit)
        finals.append(frechet(model))
    untrained = frechet(build(0)[0])
    assert finals[0] < 0.8 * untrained  # it trained
    _check_within_seed_spread(frechet(resumed), finals[0], finals[1:])
