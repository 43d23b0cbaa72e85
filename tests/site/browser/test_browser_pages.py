"""Every page in a real browser: it loads cleanly, its formulas and diagrams are drawn from local copies,
and the diagrams stay readable in the light and the dark color scheme.

The copy buttons are clicked in the same load (tests/site/browser/copy_buttons.py), and what a reader sees at
1280 and 390 px is measured in it (tests/site/browser/readability.py, checked by test_readability.py).
The ``page`` fixture fails a test on any console error, uncaught error, or request off 127.0.0.1.
"""

from __future__ import annotations

import re

import pytest
from copy_buttons import PAGES_WITH_SNIPPETS, copy_every_block
from page_weight import settle
from readability import measure
from site_pages import DOCS, expanded, mkdocs_config, source_pages, url_path

PAGES = source_pages()

# Material replaces each ```mermaid fence (pre.mermaid) with a div.mermaid holding the SVG.
DIAGRAMS_DRAWN = """() => !document.querySelector("pre.mermaid") &&
  [...document.querySelectorAll("div.mermaid")].every(d => d.shadowRoot && d.shadowRoot.querySelector("svg"))"""

MATH_DONE = """() => [...document.querySelectorAll(".arithmatex")].every(el => el.querySelector(".katex"))"""

DRAWN = """() => {
  const diagrams = [...document.querySelectorAll("div.mermaid")].map(d => {
    const svg = d.shadowRoot.querySelector("svg")
    const box = svg.getBoundingClientRect()
    return {width: box.width, height: box.height, text: svg.textContent,
            nodes: svg.querySelectorAll("g.node").length}
  })
  const math = [...document.querySelectorAll(".arithmatex")].map(el => ({
    source: el.textContent.slice(0, 60),
    katex: !!el.querySelector(".katex"),
    error: !!el.querySelector(".katex-error"),
    width: el.getBoundingClientRect().width,
  }))
  return {diagrams, math, h1: document.querySelector("h1")?.textContent ?? ""}
}"""

# For every node of every diagram: the label's text color and the node's fill, composited over the
# page background (the fills are translucent so that one diagram suits both schemes).
NODE_COLORS = """() => {
  const parse = c => { const m = c.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1] }
  const over = (top, bottom) => top.slice(0, 3).map((v, i) => v * top[3] + bottom[i] * (1 - top[3]))
  const background = parse(getComputedStyle(document.body).backgroundColor)
  const nodes = []
  for (const host of document.querySelectorAll("div.mermaid")) {
    for (const node of host.shadowRoot.querySelectorAll("g.node")) {
      const shape = node.querySelector("rect, polygon, circle, path")
      const label = node.querySelector(".nodeLabel") || node.querySelector("text")
      if (!shape || !label || !label.textContent.trim()) continue
      const fill = getComputedStyle(shape).fill
      const fillColor = fill.startsWith("rgb") ? over(parse(fill), background) : background.slice(0, 3)
      // the color that paints the text: the element holding the first text node (a <p> inside the label)
      const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT, {acceptNode: n => n.textContent.trim() ? 1 : 3})
      const painted = walker.nextNode()?.parentElement ?? label
      nodes.push({text: label.textContent.trim(), color: parse(getComputedStyle(painted).color).slice(0, 3), fill: fillColor})
    }
  }
  return nodes
}"""


def contrast(a: list[float], b: list[float]) -> float:
    """WCAG contrast ratio of two sRGB colors (0-255)."""

    def luminance(rgb):
        channels = [c / 255 for c in rgb]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def open_page(page, site_url, path, scheme="light"):
    page.emulate_media(color_scheme=scheme)
    response = page.goto(site_url + path)
    assert response is not None and response.status == 200, f"{path}: HTTP {response and response.status}"
    page.wait_for_function(DIAGRAMS_DRAWN)
    page.wait_for_function(MATH_DONE)
    return page.evaluate(DRAWN)


# Pictures the issue asks for, by what their labels say.
EXPECTED_DIAGRAMS = {
    "concepts/lora.md": ("凍結", "学習する", "α / r"),  # LoRA: W frozen beside the trained A and B
    "index.md": ("0. 準備", "SFTTrainer", "保存・公開・マージ"),  # the flow of the hands-on
}


def low_contrast(page) -> tuple[int, list[str]]:
    """How many diagram nodes the page has, and those whose label is below WCAG AA contrast (4.5)."""
    nodes = page.evaluate(NODE_COLORS)
    ratios = [(node["text"], contrast(node["color"], node["fill"])) for node in nodes]
    return len(nodes), [f"{text!r}: {ratio:.1f}" for text, ratio in ratios if ratio < 4.5]


@pytest.mark.parametrize("source", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_loads_and_draws_formulas_and_diagrams(
    page_without_search, site_url, source, received, page_weights, page_copies, page_layouts
):
    page = page_without_search
    received.clear(page)
    drawn = open_page(page, site_url, url_path(source))
    # The bytes of this load, for tests/site/browser/test_page_weight.py (which adds the search worker's)
    page_weights[url_path(source)] = settle(page, received)

    assert drawn["h1"].strip(), "page has no title"
    # A left-to-right diagram also comes drawn top to bottom; the column's width shows one of the two
    shown = [diagram for diagram in drawn["diagrams"] if diagram["width"] > 0]
    assert len(shown) == expanded(source).count("```mermaid")
    for diagram in shown:
        assert diagram["width"] > 100 and diagram["height"] > 30, diagram
        assert diagram["nodes"] > 0, diagram
        assert "Syntax error" not in diagram["text"], diagram
    for formula in drawn["math"]:
        assert formula["katex"] and not formula["error"] and formula["width"] > 0, formula
    name = source.relative_to(DOCS).as_posix()
    if name in EXPECTED_DIAGRAMS:
        labels = EXPECTED_DIAGRAMS[name]
        assert any(all(label in d["text"] for label in labels) for d in drawn["diagrams"]), (labels, drawn["diagrams"])

    if shown:
        # Labels keep WCAG AA contrast (4.5) against their node in both schemes. Switching the
        # scheme the way Material's toggle does (an attribute on body) redraws nothing: the
        # diagrams take their colors from the scheme's CSS variables.
        for scheme in ("default", "slate"):
            page.evaluate(f"document.body.setAttribute('data-md-color-scheme', '{scheme}')")
            count, low = low_contrast(page)
            assert count > 0 and low == [], f"{scheme}: labels hard to read: {low}"

    # What a reader sees at 1280 and 390 px, for tests/site/browser/test_readability.py (before the clicks below)
    page_layouts[url_path(source)] = measure(page)

    # The copy buttons, clicked in this load, for tests/site/browser/test_copy_buttons.py (one load a page)
    if source in PAGES_WITH_SNIPPETS:
        page_copies[url_path(source)] = copy_every_block(page)


def test_dark_preference_opens_the_dark_scheme_with_readable_diagrams(page_without_search, site_url):
    page = page_without_search
    drawn = open_page(page, site_url, "concepts/lora/", scheme="dark")
    assert page.evaluate("document.body.getAttribute('data-md-color-scheme')") == "slate"
    assert any("凍結" in d["text"] for d in drawn["diagrams"])
    assert len(drawn["math"]) >= 10  # the page explains LoRA with formulas, drawn in the dark scheme too
    count, low = low_contrast(page)
    assert count >= 5 and low == [], low


def test_flow_diagram_names_every_hands_on_step():
    """The flow on the top page follows the hands-on's numbered sections (## 0. ... ## 8.)."""
    headings = re.findall(r"^## (\d+)\. (.+?) \{#", (DOCS / "handson.md").read_text(encoding="utf-8"), re.MULTILINE)
    flow = (DOCS / "includes" / "flow-diagram.md").read_text(encoding="utf-8")
    assert len(headings) >= 5
    for number, title in headings:
        assert f'"{number}. ' in flow, f"step {number} ({title}) is missing from the flow diagram"


def test_the_offsite_guard_sees_a_request_that_leaves_127_0_0_1(shared_tab, traffic):
    """Negative control for every other test here: a request to another host is caught and blocked."""
    traffic.take()
    shared_tab.evaluate("() => fetch('https://cdn.example.invalid/lib.js').catch(() => null)")
    shared_tab.wait_for_timeout(200)
    offsite, _ = traffic.take()  # taking them keeps this deliberate request from failing the test
    assert "https://cdn.example.invalid/lib.js" in offsite


def test_internal_links_and_anchors_are_checked_by_the_strict_build():
    """A broken link or #anchor between pages is a warning in mkdocs.yml's validation, and a warning
    fails the strict build (tests/site/test_build.py). Links inside one page are checked the same way."""
    config = mkdocs_config()
    assert config["strict"] is True
    for check in ("omitted_files", "absolute_links", "unrecognized_links", "anchors"):
        assert config["validation"][check] == "warn", check
