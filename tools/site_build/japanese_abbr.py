"""Glossary tooltips (abbr) that work inside Japanese sentences, sparingly, and on touch screens.

- Python-Markdown's abbr extension only matches a term between word boundaries (\\b). Japanese
  letters count as word characters, so "LoRAを" or "基盤モデルの" never match. The pattern here only
  refuses ASCII letters and digits around a term.
- A term is marked at its first use in each section (a heading starts a new one), not at every use:
  a page full of dotted underlines reads like a page full of typos.
- Never in headings, tab labels, table headers, admonition titles, the summary of a collapsible
  block, links or code: there the underline breaks up a label and the tooltip hides it.
- Each mark is a link to the term's entry in the glossary (docs/glossary.md, a heading with an id per
  term): a tap on a touch screen, where no tooltip appears, opens the explanation. The glossary page
  itself has no marks.

Checked in the browser by tests/site/browser/test_browser_pages.py; the terms' entries by tests/site/browser/test_glossary.py.
"""

from __future__ import annotations

import logging
import posixpath
import re
import xml.etree.ElementTree as etree
from pathlib import Path

from markdown.extensions.abbr import AbbrExtension, AbbrTreeprocessor
from markdown.util import AtomicString

log = logging.getLogger("mkdocs.hooks.japanese_abbr")

GLOSSARY = "glossary.md"
# A glossary entry: ### 教師ありファインチューニング（SFT） {#sft}
ENTRY = re.compile(r"^###\s+(?P<names>.+?)\s*\{\s*#(?P<id>[\w-]+)\s*\}\s*$", re.MULTILINE)
ALIAS = re.compile(r"^(?P<name>.+?)（(?P<alias>[^（）]+)）$")
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Where no mark goes (and its text is no first use either)
SKIPPED_TAGS = HEADINGS | {"th", "a", "abbr", "code", "pre", "kbd", "label", "summary", "script", "style", "button"}
SKIPPED_CLASSES = {"admonition-title", "tabbed-labels", "md-button"}

_state: dict = {"page": None, "entries": {}}


def glossary_entries(text: str) -> dict[str, str]:
    """Term -> anchor, from the glossary's entries (both names of 「名前（別名）」)."""
    entries = {}
    for match in ENTRY.finditer(text):
        names = match["names"].strip()
        entries[names] = match["id"]
        if alias := ALIAS.match(names):
            entries[alias["name"].strip()] = match["id"]
            entries[alias["alias"].strip()] = match["id"]
    return entries


def skipped(el: etree.Element) -> bool:
    classes = set((el.get("class") or "").split())
    return el.tag in SKIPPED_TAGS or bool(classes & SKIPPED_CLASSES)


class JapaneseAbbrTreeprocessor(AbbrTreeprocessor):
    def run(self, root):
        page = _state["page"]
        if not self.abbrs or page is None or page.file.src_uri == GLOSSARY:
            return
        terms = sorted(self.abbrs, key=len, reverse=True)
        self.RE = re.compile(rf"(?<![A-Za-z0-9_])(?:{'|'.join(map(re.escape, terms))})(?![A-Za-z0-9_])")
        self.glossary = posixpath.relpath(GLOSSARY, posixpath.dirname(page.file.src_uri) or ".")
        self.seen: set[str] = set()
        self.walk(root)

    def walk(self, el: etree.Element) -> None:
        """Document order: the element's text, then each child and the text after it."""
        if el.tag in HEADINGS:
            self.seen = set()
        if skipped(el):
            return
        children = list(el)  # before any mark goes in
        if el.text and not isinstance(el.text, AtomicString):
            el.text = self.mark(el.text, lambda node, i: el.insert(i, node))
        for child in children:
            self.walk(child)
            if child.tail and not isinstance(child.tail, AtomicString):
                at = list(el).index(child) + 1
                child.tail = self.mark(child.tail, lambda node, i, at=at: el.insert(at + i, node))

    def mark(self, text: str, insert) -> str:
        """Mark first uses in ``text``; returns the text before the first mark."""
        firsts = []
        for match in self.RE.finditer(text):
            if match[0] not in self.seen and self.abbrs.get(match[0]):
                self.seen.add(match[0])
                firsts.append(match)
        if not firsts:
            return text
        for number, match in enumerate(firsts):
            end = firsts[number + 1].start() if number + 1 < len(firsts) else len(text)
            insert(self.link(match[0], text[match.end() : end]), number)
        return text[: firsts[0].start()]

    def link(self, term: str, tail: str) -> etree.Element:
        anchor = _state["entries"].get(term)
        if anchor is None:
            log.warning(f"{GLOSSARY} has no entry for the term 「{term}」 of includes/abbreviations.md")
        link = etree.Element("a", {"href": f"{self.glossary}#{anchor}", "class": "glossary-term"})
        abbr = etree.SubElement(link, "abbr", {"title": self.abbrs[term]})
        abbr.text = AtomicString(term)
        link.tail = tail
        return link


class JapaneseAbbrExtension(AbbrExtension):
    def extendMarkdown(self, md):
        super().extendMarkdown(md)
        md.treeprocessors.register(JapaneseAbbrTreeprocessor(md, self.abbrs), "abbr", 7)


def on_config(config):
    extensions = config["markdown_extensions"]
    config["markdown_extensions"] = [JapaneseAbbrExtension() if ext == "abbr" else ext for ext in extensions]
    glossary = Path(config["docs_dir"]) / GLOSSARY
    _state["entries"] = glossary_entries(glossary.read_text(encoding="utf-8")) if glossary.exists() else {}
    return config


def on_page_markdown(markdown, page, config, files):
    _state["page"] = page  # the page the next Markdown run renders (links are relative to it)
    return markdown
