"""How many bytes a page load brings: every response the browser got for it, counted in the browser.

tests/site/browser/test_page_weight.py holds each page to BUDGET. The pages are loaded by the per-page test
of tests/site/browser/test_browser_pages.py (with Material's search worker left out, see conftest.py), which
hands its counts to ``page_weights``; the search worker and what it fetches are the same files on every
page and are counted once, on the landing page.
"""

from __future__ import annotations

import contextlib
import time

BUDGET = 1_000_000  # bytes a page, uncompressed (issue 11)
SEARCH_INDEX = "search/search_index.json"  # fetched by every page (Material's bundle), worker or not
# What Material's search worker fetches for Japanese, last of all (lunr's TinySegmenter).
WORKER_FETCHES = ("assets/javascripts/lunr/tinyseg.js",)
# Material's search worker: on every page load it indexes the whole site (TinySegmenter over all the
# text), seconds of CPU that only the search and page weight tests need.
SEARCH_WORKER = "**/assets/javascripts/workers/search.*.js"
QUIET_S = 0.05  # no request open for this long: the page has fetched what it fetches on load


def settle(tab, received, wait_for=(SEARCH_INDEX,), timeout_s: float = 10) -> dict[str, int]:
    """Wait until the page has fetched everything it fetches on load (fonts in use loaded, the files
    ``wait_for`` arrived, no request open for QUIET_S) and return URL -> bytes of the responses."""
    tab.evaluate("document.fonts.ready.then(() => true)")
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while True:
        urls = received.urls()
        arrived = all(any(url.endswith(name) for url in urls) for name in wait_for)
        if arrived and not received.open:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= QUIET_S:
                return received.sizes()
        else:
            quiet_since = None
        if time.monotonic() > deadline:
            still_open = sorted(request.url for request in received.open)
            raise AssertionError(
                f"{tab.url}: still loading after {timeout_s} s (waiting for {wait_for}; open: {still_open})"
            )
        tab.wait_for_timeout(10)


def load_and_weigh(tab, received, url: str, wait_for=(SEARCH_INDEX,)) -> dict[str, int]:
    received.clear(tab)
    response = tab.goto(url)
    assert response is not None and response.status == 200, f"{url}: HTTP {response and response.status}"
    return settle(tab, received, wait_for)


@contextlib.contextmanager
def search_worker_left_out(tab):
    """Material's search worker answered with an empty script while inside: no indexing, and none of
    the files the worker fetches (the page itself still fetches search/search_index.json)."""
    tab.route(SEARCH_WORKER, lambda route: route.fulfill(body="", content_type="text/javascript"))
    try:
        yield tab
    finally:
        tab.unroute(SEARCH_WORKER)
