"""The copy button of every embedded snippet puts exactly that snippet's code on the clipboard."""

from __future__ import annotations

import re

import pytest
from site_pages import DOCS, expected_copies, source_pages, url_path

PAGES_WITH_SNIPPETS = [p for p in source_pages() if p.suffix == ".md" and expected_copies(p)]
SENTINEL = "(clipboard before the click)"
PROMPT = re.compile(r"^(>>> |\.\.\. |\$ |In \[\d*\]:)", re.MULTILINE)
MARKER = re.compile(r"# \(\d+\)!?|--8<--")

# For every copy button, as a reader would: open the collapsible block and the content tab it is in, click the
# button, read the clipboard (a sentinel written before the click shows that the click copied; up to 2 s for the
# asynchronous write).
COPY_EVERY_BLOCK = """async sentinel => {
  const copies = []
  for (const button of document.querySelectorAll('.md-code__button[data-md-type="copy"]')) {
    for (let details = button.closest("details"); details; details = details.parentElement.closest("details"))
      details.open = true
    const block = button.closest(".tabbed-block")
    if (block) {
      const index = [...block.parentElement.children].indexOf(block)
      block.closest(".tabbed-set").querySelectorAll(":scope > .tabbed-labels > label")[index].click()
    }
    await navigator.clipboard.writeText(sentinel)
    button.click()
    // The button's handler writes asynchronously: under load the write can land after the click returns.
    let copied = await navigator.clipboard.readText()
    for (let wait = 0; copied === sentinel && wait < 40; wait++) {
      await new Promise(resolve => setTimeout(resolve, 50))
      copied = await navigator.clipboard.readText()
    }
    copies.push(copied)
  }
  return copies
}"""


def copy_every_block(page) -> list[str]:
    copies = page.evaluate(COPY_EVERY_BLOCK, SENTINEL)
    assert copies, "no copy buttons"
    assert SENTINEL not in copies, f"{copies.count(SENTINEL)} copy buttons put nothing on the clipboard"
    return copies


@pytest.mark.parametrize("source", PAGES_WITH_SNIPPETS, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_copy_buttons_copy_exactly_the_embedded_code(page_without_search, site_url, source):
    page = page_without_search
    page.goto(site_url + url_path(source))
    copies = copy_every_block(page)

    expected = expected_copies(source)  # on the hands-on page: both GPU tabs' files too
    missing = [text for text in expected if text not in copies]
    assert missing == [], f"no copy button gave exactly these snippets: {[m[:80] for m in missing]}"
    for copied in copies:
        assert not PROMPT.search(copied), f"a prompt was copied: {copied[:200]}"
        assert not MARKER.search(copied), f"a marker was copied: {copied[:200]}"
