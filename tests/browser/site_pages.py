"""Which pages the site has, where they are served, and what their code blocks should copy."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SNIPPETS = ROOT / "snippets"

INCLUDE = re.compile(r'^[ \t]*--8<--[ \t]+"(?P<path>[^":]+)(?::(?P<section>[\w-]+))?"[ \t]*$', re.MULTILINE)
SECTION_MARKER = re.compile(r"^[ \t]*# --8<-- \[(?:start|end):[\w-]+\][ \t]*$")
# Material annotation markers at the end of a line: "# (1)!" (the whole comment goes) or "# text (1)".
ANNOTATION = re.compile(r"[ \t]*# \(\d+\)![ \t]*$|(?<=#)(?P<comment>[^\n]*?)[ \t]*\(\d+\)[ \t]*$")
FENCE = re.compile(r"^```(?P<lang>[^\n]*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)


def source_pages() -> list[Path]:
    """Every page in mkdocs.yml's nav (markdown and notebooks): the site a learner browses."""
    return [DOCS / name for name in nav_files() if not name.startswith(("http://", "https://"))]


def url_path(page: Path) -> str:
    """The page's path on the site (use_directory_urls): docs/a/b.md -> a/b/, docs/a/index.md -> a/."""
    relative = page.relative_to(DOCS).with_suffix("")
    parts = relative.parts[:-1] if relative.name in ("index", "README") else relative.parts
    return "".join(f"{part}/" for part in parts)


def mkdocs_config() -> dict:
    """mkdocs.yml as plain data (its python tags such as !!python/name and !relative read as None)."""
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)


def nav_files() -> list[str]:
    """Every file named in mkdocs.yml's nav."""
    nav = mkdocs_config()["nav"]
    found: list[str] = []

    def walk(node):
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            for child in node.values():
                walk(child)

    walk(nav)
    return found


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("", lambda loader, suffix, node: None)
_Loader.add_constructor(
    "!relative", lambda loader, node: str(ROOT / loader.construct_scalar(node).replace("$config_dir/", "", 1))
)


def snippet_dirs() -> list[Path]:
    """pymdownx.snippets' base_path from mkdocs.yml: where ``--8<-- "x"`` finds x."""
    for extension in mkdocs_config()["markdown_extensions"]:
        if isinstance(extension, dict) and "pymdownx.snippets" in extension:
            return [Path(p) for p in extension["pymdownx.snippets"]["base_path"]]
    return [SNIPPETS]


def expanded(page: Path) -> str:
    """The page's source with its markdown includes (``--8<-- "x.md"``) put in place."""
    text = page.read_text(encoding="utf-8")
    return INCLUDE.sub(lambda m: _included_text(m["path"]) if m["path"].endswith(".md") else m[0], text)


def _snippet_file(path: str) -> Path | None:
    """The included file, or None: a missing one fails the build (pymdownx.snippets' check_paths)
    and so tests/test_site.py; here it must not stop pytest from collecting everything else."""
    found = [base / path for base in snippet_dirs() if (base / path).exists()]
    return found[0] if found else None


def _included_text(path: str) -> str:
    file = _snippet_file(path)
    return file.read_text(encoding="utf-8") if file else ""


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
    for match in INCLUDE.finditer(page.read_text(encoding="utf-8")):
        path, section = match["path"], match["section"]
        if path.endswith(".py") and _snippet_file(path):
            expected.append(copied_text(path, section))
        elif path.endswith(".md"):
            body = _included_text(path)
            fences = [fence for fence in FENCE.finditer(body) if "mermaid" not in fence["lang"]]
            expected.extend(fence["body"].rstrip("\n") for fence in fences)
    return expected
