"""What each copy button of a page puts on the clipboard, clicked as a reader would.

tests/site/browser/test_copy_buttons.py compares it with the embedded snippets. The per-page test of
tests/site/browser/test_browser_pages.py clicks them in the load it makes anyway and hands the result to
``page_copies`` (tests/site/browser/conftest.py), so that no page is loaded twice; the copy test loads the
page itself when that did not happen.
"""

from __future__ import annotations

from site_pages import expected_copies, source_pages

# The pages whose code blocks embed files: these have copy buttons to check.
PAGES_WITH_SNIPPETS = [p for p in source_pages() if p.suffix == ".md" and expected_copies(p)]
SENTINEL = "(clipboard before the click)"

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
    """The clipboard after each copy button of the loaded page was clicked, in page order."""
    return page.evaluate(COPY_EVERY_BLOCK, SENTINEL)
