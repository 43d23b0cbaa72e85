"""The notebook page (mkdocs-jupyter) renders, and its download and Colab links lead to the notebook."""

from __future__ import annotations

import json
import re
from urllib.parse import urljoin, urlsplit

import pytest
from site_pages import DOCS, ROOT, mkdocs_config, nav_files, url_path

NOTEBOOKS = [DOCS / name for name in nav_files() if name.endswith(".ipynb")]
COLAB = re.compile(
    r"^https://colab\.research\.google\.com/github/(?P<repo>[^/]+/[^/]+)/blob/(?P<branch>[^/]+)/(?P<path>.+)$"
)

CELLS = """() => {
  const outermost = selector => [...document.querySelectorAll(selector)].filter(el => !el.parentElement.closest(".jp-Cell"))
  return {
  wrapper: !!document.querySelector(".jupyter-wrapper"),
  code: outermost(".jp-CodeCell").length,
  markdown: outermost(".jp-MarkdownCell").length,
  highlighted: document.querySelectorAll(".jp-CodeCell .highlight-ipynb, .jp-CodeCell pre").length,
  rawDollars: [...document.querySelectorAll(".jp-MarkdownOutput")].filter(el => /\\$[^$\\s][^$]*\\$/.test(el.textContent)).length,
  download: document.querySelector("a[download]")?.getAttribute("href"),
  colab: [...document.querySelectorAll("a[href*='colab.research.google.com']")].map(a => a.href),
  }
}"""


def repo_url() -> str:
    return mkdocs_config().get("repo_url") or ""


def shown_cells(notebook) -> list[dict]:
    """The notebook's cells less those mkdocs-jupyter drops by tag (remove_tag_config.remove_cell_tags)."""
    plugins = [p for p in mkdocs_config()["plugins"] if isinstance(p, dict) and "mkdocs-jupyter" in p]
    removed = (
        set(plugins[0]["mkdocs-jupyter"].get("remove_tag_config", {}).get("remove_cell_tags", [])) if plugins else set()
    )
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [c for c in cells if not removed & set(c.get("metadata", {}).get("tags", []))]


@pytest.fixture(params=NOTEBOOKS or [None], ids=lambda p: p.relative_to(DOCS).as_posix() if p else "none")
def notebook(request):
    if request.param is None:
        # The notebook page is made by another piece of work (docs/*.ipynb in the nav through
        # mkdocs-jupyter); until it is in the nav there is nothing to open. In CI a skip fails.
        pytest.skip("no notebook (.ipynb) page in mkdocs.yml's nav yet")
    return request.param


def test_notebook_page_renders_with_download_and_colab_links(page, site_url, notebook):
    address = site_url + url_path(notebook)
    page.goto(address)
    found = page.evaluate(CELLS)

    assert found["wrapper"], "the notebook was not rendered by mkdocs-jupyter"
    cells = shown_cells(notebook)
    assert found["code"] == sum(c["cell_type"] == "code" for c in cells) > 0
    assert found["markdown"] == sum(c["cell_type"] == "markdown" for c in cells) > 0
    assert found["highlighted"] >= found["code"]
    assert found["rawDollars"] == 0, "formulas in markdown cells were left as $...$"

    # The download button serves the very notebook in the repository.
    assert found["download"], "no download button"
    response = page.request.get(urljoin(address, found["download"]))
    assert response.status == 200
    assert response.body() == notebook.read_bytes()

    # "Open in Colab" points at this notebook in this repository (Colab itself is not reachable here).
    assert found["colab"], "no Colab link"
    for link in found["colab"]:
        match = COLAB.match(link)
        assert match, link
        assert (ROOT / match["path"]).resolve() == notebook.resolve(), link
        assert repo_url().rstrip("/").endswith("github.com/" + match["repo"]), (link, repo_url())
        assert urlsplit(link).scheme == "https"
