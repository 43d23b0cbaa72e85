"""The other forms of the hands-on (tools/build_forms.py writes them; committed, as GitHub and Colab serve them):
the notebook, the standalone script and its runtime, the script under ``accelerate launch`` with two processes.

The URL fixtures: what a developer's machine has (no REPO_URL, no SITE_URL; the committed files are made so)
and what the deployment sets (tests/harness/learner_files.py).
"""

from __future__ import annotations

import pytest

from learner_files import DEPLOYED


@pytest.fixture
def unknown_urls(monkeypatch):
    """As on a developer's machine: no REPO_URL, no SITE_URL (the committed files are made so)."""
    monkeypatch.delenv("REPO_URL", raising=False)
    monkeypatch.delenv("SITE_URL", raising=False)


@pytest.fixture
def known_urls(monkeypatch):
    for name, value in DEPLOYED.items():
        monkeypatch.setenv(name, value)
