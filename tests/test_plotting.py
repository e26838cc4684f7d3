"""vaegan_utils.plotting: grid layout and input checks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from vaegan_utils import plotting


def test_tile_images_places_each_image_row_by_row() -> None:
    images = np.stack([np.full((2, 3), value, np.float32) for value in (0.1, 0.2, 0.3)])
    mosaic = plotting.tile_images(images, rows=2, cols=2, pad=1)
    assert mosaic.shape == (2 * 3 - 1, 2 * 4 - 1)
    assert np.all(mosaic[0:2, 0:3] == np.float32(0.1))
    assert np.all(mosaic[0:2, 4:7] == np.float32(0.2))
    assert np.all(mosaic[3:5, 0:3] == np.float32(0.3))
    assert np.all(mosaic[3:5, 4:7] == 1.0)  # the empty cell stays white
    assert np.all(mosaic[2, :] == 1.0)  # padding row


def test_tile_images_keeps_channels() -> None:
    assert plotting.tile_images(np.zeros((4, 5, 5, 3)), 2, 2).shape == (11, 11, 3)


@pytest.mark.parametrize(("rows", "cols"), [(1, 2), (0, 5), (3, -1)])
def test_tile_images_rejects_grids_that_do_not_fit(rows: int, cols: int) -> None:
    with pytest.raises(ValueError, match="rows|grid"):
        plotting.tile_images(np.zeros((3, 2, 2)), rows, cols)


def test_examples_per_class_orders_by_class() -> None:
    labels = np.array([1, 0, 1, 0, 2, 2])
    images = labels.astype(np.float32)[:, None, None] * np.ones((6, 2, 2))
    picked = plotting.examples_per_class(images, labels, per_class=2, classes=3)
    assert picked[:, 0, 0].tolist() == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="per_class"):
        plotting.examples_per_class(images, labels, per_class=3, classes=3)


def test_pixel_histograms_one_panel_per_dataset() -> None:
    fig = plotting.pixel_histograms({"a": np.zeros((2, 4, 4)), "b": np.ones((2, 4, 4))})
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
