"""Read the hands-on page and run its embedded snippets, unmodified, in page order.

The page is the single source of order: each ``--8<-- "handson/....py"`` line is one
notebook-like cell. Snippets under ``handson/<variant>/`` sit in the page's GPU tabs;
a run for one variant skips the other variant's tab.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SNIPPETS = ROOT / "snippets"
HANDSON_PAGE = DOCS / "handson.md"
HANDSON_SNIPPETS = SNIPPETS / "handson"
VARIANTS = tuple(sorted(p.name for p in HANDSON_SNIPPETS.iterdir() if p.is_dir() and not p.name.startswith("_")))

INCLUDE = re.compile(r'^[ \t]*(?:-8<-|--8<--)[ \t]+"(?P<path>[^":]+)(?::(?P<section>[\w-]+))?"[ \t]*$', re.M)


def section_lines(lines: list[str], section: str) -> tuple[int, list[str]]:
    """The lines between ``# --8<-- [start:name]`` and ``[end:name]``, and where they start."""
    start = next(i for i, line in enumerate(lines) if line.strip() == f"# --8<-- [start:{section}]")
    end = next(i for i, line in enumerate(lines) if line.strip() == f"# --8<-- [end:{section}]")
    return start + 1, lines[start + 1 : end]


@dataclass(frozen=True)
class Cell:
    path: Path
    section: str | None = None

    @property
    def name(self) -> str:
        return self.path.stem if self.section is None else f"{self.path.stem}:{self.section}"

    @property
    def variant(self) -> str | None:
        parent = self.path.parent.name
        return parent if parent in VARIANTS else None

    def source(self) -> tuple[int, str]:
        lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        if self.section is None:
            return 0, "".join(lines)
        first, body = section_lines(lines, self.section)
        return first, "".join(body)

    def run(self, namespace: dict) -> None:
        first, code = self.source()
        # Padding keeps line numbers true, so tracebacks and coverage point at the real file.
        exec(compile("\n" * first + code, str(self.path), "exec"), namespace)


def includes(page: Path) -> list[tuple[str, str | None]]:
    return [(m["path"], m["section"]) for m in INCLUDE.finditer(page.read_text(encoding="utf-8"))]


def page_cells(page: Path = HANDSON_PAGE) -> list[Cell]:
    return [Cell(SNIPPETS / path, section) for path, section in includes(page) if path.endswith(".py")]


def cells_for(variant: str, page: Path = HANDSON_PAGE) -> list[Cell]:
    return [cell for cell in page_cells(page) if cell.variant in (None, variant)]


def cell(name: str, variant: str | None = None) -> Cell:
    """The page's cell with this name (for tests that rerun one cell in another environment)."""
    pool = page_cells() if variant is None else cells_for(variant)
    return next(c for c in pool if c.name == name)
