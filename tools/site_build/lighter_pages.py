"""The same pages with fewer bytes (every page stays under 1 MB, tests/site/browser/test_page_weight.py).

- search/search_index.json, which every page loads, is written as UTF-8 text: Material writes Japanese
  as \\uXXXX escapes (6 bytes a character instead of 3), 530 KB instead of 330 KB.
- Code blocks are left out of the index (74 KB of the hands-on's alone): a hit on a cell filled a
  phone's screen with code, and the prose around each cell names what it does (a search for
  SFTTrainer still finds the hands-on by its text).
- Notebook pages are left out of the search index: a notebook page is generated from the hands-on page
  (tools/build_forms.py) and holds the same text and code, so a search found everything twice;
  the hands-on page is the one that explains it.
- A notebook page without mermaid cells goes without nbconvert's script that would draw them (11 KB).
- A notebook page (mkdocs-jupyter) carries JupyterLab's whole stylesheet inline, 575 KB, mostly rules
  for JupyterLab's own interface. Kept are the rules whose JupyterLab classes (jp-, bp3-, lm-, ...)
  occur in the page, and the CSS variables something still uses. Rules for other classes, and classes
  inside :not(), :is() and the like, are always kept.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

# Classes of JupyterLab's interface (its stylesheet is the only place that names them).
JUPYTER_CLASS = re.compile(r"(?:jp|bp3|lm|p|cm|ansi)-[\w-]*|CodeMirror[\w-]*")
STYLE = re.compile(r'(<style type="text/css">)(?P<css>.*?)(</style>)', re.DOTALL)
# nbconvert's script that draws a notebook's mermaid cells (it would import mermaid from a CDN)
MERMAID_LOADER = re.compile(
    r'<script type="module">(?:(?!</script>).)*?\.jp-Mermaid(?:(?!</script>).)*?</script>', re.DOTALL
)
NESTED_RULES = ("@media", "@supports", "@layer", "@container", "@document")

_site_css: list[str] = []
CODE_BLOCK = re.compile(r"<pre>.*?</pre>", re.DOTALL)


def on_config(config):
    """Every stylesheet the site serves: a variable one of them uses stays (Material's and ours)."""
    _site_css.clear()
    folders = [Path(folder) for folder in config.theme.dirs] + [Path(config["docs_dir"])]
    for folder in folders:
        for css in folder.glob("**/*.css"):
            if "prerendered" not in css.parts:
                _site_css.append(css.read_text(encoding="utf-8", errors="replace"))
    return config


def on_page_content(content, page, config, files):
    if page.file.src_uri.endswith(".ipynb"):
        page.meta["search"] = {**(page.meta.get("search") or {}), "exclude": True}
    return content


def on_post_page(output, page, config):
    if not page.file.src_uri.endswith(".ipynb"):
        return output
    if not re.search(r'class="[^"]*\bjp-Mermaid\b', output):  # nbconvert's loader for mermaid cells: none here
        output = MERMAID_LOADER.sub("", output)
    sheets = [match["css"] for match in STYLE.finditer(output) if ".jupyter-wrapper" in match["css"]]
    rest = output
    for css in sheets:
        rest = rest.replace(css, "", 1)
    present = set(re.findall(r"[\w-]+", rest))
    rules = [_drop_unused_rules(css, present) for css in sheets]
    for number, (original, css) in enumerate(zip(sheets, rules, strict=True)):
        others = rules[:number] + rules[number + 1 :]
        output = output.replace(original, _drop_unused_variables(css, "".join([rest, *others, *_site_css])), 1)
    return output


def on_post_build(config):
    index = Path(config["site_dir"]) / "search" / "search_index.json"
    if index.exists():
        data = json.loads(index.read_text(encoding="utf-8"))
        for doc in data["docs"]:
            doc["text"] = CODE_BLOCK.sub("", doc["text"])
        index.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


# -- a small CSS reader: statements, selector lists, declarations (strings, comments, brackets respected)


def _statements(css: str) -> list[tuple[str, str | None]]:
    """Top-level statements: (prelude, block) for rules and at-rules with a block, (text, None) for the rest."""
    out, start, depth, i, n = [], 0, 0, 0, len(css)
    prelude_end = 0
    while i < n:
        c = css[i]
        if c in "\"'":
            i += 1
            while i < n and css[i] != c:
                i += 2 if css[i] == "\\" else 1
        elif css.startswith("/*", i):
            end = css.find("*/", i + 2)
            i = n if end < 0 else end + 1
        elif c == "{":
            if depth == 0:
                prelude_end = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                out.append((css[start:prelude_end].strip(), css[prelude_end + 1 : i]))
                start = i + 1
        elif c == ";" and depth == 0:
            out.append((css[start:i].strip(), None))
            start = i + 1
        i += 1
    if css[start:].strip():
        out.append((css[start:].strip(), None))
    return out


def _split(text: str, separator: str) -> list[str]:
    """Split at a separator outside strings and brackets."""
    parts, current, depth, quote, i = [], [], 0, None, 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                current.append(text[i : i + 2])
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == separator and depth == 0:
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(c)
        i += 1
    parts.append("".join(current))
    return parts


def _may_match(selector: str, present: set[str]) -> bool:
    bare = re.sub(r"\([^()]*\)", "", selector)  # classes inside :not(), :is(), ... decide nothing
    classes = re.findall(r"\.(-?[_a-zA-Z][\w-]*)", bare)
    return all(name in present for name in classes if JUPYTER_CLASS.fullmatch(name))


def _rewrite_rules(css: str, rule) -> str:
    """Walk the style sheet (into @media and the like) and let ``rule(prelude, block)`` rewrite each plain
    rule (``""`` drops it); statements and other at-rules stay as they are."""
    out = []
    for prelude, block in _statements(css):
        if block is None:
            out.append(prelude + ";")
        elif prelude.startswith(NESTED_RULES):
            inner = _rewrite_rules(block, rule)
            if inner.strip():
                out.append(f"{prelude}{{{inner}}}")
        elif prelude.startswith("@"):
            out.append(f"{prelude}{{{block}}}")
        else:
            out.append(rule(prelude, block))
    return "".join(out)


def _drop_unused_rules(css: str, present: set[str]) -> str:
    def rule(prelude: str, block: str) -> str:
        selectors = [s.strip() for s in _split(prelude, ",") if _may_match(s.strip(), present)]
        return f"{','.join(selectors)}{{{block}}}" if selectors else ""

    return _rewrite_rules(css, rule)


def _drop_unused_variables(css: str, elsewhere: str) -> str:
    """Drop custom properties (--name: ...) that no var(--name) uses, until none is left to drop."""
    while True:
        used = set(re.findall(r"var\(\s*(--[\w-]+)", css + elsewhere))
        kept = _keep_variables(css, used)
        if kept == css:
            return css
        css = kept


def _keep_variables(css: str, used: set[str]) -> str:
    def rule(prelude: str, block: str) -> str:
        declarations = [
            declaration
            for declaration in _split(block, ";")
            if not (name := re.match(r"\s*(--[\w-]+)\s*:", declaration)) or name[1] in used
        ]
        kept = ";".join(declarations)
        return f"{prelude}{{{kept}}}" if kept.strip(" ;\n\t") else ""

    return _rewrite_rules(css, rule)
