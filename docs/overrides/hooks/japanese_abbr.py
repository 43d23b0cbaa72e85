"""mkdocs hook: glossary tooltips (abbr) that also work inside Japanese sentences.

Python-Markdown's abbr extension only matches a term between word boundaries (\\b). Japanese
letters count as word characters, so "LoRAを" or "基盤モデルの" never match. This hook swaps
in a subclass whose pattern only refuses ASCII letters and digits around a term.
"""

import re

from markdown.extensions.abbr import AbbrExtension, AbbrTreeprocessor


class JapaneseAbbrTreeprocessor(AbbrTreeprocessor):
    def run(self, root):
        if not self.abbrs:
            return
        terms = sorted(self.abbrs, key=len, reverse=True)
        self.RE = re.compile(rf"(?<![A-Za-z0-9_])(?:{'|'.join(map(re.escape, terms))})(?![A-Za-z0-9_])")
        self.iter_element(root)


class JapaneseAbbrExtension(AbbrExtension):
    def extendMarkdown(self, md):
        super().extendMarkdown(md)
        md.treeprocessors.register(JapaneseAbbrTreeprocessor(md, self.abbrs), "abbr", 7)


def on_config(config):
    extensions = config["markdown_extensions"]
    config["markdown_extensions"] = [JapaneseAbbrExtension() if ext == "abbr" else ext for ext in extensions]
    return config
