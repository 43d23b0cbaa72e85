"""The site builds cleanly, embeds every snippet, and shows the pinned versions."""

from __future__ import annotations

import re

import project
from site_build import rendered
from project import DOCS, SNIPPETS, includes

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


def test_every_page_with_code_has_its_mirrored_snippets_and_test():
    """docs/a/b.md <-> snippets/a/b/ <-> tests/test_a_b.py (or tests/a_b/, run apart): from a page to its code
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
    assert listed == {p.name for p in (project.ROOT / "tools").glob("*.py")}


def test_time_suite_log_appends_each_line_to_the_measurements_log(tmp_path, monkeypatch, capsys):
    """`tools/time_suite.py --log` prints its line as before and appends it to the log's last section."""
    import time_suite

    real = time_suite.LOG.read_text(encoding="utf-8")
    assert [r for r in real.splitlines() if r.startswith("## ")][-1] == time_suite.LOG_HEADING
    log = tmp_path / "measurements.md"
    log.write_text(real, encoding="utf-8")
    monkeypatch.setattr(time_suite, "LOG", log)
    runs = ["2026-12-07 10:00 abc1234 probe 0.400 s  wall 80.0 s  cpu 120.0 s  | 1 passed", "second run"]
    lines = iter(runs)
    monkeypatch.setattr(time_suite, "time_once", lambda args: next(lines))
    assert time_suite.main(["--runs", "2", "--log"]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == runs  # printed as before
    after = log.read_text(encoding="utf-8")
    assert after.startswith(real.rstrip("\n")) and after.endswith(f"\n\n- `{runs[0]}`\n- `{runs[1]}`\n")
    # A log whose last section is another one: a Japanese message before any run, the file untouched.
    log.write_text(real + "\n## 別の節\n", encoding="utf-8")
    assert time_suite.main(["--log"]) == 1
    assert "最後の節" in capsys.readouterr().err and log.read_text(encoding="utf-8") == real + "\n## 別の節\n"


def test_every_background_run_is_waited_for_by_a_fixture_that_exists():
    """A run starts only when a selected test uses its fixture: a renamed fixture would silently lose its run."""
    import re

    import background_runs
    from project import TESTS

    sources = "\n".join(path.read_text(encoding="utf-8") for path in TESTS.rglob("test_*.py"))
    for run, fixture in background_runs.NEEDED_BY.items():
        assert re.search(rf"^def {fixture}\(", sources, re.M), f"no fixture {fixture} waits for the run {run}"
        assert f'background_runs.wait("{run}"' in sources
        assert re.search(rf"^def test_\w+\([^)]*\b{fixture}\b", sources, re.M), f"no test uses {fixture}"
