"""Identifiers in table cells (per_device_train_batch_size on a phone) break only after an underscore,
never inside a word: a break opportunity (<wbr>) after each underscore of inline code in tables
(docs/stylesheets/extra.css allows no other).
"""

from __future__ import annotations

import re

TABLE = re.compile(r"<table>.*?</table>", re.DOTALL)
CELL_CODE = re.compile(r"(<t[dh][^>]*>)(.*?)(</t[dh]>)", re.DOTALL)
CODE = re.compile(r"<code>([^<]*)</code>")


def breakable_identifiers(html: str) -> str:
    def code(match):
        return "<code>" + match[1].replace("_", "_<wbr>") + "</code>"

    def cell(match):
        return match[1] + CODE.sub(code, match[2]) + match[3]

    return TABLE.sub(lambda table: CELL_CODE.sub(cell, table[0]), html)


def on_post_page(output, page, config):
    # after the search index took the page's text: <wbr> would split the identifiers there
    return breakable_identifiers(output)
