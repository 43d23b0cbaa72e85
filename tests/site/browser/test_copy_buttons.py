"""The copy button of every embedded snippet puts exactly that snippet's code on the clipboard.

The buttons are clicked in the page load of tests/site/browser/test_browser_pages.py (tests/site/browser/copy_buttons.py);
this file's name sorts after it, so its tests run after that load.
"""

from __future__ import annotations

import re

import pytest
from copy_buttons import PAGES_WITH_SNIPPETS, SENTINEL, copy_every_block
from site_pages import DOCS, expected_copies, url_path

PROMPT = re.compile(r"^(>>> |\.\.\. |\$ |In \[\d*\]:)", re.MULTILINE)
MARKER = re.compile(r"# \(\d+\)!?|--8<--")


@pytest.mark.parametrize("source", PAGES_WITH_SNIPPETS, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_copy_buttons_copy_exactly_the_embedded_code(page_without_search, site_url, source, page_copies):
    path = url_path(source)
    if path not in page_copies:  # the per-page test did not get as far as the buttons: load the page here
        page_without_search.goto(site_url + path)
        page_copies[path] = copy_every_block(page_without_search)
    copies = page_copies[path]
    assert copies, "no copy buttons"
    assert SENTINEL not in copies, f"{copies.count(SENTINEL)} copy buttons put nothing on the clipboard"

    expected = expected_copies(source)  # on the hands-on page: both GPU tabs' files too
    missing = [text for text in expected if text not in copies]
    assert missing == [], f"no copy button gave exactly these snippets: {[m[:80] for m in missing]}"
    for copied in copies:
        assert not PROMPT.search(copied), f"a prompt was copied: {copied[:200]}"
        assert not MARKER.search(copied), f"a marker was copied: {copied[:200]}"
