"""Which pages the site has, where they are served, and what their code blocks should copy."""

from __future__ import annotations

import re
from pathlib import Path

from site_build import rendered
from project import DOCS, INCLUDE, ROOT, SNIPPETS, mkdocs_config, nav_files, source_pages, url_path  # noqa: F401

SECTION_MARKER = re.compile(r"^[ \t]*# --8<-- \[(?:start|end):[\w-]+\][ \t]*$")
# Material annotation markers at the end of a line: "# (1)!" (the whole comment goes) or "# text (1)".
ANNOTATION = re.compile(r"[ \t]*# \(\d+\)![ \t]*$|(?<=#)(?P<comment>[^\n]*?)[ \t]*\(\d+\)[ \t]*$")
FENCE = re.compile(r"^```(?P<lang>[^\n]*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)


def expanded(page: Path) -> str:
    """The page's source with its markdown includes (``--8<-- "x.md"``) put in place."""
    text = rendered.page_text(page)
    return INCLUDE.sub(lambda m: _included_text(m["path"]) if m["path"].endswith(".md") else m[0], text)


def _included_text(path: str) -> str:
    """What the site shows for ``--8<-- "path"``: "" where the file is missing, which fails the build
    (pymdownx.snippets' check_paths) and so tests/site/test_build.py, but must not stop collection here."""
    return rendered.include_text(path) or ""


def copied_text(path: str, section: str | None) -> str:
    """What the copy button of a block embedding this file (or section) must put on the clipboard.

    pymdownx.snippets drops the section markers; Material's copy button leaves out annotation
    markers (``# (1)!``) and trailing whitespace.
    """
    lines = _included_text(path).splitlines()
    if section is not None:
        start = lines.index(next(line for line in lines if line.strip() == f"# --8<-- [start:{section}]"))
        end = lines.index(next(line for line in lines if line.strip() == f"# --8<-- [end:{section}]"))
        lines = lines[start + 1 : end]
    lines = [ANNOTATION.sub(r"\g<comment>", line).rstrip() for line in lines if not SECTION_MARKER.match(line)]
    return "\n".join(lines).strip("\n")


def expected_copies(page: Path) -> list[str]:
    """The copy texts of every code block on the page that is embedded from a file.

    A ``.py`` include is a whole code block; a markdown include contributes the code fences it holds.
    """
    expected = []
    for match in INCLUDE.finditer(rendered.page_text(page)):
        path, section = match["path"], match["section"]
        if path.endswith((".py", ".yaml")) and _included_text(path):
            expected.append(copied_text(path, section))
        elif path.endswith(".md"):
            body = _included_text(path)
            fences = [fence for fence in FENCE.finditer(body) if "mermaid" not in fence["lang"]]
            expected.extend(fence["body"].rstrip("\n") for fence in fences)
    return expected
