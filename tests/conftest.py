"""Offline test environment: a stand-in Hub, set up before any Hugging Face import.

huggingface_hub reads HF_HOME and HF_HUB_OFFLINE once, when it is imported, so they are
set here at the top of conftest, before pytest imports any test module. tools/ and tests/ are
on the import path through pyproject.toml's ``pythonpath``.
"""

import os
import tempfile
from pathlib import Path

import standin

HF_HOME = Path(tempfile.mkdtemp(prefix="hf-standin-"))
os.environ.update(standin.offline_environment(HF_HOME))

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def hub() -> Path:
    """The stand-in model and dataset, installed once per test session."""
    standin.install_hub(HF_HOME)
    return HF_HOME


def pytest_collection_finish(session):
    """Start the runs that need their own processes now, if a selected test needs them (tests/background_runs.py)."""
    import background_runs

    needed = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    if needed & {"notebook_run", "ddp_run"}:
        standin.install_hub(HF_HOME)
    if "ddp_run" in needed:
        background_runs.start_ddp(HF_HOME)
    if "notebook_run" in needed:
        background_runs.start_notebook(HF_HOME)


def pytest_sessionfinish(session, exitstatus):
    import background_runs

    background_runs.stop_all()


# The site's address and repository (mkdocs.yml reads them from these variables; see README).
URL_VARIABLES = ("REPO_URL", "SITE_URL")


@pytest.fixture(scope="session")
def local_site(tmp_path_factory) -> tuple[Path, str]:
    """``mkdocs build --strict`` as on a developer's machine: without REPO_URL and SITE_URL.

    Built once per session: ``(site folder, build log)``. tests/browser/ builds the deployed form.
    """
    import subprocess
    import sys

    site = tmp_path_factory.mktemp("local-site") / "site"
    env = {key: value for key, value in os.environ.items() if key not in URL_VARIABLES}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=Path(__file__).resolve().parents[1],
        env={**env, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    return site, log
