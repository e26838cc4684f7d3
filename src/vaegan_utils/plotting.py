"""Figures shared by the notebooks: image grids, histograms, training curves, GIFs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def tile_images(images: np.ndarray, rows: int, cols: int, pad: int = 1) -> np.ndarray:
    """Tile ``(n, h, w[, c])`` images row by row into one ``(rows*(h+pad)-pad, ...)`` mosaic.

    Missing cells (``n < rows*cols``) and the ``pad`` pixels between cells are white (1.0); the
    mosaic is float32; extra images are an error. skimage's ``montage``, less its outer border.
    """
    from skimage.util import montage

    if rows <= 0 or cols <= 0:
        raise ValueError(f"rows and cols must be positive, got rows={rows}, cols={cols}")
    if len(images) > rows * cols:
        raise ValueError(f"{len(images)} images do not fit a {rows}x{cols} grid; enlarge it")
    images = np.asarray(images, np.float32)
    axis = -1 if images.ndim == 4 else None  # colour: channels last
    fill = [1.0] * (images.shape[-1] if axis else 1)  # one per channel (a scalar fails on colour)
    mosaic = montage(images, fill, grid_shape=(rows, cols), padding_width=pad, channel_axis=axis)
    return mosaic[pad : mosaic.shape[0] - pad, pad : mosaic.shape[1] - pad]  # no outer border


def show_grid(
    images: np.ndarray,
    rows: int,
    cols: int,
    title: str | None = None,
    ax: Axes | None = None,
    cmap: str = "gray",
) -> Axes:
    """Show images in [0, 1] as one tiled grid, without axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(cols * 0.6 + 0.5, rows * 0.6 + 0.5))
    ax.imshow(tile_images(np.clip(images, 0.0, 1.0), rows, cols), cmap=cmap, vmin=0.0, vmax=1.0)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def examples_per_class(
    images: np.ndarray, labels: np.ndarray, per_class: int, classes: int = 10
) -> np.ndarray:
    """The first ``per_class`` images of each class, in class order.

    Returns ``(classes * per_class, ...)`` images: class 0 first, then class 1, and so on.
    """
    picks = []
    for label in range(classes):
        (indices,) = np.nonzero(labels == label)
        if len(indices) < per_class:
            raise ValueError(
                f"class {label} has {len(indices)} images, fewer than per_class={per_class}"
            )
        picks.append(images[indices[:per_class]])
    return np.concatenate(picks)


def pixel_histograms(datasets: dict[str, np.ndarray], bins: int = 32) -> Figure:
    """One histogram of pixel intensities per data set, side by side, on a log count scale."""
    fig, axes = plt.subplots(1, len(datasets), figsize=(4 * len(datasets), 3), squeeze=False)
    for ax, (name, images) in zip(axes[0], datasets.items(), strict=True):
        ax.hist(np.ravel(images), bins=bins, range=(0.0, 1.0), color="tab:blue")
        ax.set_yscale("log")
        ax.set_xlabel("pixel intensity")
        ax.set_ylabel("pixels")
        ax.set_title(name)
    fig.tight_layout()
    return fig


def latent_scatter(codes: np.ndarray, labels: np.ndarray, ax: Axes | None = None) -> Axes:
    """2-D codes ``(n, 2)`` as points, one colour per digit, with a legend."""
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"codes must have shape (n, 2), got {codes.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5.5))
    cmap = plt.get_cmap("tab10")
    for digit in range(10):
        chosen = labels == digit
        ax.scatter(*codes[chosen].T, s=2, alpha=0.5, color=cmap(digit), label=str(digit))
    ax.legend(markerscale=5, title="digit", loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.set(xlabel="$z_1$", ylabel="$z_2$", aspect="equal")
    return ax


def normal_grid(n: int, low: float = 0.05, high: float = 0.95) -> np.ndarray:
    """An ``(n*n, 2)`` grid of codes at evenly spaced quantiles of N(0, 1), row by row.

    Rows go from high to low ``z_2`` so that the picture's top is the top of the latent plane.
    """
    from scipy.stats import norm

    if n <= 0 or not 0 < low < high < 1:
        raise ValueError(f"need n > 0 and 0 < low < high < 1, got n={n}, low={low}, high={high}")
    values = norm.ppf(np.linspace(low, high, n))
    z1, z2 = np.meshgrid(values, values[::-1])
    return np.stack([z1.ravel(), z2.ravel()], axis=1).astype(np.float32)


def comparison_grid(
    columns: dict[str, np.ndarray], row_labels: list[str] | None = None, scale: float = 0.7
) -> Figure:
    """Images side by side: each entry of ``columns`` is ``(rows, h, w)``, one column each."""
    names = list(columns)
    rows = len(columns[names[0]])
    if any(len(images) != rows for images in columns.values()):
        raise ValueError("every column must hold the same number of images")
    fig, axes = plt.subplots(
        rows, len(names), figsize=(scale * len(names) + 0.6, scale * rows + 0.4), squeeze=False
    )
    for col, name in enumerate(names):
        axes[0, col].set_title(name, fontsize="small")
        for row in range(rows):
            ax = axes[row, col]
            ax.imshow(columns[name][row], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0 and row_labels is not None:
                ax.set_ylabel(row_labels[row], rotation=0, labelpad=10, va="center")
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig


def training_curves(
    runs: dict[str, list[dict]], panels: dict[str, list[str]], x: str = "seconds"
) -> Figure:
    """One panel per entry of ``panels`` (title -> record keys), one line per run and key."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.2), squeeze=False)
    for ax, (title, keys) in zip(axes[0], panels.items(), strict=True):
        for run, records in runs.items():
            for key in keys:
                if records and key in records[0]:
                    xs = [record[x] for record in records]
                    ax.plot(
                        xs, [record[key] for record in records], marker=".", label=f"{run}: {key}"
                    )
        ax.set(title=title, xlabel="training seconds" if x == "seconds" else x, ylabel="nats")
        ax.legend(fontsize="x-small")
    fig.tight_layout()
    return fig


def balance_curves(records: list[dict], summed_d_loss: bool = False) -> Figure:
    """A GAN's game over training, from its log (records with ``step``, ``train_d_loss``,
    ``train_g_loss``, ``train_d_paused``, ``train_g_paused``; others are skipped).

    Three panels: both losses against log 2 (the losses at D's chance level), their ratio
    against the balance rule's band (where neither side pauses: [1/2, 2] for D's loss averaged
    over its two halves, [1/4, 1] for it summed, ``summed_d_loss``), and the percentage of
    steps each side sat out.
    """
    records = [record for record in records if "train_d_loss" in record]
    if not records:
        raise ValueError("records holds no training interval: train for at least one first")

    def column(key: str) -> np.ndarray:
        return np.array([record[key] for record in records])

    steps = column("step")
    d_loss, g_loss = column("train_d_loss"), column("train_g_loss")
    fig, (ax_loss, ax_ratio, ax_pause) = plt.subplots(1, 3, figsize=(14, 3.3))
    ax_loss.plot(steps, d_loss, label="D")
    ax_loss.plot(steps, g_loss, label="G")
    ax_loss.axhline(np.log(2), color="grey", linestyle=":", label="log 2")
    ax_loss.set(xlabel="step", ylabel="loss", title="losses")
    ax_loss.legend(fontsize="small")
    ax_ratio.plot(steps, d_loss / g_loss)
    # the rule compares level = 2 x D's loss when summed, so the band halves
    for bound in (0.25, 1.0) if summed_d_loss else (0.5, 2.0):
        ax_ratio.axhline(bound, color="grey", linestyle=":")
    ax_ratio.set(xlabel="step", ylabel="D loss / G loss", title="balance", yscale="log")
    ax_pause.plot(steps, 100 * column("train_d_paused"), label="D paused")
    ax_pause.plot(steps, 100 * column("train_g_paused"), label="G paused")
    ax_pause.set(xlabel="step", ylabel="% of steps", title="pauses of the balance rule")
    ax_pause.legend(fontsize="small")
    fig.tight_layout()
    return fig


def seed_bands(
    ax: Axes,
    x: np.ndarray,
    runs: dict[str, np.ndarray],
    ylabel: str = "",
    title: str = "",
    colors: Mapping[str, str] | None = None,
) -> Axes:
    """Compare settings run with several seeds: per entry of ``runs`` (a ``(seeds, len(x))``
    array), the mean over seeds as a line and the lowest-to-highest seed as a shaded band;
    ``colors`` maps entries to colours (the same entry, the same colour in every panel)."""
    for name, values in runs.items():
        values = np.atleast_2d(np.asarray(values, dtype=float))
        if values.shape[1] != len(x):
            raise ValueError(f"runs[{name!r}] has {values.shape[1]} points, x has {len(x)}")
        color = (colors or {}).get(name)
        (line,) = ax.plot(x, values.mean(0), label=name, color=color)
        ax.fill_between(x, values.min(0), values.max(0), color=line.get_color(), alpha=0.2)
    ax.set(xlabel="step", ylabel=ylabel, title=title)
    return ax


def seed_lines(
    ax: Axes,
    runs: Mapping[str, Sequence[tuple[np.ndarray, np.ndarray]]],
    ylabel: str = "",
    title: str = "",
    colors: Mapping[str, str] | None = None,
    stopped: Mapping[str, Sequence[bool]] | None = None,
) -> Axes:
    """One thin line per seed, one colour per entry of ``runs`` (a list of ``(steps, values)``
    per seed, of any lengths), labelled once per entry in the legend; a seed flagged in
    ``stopped`` (a run its stall test ended) ends in an x."""
    for name, seeds in runs.items():
        color = (colors or {}).get(name)
        for i, (x, values) in enumerate(seeds):
            if len(x) != len(values):
                raise ValueError(f"runs[{name!r}][{i}] has {len(x)} steps, {len(values)} values")
            (line,) = ax.plot(
                x, values, color=color, linewidth=1, alpha=0.8, label=name if i == 0 else None
            )
            color = line.get_color()
        flags = (stopped or {}).get(name, [False] * len(seeds))
        if len(flags) != len(seeds):
            raise ValueError(f"stopped[{name!r}] has {len(flags)} flags for {len(seeds)} seeds")
        for (x, values), flag in zip(seeds, flags, strict=True):
            if flag and len(x):
                ax.plot(x[-1], values[-1], "x", color=color, markersize=6)
    ax.set(xlabel="step", ylabel=ylabel, title=title)
    return ax


def save_frame(images: np.ndarray, rows: int, cols: int, path: str | Path, scale: int = 2) -> Path:
    """Tile images in [0, 1] into one grid and save it as a PNG (``scale`` x nearest-neighbour)."""
    from PIL import Image

    mosaic = tile_images(np.clip(images, 0.0, 1.0), rows, cols)
    pixels = np.round(mosaic * 255).astype(np.uint8)
    if scale > 1:
        pixels = pixels.repeat(scale, axis=0).repeat(scale, axis=1)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def frame_path(directory: str | Path, step: int) -> Path:
    """Where the snapshot of training step ``step`` is kept: ``directory/step_00500.png``."""
    return Path(directory) / f"step_{step:05d}.png"


def saved_steps(directory: str | Path) -> list[int]:
    """The steps whose snapshots are saved in ``directory``, in order."""
    return sorted(int(path.stem.split("_")[1]) for path in Path(directory).glob("step_*.png"))


def show_frames(directory: str | Path, steps: list[int] | None = None, size: float = 4.3) -> Figure:
    """Saved snapshots (see :func:`frame_path`) side by side, titled with their step; by default
    the first, the middle and the last one saved."""
    if steps is None:
        saved = saved_steps(directory)
        if not saved:
            raise FileNotFoundError(f"no snapshots in {directory}: train with evaluations first")
        steps = sorted({saved[0], saved[len(saved) // 2], saved[-1]})
    missing = [step for step in steps if not frame_path(directory, step).exists()]
    if missing:
        raise FileNotFoundError(f"no snapshot for steps {missing} in {directory}")
    fig, axes = plt.subplots(1, len(steps), figsize=(size * len(steps), size + 0.3), squeeze=False)
    for ax, step in zip(axes[0], steps, strict=True):
        ax.imshow(plt.imread(frame_path(directory, step)), cmap="gray")
        ax.set_title(f"step {step:,}")
        ax.set_axis_off()
    return fig


def snapshots_gif_html(directory: str | Path, every: int = 1, width: int = 360) -> str:
    """Every ``every``-th saved snapshot (the last one always kept) as an inline animated GIF,
    saved as ``directory/training.gif``; returns the ``<img>`` tag."""
    if every < 1:
        raise ValueError(f"every must be a positive whole number, got {every}")
    frames = [frame_path(directory, step) for step in saved_steps(directory)]
    gif = save_gif(frames[::-every][::-1], Path(directory) / "training.gif")
    return gif_html(gif, width=width)


def save_gif(frames: list[Path], path: str | Path, duration_ms: int = 150) -> Path:
    """An animated GIF from PNG frames, looping, the last frame held three times as long."""
    from PIL import Image

    if not frames:
        raise ValueError("frames is empty: save at least one frame first")
    opened = [Image.open(frame) for frame in frames]
    mode = "L" if all(image.mode in ("L", "1") for image in opened) else "RGB"
    images = [image.convert(mode) for image in opened]
    durations = [duration_ms] * (len(images) - 1) + [3 * duration_ms]
    path = Path(path)
    images[0].save(path, save_all=True, append_images=images[1:], duration=durations, loop=0)
    return path


def gif_html(path: str | Path, width: int = 360) -> str:
    """An ``<img>`` tag with the GIF inlined, for ``IPython.display.HTML`` (books and Colab)."""
    import base64

    payload = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img src="data:image/gif;base64,{payload}" width="{width}"/>'
