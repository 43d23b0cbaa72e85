"""Start textlint over docs/ as soon as pytest collects this folder (conftest.py imports this module).

textlint (node, with a Japanese morphological dictionary) takes a few seconds; started at collection
it runs beside the other tests on the second core, and test_textlint.py only waits for its result.
"""

from __future__ import annotations

import atexit
import os
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[1] / "docs"
TEXTLINT = HERE / "node_modules" / ".bin" / "textlint"
# Checked in the same run, so that a config that silently checks nothing fails the test.
SAMPLE = HERE / "samples" / "breaks-the-rules.md"
COMMAND = [
    str(TEXTLINT),
    "--config",
    str(HERE / ".textlintrc.json"),
    "--ignore-path",
    str(HERE / ".textlintignore"),
    "--format",
    "unix",
    f"{DOCS}/**/*.md",
    str(SAMPLE),
]


def _start() -> subprocess.Popen | None:
    if not TEXTLINT.exists():
        return None
    process = subprocess.Popen(
        COMMAND,
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    atexit.register(lambda: process.poll() is None and process.kill())
    return process


RUN = _start()
