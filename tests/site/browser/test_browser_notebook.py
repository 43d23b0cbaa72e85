"""The notebook page (mkdocs-jupyter) renders, and its download and Colab links lead to the notebook.

The site here is the deployed form (tests/site/browser/conftest.py, ``DEPLOYED``): the Colab button must
open the very notebook that the deployed site serves, in the branch mkdocs gh-deploy pushes it to.
Without a repository (a local build) there is no button: tests/site/test_links.py.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urljoin, urlsplit

import project
import pytest
from learner_files import DEPLOYED
from site_pages import DOCS, mkdocs_config, nav_files, url_path

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


def test_notebook_page_renders_with_download_and_colab_links(
    page_without_search, site_url, notebook, built_site, monkeypatch
):
    page = page_without_search  # Material's search worker indexes the whole site on every load: not needed here
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

    # "Open in Colab" opens this notebook in the deployed site: the file the site serves, in the branch
    # mkdocs gh-deploy pushes the site to, in this repository (Colab itself is not reachable here).
    assert found["colab"], "no Colab link"
    for name, value in DEPLOYED.items():
        monkeypatch.setenv(name, value)
    for link in found["colab"]:
        match = COLAB.match(link)
        assert match, link
        assert (match["repo"], match["branch"]) == ("handson-ci/sft-lora-handson-ja", mkdocs_config()["remote_branch"])
        assert (built_site / match["path"]).read_bytes() == notebook.read_bytes(), link
        assert link == project.colab_url(notebook)  # the same address as the notebook's own badge
        assert urlsplit(link).scheme == "https"
