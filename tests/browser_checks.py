"""What a reader's browser must see on every page of the built book, as functions that return
the problems they find (an empty list: none). ``tests/test_browser.py`` runs them on the real
build and on deliberately broken copies of it (each check must catch its own breakage).

They drive Debian's Chromium through Playwright (``executable_path``; Playwright's own browser
download does not work offline) and open the pages from disk (file://), as a reader without a
network would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import yaml

ROOT = Path(__file__).resolve().parents[1]
INSTALL_HINT = (
    "install Chromium to run them: `sudo apt-get install chromium` (Debian/Ubuntu), or point "
    "$CHROMIUM at a Chromium or Chrome binary"
)
#: Text that means a formula was not typeset (MathJax's delimiters left in the page's text).
RAW_MATH = re.compile(r"\\\(|\\\[|\$\$")
#: A Markdown table left as text: a row of cells followed by a separator row.
RAW_TABLE = re.compile(r"^\s*\|.*\|\s*\n\s*\|[\s:|-]*-{3,}[\s:|-]*\|\s*$", re.M)


def chromium() -> str | None:
    """Path of the Chromium to drive: ``$CHROMIUM``, else Debian's, else None."""
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def pages(html_root: Path) -> list[Path]:
    """Every page of the book: the chapters, the intro, the bibliography (not search/genindex)."""
    return sorted(
        p
        for p in html_root.rglob("*.html")
        if not p.name.startswith(("search", "genindex"))
        and not any(part.startswith("_") for part in p.relative_to(html_root).parts)
    )


def colab_url(notebook: str) -> str:
    """The launch button's expected target for ``notebooks/NAME``, from ``_config.yml``."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repository = urlparse(config["repository"]["url"]).path.strip("/")
    branch = config["repository"]["branch"]
    return (
        f"https://colab.research.google.com/github/{repository}/blob/{branch}/"
        f"notebooks/{notebook}.ipynb"
    )


class PageVisit:
    """One page opened in the browser, with the console errors and failed loads it produced."""

    def __init__(self, context, path: Path):
        self.path, self.errors = path, []
        self.page = context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.goto(path.as_uri(), wait_until="load")
        self.page.wait_for_function(
            "() => !window.MathJax || !MathJax.startup || MathJax.startup.promise", timeout=10_000
        )
        self.page.evaluate("async () => { if (window.MathJax && MathJax.startup) "
                           "await MathJax.startup.promise; }")  # fmt: skip

    def close(self) -> None:
        self.page.close()


def console_problems(visit: PageVisit) -> list[str]:
    return [f"{visit.path.name}: console error: {text}" for text in visit.errors]


def image_problems(visit: PageVisit) -> list[str]:
    broken = visit.page.evaluate(
        "() => Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
        ".map(i => i.getAttribute('src').slice(0, 80))"
    )
    return [f"{visit.path.name}: image not loaded: {src}" for src in broken]


def math_problems(visit: PageVisit, expect_math: bool) -> list[str]:
    """Formulas typeset (MathJax output present) and no raw delimiters left in the text."""
    text = visit.page.evaluate(
        "() => { const c = document.querySelector('main') || document.body;"
        " const copy = c.cloneNode(true);"
        " copy.querySelectorAll('pre, code, script, style, .cell_input').forEach(e => e.remove());"
        " return copy.innerText; }"
    )
    typeset = visit.page.evaluate("() => document.querySelectorAll('mjx-container').length")
    problems = []
    raw = RAW_MATH.search(text)
    if raw:
        context = text[max(0, raw.start() - 40) : raw.end() + 40].replace("\n", " ")
        problems.append(f"{visit.path.name}: formula not typeset: ...{context}...")
    if expect_math and typeset == 0:
        problems.append(f"{visit.path.name}: no typeset formula (MathJax did not run)")
    return problems


def table_problems(visit: PageVisit) -> list[str]:
    """Every table in a notebook's output is an HTML table, none left as Markdown text."""
    outputs = visit.page.evaluate(
        "() => Array.from(document.querySelectorAll('.cell_output')).map(o => o.innerText)"
    )
    return [
        f"{visit.path.name}: a table in a cell's output is raw Markdown text"
        for text in outputs
        if RAW_TABLE.search(text)
    ]


def link_problems(visit: PageVisit) -> list[str]:
    """Every link within the book points at a file that exists (and an anchor on it)."""
    hrefs = visit.page.evaluate(
        "() => Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"
    )
    problems, anchors = [], {}
    for href in hrefs:
        url = urlparse(href)
        if url.scheme != "file":
            continue
        target = Path(unquote(url.path))
        if not target.exists():
            problems.append(f"{visit.path.name}: broken link to {target.name}")
            continue
        if url.fragment and target.suffix == ".html":
            if target not in anchors:
                anchors[target] = set(re.findall(r'id="([^"]+)"', target.read_text()))
            if unquote(url.fragment) not in anchors[target]:
                problems.append(f"{visit.path.name}: no anchor #{url.fragment} in {target.name}")
    return problems


def launch_problems(visit: PageVisit, notebook: str) -> list[str]:
    """The Colab button opens this chapter's .ipynb on the configured repository and branch."""
    links = visit.page.evaluate(
        "() => Array.from(document.querySelectorAll('a[href*=\"colab.research.google.com\"]'))"
        ".map(a => a.href)"
    )
    expected = colab_url(notebook)
    if expected not in links:
        return [f"{visit.path.name}: Colab button {links or 'missing'}, expected {expected}"]
    return []


#: The VAE explorer's bound on |page - Keras| per pixel (float16 weights).
DECODER_BOUND = 1e-2
#: Generated digits a second the GAN explorer must draw in headless Chromium.
MIN_RATE = 20.0
#: The most bytes the GAN explorer (its HTML, weights and script) may add to its page.
MAX_WEIGHT = 400_000


def explorer_problems(visit: PageVisit, touch_context=None) -> list[str]:
    """The page's first explorer draws what Keras drew for the reference codes stored in the page
    (the VAE's decoder: max |difference| <= 1e-2; the GAN's 8-bit generator: within
    ``pagenet.GENERATOR_BOUND``), and its image changes when the pointer moves, when an arrow key
    is pressed and when the plane is touched (and, for the GAN, when new codes are drawn, and back
    when the first ones are)."""
    from vaegan_utils.pagenet import GENERATOR_BOUND

    page, name = visit.page, visit.path.name
    roots = page.query_selector_all(".vaegan-explorer")
    if not roots:
        return [f"{name}: no latent explorer on the page"]
    problems = []
    root = roots[0]
    uid = root.get_attribute("id")
    generator = "vaegan-generator" in (root.get_attribute("class") or "")
    if not root.is_visible():
        return [f"{name}: the explorer did not start (it stays hidden without its script)"]
    reference = json.loads(root.query_selector(".vaegan-reference").text_content())
    worst, mean = page.evaluate(
        "([uid, ref]) => { const e = window.vaeganExplorers[uid]; let worst = 0, sum = 0, n = 0;"
        " ref.points.forEach((p, k) => e.decode(p).forEach((v, i) =>"
        " { const d = Math.abs(v - ref.pixels[k][i]); worst = Math.max(worst, d); sum += d; n++;"
        " })); return [worst, sum / n]; }",
        [uid, reference],
    )
    bound = GENERATOR_BOUND if generator else {"max": DECODER_BOUND, "mean": DECODER_BOUND}
    if not (worst <= bound["max"] and mean <= bound["mean"]):
        problems.append(
            f"{name}: the page draws {worst:.3g} (max) / {mean:.3g} (mean) away from Keras "
            f"(bound {bound['max']} / {bound['mean']})"
        )
    plane_gap = (
        "([uid, ref]) => Math.max(...ref.positions.map((p, k) => Math.max(...Array.from("
        "window.vaeganExplorers[uid].code(p), (v, j) => Math.abs(v - ref.points[k][j])))))"
    )
    if generator:  # with the stored A, B, C (before "new codes" changes them)
        off = page.evaluate(plane_gap, [uid, reference])
        if not off <= 1e-4:
            problems.append(f"{name}: the page's plane puts codes {off:.3g} off Keras's")

    def digit() -> str:
        return page.evaluate(
            "(uid) => document.getElementById(uid).querySelector('.vaegan-digit').toDataURL()", uid
        )

    plane = root.query_selector(".vaegan-plane")
    plane.scroll_into_view_if_needed()
    box = plane.bounding_box()
    before = digit()
    page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.3 * box["height"])
    after_pointer = digit()
    if after_pointer == before:
        problems.append(f"{name}: the digit did not change when the pointer moved")
    plane.focus()
    z_before = page.evaluate("(uid) => window.vaeganExplorers[uid].getZ()", uid)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowUp")
    z_after = page.evaluate("(uid) => window.vaeganExplorers[uid].getZ()", uid)
    if z_after == z_before or digit() == after_pointer:
        problems.append(f"{name}: the arrow keys did not move the marker and the digit")
    if generator:
        after_keys = digit()
        root.query_selector(".vaegan-redraw").click()
        if digit() == after_keys:
            problems.append(f"{name}: the digit did not change when new codes were drawn")
        root.query_selector(".vaegan-reset").click()
        if digit() != after_keys or not page.evaluate(plane_gap, [uid, reference]) <= 1e-4:
            problems.append(f"{name}: the first A, B, C did not come back")
    if touch_context is not None:
        touch = touch_context.new_page()
        touch.goto(visit.path.as_uri(), wait_until="load")
        tplane = touch.query_selector(".vaegan-explorer .vaegan-plane")
        tplane.scroll_into_view_if_needed()
        tbox = tplane.bounding_box()
        image = "() => document.querySelector('.vaegan-explorer .vaegan-digit').toDataURL()"
        start = touch.evaluate(image)
        touch.touchscreen.tap(tbox["x"] + 0.8 * tbox["width"], tbox["y"] + 0.7 * tbox["height"])
        if touch.evaluate(image) == start:
            problems.append(f"{name}: the digit did not change when the plane was touched")
        touch.close()
    return problems


def generator_weight(html: str) -> int | None:
    """Bytes of the page's GAN explorer, from its ``<div>`` to the end of its starting script
    (None: no GAN explorer on the page)."""
    match = re.search(
        r'<div id="vaegan-generator-.*?vaeganGenerator\("[^"]+"\);</script>', html, re.S
    )
    return len(match.group(0).encode()) if match else None


def generator_rate(visit: PageVisit, n: int = 40) -> float:
    """Generated digits a second: ``n`` random positions of the GAN explorer's plane drawn by
    the page's generator (after three to warm up), timed in the page."""
    return visit.page.evaluate(
        "(n) => { const root = document.querySelector('.vaegan-generator');"
        " const e = window.vaeganExplorers[root.id];"
        " const at = () => e.code([2 * Math.random() - 1, 2 * Math.random() - 1]);"
        " for (let k = 0; k < 3; k++) e.decode(at());"
        " const start = performance.now();"
        " for (let k = 0; k < n; k++) e.decode(at());"
        " return n / ((performance.now() - start) / 1000); }",
        n,
    )


def generator_budget_problems(visit: PageVisit, measured: list[str] | None = None) -> list[str]:
    """The GAN explorer adds at most ``MAX_WEIGHT`` bytes to its page and draws at least
    ``MIN_RATE`` digits a second; both figures are appended to ``measured``."""
    name, weight = visit.path.name, generator_weight(visit.path.read_text())
    if weight is None or not visit.page.query_selector(".vaegan-generator[data-ready]"):
        return [f"{name}: no working GAN explorer on the page"]
    rate = generator_rate(visit)
    if measured is not None:
        measured.append(f"GAN explorer in headless Chromium: {rate:.0f} generated digits a second")
        measured.append(f"GAN explorer's share of its page: {weight / 1e3:.0f} kB")
    problems = []
    if not rate >= MIN_RATE:
        problems.append(f"{name}: the GAN explorer draws {rate:.1f} digits a second (< {MIN_RATE})")
    if not weight <= MAX_WEIGHT:
        problems.append(f"{name}: the GAN explorer weighs {weight / 1e3:.0f} kB (> {MAX_WEIGHT})")
    return problems


def slider_problems(visit: PageVisit) -> list[str]:
    """The interpolation slider changes its frame when moved with the keyboard."""
    page, name = visit.page, visit.path.name
    slider = page.query_selector(".vaegan-slider")
    if slider is None or not slider.is_visible():
        return [f"{name}: no working interpolation slider on the page"]
    frame = slider.query_selector(".vaegan-frame")
    before = frame.get_attribute("src")
    slider.query_selector(".vaegan-range").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    if frame.get_attribute("src") == before:
        return [f"{name}: the slider's frame did not change"]
    return []
