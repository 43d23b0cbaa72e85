"""The site builds cleanly (``mkdocs build --strict``, as on a developer's machine), embeds every snippet, renders
the notebook page and shows the pinned versions."""

from __future__ import annotations

import re

import project
from project import DOCS, HANDSON_PAGE, NOTEBOOK, SNIPPETS, includes
from site_build import rendered

PAGES = sorted(DOCS.rglob("*.md"))


def test_mkdocs_build_is_strict_and_clean(local_site):
    site, log = local_site  # built by tests/conftest.py with --strict, without REPO_URL / SITE_URL
    assert "WARNING" not in log, log
    assert (site / "handson" / "index.html").exists()


def test_every_snippet_file_is_embedded_by_a_page():
    embedded = {path for page in PAGES for path, _ in includes(page)}
    snippet_files = {p.relative_to(SNIPPETS).as_posix() for p in SNIPPETS.rglob("*.py")}
    assert snippet_files, "no snippets found"
    assert snippet_files - embedded == set()


def test_embedded_sections_exist():
    for page in PAGES:
        for path, section in includes(page):
            if section is not None:
                text = (SNIPPETS / path).read_text(encoding="utf-8")
                assert f"# --8<-- [start:{section}]" in text and f"# --8<-- [end:{section}]" in text


def test_install_command_on_the_page_uses_the_pinned_versions(local_site):
    site, _ = local_site
    command = rendered.install_command()
    shown = dict(re.findall(r'"([\w.-]+)==([\w.]+)"', command))
    expected = {name: version for name, version in project.pins().items() if name != "torch"}
    assert shown == expected  # torch stays as the runtime ships it (Colab has a CUDA build)
    for page in ("handson", "next-day"):  # rendered into the pages when the site is built (tools/site_build/rendered.py)
        html = (site / page / "index.html").read_text(encoding="utf-8")
        assert all(f"{name}=={version}" in html for name, version in expected.items()), page


def test_versions_page_is_rendered_from_the_pins(local_site):
    site, _ = local_site
    assert not (DOCS / rendered.VERSIONS_PAGE).exists()  # only in the build: it cannot go stale
    html = (site / "versions" / "index.html").read_text(encoding="utf-8")
    for extra in ("handson", "docs", "test", "gguf"):
        assert all(f"<td>{name}</td>\n<td>{version}</td>" in html for name, version in project.pins(extra).items())
    for page in project.code_pages():  # every page with code is listed as tested
        assert f'href="../{project.url_path(page)}"' in html, page


def test_hands_on_page_shows_the_tested_versions_in_setup():
    page = HANDSON_PAGE.read_text(encoding="utf-8")
    setup = page.split("## 0. 準備 {#setup}", 1)[1].split("\n## ", 1)[0]
    assert f'--8<-- "{rendered.TESTED_VERSIONS}"' in setup
    include = rendered.tested_versions_include()
    assert all(f"{name} {version}" in include for name, version in project.pins().items())


def test_site_renders_the_notebook_with_the_pages_anchors_and_no_offsite_image(local_site):
    site, _ = local_site  # the page mkdocs-jupyter made of the committed notebook
    html = (site / project.url_path(NOTEBOOK) / "index.html").read_text(encoding="utf-8")
    html = html[html.index('<article class="md-content__inner') :]  # the notebook, without the site's navigation
    ids = re.findall(r'<h[2-6][^>]* id="([^"]*)"', html)
    page_ids = re.findall(r"^#{2,6} .*\{#([\w-]+)\}\s*$", HANDSON_PAGE.read_text(encoding="utf-8"), re.M)
    assert ids == page_ids  # no id="" (it breaks Material's search for the whole page)
    assert "colab-badge.svg" not in html
