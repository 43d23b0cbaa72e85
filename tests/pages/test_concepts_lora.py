"""docs/concepts/lora.md: snippets that show their output on the page as `#>` lines: run them and compare;
the page's 7B is the memory page's.

Pages show what a snippet prints only through these `#>` lines, so a number on a page
that comes from code is always the number the code prints today.
"""

from __future__ import annotations

import contextlib
import io

import pytest

import project
from project import SNIPPETS, Cell

SNIPPETS_WITH_OUTPUT = sorted(p for p in SNIPPETS.rglob("*.py") if "\n#> " in p.read_text(encoding="utf-8"))


def expected_output(cell: Cell) -> str:
    _, code = cell.source()
    return "\n".join(line.removeprefix("#> ") for line in code.splitlines() if line.startswith("#> "))


def test_there_are_checked_outputs():
    assert SNIPPETS_WITH_OUTPUT, "no snippet shows checked output"


@pytest.mark.parametrize("path", SNIPPETS_WITH_OUTPUT, ids=lambda p: p.relative_to(SNIPPETS).as_posix())
def test_printed_output_matches_the_page(path):
    cell = Cell(path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cell.run({"__name__": "__main__"})
    assert out.getvalue().strip() == expected_output(cell)


def test_the_lora_pages_7b_is_the_memory_pages_7b():
    """Each page shows the whole shape (a learner copies one snippet); the two copies cannot drift apart."""
    lora_page = project.config_in_snippet(SNIPPETS / "concepts" / "lora" / "lora_parameter_count.py")
    assert lora_page.to_dict() == project.seven_b_config().to_dict()
