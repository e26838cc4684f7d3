"""The seam between a chapter and the package: an edit of a chapter's taught code reaches the
package helpers the chapter calls (evaluation, reloading), not only its training.

Each test rebuilds a chapter's code as a reader's kernel has it (the chapter's imports, then its
exported cells, with one edit) and checks that the helper follows the edit. Its control runs the
same check on code that is *not* wired (the package's own copy) and must see the difference.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import jupytext
import numpy as np
import pytest
from keras import ops

from tools import export
from vaegan_utils import gan, pipelines, training, vae

ROOT = Path(__file__).resolve().parents[1]


def chapter_namespace(name: str, edits: dict[str, str], workdir: Path) -> dict[str, Any]:
    """The names a reader's kernel holds after running chapter ``name``'s imports and its
    exported cells, with each ``old -> new`` of ``edits`` applied to those cells first (the
    edited cells are written to ``workdir``, so that their source can be read back, as a
    notebook cell's can)."""
    path = ROOT / "notebooks" / f"{name}.py"
    namespace: dict[str, Any] = {}
    for cell in jupytext.read(path).cells:
        if cell.cell_type != "code" or "%" in cell.source:
            continue
        imports = [
            node
            for node in ast.parse(cell.source).body
            if isinstance(node, ast.Import | ast.ImportFrom)
        ]
        exec(compile(ast.Module(imports, type_ignores=[]), name, "exec"), namespace)
    source = "\n\n\n".join(export.exported_cells(path)[path_module(name)])
    for old, new in edits.items():
        assert source.count(old) == 1, f"the edit's anchor {old!r} is not in {name} once"
        source = source.replace(old, new)
    cells = workdir / f"{name}_cells.py"
    cells.write_text(source)
    exec(compile(source, str(cells), "exec"), namespace)
    return namespace


def path_module(name: str) -> str:
    return {"02_vae_mnist": "vae", "03_gan_mnist": "gan"}[name]


#: A reader's edit of 02's loss: the reconstruction term doubled.
DOUBLED_NLL = {
    "per_pixel = ops.softplus(logits) - x * logits": (
        "per_pixel = 2.0 * (ops.softplus(logits) - x * logits)"
    )
}
#: The wiring this file checks: train_vae's evaluation given the chapter's loss terms.
UNWIRED = {"seed=seed, **losses)": "seed=seed)"}


def validation_ratio(namespace: dict[str, Any], tmp_path: Path) -> float:
    """Train 02's ``train_vae`` for one epoch on random binary images; the validation
    reconstruction it logged over the package's unedited one on the same model."""
    rng = np.random.default_rng(0)
    x = (rng.random((300, 28, 28)) < 0.3).astype(np.float32)
    model, run = namespace["train_vae"](
        "seam", x[:200], x[200:], 2, (16, 8), 1, tmp_path, batch_size=50, retrain=True
    )
    logged = run.records[-1]["val_reconstruction"]
    unedited = vae.elbo_terms(model.encoder, model.decoder, x[200:], seed=0)["reconstruction"]
    return logged / unedited


def test_an_edit_of_02s_loss_reaches_its_evaluation(tmp_path: Path) -> None:
    edited = chapter_namespace("02_vae_mnist", DOUBLED_NLL, tmp_path)
    assert validation_ratio(edited, tmp_path / "wired") == pytest.approx(2.0, rel=1e-5)


def test_control_without_the_wiring_the_check_sees_the_old_loss(tmp_path: Path) -> None:
    """The same edit, with the evaluation not given the chapter's terms: the check above would
    fail (ratio 1, not 2), so it can fail; and the unedited chapter gives 1."""
    unwired = chapter_namespace("02_vae_mnist", {**DOUBLED_NLL, **UNWIRED}, tmp_path)
    assert validation_ratio(unwired, tmp_path / "unwired") == pytest.approx(1.0, rel=1e-5)
    (tmp_path / "plain").mkdir()
    plain = chapter_namespace("02_vae_mnist", {}, tmp_path / "plain")
    assert validation_ratio(plain, tmp_path / "plain") == pytest.approx(1.0, rel=1e-5)


#: A reader's edit of 03's generator: another output activation, the same weights.
HARD_SIGMOID = {'padding="same", activation="sigmoid"': 'padding="same", activation="hard_sigmoid"'}


def test_an_edit_of_03s_generator_reaches_load_generator(tmp_path: Path) -> None:
    """03 trains with its edited ``build_generator``; ``gan.load_generator`` given the chapter's
    builders rebuilds that model (control: the package's builders rebuild another one)."""
    chapter = chapter_namespace("03_gan_mnist", HARD_SIGMOID, tmp_path)
    builders = {name: chapter[name] for name in ("build_generator", "build_discriminator")}
    recipe = gan.Recipe(latent_dim=8, g_width=4, d_width=4, batch_size=16)
    model = recipe.build(0, model_class=chapter["GAN"], **builders)
    rng = np.random.default_rng(0)
    images = rng.random((64, 28, 28)).astype(np.float32)
    training.fit_gan(
        model,
        pipelines.image_batches(images, 16, seed=0).repeat(),
        50,
        50,
        tmp_path,
        settings={"seed": 0, **recipe.asdict()},
    )
    z = np.random.default_rng(1).normal(size=(16, 8)).astype(np.float32)
    trained = ops.convert_to_numpy(model.ema_generator(z, training=False))
    followed = ops.convert_to_numpy(gan.load_generator(tmp_path, **builders)(z, training=False))
    package = ops.convert_to_numpy(gan.load_generator(tmp_path)(z, training=False))
    assert np.abs(followed - trained).max() < 1e-6
    assert np.abs(package - trained).max() > 1e-3  # control: the unedited builder differs
