"""Figures shared by the notebooks: image grids and pixel histograms."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def tile_images(images: np.ndarray, rows: int, cols: int, pad: int = 1) -> np.ndarray:
    """Tile ``(n, h, w[, c])`` images row by row into one ``(rows*(h+pad)-pad, ...)`` mosaic.

    Missing cells (``n < rows*cols``) stay white; extra images are an error.
    """
    if rows <= 0 or cols <= 0:
        raise ValueError(f"rows and cols must be positive, got rows={rows}, cols={cols}")
    if len(images) > rows * cols:
        raise ValueError(f"{len(images)} images do not fit a {rows}x{cols} grid; enlarge it")
    height, width = images.shape[1:3]
    channels = images.shape[3:]
    mosaic = np.ones(
        (rows * (height + pad) - pad, cols * (width + pad) - pad, *channels), dtype=np.float32
    )
    for index, image in enumerate(images):
        row, col = divmod(index, cols)
        top, left = row * (height + pad), col * (width + pad)
        mosaic[top : top + height, left : left + width] = image
    return mosaic


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
