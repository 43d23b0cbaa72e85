"""Every page reads comfortably on a laptop (1280 px) and on a phone (390 px): issue 22, one test a problem.

The findings come from the per-page load of tests/site/browser/test_browser_pages.py (this file's name sorts
after it; tests/site/browser/readability.py measures), or from a load made here when that did not happen.
Each test names the problem it guards against; each failed on the site before issue 22.
"""

from __future__ import annotations

import re

import pytest
from readability import measure
from site_pages import DOCS, mkdocs_config, nav_files, source_pages, url_path

PAGES = source_pages()
WIDTHS = ("desktop", "phone")
# Pages of code a learner runs top to bottom: the first thing after the title and the introduction is
# the first step, not a note about the tests or the versions (those are folded, ??? in the source).
CODE_PAGES = {"handson.md", "next-day.md", "gguf.md", "notebooks/handson.ipynb"}
MIN_DIAGRAM_TEXT_PX = 11  # body text is 16 px
MIN_NOTE_TEXT_PX = 14  # Material's admonitions and tables were 12.8 px, code in tables 10.9 px
MIN_TABLE_CODE_PX = 12
LONG_PAGE_PX = 3 * 900  # three screens: such a page needs its table of contents


def name(source) -> str:
    return source.relative_to(DOCS).as_posix()


@pytest.fixture
def layout(request, page_without_search, site_url, page_layouts) -> dict[str, dict]:
    source = request.param
    path = url_path(source)
    if path not in page_layouts:  # the per-page test did not measure it: load the page here
        page_without_search.goto(site_url + path)
        page_without_search.wait_for_load_state("load")
        page_layouts[path] = measure(page_without_search)
    return page_layouts[path]


def per_page(test):
    return pytest.mark.parametrize("layout", PAGES, ids=name, indirect=True)(test)


@per_page
def test_no_markdown_table_is_left_as_text(layout):
    """An include glued to an HTML comment inside a collapsible block showed `| --- |` rows."""
    assert [layout[w]["rawTables"] for w in WIDTHS] == [[], []]


@per_page
def test_no_space_after_a_japanese_full_stop(layout):
    """A line break of the source inside a Japanese sentence showed as a space: 「育てます。 コードは」."""
    assert layout["desktop"]["spaces"] == []


@per_page
def test_wide_tables_code_and_diagrams_scroll_in_their_box_with_a_shadow(layout):
    """On a phone, what is wider than the screen scrolls inside its own box and says so (an edge shadow);
    the page itself never scrolls sideways."""
    for width in WIDTHS:
        assert not layout[width]["pageScrollsSideways"], width
        assert layout[width]["unmarkedOverflow"] == [], width


@per_page
def test_diagram_labels_are_at_least_11_px(layout):
    """Diagrams shrank to the column: labels at 9-12 px on a laptop and 5-6 px on a phone."""
    for width in WIDTHS:
        sizes = layout[width]["diagramTextPx"]
        assert all(size >= MIN_DIAGRAM_TEXT_PX for size in sizes), (width, sizes)


@per_page
def test_no_underline_in_headings_tabs_or_table_headers(layout):
    """Tooltip underlines broke up titles, tab labels and table headers."""
    assert layout["desktop"]["underlinedLabels"] == []


@per_page
def test_glossary_terms_are_marked_once_a_section_and_lead_to_the_glossary(layout):
    """207 dotted underlines on the hands-on, and a hover tooltip that never shows on a touch screen."""
    found = layout["desktop"]
    assert found["repeatedTerms"] == []
    assert found["unlinkedTerms"] == []  # a tap opens the term's glossary entry


@per_page
def test_long_pages_have_a_table_of_contents(layout):
    """The notebook page, 27,000 px long, had an empty table of contents."""
    found = layout["desktop"]
    if found["pageHeight"] > LONG_PAGE_PX:
        assert found["tocLinks"] > 0, found["pageHeight"]


@per_page
def test_the_title_is_the_strongest_text_and_breaks_between_phrases(layout):
    """The H1 was grey and light (weight 300), and broke on a phone leaving 「ン」 alone on a line."""
    for width in WIDTHS:
        title = layout[width]["title"]
        assert title["weight"] >= 700 and title["color"] == title["text"], (width, title)
        assert title["lines"] == 1 or title["shortestLine"] >= 2, (width, title)


@per_page
def test_notes_and_tables_are_set_near_the_body_size(layout):
    sizes = layout["desktop"]["textPx"]
    for kind, smallest in (("admonitions", MIN_NOTE_TEXT_PX), ("tables", MIN_NOTE_TEXT_PX)):
        assert sizes[kind] is None or sizes[kind] >= smallest, sizes
    assert sizes["codeInTables"] is None or sizes["codeInTables"] >= MIN_TABLE_CODE_PX, sizes


@per_page
def test_no_first_line_of_code_runs_under_the_copy_button(layout):
    """The one-line install command ran under the copy icon, which covered package names."""
    for width in WIDTHS:
        assert layout[width]["underCopyButton"] == [], width


@per_page
def test_install_commands_name_one_package_a_line(layout):
    assert layout["desktop"]["crowdedInstallLines"] == []


@per_page
def test_identifiers_in_tables_break_only_after_an_underscore(layout):
    """per_device_train_batch_size broke as per_device_ / train_batch / _size."""
    for width in WIDTHS:
        assert layout[width]["brokenIdentifiers"] == [], width


@per_page
def test_code_pages_open_with_the_first_step(layout, request):
    """The hands-on and the GGUF page opened with boxes (tested with, 14 versions, a test note)."""
    source = request.node.callspec.params["layout"]
    if name(source) in CODE_PAGES:
        assert layout["desktop"]["boxesBeforeFirstSection"] == []


@pytest.mark.parametrize("layout", [DOCS / "handson.md"], ids=name, indirect=True)
def test_hands_on_shows_the_loss_mask_view(layout):
    """The page said the trained tokens show in green but showed neither form of the view."""
    sample = layout["desktop"]["lossMask"]
    assert sample is not None, "no loss-mask sample (docs/data/loss-mask-sample.md)"
    assert sample["green"] > 0 and sample["grey"] > 0 and sample["terminal"], sample


def test_the_notebook_page_comes_right_after_the_hands_on():
    """It sat after the GGUF page in the previous/next order."""
    files = nav_files()
    assert files.index("notebooks/handson.ipynb") == files.index("handson.md") + 1


def test_every_tooltip_term_has_a_glossary_entry():
    """Each tooltip links to its entry: ### name {#id} (or ### name（alias） {#id}) in the glossary."""
    terms = re.findall(
        r"^\*\[(.+?)\]:", (DOCS / "includes" / "abbreviations.md").read_text(encoding="utf-8"), re.MULTILINE
    )
    entries = re.findall(r"^### (.+?) \{#[\w-]+\}$", (DOCS / "glossary.md").read_text(encoding="utf-8"), re.MULTILINE)
    names = {part for entry in entries for part in re.split(r"[（）]", entry) if part}
    assert terms and [term for term in terms if term not in names] == []
    assert "abbreviations.md" in str(mkdocs_config()["markdown_extensions"])


def test_the_search_index_holds_no_code(built_site):
    """A hit on a code cell filled a phone's screen with code."""
    index = (built_site / "search" / "search_index.json").read_text(encoding="utf-8")
    assert "<pre" not in index and "<code>import " not in index
