"""The map a newcomer reads: every page with code has its snippets and its test under the same name, every
generated data file is named by the tool that writes it and included by its pages, and README's table lists
every module of tools/."""

from __future__ import annotations

import re

import project
from project import DATA, DOCS, SNIPPETS, TOOLS, includes


def test_every_page_with_code_has_its_mirrored_snippets_and_test():
    """docs/a/b.md <-> snippets/a/b/ <-> tests/pages/test_a_b.py (or tests/pages/a_b/): from a page to its code
    and its test, and back."""
    pages = project.code_pages()
    assert pages
    for page in pages:
        test = project.mirrored_test(page)
        assert test.exists(), f"{page.relative_to(DOCS)}: {test.name}"
        assert test.is_file() or any(test.glob("test_*.py")), test
        own = project.mirrored_snippets(page)
        assert own.is_dir() and any(
            path.startswith(own.relative_to(SNIPPETS).as_posix() + "/") for path, _ in includes(page)
        )
    folders = {p.parent for p in SNIPPETS.rglob("*.py")}
    pages_of = {project.mirrored_snippets(page) for page in pages}
    assert {f for f in folders if not any(f == d or d in f.parents for d in pages_of)} == set()


def test_readme_lists_every_module_of_tools():
    """README's table of tools/ names every module there: the map a maintainer reads first stays whole."""
    readme = (project.ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("`tools/` の中身です。") : readme.index("### どこを変えるか")]
    listed = set(re.findall(r"`(\w+\.py)`", table))
    assert listed == {p.name for p in project.TOOLS.glob("*.py")}


def test_every_data_file_names_its_writer_and_its_pages():
    """docs/data/<name>: the tool that writes it names the file (grep the name in tools/), and the pages that show
    it include it as ``data/<name>``; the report's JSON is read by the tools and tests instead."""
    tools = {path: path.read_text(encoding="utf-8") for path in TOOLS.rglob("*.py")}
    includes_of = {page: {path for path, _ in includes(page)} for page in DOCS.rglob("*.md")}
    for data in sorted(DATA.iterdir()):
        writers = [path.name for path, text in tools.items() if data.name in text]
        assert writers, f"no tool in tools/ names {data.name}"
        pages = [page for page, paths in includes_of.items() if f"{project.DATA_INCLUDES}{data.name}" in paths]
        assert pages or data.suffix == ".json", f"no page includes data/{data.name}"
