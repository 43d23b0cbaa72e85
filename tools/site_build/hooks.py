"""The site's one mkdocs hook (mkdocs.yml ``hooks:``): each build event goes to this package's modules.

A module takes part in an event by defining the function mkdocs would call on a hook of its own
(``on_config``, ``on_page_content``, ...). For every event they run in the order of MODULES (where two
change the same page, the order decides what each one sees), and as between mkdocs' hooks, one that
returns None leaves the item as it is.

mkdocs loads this file by its path, with only this folder on sys.path while it loads; the package and
the house code (tools/project.py) are found from the folder above.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/ (mkdocs restores sys.path after loading)

from site_build import (  # noqa: E402
    japanese_abbr,
    japanese_search,
    japanese_text,
    lighter_pages,
    notebook_page,
    prerendered,
    rendered,
    tables,
)

MODULES = (
    japanese_abbr,  # glossary tooltips (it remembers the page before the includes go in)
    rendered,  # the versions page and the rendered/... includes
    japanese_text,  # no spaces where a line breaks inside a Japanese sentence
    tables,  # identifiers in table cells break after an underscore
    prerendered,  # diagrams and formulas drawn ahead of time
    lighter_pages,  # fewer bytes a page
    japanese_search,  # the search keeps a query's last kanji
    notebook_page,  # the notebook page reads like the hands-on page
)


def _run(event: str, *item, **context):
    for module in MODULES:
        handler = getattr(module, event, None)
        if handler is not None:
            result = handler(*item, **context)
            if item and result is not None:
                item = (result,)
    return item[0] if item else None


def on_config(config):
    return _run("on_config", config)


def on_files(files, config):
    return _run("on_files", files, config=config)


def on_page_markdown(markdown, page, config, files):
    return _run("on_page_markdown", markdown, page=page, config=config, files=files)


def on_page_content(html, page, config, files):
    return _run("on_page_content", html, page=page, config=config, files=files)


def on_post_page(output, page, config):
    return _run("on_post_page", output, page=page, config=config)


def on_post_build(config):
    _run("on_post_build", config=config)
