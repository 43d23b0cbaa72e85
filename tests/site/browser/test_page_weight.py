"""Every page of the site weighs at most 1 MB (1,000,000 bytes, uncompressed): the bytes of all the
responses of one page load with an empty cache, counted in the browser (tests/site/browser/page_weight.py).

What keeps the pages light (.github/CONTRIBUTING.md, 「ページの重さ」): diagrams and formulas drawn ahead of time
(tools/site_build/prerendered.py, no mermaid.js or KaTeX script), KaTeX's stylesheet only on pages
with math, the search index in UTF-8 and the unused part of JupyterLab's stylesheet left out
(tools/site_build/lighter_pages.py).
"""

from __future__ import annotations

from page_weight import BUDGET, SEARCH_INDEX, WORKER_FETCHES, load_and_weigh, search_worker_left_out
from site_pages import DOCS, source_pages, url_path

PAGES = source_pages()
LANDING = url_path(DOCS / "index.md")  # the site root


def describe(weights: dict[str, int], sizes: dict[str, dict[str, int]], site_url: str) -> str:
    lines = []
    for path, weight in sorted(weights.items(), key=lambda item: -item[1]):
        mark = "  over" if weight > BUDGET else ""
        lines.append(f"{path or '/':32} {weight:>10,} bytes{mark}")
        if weight > BUDGET:
            biggest = sorted(sizes[path].items(), key=lambda item: -item[1])[:5]
            lines += [f"{'':34}{size:>10,}  {url.removeprefix(site_url)}" for url, size in biggest]
    return "\n".join(lines)


def test_every_page_weighs_at_most_1_mb(page, site_url, received, page_weights, landing_with_search_worker):
    # Material's search worker and what it fetches: the same files on every page, counted once on the
    # landing page as the difference between a load with the worker and one without. Both loads were made
    # by other tests (test_browser_pages.py without the worker, test_browser_search.py with it), or here.
    if LANDING not in page_weights:
        with search_worker_left_out(page):
            page_weights[LANDING] = load_and_weigh(page, received, site_url)
    if not landing_with_search_worker:
        landing_with_search_worker.update(
            load_and_weigh(page, received, site_url, wait_for=(SEARCH_INDEX, *WORKER_FETCHES))
        )
    without, full = page_weights[LANDING], landing_with_search_worker
    worker = {url: full[url] - without.get(url, 0) for url in full if full[url] != without.get(url, 0)}
    assert set(without) <= set(full), set(without) - set(full)
    assert worker and all("/assets/javascripts/" in url for url in worker), worker

    # Every page without the worker: counted by the per-page test in test_browser_pages.py (which loads
    # every page anyway), or here when that test did not run.
    for source in PAGES:
        path = url_path(source)
        if path not in page_weights:
            with search_worker_left_out(page):
                page_weights[path] = load_and_weigh(page, received, site_url + path)

    # The worker's script came as an empty stub in those loads: its bytes, and the rest, are added here.
    sizes = {}
    for source in PAGES:
        own = page_weights[url_path(source)]
        sizes[url_path(source)] = {url: own.get(url, 0) + worker.get(url, 0) for url in {*own, *worker}}
    weights = {path: sum(responses.values()) for path, responses in sizes.items()}
    assert all(weight <= BUDGET for weight in weights.values()), f"pages over {BUDGET:,} bytes:\n" + describe(
        weights, sizes, site_url
    )
