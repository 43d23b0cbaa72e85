"""mkdocs hook: render at build time what comes from the pins, the pages and the script.

- the page versions.md (the tested versions, the tested pages, the tools), which exists only in
  the build;
- the page's text without the spaces that line breaks inside Japanese sentences would leave
  (tools/japanese_text.py);
- identifiers in table cells that break only after an underscore (per_device_train_batch_size on a
  phone), never inside a word;
- the includes in rendered.RENDERERS (install commands, the script's option table, the tested
  versions note): a page's ``--8<-- "install-command.md"`` line is replaced by the rendered text,
  indented like the line, before pymdownx.snippets reads the page.

mkdocs puts this file's folder (tools/) on sys.path while it loads the hook, so the sibling
modules import by name.
"""

from __future__ import annotations

import re

import rendered
from japanese_text import join_japanese_lines
from mkdocs.structure.files import File
from project import INCLUDE


def on_files(files, config):
    files.append(File.generated(config, rendered.VERSIONS_PAGE, content=rendered.versions_page()))
    return files


def render_includes(markdown: str) -> str:
    def replace(match):
        name = match["path"]
        if name not in rendered.RENDERERS:
            return match[0]
        indent = match[0][: len(match[0]) - len(match[0].lstrip())]
        text = rendered.RENDERERS[name]()
        return "\n".join(indent + line if line else "" for line in text.rstrip("\n").splitlines())

    return INCLUDE.sub(replace, markdown)


def on_page_markdown(markdown, page, config, files):
    return render_includes(markdown)


def on_page_content(content, page, config, files):
    return join_japanese_lines(content)


TABLE = re.compile(r"<table>.*?</table>", re.DOTALL)
CELL_CODE = re.compile(r"(<t[dh][^>]*>)(.*?)(</t[dh]>)", re.DOTALL)
CODE = re.compile(r"<code>([^<]*)</code>")


def breakable_identifiers(html: str) -> str:
    """A break opportunity (<wbr>) after each underscore of inline code in tables (extra.css allows no other)."""

    def code(match):
        return "<code>" + match[1].replace("_", "_<wbr>") + "</code>"

    def cell(match):
        return match[1] + CODE.sub(code, match[2]) + match[3]

    return TABLE.sub(lambda table: CELL_CODE.sub(cell, table[0]), html)


def on_post_page(output, page, config):
    # after the search index took the page's text: <wbr> would split the identifiers there
    return breakable_identifiers(output)
