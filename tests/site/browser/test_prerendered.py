"""Diagrams and formulas are drawn ahead of time (docs/assets/prerendered/), and what is there is fresh.

tools/site_build/prerendered.py puts the drawn SVG or HTML into the page in place of a ```mermaid
fence or a formula; what it finds no drawing for is left to mermaid.js or KaTeX in the browser (right,
but heavy: tests/site/browser/test_page_weight.py). These tests read the site built for the browser tests
and fail until ``python tools/prerender.py`` has drawn what is new. No node, no browser here:
the drawing itself is checked in the browser by tests/site/browser/test_browser_pages.py (diagrams drawn,
labels readable in both color schemes, formulas typeset without errors).
"""

from __future__ import annotations

import html
import json
import re

import prerender

RUN = "run `python tools/prerender.py` (tools/prerender.py says how to set it up)"
SCRIPT = re.compile(r'<script src="[^"]*/(mermaid\.min\.js|katex\.min\.js)"')
UNDRAWN_DIAGRAM = '<pre class="mermaid">'
UNDRAWN_FORMULA = re.compile(r'class="arithmatex">\\[(\[]')
# class "mermaid", or with diagram-wide / diagram-narrow: a left-to-right flowchart and its top-to-bottom twin
DIAGRAM = re.compile(r'<div class="mermaid(?: diagram-wide| diagram-narrow)?" data-diagram="(?P<key>[0-9a-f]{16})" data-search-exclude><template shadowrootmode="open">(?P<svg><svg .*?</svg>)</template></div>', re.DOTALL)  # fmt: skip


def site_pages(built_site) -> dict[str, str]:
    return {str(path.relative_to(built_site)): path.read_text(encoding="utf-8") for path in built_site.rglob("*.html")}


def test_every_diagram_and_formula_is_drawn_ahead_of_time(built_site):
    undrawn = []
    for name, text in site_pages(built_site).items():
        if UNDRAWN_DIAGRAM in text:
            undrawn.append(f"{name}: {text.count(UNDRAWN_DIAGRAM)} diagram(s) left to mermaid.js")
        if UNDRAWN_FORMULA.search(text):
            undrawn.append(f"{name}: {len(UNDRAWN_FORMULA.findall(text))} formula(s) left to KaTeX")
        undrawn += [f"{name}: loads {script}" for script in SCRIPT.findall(text)]
    assert undrawn == [], f"{RUN}:\n" + "\n".join(undrawn)


def test_drawings_match_the_sources_and_settings_of_today(prerender_sources):
    """One SVG for each diagram the site has (named by its source), drawn with today's settings (mermaid
    and mermaid-cli from tools/prerender_js/package-lock.json, Material's mermaid CSS); one typeset formula
    for each formula, by the KaTeX copy the site serves."""
    svgs = {path.stem: path for path in prerender.DIAGRAMS.glob("*.svg")}
    diagrams = prerender_sources["diagrams"]
    assert set(svgs) == set(diagrams), (
        f"{RUN}: diagrams without a drawing {sorted(set(diagrams) - set(svgs))}, "
        f"drawings no page uses {sorted(set(svgs) - set(diagrams))}"
    )
    vendored = prerender.VENDORED.read_text(encoding="utf-8")
    mermaid = prerender.locked_versions()["mermaid"]
    assert f"mermaid {mermaid} " in vendored, (
        f"tools/prerender.py draws with mermaid {mermaid}, the site serves another"
    )
    settings = prerender.settings_key()
    stale = [path.name for path in svgs.values() if prerender.drawn_settings(path) != settings]
    assert stale == [], f"{RUN} --all: drawn with other settings (mermaid, mermaid-cli or Material changed): {stale}"

    drawn = json.loads(prerender.MATH.read_text(encoding="utf-8"))
    assert sorted(drawn["formulas"]) == sorted(prerender_sources["formulas"]), f"{RUN}: math.json differs from the site"
    katex = re.search(r'version:"([\d.]+)"', prerender.KATEX.read_text(encoding="utf-8"))
    assert katex and drawn["katex"] == katex[1], (
        f"{RUN}: formulas typeset by KaTeX {drawn['katex']}, the site has {katex}"
    )


def test_every_drawn_diagram_has_a_title_and_a_description(built_site):
    """Screen readers announce the SVG by its <title> and <desc> (mermaid's accTitle and accDescr)."""
    found = 0
    for name, text in site_pages(built_site).items():
        for diagram in DIAGRAM.finditer(text):
            found += 1
            svg = diagram["svg"]
            root = svg[: svg.index(">")]
            title = re.search(r'<title id="(?P<id>[^"]+)">(?P<text>[^<]+)</title>', svg)
            desc = re.search(r'<desc id="(?P<id>[^"]+)">(?P<text>[^<]+)</desc>', svg)
            assert title and desc, f"{name}: a diagram without accTitle and accDescr in its ```mermaid source"
            assert f'aria-labelledby="{title["id"]}"' in root and f'aria-describedby="{desc["id"]}"' in root, root
            assert len(html.unescape(desc["text"])) >= 20, f"{name}: describe the diagram in a sentence: {desc['text']}"
    assert found >= 10  # the landing page, SFT, prompt format (2), LoRA: each left to right and top to bottom
