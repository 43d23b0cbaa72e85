"""The house code (tools/, including the runtime the script carries) passes the linter."""

from __future__ import annotations

import subprocess
import sys

from project import ROOT


def test_the_runtime_and_the_house_code_pass_the_linter():
    """tools/ is real code: pyflakes, pycodestyle and bugbear rules (long Japanese strings are left long)."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,B", "--ignore", "E501", "tools"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
