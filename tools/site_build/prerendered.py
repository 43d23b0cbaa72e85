"""Diagrams and formulas drawn ahead of time, so that no page needs mermaid.js (3.5 MB)
or katex.min.js (273 KB) in the browser.

- A ```mermaid fence becomes the SVG that mermaid drew from that very source, read from
  docs/assets/prerendered/diagrams/<key>.svg (key: the first 16 hex digits of the source's sha256).
  The SVG goes into a declarative shadow root of a div.mermaid, where Material's own code puts the
  diagrams it draws: the page's styles stay out, the color scheme's CSS variables come in (the SVG's
  colors are Material's mermaid CSS, so one SVG is right in the light and the dark scheme).
- A formula (pymdownx.arithmatex, generic mode: ``\\(...\\)`` and ``\\[...\\]``) becomes the HTML that
  the site's KaTeX (docs/assets/vendor/katex/katex.min.js) makes of it, read from
  docs/assets/prerendered/math.json (formula with its delimiters -> HTML).

Both are written by ``python tools/prerender.py`` (node, mermaid-cli and chromium) and
committed, so building the site needs neither node nor a browser. A diagram or formula that has not
been drawn yet (just edited) is left to the browser, as before: the page loads mermaid.js or KaTeX
from docs/assets/vendor/ (see docs/overrides/partials/javascripts/content.html), still correct but
heavy. The build says so (INFO), and tests/site/browser/test_prerendered.py fails until prerender.py has run.

Diagrams stay legible at every width: text never below MIN_TEXT_PX (each SVG gets a minimum width:
its drawn width x MIN_TEXT_PX / LABEL_PX; where the column is narrower the diagram scrolls sideways,
with the scroll shadows of docs/stylesheets/extra.css). A left-to-right flowchart also comes drawn top to
bottom (its "narrow twin", the same source with ``flowchart TB``): a container query per diagram shows the
left-to-right drawing where the column holds it at that minimum, the top-to-bottom one elsewhere (a phone).

``PRERENDER_SOURCES=<file>``: the build writes every diagram source and formula it met to <file>
(JSON); prerender.py reads them from there, so the sources are read by the Markdown toolchain only.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import re
import textwrap
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.prerendered")

PRERENDERED = "assets/prerendered"  # under docs_dir (left out of the site: mkdocs.yml exclude_docs)
DIAGRAM = re.compile(r'<pre class="mermaid"><code>(?P<source>.*?)</code></pre>', re.DOTALL)
FORMULA = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">(?P<formula>\\\((?:(?!</span>).)*?\\\)|\\\[(?:(?!</div>).)*?\\\])</(?P=tag)>',
    re.DOTALL,
)
PRERENDER_COMMAND = "python tools/prerender.py"
LABEL_PX = 16  # the font size mermaid draws labels in (Material's mermaid CSS)
MIN_TEXT_PX = 12  # the smallest label a reader gets, at any width (body text is 16 px)
LEFT_TO_RIGHT = re.compile(r"\A(?P<head>(?:\s*%%.*\n)*\s*flowchart\s+)(?:LR|RL)\b")  # after %%{init}%% lines
VIEWBOX_WIDTH = re.compile(r'<svg[^>]*?viewBox="[-\d.]+ [-\d.]+ (?P<width>[\d.]+) [\d.]+"')

_state: dict = {}


def diagram_source(text: str) -> str:
    """The diagram's source as a fence holds it, whatever its indentation and line ends."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return textwrap.dedent("\n".join(lines)).strip("\n")


def diagram_key(source: str) -> str:
    return hashlib.sha256(diagram_source(source).encode("utf-8")).hexdigest()[:16]


def narrow_twin(source: str) -> str | None:
    """The same flowchart drawn top to bottom, for a left-to-right one (None for any other diagram)."""
    if not LEFT_TO_RIGHT.match(source):
        return None
    return LEFT_TO_RIGHT.sub(lambda m: m["head"] + "TB", source, count=1)


def min_width(svg: str) -> int:
    """The width (px) at which the SVG's labels are MIN_TEXT_PX high."""
    match = VIEWBOX_WIDTH.search(svg)
    return round(float(match["width"]) * MIN_TEXT_PX / LABEL_PX) if match else 0


def diagram_html(key: str, svg: str, extra_class: str = "") -> str:
    svg = svg[svg.index("<svg") :].strip()  # without the header comment
    svg = svg.replace('style="', f'style="min-width: {min_width(svg)}px; ', 1)
    # data-search-exclude: the labels are not page text for Material's search (the prose around says it)
    return (
        f'<div class="mermaid{extra_class}" data-diagram="{key}" data-search-exclude>'
        f'<template shadowrootmode="open">{svg}</template></div>'
    )


def notebook_has_math(page) -> bool:
    """A notebook's markdown keeps its $ ... $ math, for KaTeX in the browser (assets/javascripts/math.js)."""
    if not page.file.src_uri.endswith(".ipynb"):
        return False
    cells = json.loads(Path(page.file.abs_src_path).read_text(encoding="utf-8"))["cells"]
    return any("$" in "".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


def on_config(config):
    folder = Path(config["docs_dir"]) / PRERENDERED
    math_file = folder / "math.json"
    _state.clear()
    _state.update(
        diagrams=folder / "diagrams",
        math=json.loads(math_file.read_text(encoding="utf-8"))["formulas"] if math_file.exists() else {},
        seen={"diagrams": {}, "formulas": {}},
    )
    return config


def on_page_content(content, page, config, files):
    name = page.file.src_uri
    missing = {"diagrams": 0, "formulas": 0}

    def diagram(match):
        source = diagram_source(html.unescape(match["source"]))
        key = diagram_key(source)
        _state["seen"]["diagrams"][key] = source
        twin = narrow_twin(source)
        if twin is not None:
            twin_key = diagram_key(twin)
            _state["seen"]["diagrams"][twin_key] = twin
        svg_file = _state["diagrams"] / f"{key}.svg"
        if not svg_file.exists():
            missing["diagrams"] += 1
            return match[0]  # drawn by mermaid.js in the browser (partials/javascripts/content.html)
        svg = svg_file.read_text(encoding="utf-8")
        if twin is None:
            return diagram_html(key, svg)
        twin_file = _state["diagrams"] / f"{twin_key}.svg"
        if not twin_file.exists():
            missing["diagrams"] += 1
            return diagram_html(key, svg)  # left to right only, until the twin is drawn
        wide = min_width(svg)
        # Left to right where the column holds it with MIN_TEXT_PX labels, top to bottom elsewhere
        query = (
            f"<style>@container diagram (min-width: {wide}px) {{"
            f'.md-typeset .diagram-pair > [data-diagram="{key}"] {{ display: block }} '
            f'.md-typeset .diagram-pair > [data-diagram="{twin_key}"] {{ display: none }} }}</style>'
        )
        return (
            f'<div class="diagram-pair">{query}{diagram_html(key, svg, " diagram-wide")}'
            f"{diagram_html(twin_key, twin_file.read_text(encoding='utf-8'), ' diagram-narrow')}</div>"
        )

    def formula(match):
        tex = html.unescape(match["formula"])
        _state["seen"]["formulas"][tex] = True
        drawn = _state["math"].get(tex)
        if drawn is None:
            missing["formulas"] += 1
            return match[0]  # typeset by KaTeX in the browser (assets/javascripts/math.js)
        # in a <span>, as KaTeX's auto-render puts it (Material's CSS sizes div.arithmatex > *)
        return f'<{match["tag"]} class="arithmatex"><span>{drawn}</span></{match["tag"]}>'

    content = DIAGRAM.sub(diagram, content)
    content = FORMULA.sub(formula, content)

    # What the page's templates load (main.html, partials/javascripts/content.html)
    page.meta["client_diagrams"] = '<pre class="mermaid">' in content
    page.meta["client_math"] = bool(FORMULA.search(content)) or notebook_has_math(page)
    page.meta["katex_css"] = page.meta["client_math"] or 'class="katex' in content
    for kind, count in missing.items():
        if count:
            log.info(
                f"{name}: {count} {kind} not drawn ahead of time yet, left to the browser "
                f"(heavier page); run `{PRERENDER_COMMAND}`"
            )
    return content


def on_post_build(config):
    target = os.environ.get("PRERENDER_SOURCES")
    if target:
        seen = _state["seen"]
        Path(target).write_text(
            json.dumps(
                {"diagrams": seen["diagrams"], "formulas": sorted(seen["formulas"])}, ensure_ascii=False, indent=1
            ),
            encoding="utf-8",
        )
