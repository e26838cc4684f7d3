"""Sphinx extension for the book's page assets: MathJax's SVG output, and each script once.

MathJax: ``sphinx-mathjax-offline`` ships MathJax 3 with the build and points Sphinx at its CHTML
output, whose web fonts a page opened from disk (file://) cannot load; its SVG output needs no
fonts. This extension is listed after it and points Sphinx at ``tex-svg.js`` instead.

Scripts: sphinx-thebe adds its inline configuration script (``const THEBE_JS_URL = ...``) each
time the environment reads documents, and the build reads twice, so every page got the script
twice and the browser reported "Identifier 'THEBE_JS_URL' has already been declared". This drops
repeated scripts from each page's context.
"""

from __future__ import annotations

from typing import Any


def _dedupe(app, pagename: str, templatename: str, context: dict[str, Any], doctree) -> None:
    seen, unique = set(), []
    for script in context.get("script_files", []):
        filename = str(getattr(script, "filename", script) or "")  # None and "" alike
        key = (filename, tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # In place: the builder's own list, to which later handlers (MathJax's) still add scripts.
    context["script_files"][:] = unique


def setup(app) -> dict[str, Any]:
    app.config.mathjax_path = "mathjax/tex-svg.js"  # shipped by sphinx-mathjax-offline
    # Early: html-page-context stops at the first handler that returns a template name.
    app.connect("html-page-context", _dedupe, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
