"""The notebook page (mkdocs-jupyter) reads like the hands-on page it is made from.

- Table of contents: mkdocs-jupyter builds it from Markdown headings, and the notebook's headings are
  HTML (they keep the hands-on's ids, tools/notebook.py), so the 27,000 px page had an empty one.
  It is made here from the headings of the rendered page.
- Notes: the hands-on's admonitions are quotes in the notebook (Jupyter and Colab have no admonitions),
  "> **title**" then the text. On the page they become Material admonitions again, of the kind the
  same title has on the site's pages (note where no page has that title), folded (a collapsible
  block) where the site's page folds them, and before the first step (meta notes out of the way).
- Colab: the page's ``colab_url`` (page.meta) is the notebook's address for Colab from tools/project.py, or
  None where the repository is unknown; docs/overrides/main.html shows it as the labelled Colab button.

The labelled Colab and download buttons are in docs/overrides/main.html; prompts are left out by
mkdocs.yml (mkdocs-jupyter's no_prompt). Checked by tests/site/browser/test_browser_notebook.py.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from mkdocs.structure.toc import get_toc
from project import DOCS, colab_url

HEADING = re.compile(r'<h(?P<level>[1-6]) id="(?P<id>[^"]+)"[^>]*>(?P<name>.*?)</h(?P=level)>', re.DOTALL)
# A quote that starts with a bold title, alone in its paragraph or followed by ": text"
QUOTE = re.compile(
    r"<blockquote>\s*<p><strong>(?P<title>[^<]+)</strong>(?:</p>|[:：]\s*(?P<rest>))(?P<body>.*?)</blockquote>",
    re.DOTALL,
)
ADMONITION = re.compile(
    r'^\s*(?P<marker>!!!|\?\?\?\+?)\s+(?P<kind>[\w-]+)(?:\s+[\w-]+)*\s+"(?P<title>[^"]*)"', re.MULTILINE
)

_kinds: dict[str, str] = {}
_folded: set[str] = set()


def on_config(config):
    """Admonition titles of the site's pages -> their kind (note, info, tip, ...)."""
    _kinds.clear()
    _folded.clear()
    for page in sorted(Path(config["docs_dir"]).glob("**/*.md")):
        for match in ADMONITION.finditer(page.read_text(encoding="utf-8")):
            _kinds.setdefault(match["title"], match["kind"])
            if match["marker"] == "???":
                _folded.add(match["title"])
    return config


def toc_tokens(content: str) -> list[dict]:
    """Nested headings (h1 at the top, as Python-Markdown's toc gives them)."""
    root: list[dict] = []
    stack: list[dict] = []
    for match in HEADING.finditer(content):
        name = html.unescape(re.sub(r"<[^>]+>", "", match["name"])).strip()
        token = {"level": int(match["level"]), "id": match["id"], "name": name, "children": []}
        while stack and stack[-1]["level"] >= token["level"]:
            stack.pop()
        (stack[-1]["children"] if stack else root).append(token)
        stack.append(token)
    return root


def admonition(match: re.Match, before_first_step: bool) -> str:
    title = html.unescape(match["title"])
    kind = _kinds.get(title, "note")
    body = match["body"] if match["rest"] is None else f"<p>{match['body']}"
    if title in _folded or before_first_step:
        return f'<details class="{kind} page-meta"><summary>{match["title"]}</summary>{body}</details>'
    return f'<div class="admonition {kind}"><p class="admonition-title">{match["title"]}</p>{body}</div>'


def on_page_content(content, page, config, files):
    if not page.file.src_uri.endswith(".ipynb"):
        return content
    page.meta["colab_url"] = colab_url(DOCS / page.file.src_uri)
    first_step = content.find("<h2")
    content = QUOTE.sub(lambda m: admonition(m, first_step < 0 or m.start() < first_step), content)
    page.toc = get_toc(toc_tokens(content))
    return content
