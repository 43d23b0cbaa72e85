"""Japanese writing checks: textlint with preset-ja-technical-writing over every page in docs/.

The config (.textlintrc.json) fits this site: です・ます in prose and lists (headings are noun
phrases), sentences up to 120 characters, markup that textlint's markdown parser does not know
(content tabs, admonitions, math, heading ids, snippet includes) left out, code never checked.
Install the checker with ``npm ci --prefix tests/site/textlint`` (.ci/run does).
"""

from __future__ import annotations

import os

import background_runs
import pytest
from background_runs import TEXTLINT, TEXTLINT_DIR, TEXTLINT_SAMPLE
from project import DOCS, ROOT

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def textlint_problems() -> list[str]:
    """textlint's findings (one line each: path:line:column: message [Error/rule])."""
    if not TEXTLINT.exists():
        reason = f"textlint is not installed (run: npm ci --prefix {TEXTLINT_DIR.relative_to(ROOT)})"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    output = (background_runs.wait("textlint", timeout=120) / "stdout.txt").read_text(encoding="utf-8")
    findings: list[str] = []
    for line in output.splitlines():
        if line.startswith("/"):
            findings.append(line)
        elif findings and line.strip() and not line.strip().endswith("problems"):
            findings[-1] += " " + line.strip()  # a message that spans lines
    assert findings, output  # at least the sample is flagged; nothing at all means textlint failed
    return findings


def test_every_page_passes_the_japanese_writing_checks(textlint_problems):
    in_docs = [line.replace(str(DOCS) + "/", "docs/") for line in textlint_problems if line.startswith(str(DOCS))]
    assert in_docs == [], "textlint found problems (fix the prose):\n" + "\n".join(in_docs)


def test_the_checks_are_switched_on(textlint_problems):
    """The sample page that breaks the rules is flagged: the config really checks prose."""
    flagged = "\n".join(line for line in textlint_problems if line.startswith(str(TEXTLINT_SAMPLE)))
    assert "no-mix-dearu-desumasu" in flagged, flagged  # である in a です・ます page
    assert "sentence-length" in flagged, flagged  # a sentence over 120 characters
