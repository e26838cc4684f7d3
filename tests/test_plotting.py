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


def test_tile_images_fills_every_channel_white_and_returns_float32() -> None:
    """Colour images in a grid with an empty cell and a wider pad: the images in place, the
    pad and the empty cell white in all three channels, no border around the mosaic."""
    images = np.stack([np.full((2, 3, 3), value) for value in (0.1, 0.2, 0.3)])  # float64
    mosaic = plotting.tile_images(images, rows=2, cols=2, pad=2)
    assert mosaic.shape == (2 * 4 - 2, 2 * 5 - 2, 3) and mosaic.dtype == np.float32
    for (top, left), value in zip([(0, 0), (0, 5), (4, 0)], (0.1, 0.2, 0.3), strict=True):
        assert np.all(mosaic[top : top + 2, left : left + 3] == np.float32(value))
    assert np.all(mosaic[4:6, 5:8] == 1.0) and np.all(mosaic[2:4] == 1.0)  # empty cell, pad
    assert np.all(mosaic[:, 3:5] == 1.0)
    flush = plotting.tile_images(np.zeros((2, 2, 2), np.uint8), 1, 2, pad=0)
    assert flush.dtype == np.float32 and np.all(flush == 0.0) and flush.shape == (2, 4)


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


def test_balance_curves_plot_the_log() -> None:
    records = [{"epoch": 0, "step": 0, "score": 1.0}] + [  # step 0: evaluated, not trained
        {
            "epoch": k,
            "step": 100 * k,
            "train_d_loss": d,
            "train_g_loss": g,
            "train_d_paused": p,
            "train_g_paused": 0.0,
        }
        for k, d, g, p in ((1, 0.4, 1.2, 0.5), (2, 0.6, 0.9, 0.25))
    ]
    fig = plotting.balance_curves(records)
    loss_ax, ratio_ax, pause_ax = fig.axes
    steps, ratio = ratio_ax.lines[0].get_data()
    np.testing.assert_allclose(steps, [100, 200])
    np.testing.assert_allclose(ratio, [0.4 / 1.2, 0.6 / 0.9])
    np.testing.assert_allclose(pause_ax.lines[0].get_ydata(), [50.0, 25.0])
    with pytest.raises(ValueError, match="records"):
        plotting.balance_curves(records[:1])
    # the band where neither side pauses: [1/2, 2] for the averaged loss, [1/4, 1] summed
    bands = {}
    for summed in (False, True):
        ratio_ax = plotting.balance_curves(records, summed_d_loss=summed).axes[1]
        bands[summed] = sorted(line.get_ydata()[0] for line in ratio_ax.lines[1:])
    assert bands == {False: [0.5, 2.0], True: [0.25, 1.0]}


@pytest.mark.parametrize(("shape", "mode"), [((4, 5, 5), "L"), ((4, 5, 5, 3), "RGB")])
def test_gif_keeps_grey_or_colour(tmp_path, shape: tuple[int, ...], mode: str) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    frames = [
        plotting.save_frame(rng.random(shape), 2, 2, tmp_path / f"f{k}.png", scale=1)
        for k in range(3)
    ]
    gif = Image.open(plotting.save_gif(frames, tmp_path / "a.gif"))
    assert gif.n_frames == 3 and gif.size == (11, 11)
    assert gif.convert("RGB").getbands() == ("R", "G", "B")
    first = np.asarray(gif.convert("RGB"), np.int16)
    png = np.asarray(Image.open(frames[0]).convert("RGB"), np.int16)
    # Grey frames survive exactly; colour frames are quantised to GIF's 256-colour palette.
    assert np.abs(first - png).mean() < (0.5 if mode == "L" else 12)


def test_seed_bands_draw_the_mean_and_the_range() -> None:
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    runs = {"a": np.array([[1.0, 2.0, 3.0], [3.0, 4.0, 9.0]]), "b": np.ones((3, 3))}
    plotting.seed_bands(ax, np.array([10, 20, 30]), runs)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [2.0, 3.0, 6.0])
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == 1.0 and band.max() == 9.0
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    with pytest.raises(ValueError, match="points"):
        plotting.seed_bands(ax, np.arange(4), runs)
    plt.close("all")


def test_seed_bands_take_one_colour_per_setting() -> None:
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    _, ax = plt.subplots()
    runs = {"a": np.ones((2, 3)), "b": np.zeros((2, 3))}
    plotting.seed_bands(ax, np.arange(3), runs, colors={"a": "tab:red", "b": "black"})
    assert [to_rgba(line.get_color()) for line in ax.lines] == [
        to_rgba("tab:red"),
        to_rgba("black"),
    ]
    plt.close("all")


def test_seed_lines_draw_every_seed_and_mark_runs_that_ended_early() -> None:
    """A run flagged as stopped ends in an x (here at step 20); control: unflagged runs, of
    any length, get none."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    _, ax = plt.subplots()
    full = (np.array([10, 20, 30]), np.array([1.0, 2.0, 3.0]))
    short = (np.array([10, 20]), np.array([5.0, 4.0]))
    runs = {"a": [full, short], "b": [full, short]}
    colors = {"a": "tab:red", "b": "tab:blue"}
    stopped = {"a": [False, True], "b": [False, False]}
    plotting.seed_lines(ax, runs, "y", "t", colors=colors, stopped=stopped)
    lines = [line for line in ax.lines if line.get_marker() in ("None", None, "")]
    marks = [line for line in ax.lines if line.get_marker() == "x"]
    assert len(lines) == 4 and len(marks) == 1
    assert marks[0].get_xdata()[0] == 20 and marks[0].get_ydata()[0] == 4.0
    assert to_rgba(marks[0].get_color()) == to_rgba("tab:red")
    assert [line.get_label() for line in ax.lines if not line.get_label().startswith("_")] == [
        "a",
        "b",
    ]
    with pytest.raises(ValueError, match="steps"):
        plotting.seed_lines(ax, {"c": [(np.arange(3), np.arange(2))]})
    with pytest.raises(ValueError, match="flags"):
        plotting.seed_lines(ax, {"c": [full]}, stopped={"c": [True, False]})
    plt.close("all")


def test_show_frames_titles_each_saved_step(tmp_path) -> None:
    import matplotlib.pyplot as plt

    for step in (0, 250):
        plotting.save_frame(np.zeros((4, 3, 3)), 2, 2, plotting.frame_path(tmp_path, step))
    assert plotting.frame_path(tmp_path, 250).name == "step_00250.png"
    fig = plotting.show_frames(tmp_path, [0, 250])
    assert [ax.get_title() for ax in fig.axes] == ["step 0", "step 250"]
    with pytest.raises(FileNotFoundError, match="500"):
        plotting.show_frames(tmp_path, [0, 500])
    plotting.save_frame(np.ones((4, 3, 3)), 2, 2, plotting.frame_path(tmp_path, 500))
    assert plotting.saved_steps(tmp_path) == [0, 250, 500]
    fig = plotting.show_frames(tmp_path)  # first, middle, last
    assert [ax.get_title() for ax in fig.axes] == ["step 0", "step 250", "step 500"]
    with pytest.raises(FileNotFoundError, match="no snapshots"):
        plotting.show_frames(tmp_path / "empty")
    plt.close("all")


def test_snapshots_gif_keeps_every_nth_frame_and_the_last(tmp_path) -> None:
    from PIL import Image

    for step in range(0, 500, 100):  # 5 frames: every=2 keeps 400, 200, 0 (the last one kept)
        plotting.save_frame(
            np.full((1, 3, 3), step / 500), 1, 1, plotting.frame_path(tmp_path, step)
        )
    html = plotting.snapshots_gif_html(tmp_path, every=2, width=100)
    assert html.startswith('<img src="data:image/gif;base64,') and 'width="100"' in html
    assert Image.open(tmp_path / "training.gif").n_frames == 3
    with pytest.raises(ValueError, match="every"):
        plotting.snapshots_gif_html(tmp_path, every=0)
