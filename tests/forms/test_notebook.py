"""The notebook (docs/notebooks/handson.ipynb): the page's code in page order, its anchors, its install cell, and
its links with and without the site's URLs. (Its run in a kernel: test_notebook_run.py.)"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest

import notebook as notebook_form
import project
from learner_files import cell_source, pinned_requirements, DEPLOYED
from project import DOCS, HANDSON_PAGE, NOTEBOOK, ROOT, cells_for
from site_build import notebook_page, rendered


def notebook() -> dict:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))


def test_notebook_is_committed_without_outputs_and_with_stable_ids():
    import nbformat

    nb = nbformat.reads(NOTEBOOK.read_text(encoding="utf-8"), as_version=4)
    nbformat.validate(nb)  # ids present, unique, well formed
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids)
    assert "install" in ids and f"{project.NOTEBOOK_VARIANT}-load_model" in ids


def test_notebook_code_is_the_page_code_in_page_order():
    code = [c for c in notebook()["cells"] if c["cell_type"] == "code"]
    page = cells_for(project.NOTEBOOK_VARIANT)
    assert [cell_source(c) for c in code[1:]] == [cell.path.read_text(encoding="utf-8") for cell in page]


def test_notebook_first_cell_installs_the_pins_but_keeps_colabs_torch():
    first = next(c for c in notebook()["cells"] if c["cell_type"] == "code")
    assert cell_source(first).startswith("%pip install ")
    pins = project.pins()
    assert pinned_requirements(cell_source(first)) == {name: v for name, v in pins.items() if name != "torch"}
    assert "torch" in pins  # the tests' torch is shown on the versions page instead
    assert f"| torch | {pins['torch']} |" in rendered.versions_page()


def test_notebook_headings_keep_the_pages_anchors():
    markdown = "\n".join(cell_source(c) for c in notebook()["cells"] if c["cell_type"] == "markdown")
    markdown = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)  # code blocks may hold "### 指示"
    assert not re.search(r"^#{1,6} ", markdown, re.M), "Markdown headings get id='' from mkdocs-jupyter"
    notebook_ids = re.findall(r'<h[2-6] id="([\w-]+)">', markdown)
    page_ids = re.findall(r"^#{2,6} .*\{#([\w-]+)\}\s*$", HANDSON_PAGE.read_text(encoding="utf-8"), re.M)
    assert notebook_ids == page_ids


def markdown_of(notebook_text: str) -> str:
    cells = json.loads(notebook_text)["cells"]
    return "\n".join(cell_source(c) for c in cells if c["cell_type"] == "markdown")


def relative_page_links() -> list[str]:
    """The hands-on page's links to other pages of the site (relative .md links)."""
    return re.findall(r"\]\(([\w/.-]+\.md(?:#[\w-]+)?)\)", HANDSON_PAGE.read_text(encoding="utf-8"))


def test_known_urls_give_a_colab_badge_and_absolute_links_to_the_site(known_urls):
    """The deployed copy: the badge opens the notebook that the deployed site itself serves."""
    colab = (
        "https://colab.research.google.com/github/handson-ci/sft-lora-handson-ja/blob/gh-pages"
        "/notebooks/handson/handson.ipynb"  # mkdocs gh-deploy's branch; the site keeps the .ipynb next to its page
    )
    assert project.colab_url() == colab
    text = notebook_form.notebook_json()
    first = json.loads(text)["cells"][0]
    assert cell_source(first) == f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab})"
    # The badge image is on another host: the site drops the cell and shows its own button (same address).
    assert first["metadata"]["tags"] == ["colab-badge"]
    assert "remove_cell_tags: [colab-badge]" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")

    markdown = markdown_of(text)
    site = DEPLOYED["SITE_URL"]
    pages = relative_page_links()
    addresses = [re.sub(r"\.md\b", "/", re.sub(r"(^|/)index\.md", r"\1", path)) for path in pages]
    assert pages and all(f"]({site}{address})" in markdown for address in addresses), "links to pages become absolute"
    assert f"]({site}handson/)" in markdown and f"]({site}versions/)" in markdown
    assert "サイトの「" not in markdown and "ノートブックをアップロード" not in markdown
    assert f"[Colab で開く]({colab})" in rendered.tested_versions_include()


def test_unknown_urls_give_no_colab_link_and_no_site_address(unknown_urls):
    """The committed copy and a local build: nothing to link to, so say how to upload to Colab."""
    assert project.colab_url() is None and project.site_url() is None
    text = notebook_form.notebook_json()
    cells = json.loads(text)["cells"]
    assert all("colab-badge" not in c["metadata"].get("tags", []) for c in cells)
    markdown = markdown_of(text)
    assert "colab.research.google.com" not in markdown and "http://" not in markdown
    assert "「ファイル」→「ノートブックをアップロード」" in markdown
    targets = re.findall(r"\]\(([^)\s]+)\)", markdown)
    assert all(t.startswith(("https://", "#")) for t in targets), targets  # no relative link: Colab can't follow it
    named = re.findall(r"サイトの「([^」]+)」のページ", markdown)
    assert len(named) >= len(relative_page_links())  # each link to a page became the page's name
    include = rendered.tested_versions_include()
    assert "colab.research.google.com" not in include and "「ファイル」→「ノートブックをアップロード」" in include


def test_a_repository_off_github_is_refused_in_japanese(monkeypatch):
    monkeypatch.setenv("REPO_URL", "https://gitlab.com/someone/sft-lora-handson-ja")
    with pytest.raises(SystemExit, match="Colab は GitHub にあるノートブックしか開けません"):
        project.colab_url()


def test_site_colab_button_is_the_badges_address(monkeypatch):
    """The notebook page's button (docs/overrides/main.html) shows the address that the build takes from
    project.colab_url(), as the badge does, and no button where the repository is unknown
    (tests/site/browser/test_browser_notebook.py follows the button on the deployed build)."""
    page = SimpleNamespace(file=SimpleNamespace(src_uri="notebooks/handson.ipynb"), meta={}, toc=None)
    for name, value in DEPLOYED.items():
        monkeypatch.setenv(name, value)
    notebook_page.on_page_content('<h1 id="title">ノートブック</h1>', page=page, config={}, files=None)
    assert page.meta["colab_url"] == project.colab_url(NOTEBOOK) is not None
    monkeypatch.delenv("REPO_URL")
    notebook_page.on_page_content('<h1 id="title">ノートブック</h1>', page=page, config={}, files=None)
    assert page.meta["colab_url"] is None
    template = (DOCS / "overrides" / "main.html").read_text(encoding="utf-8")
    assert "{% if page.meta.colab_url %}" in template
    assert '<a href="{{ page.meta.colab_url }}"' in template
