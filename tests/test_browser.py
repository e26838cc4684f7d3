"""The built book in a real browser (headless Chromium), opened from disk with no network.

Every page: no console errors, every image loaded, every formula typeset, every table in a
notebook's output an HTML table, every link within the book resolving, and on chapters the Colab
button pointing at the chapter's notebook. The VAE chapter's explorer decodes what Keras decodes
and follows the pointer, the keys and touch; so does the GAN chapter's generator explorer, which
must also draw at least 20 digits a second (the rate is printed at the end of the run); the GAN
chapter's slider moves. Screenshots of every
page go to ``_build/screenshots/``. Each check is also run on a deliberately broken copy of the
build, where it must report the breakage.

Without Chromium these tests fail with the install hint (``make test`` also prints a banner); a
reader can leave them out on purpose with ``-m "not browser"``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import browser_checks as checks
import pytest
from conftest import MEASURED

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"


@pytest.fixture(scope="module")
def browser():
    executable = checks.chromium()
    if executable is None:  # a failure, never a silent skip: deselect with -m "not browser"
        pytest.fail(
            f"Chromium not found, so the browser tests cannot run; {checks.INSTALL_HINT} "
            "(or leave them out on purpose: make test PYTEST_ARGS='-m \"not browser\"')"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route(re.compile(r"^https?://"), lambda route: route.abort())  # offline, for sure
    yield context
    context.close()


@pytest.fixture(scope="module")
def touch_context(browser):
    context = browser.new_context(
        has_touch=True, is_mobile=True, viewport={"width": 412, "height": 900}
    )
    context.route(re.compile(r"^https?://"), lambda route: route.abort())
    yield context
    context.close()


def _problems(visit, touch_context=None) -> list[str]:
    html = visit.path.read_text()
    found = checks.console_problems(visit) + checks.image_problems(visit)
    found += checks.math_problems(visit, expect_math='class="math' in html)
    found += checks.link_problems(visit)
    if visit.path.parent.name == "notebooks":
        found += checks.table_problems(visit) + checks.launch_problems(visit, visit.path.stem)
    if visit.path.stem == "02_vae_mnist":
        found += checks.explorer_problems(visit, touch_context)
    if visit.path.stem == "03_gan_mnist":
        found += checks.slider_problems(visit) + checks.explorer_problems(visit, touch_context)
        found += checks.generator_budget_problems(visit, MEASURED)
    return found


def test_every_page_works_in_a_real_browser(book_html: Path, context, touch_context) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = checks.pages(book_html)
    chapters = {p.stem for p in pages if p.parent.name == "notebooks"}
    assert {"02_vae_mnist", "03_gan_mnist"} <= chapters and len(pages) >= 8
    problems = []
    for path in pages:
        visit = checks.PageVisit(context, path)
        problems += _problems(visit, touch_context)
        visit.page.screenshot(
            path=SCREENSHOTS / f"{path.parent.name}_{path.stem}.png", full_page=True
        )
        visit.close()
    assert problems == [], "\n".join(problems)


def _break(book_html: Path, tmp_path: Path, page: str, old: str | re.Pattern, new: str) -> Path:
    """A copy of the build with one replacement made in one page; returns that page's path."""
    copy = tmp_path / "html"
    shutil.copytree(book_html, copy)
    target = copy / page
    html = target.read_text()
    broken = (
        re.sub(old, new, html, count=1)
        if isinstance(old, re.Pattern)
        else html.replace(old, new, 1)
    )
    assert broken != html, f"the breakage did not apply to {page}"
    target.write_text(broken)
    return target


def _first_image(html: str) -> str:
    return re.search(r'<img[^>]+src="(\.\./_images/[^"]+)"', html).group(1)


BREAKAGES = {
    "console": ("book/intro.html", "</body>", "<script>console.error('boom')</script></body>",
                checks.console_problems),
    "math": ("notebooks/01_elbo.html", "_static/mathjax/tex-svg.js", "_static/mathjax/missing.js",
             lambda v: checks.math_problems(v, expect_math=True)),
    "table": ("notebooks/02_vae_mnist.html", re.compile(r"<table.*?</table>", re.S),
              "<p>| a | b |<br>\n|---|---|<br>\n| 1 | 2 |</p>", checks.table_problems),
    "link": ("book/intro.html", "</main>", '<a href="../notebooks/99_missing.html">x</a></main>',
             checks.link_problems),
    "launch": ("notebooks/03_gan_mnist.html", "/blob/main/", "/blob/master/",
               lambda v: checks.launch_problems(v, "03_gan_mnist")),
    "explorer": ("notebooks/02_vae_mnist.html", re.compile(r'("kernel":\s*")([A-Za-z0-9+/]{40})'),
                 r"\1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", checks.explorer_problems),
    "slider": ("notebooks/03_gan_mnist.html", "img.src = data.uris[+range.value];", "",
               checks.slider_problems),
    # the generator's last kernel scaled by zero: every image a flat grey
    "generator": ("notebooks/03_gan_mnist.html", re.compile(r'("scale":")[A-Za-z0-9+/]{3}="'),
                  r'\1AAA="', checks.explorer_problems),
    "new codes": ("notebooks/03_gan_mnist.html", '.vaegan-redraw").addEventListener("click"',
                  '.vaegan-redraw").addEventListener("dblclick"', checks.explorer_problems),
    "weight": ("notebooks/03_gan_mnist.html", '"latent_dim":64,"size":',
               '"ballast":"' + "A" * 450_000 + '","latent_dim":64,"size":',
               checks.generator_budget_problems),
}  # fmt: skip


@pytest.mark.parametrize("breakage", [*BREAKAGES, "image"])
def test_each_check_catches_a_broken_build(
    book_html: Path, tmp_path: Path, context, breakage
) -> None:
    if breakage == "image":
        page = "notebooks/03_gan_mnist.html"
        copy = tmp_path / "html"
        shutil.copytree(book_html, copy)
        target = copy / page
        (target.parent / _first_image(target.read_text())).unlink()
        check = checks.image_problems
    else:
        page, old, new, check = BREAKAGES[breakage]
        target = _break(book_html, tmp_path, page, old, new)
    visit = checks.PageVisit(context, target)
    try:
        assert check(visit), f"the {breakage} check missed a broken {page}"
    finally:
        visit.close()
