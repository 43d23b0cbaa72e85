"""mkdocs hook: render at build time what comes from the pins, the pages and the script.

- the page versions.md (the tested versions, the tested pages, the tools), which exists only in
  the build;
- the page's text without the spaces that line breaks inside Japanese sentences would leave
  (tools/japanese_text.py);
- the includes in rendered.RENDERERS (install commands, the script's option table, the tested
  versions note): a page's ``--8<-- "install-command.md"`` line is replaced by the rendered text,
  indented like the line, before pymdownx.snippets reads the page.

mkdocs puts this file's folder (tools/) on sys.path while it loads the hook, so the sibling
modules import by name.
"""

from __future__ import annotations

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
