"""The site builds cleanly, embeds every snippet, and shows the pinned versions."""

from __future__ import annotations

import re
import tomllib

from handson_page import DOCS, ROOT, SNIPPETS, includes

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


def pinned_versions(extra: str) -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = {}
    for requirement in project["optional-dependencies"][extra]:
        name, version = requirement.split("==")
        pins[name] = version
    return pins


def test_install_command_on_the_page_uses_the_pinned_versions():
    command = (DOCS / "includes" / "install-command.md").read_text(encoding="utf-8")
    shown = dict(re.findall(r'"([\w.-]+)==([\w.]+)"', command))
    expected = {name: version for name, version in pinned_versions("handson").items() if name != "torch"}
    assert shown == expected  # torch stays as the runtime ships it (Colab has a CUDA build)
