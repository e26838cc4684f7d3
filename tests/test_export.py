"""tools/export.py: the package's teaching code is generated from the chapters' cells, and a
stale copy fails here; tools/notebook_code.py reads a parameters cell without running code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools import export
from tools.notebook_code import notebook_parameters

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = {"02_vae_mnist": "vae", "03_gan_mnist": "gan"}


def test_the_package_is_generated_from_the_chapters() -> None:
    """Run ``python -m tools.export`` after editing a chapter's exported cells."""
    assert [path.name for path in export.stale_modules(ROOT)] == []


def test_each_chapter_exports_its_teaching_code() -> None:
    vae_cells = "\n".join(export.exported_cells(ROOT / "notebooks" / "02_vae_mnist.py")["vae"])
    gan_cells = "\n".join(export.exported_cells(ROOT / "notebooks" / "03_gan_mnist.py")["gan"])
    for name in ("class Sampling", "def build_encoder", "class VAE", "def train_vae"):
        assert name in vae_cells
    for name in ("def build_generator", "def discriminator_loss", "class GAN(GANBase)"):
        assert name in gan_cells
    module = (ROOT / "src" / "vaegan_utils" / "gan.py").read_text()
    assert module.count(export.BEGIN.format(notebook="notebooks/03_gan_mnist.py")) == 1


@pytest.fixture
def copy_root(tmp_path: Path) -> Path:
    """The chapters that export code and their modules, in a scratch repository."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "src" / "vaegan_utils").mkdir(parents=True)
    for notebook, module in EXPORTS.items():
        shutil.copy(ROOT / "notebooks" / f"{notebook}.py", tmp_path / "notebooks")
        shutil.copy(ROOT / "src" / "vaegan_utils" / f"{module}.py", tmp_path / "src/vaegan_utils")
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) >= 1, old
    path.write_text(text.replace(old, new, 1))


def test_a_one_token_edit_of_an_exported_cell_is_caught(copy_root: Path) -> None:
    """Control: one changed constant in 03's discriminator makes gan.py stale; the export
    writes it into the package; then nothing is stale."""
    assert export.stale_modules(copy_root) == []
    _edit(
        copy_root / "notebooks" / "03_gan_mnist.py", "dropout: float = 0.0", "dropout: float = 0.4"
    )
    assert [path.name for path in export.stale_modules(copy_root)] == ["gan.py"]
    assert export.main(["--check", "--root", str(copy_root)]) == 1
    assert export.main(["--root", str(copy_root)]) == 0
    assert export.stale_modules(copy_root) == []
    assert "dropout: float = 0.4" in (copy_root / "src/vaegan_utils/gan.py").read_text()


def test_edits_outside_the_exported_cells_are_not_flagged(copy_root: Path) -> None:
    """Control: prose, a cell that is not exported and the hand-written part of the module."""
    notebook = copy_root / "notebooks" / "02_vae_mnist.py"
    _edit(notebook, "# ## The model", "# ## The model, edited")
    _edit(notebook, "explorer_points = 3000", "explorer_points = 2000")
    _edit(copy_root / "src/vaegan_utils/vae.py", "LOG_2PI = ", "LOG_2PI  = ")
    assert export.stale_modules(copy_root) == []


def test_a_hand_edit_of_the_generated_code_is_caught(copy_root: Path) -> None:
    module = copy_root / "src" / "vaegan_utils" / "vae.py"
    _edit(module, "kl_weight * kl", "0.5 * kl_weight * kl")
    assert [path.name for path in export.stale_modules(copy_root)] == ["vae.py"]


def test_a_misplaced_marker_or_a_missing_region_is_an_error(copy_root: Path) -> None:
    notebook = copy_root / "notebooks" / "02_vae_mnist.py"
    text = notebook.read_text()
    notebook.write_text(
        text.replace(
            "# exported to vaegan_utils.vae\nclass Sampling",
            "x = 1\n# exported to vaegan_utils.vae\nclass Sampling",
        )
    )
    with pytest.raises(ValueError, match="first line"):
        export.stale_modules(copy_root)
    notebook.write_text(text)
    module = copy_root / "src" / "vaegan_utils" / "vae.py"
    _edit(module, export.END.format(notebook="notebooks/02_vae_mnist.py"), "")
    with pytest.raises(ValueError, match="exactly one line"):
        export.stale_modules(copy_root)


def test_notebook_parameters_reads_literals_only(tmp_path: Path) -> None:
    params = notebook_parameters(ROOT / "notebooks" / "02_vae_mnist.py")
    assert params["output_dir"] == "outputs/02_vae_mnist" and params["quick"] is False
    bad = tmp_path / "bad.py"
    bad.write_text('# %% tags=["parameters"]\nseed = 0\nsteps = compute()\n')
    with pytest.raises(ValueError, match="only assignments of literals"):
        notebook_parameters(bad)
    bad.write_text("# %%\nseed = 0\n")
    with pytest.raises(ValueError, match="tagged 'parameters'"):
        notebook_parameters(bad)


def test_a_region_left_behind_by_its_chapter_is_an_error(copy_root: Path) -> None:
    """Markers removed from 03 (or 03 renamed) must not leave gan.py's old code unchecked."""
    notebook = copy_root / "notebooks" / "03_gan_mnist.py"
    notebook.write_text(notebook.read_text().replace("# exported to vaegan_utils.gan\n", ""))
    with pytest.raises(ValueError, match="no longer exports to it"):
        export.stale_modules(copy_root)
    assert export.main(["--check", "--root", str(copy_root)]) == 1


def test_two_chapters_may_export_to_one_module(copy_root: Path) -> None:
    """Each chapter has its own region; editing one leaves the other as it is."""
    extra = copy_root / "notebooks" / "09_extra.py"
    extra.write_text("# %%\n# exported to vaegan_utils.gan\ndef helper():\n    return 1\n")
    module = copy_root / "src" / "vaegan_utils" / "gan.py"
    begin = export.BEGIN.format(notebook="notebooks/09_extra.py")
    end = export.END.format(notebook="notebooks/09_extra.py")
    module.write_text(module.read_text() + f"\n\n{begin}\n{end}\n")
    assert [path.name for path in export.stale_modules(copy_root)] == ["gan.py"]
    assert export.main(["--root", str(copy_root)]) == 0
    text = module.read_text()
    assert "def helper():" in text and "class GAN(GANBase):" in text
    assert export.stale_modules(copy_root) == []
