"""Every Python block on every page is accounted for, and inline blocks run.

A block is one of:
- embedded: it only includes files from snippets/ (those are run by the other tests);
- inline: its code is on the page; pytest-examples runs it and checks its `#>` output lines;
- skipped: marked ```python {test="skip" reason="..."} — the reason is required.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from pytest_examples import CodeExample, EvalExample, find_examples

from project import DOCS, INCLUDE

EXAMPLES = [example for example in find_examples(DOCS) if example.path.suffix == ".md"]
PYTHON_FENCE = re.compile(r"^[ \t]*```py(?:thon)?\b", re.M)


def kind(example: CodeExample) -> str:
    lines = [line for line in example.source.splitlines() if line.strip()]
    if lines and all(INCLUDE.match(line) for line in lines):
        return "embedded"
    if example.prefix_settings().get("test") == "skip":
        return "skipped"
    return "inline"


def test_every_python_block_is_in_exactly_one_class():
    fences = sum(len(PYTHON_FENCE.findall(page.read_text(encoding="utf-8"))) for page in DOCS.rglob("*.md"))
    counts = Counter(kind(example) for example in EXAMPLES)
    print(dict(counts))
    assert sum(counts.values()) == fences == len(EXAMPLES)  # nothing escapes the parser
    assert counts["embedded"] > 0 and counts["inline"] > 0


def test_skipped_blocks_say_why():
    for example in EXAMPLES:
        if kind(example) == "skipped":
            assert example.prefix_settings().get("reason"), f'{example}: add reason="..." to the fence'


@pytest.mark.parametrize("example", [e for e in EXAMPLES if kind(e) == "inline"], ids=str)
def test_inline_block_runs_and_prints_what_the_page_shows(example, hub, eval_example: EvalExample):
    failure = None
    try:
        eval_example.run_print_check(example)
    except Exception as error:  # on Python 3.11 pytest-examples' failure crashes pytest unless re-raised outside
        failure = error
    if failure is not None:
        pytest.fail(f"{example}: {failure}")
