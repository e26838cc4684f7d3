"""Training plumbing: input pipelines, an epoch log that survives interruption, fit-or-load."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

logger = logging.getLogger(__name__)


def progress_bar(total: int, desc: str, unit: str = "it") -> Any:
    """A tqdm bar: a widget where ipywidgets is installed (Colab, Jupyter), text on stdout
    elsewhere, and none when ``$VAEGAN_PROGRESS=0`` (executed notebooks stored for the book)."""
    disable = os.environ.get("VAEGAN_PROGRESS", "1") == "0"
    try:
        import ipywidgets  # noqa: F401
        from tqdm.notebook import tqdm
    except ImportError:
        from tqdm import tqdm

        return tqdm(
            total=total, desc=desc, unit=unit, leave=False, file=sys.stdout, disable=disable
        )
    return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=disable)


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
    return dataset.prefetch(tf.data.AUTOTUNE)


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


class EpochLog(keras.callbacks.Callback):
    """Record, after every epoch, the training logs, an evaluation and the training wall time.

    Records are appended to a JSON file, so a run resumed with ``keras.callbacks.BackupAndRestore``
    continues its log (and its clock) where it stopped. ``seconds`` counts training time only;
    the evaluation's own time is excluded.
    """

    def __init__(self, path: str | Path, evaluate: Callable[[], dict[str, float]] | None = None):
        super().__init__()
        self.path = Path(path)
        self.evaluate = evaluate
        self.records: list[dict[str, Any]] = (
            json.loads(self.path.read_text()) if self.path.exists() else []
        )
        self._start = 0.0

    @property
    def seconds(self) -> float:
        """Training seconds recorded so far."""
        return self.records[-1]["seconds"] if self.records else 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        elapsed = time.perf_counter() - self._start
        record: dict[str, Any] = {"epoch": epoch + 1, "seconds": self.seconds + elapsed}
        record.update({f"train_{key}": float(value) for key, value in (logs or {}).items()})
        if self.evaluate is not None:
            record.update({key: float(value) for key, value in self.evaluate().items()})
        self.records = [r for r in self.records if r["epoch"] <= epoch] + [record]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.records, indent=1) + "\n")

    def column(self, key: str) -> np.ndarray:
        """One recorded quantity over epochs."""
        return np.array([record[key] for record in self.records])


def fit_or_load(
    model: keras.Model,
    dataset: Any,
    epochs: int,
    directory: str | Path,
    name: str,
    evaluate: Callable[[], dict[str, float]] | None = None,
    retrain: bool = False,
    steps_per_epoch: int | None = None,
) -> EpochLog:
    """Train ``model`` for ``epochs``, or load its finished weights from ``directory``.

    - finished weights ``{name}.weights.h5`` present (and ``retrain`` false): load them;
    - otherwise train, resuming from ``{name}_backup/`` if an earlier run was interrupted,
      then save the weights. The epoch log is kept in ``{name}_log.json``.

    ``steps_per_epoch`` makes an "epoch" a fixed number of steps over a repeated dataset: the
    interval between evaluations.
    """
    if epochs <= 0:
        raise ValueError(f"epochs must be positive, got {epochs}")
    directory = Path(directory)
    weights = directory / f"{name}.weights.h5"
    log_path = directory / f"{name}_log.json"
    if retrain:
        weights.unlink(missing_ok=True)
        log_path.unlink(missing_ok=True)
    log = EpochLog(log_path, evaluate)
    if weights.exists() and len(log.records) == epochs:
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and not optimizer.built:
            optimizer.build(model.trainable_variables)  # so that its saved state loads too
        model.load_weights(weights)
        logger.info("%s: loaded trained weights from %s (delete it to retrain)", name, weights)
        return log
    backup = keras.callbacks.BackupAndRestore(str(directory / f"{name}_backup"))
    model.fit(
        dataset,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        verbose=0,
        shuffle=False,  # the input pipeline shuffles
        callbacks=[backup, log, ProgressBar(epochs, name)],
    )
    model.save_weights(weights)
    logger.info("%s: trained %d epochs in %.0f s, saved %s", name, epochs, log.seconds, weights)
    return log


class ProgressBar(keras.callbacks.Callback):
    """One progress bar over epochs, showing the latest training logs."""

    def __init__(self, epochs: int, name: str):
        super().__init__()
        self.epochs, self.name = epochs, name
        self.bar: Any = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.bar = progress_bar(self.epochs, self.name, unit="epoch")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.bar.n = epoch + 1
        self.bar.set_postfix({k: f"{v:.2f}" for k, v in (logs or {}).items()}, refresh=True)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.bar.close()
