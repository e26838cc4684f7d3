"""The notebooks: pairing, clean committed runs, quick-mode execution with checks, nbval.

Each notebook listed in ``_toc.yml`` must have a checker in ``CHECKS`` that asserts on the values
the notebook records in ``metrics.json`` of its output directory.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tools import notebooks
from tools.notebook_code import notebook_parameters

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = notebooks.toc_notebooks(ROOT)
#: Notebooks cheap enough for nbval to re-run at full settings; their tagged cells are compared.
NBVAL_NOTEBOOKS = ["00_data_tour", "01_elbo"]
#: The VAE lesson and its lab: the lab's model is the lesson's, with the same settings.
VAE_PAIR = ("02_vae_mnist", "02_vae_mnist_lab")
#: The GAN lesson and its lab: the lab measures the lesson's run (or trains the same model).
GAN_PAIR = ("03_gan_mnist", "03_gan_mnist_lab")


def check_data_tour(metrics: dict) -> None:
    assert metrics["mnist_train_counts"] == [
        5923,
        6742,
        5958,
        6131,
        5842,
        5421,
        5918,
        6265,
        5851,
        5949,
    ]
    assert sum(metrics["mnist_test_counts"]) == 10000
    assert metrics["mnist_source"] in {"cache", "offline"}  # never online: the tests are offline
    assert abs(metrics["mnist_mean_intensity"] - 33.318421449829934 / 255) < 1e-6
    assert metrics["faces_shape"][1:] == [32, 32]
    assert 0 < metrics["faces_shape"][0] <= 64
    assert 0.0 <= metrics["faces_min"] < metrics["faces_max"] <= 1.0


def check_elbo(metrics: dict) -> None:
    assert metrics["elbo_violations"] == 0
    assert metrics["identity_error"] < 1e-8
    assert metrics["tight_gap"] < 1e-8
    closed, mc, stderr = (metrics[k] for k in ("kl_exact", "kl_mc", "kl_mc_stderr"))
    assert abs(closed - mc) < 4 * stderr
    bounds, stderr = np.array(metrics["iwae_bounds"]), np.array(metrics["iwae_stderr"])
    log_px = metrics["log_px"]
    assert np.all(bounds <= log_px + 3 * stderr) and np.all(stderr > 0)
    assert np.all(np.diff(bounds) >= -3 * np.hypot(stderr[1:], stderr[:-1]))  # rises with k
    assert log_px - bounds[-1] < (log_px - bounds[0]) / 2  # the bound tightened with k
    assert abs(bounds[0] - metrics["elbo_mean_field"]) < 3 * stderr[0]  # L_1 is the ELBO
    assert min(metrics["variance_ratio"]) > 1 and metrics["variance_ratio"][-1] > 100
    # The baseline reduces the score function's variance, but not to the reparameterised one's.
    pairs = zip(metrics["baseline_ratio"], metrics["variance_ratio"], strict=True)
    assert all(1 < based < plain for based, plain in pairs)
    assert all(share < 1 for share in metrics["mf_variance_share"])  # mean-field q is too narrow
    assert metrics["ess_prior"][-1] < 0.01 < metrics["ess_prior"][0]


def check_vae(metrics: dict) -> None:
    """Bounds that an untrained (543 nats) or a z-ignoring model (KL = 0) cannot meet."""
    grey = metrics["grey"]
    assert metrics["quick"] is True
    assert abs(grey["neg_elbo"] - grey["reconstruction"] - grey["kl"]) < 1e-3
    assert grey["neg_elbo"] < 160 and grey["kl"] > 5
    assert grey["reconstruction"] > grey["entropy_floor"] > 40
    assert metrics["vae_2d"]["test_neg_elbo"] < 220 and 0 < metrics["vae_2d"]["grid_share"] <= 1
    assert metrics["vae_2d"]["sample_shift"] > 0 and grey["sample_shift"] > 0


def check_vae_lab(metrics: dict) -> None:
    """The binarized model: bounds an untrained or a z-ignoring model cannot meet, an
    importance-weighted estimate tighter than the ELBO, and the settings rule applied."""
    binary = metrics["binary"]
    assert metrics["quick"] is True
    assert binary["neg_elbo"] < 175 and binary["kl"] > 5 and binary["active_units"] >= 3
    # The importance-weighted estimate is tighter than the ELBO, but only by a few nats.
    assert 0 < binary["iwae_gain"] < 20 and 0 < binary["iwae_nll_stderr"] < 2
    assert binary["iwae_nll"] < binary["neg_elbo"]
    curve = list(binary["iwae_curve"].values())  # -L_k for k = 1, 10, 100: falls with k
    assert curve == sorted(curve, reverse=True)
    # Optimising q per image beats the encoder's q (the amortisation gap is positive).
    assert 0 < binary["amortisation_gap"] < 20
    settings = metrics["settings"]
    assert settings["seeds"] >= 3 and settings["seed_sd"] > 0 and settings["grey_seed_sd"] > 0
    # The rule chose the settings the lesson and the lab train with (the chapter's own).
    lesson, lab = (notebook_parameters(ROOT / "notebooks" / f"{name}.py") for name in VAE_PAIR)
    assert settings["chosen_binary_changes"] == {} and settings["chosen_grey_changes"] == {}
    assert settings["chosen_binary_epochs"] == lab["epochs_binary"]
    assert settings["chosen_grey_epochs"] == lesson["epochs_grey"]


def check_gan(metrics: dict) -> None:
    """A broken train step leaves the step-0 scores (score ~1, Fréchet ~300) where they were."""
    start, final, real = metrics["start"], metrics["final"], metrics["real"]
    assert metrics["quick"] is True and metrics["steps"] == 400
    assert real["score"] > 9.0 and real["frechet"] < 5.0  # the random-half floor at n = 1,000
    assert final["score"] > start["score"] + 1.5
    assert final["frechet"] < 0.6 * start["frechet"]
    assert sum(share > 0.01 for share in final["class_fractions"]) >= 6  # not a few digits only
    assert len(metrics["history"]) == 4
    assert all(record["train_g_grad_norm"] > 0 for record in metrics["history"])
    assert abs(metrics["theory"]["slope_thin"]) < 1e-3 < metrics["theory"]["slope_wide"]
    # The target's verdicts are the three parts' conjunction.
    met = metrics["targets_met"]
    assert met["all three"] == all(v for k, v in met.items() if k != "all three")


def check_gan_lab(metrics: dict) -> None:
    """The lab's own small run learned; the file-order halves are farther apart than random
    ones; the rule's edges match their closed forms; the copy test does not flag new digits."""
    final, real = metrics["final"], metrics["real"]
    assert metrics["quick"] is True and metrics["steps"] == 400
    assert real["precision"] > 0.6 and real["recall"] > 0.6
    assert final["precision"] > 0.05  # an untrained generator's grey blobs: 0
    split = metrics["split"]
    assert split["ordered"] > 3 * split["random_max"]  # two NIST sources, not one population
    # The rule's edges for D certain on real images, against their closed forms.
    rule = metrics["rule"]
    assert abs(rule["mean"]["d"] - 0.5) < 1e-6  # r + f = g  <=>  p = 1/2
    assert abs(rule["sum"]["g"] - (5**0.5 - 1) / 2) < 1e-6  # p^2 = 1 - p
    assert abs(rule["sum"]["d"] - (3 - 5**0.5) / 2) < 1e-6  # (1 - p)^2 = p
    assert 0.72 < rule["mean"]["g"] < 0.73  # p^4 = 1 - p
    assert metrics["copy"]["share"] < 0.2 and metrics["copy"]["n"] == 1000  # not copying
    # the recipe the one-switch screen started from ran in the lever search, and its rule
    # picks it
    assert metrics["levers"]["lesson_runs"] >= 1
    assert metrics["levers"]["lesson_is_chosen"] is True
    # FD at n -> infinity removes most of the real-data floor (two samples of one population)
    bias = metrics["bias"]
    assert abs(bias["floor_inf"]) < 0.5 * bias["floor"] and bias["gen_inf"] < bias["gen"]
    assert metrics["split"]["ratio_sd"] > 0  # five splits, not one repeated
    # the screen's gamma is the one its validation rule picks (0.1 of 0.1, 1, 10)
    assert metrics["screen"]["gamma"] == 0.1
    assert metrics["lessonseeds"]["n"] >= 2  # the target is judged on two seeds of the lesson


def _word(interval: list[float], margin: float, above: str, below: str) -> str:
    """The start of the verdict word a (mean, low, high) interval supports against
    ``margin``, by the rule ``Interval.word`` documents (an independent restatement)."""
    _, low, high = interval
    if -margin < low and high < margin:
        return "equivalent within" if low <= 0 <= high else "differs, but within"
    if low > 0:
        return above
    if high < 0:
        return below
    return "inconclusive"


def check_stability(metrics: dict) -> None:
    """The Dirac-GAN's hand-derived field equals autodiff of chapter 3's losses; the step
    moduli match their closed forms; R1 converges and plain steps do not; the ring's arms ran
    every seed, the rule off never paused, and the verdict is the one the interval supports."""
    dirac, ring = metrics["dirac"], metrics["ring"]
    assert metrics["quick"] is True and metrics["ring_seeds"] == [0, 1]
    assert dirac["autodiff_gap"] < 1e-6
    assert abs(dirac["sim_modulus"] - np.sqrt(1 + dirac["lr"] ** 2 / 8)) < 1e-6
    assert abs(dirac["alt_modulus"] - 1.0) < 1e-6 and dirac["r1_modulus"] < 0.99
    assert dirac["end_simultaneous_R1"] < 1e-6 < 0.1 < dirac["end_simultaneous"]
    assert dirac["end_simultaneous_saturating"] > dirac["start"]  # spirals out
    assert dirac["speed_saturating"] < 0.05 * dirac["speed_non_saturating"]
    assert len(ring["modes_off"]) == len(ring["modes_on"]) == 2
    assert all(0 <= m <= 8 for m in ring["modes_off"] + ring["modes_on"])
    # the metric's controls: what it must count (the data, one blob) and what it must not
    controls = ring["control_modes"]
    assert controls["the data"] == 8 and controls["one blob only"] == 1
    assert controls["eight blobs halfway between the centres"] == 0
    assert ring["d_paused_off"] == ring["g_paused_off"] == 0  # no rule, no pauses
    diffs = np.subtract(ring["modes_on"], ring["modes_off"])
    assert np.isclose(ring["interval"][0], diffs.mean())
    expected = _word(ring["interval"], metrics["modes_margin"], "more modes", "fewer modes")
    if ring["assessable"]:
        assert ring["verdict_word"].startswith(expected)
    else:  # the rule never acted, or collapse did not happen without it
        assert ring["verdict_word"] == "not assessable"


def check_stability_lab(metrics: dict) -> None:
    """Four cells, a learning rate and batch norm crossed and nothing else changed; every run
    trained to the full budget and was scored; each contrast's differences are the cells'
    log Fréchet distances, and its verdict is the one its interval supports."""
    cells = metrics["cells"]
    assert metrics["quick"] is True and metrics["seeds"] == [0, 1] and metrics["steps"] == 50
    assert len(cells) == 4
    switches = {
        (c["settings"]["learning_rate"], c["settings"]["batch_norm"]) for c in cells.values()
    }
    assert len(switches) == 4  # a 2 x 2 crossing
    others = [{k: v for k, v in c["settings"].items() if k not in ("learning_rate", "batch_norm")}
              for c in cells.values()]  # fmt: skip
    assert all(other == others[0] for other in others)
    for name, cell in cells.items():
        assert cell["last_steps"] == [50, 50], name  # no run stopped early
        assert all(f > 0 for f in cell["frechet"]) and 0 <= cell["failed_n"] <= 2, name
    by_switch = {(c["settings"]["learning_rate"], c["settings"]["batch_norm"]): c
                 for c in cells.values()}  # fmt: skip
    high = max(lr for lr, _ in by_switch)  # the primary contrast: batch norm at the high rate
    harm = np.log(by_switch[high, False]["frechet"]) - np.log(by_switch[high, True]["frechet"])
    assert np.allclose(metrics["contrast0"]["diffs"], harm)
    words = [("removing it hurt", "removing it helped")] * 2 + [("worse", "better")] * 2
    words.append(("costs more at the high rate", "costs less at the high rate"))
    for i in range(5):
        contrast = metrics[f"contrast{i}"]
        diffs = np.array(contrast["diffs"])
        interval = contrast["interval"]  # log scale
        assert np.isclose(interval[0], diffs.mean())
        assert f"{np.exp(interval[0]):.3g} (" in contrast["ratio"]
        expected = _word(interval, metrics["log_margin"], *words[i])
        assert contrast["verdict"].startswith(expected), i


def check_faces(metrics: dict) -> None:
    """Offline faces, 20 held out, augmentation in front of D; the face check rejects the kinds
    it trained against; the copy test catches every easy copy at its declared rate with both
    distances; the memorisation test's copying control fires; training moved the samples."""
    assert metrics["quick"] is True and metrics["steps"] == 300
    assert metrics["source"] in {"cache", "offline"}  # never online: the tests are offline
    if metrics["dataset"] == "lfw_subset":
        assert metrics["faces_n"] == 100 and metrics["augmentation"] is True
        assert metrics["train_n"] == 80 and metrics["heldout_n"] == 20
    assert metrics["image_shape"] == [32, 32]
    assert metrics["snapshot_steps"] == [0, 100, 200, 300]
    history = metrics["history"]
    assert len(history) == 3 and all(r["train_g_grad_norm"] > 0 for r in history)
    assert all(np.isfinite(r["d_gap"]) for r in history)
    assert metrics["d_paused_fraction"] == 0  # the rule is off, as in chapter 3
    rows = {row["images"]: row for row in metrics["face"]["rows"]}
    for kind in ("noise images", "pixel-shuffled faces", "phase-scrambled faces",
                 "upside-down faces", "blurred faces", "averages of 4 faces"):  # fmt: skip
        assert rows[kind]["share above the line"] < 0.2, kind
        assert f"{kind} (left out)" in rows, kind
    copy = metrics["copy"]
    assert copy["rate"] == 0.05 and copy["null_n"] == metrics["train_n"]
    easy = [row for row in copy["rows"] if row["control"] in
            {"exact copy", "mirrored copy", "copy shifted 1-2 px"}]  # fmt: skip
    assert len(easy) == 3
    for row in easy:
        n = row["flagged (raw)"].split(" of ")[1]
        assert row["flagged (raw)"] == row["flagged (centred unit-norm)"] == f"{n} of {n}"
    assert 0 < copy["raw"]["threshold"] < 1
    by_kind = {row["control"]: row for row in copy["rows"]}
    for distance in ("raw", "centred unit-norm"):  # not a copy: never flagged
        assert by_kind["flat grey"][f"flagged ({distance})"] == "0 of 1", distance
    # a 50/50 blend is as near to one face as to the other: raw ratios near 1, rarely caught
    caught_blends, n_blends = by_kind["50/50 blend of two faces"]["flagged (raw)"].split(" of ")
    assert int(caught_blends) < int(n_blends) / 2
    memo = metrics["memo"]
    assert [row["measure"] for row in memo["rows"]] == [
        "distance to the nearest sample", "the same, centred unit-norm", "G's redrawing error",
        "D's logit"]  # fmt: skip
    caught = memo["copying"][-1]["caught"].split(" of ")
    assert int(caught[0]) >= 0.9 * int(caught[1].split(" ")[0])  # 10% copies: caught
    # The untrained generator's near-constant grey moves toward faces: samples spread out.
    assert metrics["spread_samples"] > 2 * metrics["start"]["spread"]


CHECKS: dict[str, Callable[[dict], None]] = {
    "00_data_tour": check_data_tour,
    "01_elbo": check_elbo,
    "02_vae_mnist": check_vae,
    "02_vae_mnist_lab": check_vae_lab,
    "03_gan_mnist": check_gan,
    "03_gan_mnist_lab": check_gan_lab,
    "04_gan_stability": check_stability,
    "04_gan_stability_lab": check_stability_lab,
    "05_gan_faces": check_faces,
}


def _ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


def test_the_vae_lab_trains_the_lessons_architecture() -> None:
    lesson, lab = (notebook_parameters(ROOT / "notebooks" / f"{name}.py") for name in VAE_PAIR)
    shared = ("seed", "latent_dim", "hidden", "batch_size", "learning_rate", "validation_images")
    assert {key: lab[key] for key in shared} == {key: lesson[key] for key in shared}


def test_the_gan_lab_measures_the_lessons_model_and_committed_run() -> None:
    lesson, lab = (notebook_parameters(ROOT / "notebooks" / f"{name}.py") for name in GAN_PAIR)
    shared = ("seed", "steps", "eval_every", "n_eval", "batch_size", "latent_dim", "g_width")
    shared += ("d_width", "dropout", "learning_rate", "balance", "saturating", "ema")
    assert {key: lab[key] for key in shared} == {key: lesson[key] for key in shared}
    lesson_ipynb, lab_ipynb = (ROOT / "notebooks" / f"{name}.ipynb" for name in GAN_PAIR)
    # The lab's committed run measured the lesson's committed run, and declared it.
    assert notebooks.upstream_runs(lab_ipynb) == {notebooks.run_card_id(lesson_ipynb)}


def test_toc_lists_every_notebook_and_each_has_a_check() -> None:
    on_disk = sorted(path.stem for path in (ROOT / "notebooks").glob("*.py"))
    assert sorted(_ids(NOTEBOOKS)) == on_disk
    assert set(CHECKS) == set(on_disk)


@pytest.mark.parametrize("py_path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_py_and_ipynb_are_paired(py_path: Path) -> None:
    assert notebooks.pairing_problems(py_path) == []


@pytest.mark.parametrize("py_path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_ipynb_ran_cleanly_top_to_bottom(py_path: Path) -> None:
    assert notebooks.execution_problems(py_path.with_suffix(".ipynb")) == []


@pytest.mark.parametrize("py_path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_committed_ipynb_is_one_fresh_run_with_its_run_id(py_path: Path) -> None:
    """No model reused from an earlier run; every run id in the outputs is the run card's."""
    assert notebooks.run_problems(py_path.with_suffix(".ipynb")) == []


def test_run_problems_catch_reuse_and_foreign_runs(tmp_path: Path) -> None:
    import nbformat

    def notebook(*lines: str) -> Path:
        cells = [
            nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("stream", text=t)])
            for t in lines
        ]
        path = tmp_path / "nb.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
        return path

    card = "Python 3.11 · CPU (2 cores) · seed 0 · run 1a2b3c4d\n"
    trained = "[vaegan_utils.training] gan: trained 40 epochs in 205 s (run 1a2b3c4d)\n"
    metrics = "metrics of run 1a2b3c4d: outputs/x/metrics.json\n"
    assert notebooks.run_problems(notebook(card, trained, metrics)) == []
    reused = "gan: reused the weights trained in run 99999999 (same settings and code)\n"
    assert len(notebooks.run_problems(notebook(card, reused, metrics))) == 2  # foreign + reused
    assert notebooks.run_problems(notebook(card))  # the metrics line is missing its id
    # A run another notebook trained may appear once declared as this page's source.
    upstream = "upstream run 99999999: the lesson's generator, outputs/x\n"
    assert notebooks.run_problems(notebook(card, upstream, metrics)) == []
    undeclared = "the lesson's generator (run 99999999)\n"
    assert len(notebooks.run_problems(notebook(card, undeclared, metrics))) == 1
    assert notebooks.run_problems(notebook("no id at all\n"))


@pytest.mark.parametrize("py_path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_every_notebook_follows_the_template(py_path: Path) -> None:
    """One parameters cell that starts quick, seed(s), output_dir (then retrain where models are
    trained); the set-up cell calls reporting.start; the last code cell saves metrics."""
    cells = notebooks.jupytext.read(py_path).cells
    parameters = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1
    names = [
        node.targets[0].id
        for node in __import__("ast").parse(parameters[0].source).body
        if isinstance(node, __import__("ast").Assign)
    ]
    assert names[:3] in (["quick", "seed", "output_dir"], ["quick", "seeds", "output_dir"])
    assert parameters[0].source.startswith("quick = False")
    training_calls = ("fit_or_load(", "fit_gan(", "train_vae(")  # the lab calls train_vae
    trains = any(call in c.source for c in cells for call in training_calls)
    assert ("retrain" in names[3:4]) == trains
    setup = cells[cells.index(parameters[0]) + 1].source
    # one call seeds, makes the output directory, prints the run card and starts the results
    assert re.search(r"out, results = reporting\.start\(\s*output_dir,\s*seed=", setup)
    code = [c for c in cells if c.cell_type == "code"]
    assert "results.save()" in code[-1].source


@pytest.mark.notebook
@pytest.mark.parametrize("py_path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_in_quick_mode(py_path: Path, tmp_path: Path) -> None:
    executed = notebooks.execute(
        py_path,
        tmp_path / py_path.with_suffix(".ipynb").name,
        parameters={"quick": True, "output_dir": str(tmp_path / "out")},
        cwd=ROOT,
    )
    assert executed.metadata["papermill"]["parameters"]["quick"] is True
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    CHECKS[py_path.stem](metrics)


@pytest.mark.notebook
@pytest.mark.parametrize("name", NBVAL_NOTEBOOKS)
def test_nbval_tagged_cells_reproduce(name: str) -> None:
    env = {**__import__("os").environ, **notebooks.kernel_environment()}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-kernel-name",
            notebooks.KERNEL_NAME,
            "--nbval-sanitize-with",
            str(ROOT / "tests" / "nbval_sanitize.cfg"),
            str(ROOT / "notebooks" / f"{name}.ipynb"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


@pytest.mark.parametrize("py_path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_colab_installs_the_package_at_the_commit_the_outputs_ran(py_path: Path) -> None:
    """The committed .ipynb names the commit its run executed (an ancestor of HEAD), not main."""
    stored = notebooks.nbformat.read(py_path.with_suffix(".ipynb"), as_version=4)
    setup = next(cell.source for cell in stored.cells if cell.cell_type == "code")
    ref = re.search(r'^PACKAGE_REF = "([^"]*)"', setup, re.M)
    assert ref and re.fullmatch(r"[0-9a-f]{40}", ref.group(1)), "execute it with tools.notebooks"
    ancestor = ["git", "merge-base", "--is-ancestor", ref.group(1), "HEAD"]
    assert subprocess.run(ancestor, cwd=ROOT, check=False).returncode == 0


def test_pairing_reads_the_pinned_commit_as_main_and_nothing_else(tmp_path: Path) -> None:
    """Control: the pinned commit pairs; a changed line or tag beside it does not."""
    py = tmp_path / "nb.py"
    py.write_text('# %%\nPACKAGE_REF = "main"\nx = 1\n\n# %% tags=["remove-cell"]\ny = 2\n')
    stored = notebooks.jupytext.read(py)
    notebooks.pin_package(stored, "a" * 40)
    assert 'PACKAGE_REF = "' + "a" * 40 in stored.cells[0].source
    notebooks.nbformat.write(stored, tmp_path / "nb.ipynb")
    assert notebooks.pairing_problems(py) == []
    py.write_text('# %%\nPACKAGE_REF = "main"\nx = 2\n\n# %%\ny = 2\n')
    assert notebooks.pairing_problems(py) == [
        "cell 0 differs between nb.py and nb.ipynb",
        "cell 1's tags differ between nb.py and nb.ipynb",
    ]


def test_the_pin_is_the_start_commit_while_package_and_chapter_stay_as_they_were(
    tmp_path: Path,
) -> None:
    """Controls: an uncommitted change of the package gives no commit; a later commit of
    another file keeps the pin valid; a change of the chapter does not."""

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "m.py").write_text("x = 1\n")
    py = tmp_path / "nb.py"
    py.write_text("y = 1\n")
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "start", "--allow-empty")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "files")
    start = notebooks.source_commit(tmp_path, py)
    assert start and re.fullmatch(r"[0-9a-f]{40}", start)
    (tmp_path / "src" / "m.py").write_text("x = 2\n")
    assert notebooks.source_commit(tmp_path, py) is None
    assert not notebooks.unchanged_since(tmp_path, py, start)
    (tmp_path / "src" / "m.py").write_text("x = 1\n")
    (tmp_path / "README").write_text("later\n")
    git("add", "README")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "readme")
    assert notebooks.unchanged_since(tmp_path, py, start)
    py.write_text("y = 2\n")
    assert not notebooks.unchanged_since(tmp_path, py, start)
