"""Offline test environment: a stand-in Hub, set up before any Hugging Face import.

huggingface_hub reads HF_HOME and HF_HUB_OFFLINE once, when it is imported, so they are
set here at the top of conftest, before pytest imports any test module. tools/ and tests/ are
on the import path through pyproject.toml's ``pythonpath``.

One folder serves the whole test session (``SFT_HANDSON_TEST_HOME``): the stand-in Hub and the
results of the background runs (tests/background_runs.py) live there.
"""

import os
import tempfile
from pathlib import Path

import standin

SESSION = Path(os.environ.setdefault("SFT_HANDSON_TEST_HOME", tempfile.mkdtemp(prefix="sft-handson-tests-")))
HF_HOME = SESSION / "hf"
os.environ.update(standin.offline_environment(HF_HOME))
os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread: the background runs use the other core
os.environ.update(standin.ALLOCATOR_ENVIRONMENT)  # for every process the tests start (notebook, script, mkdocs)
standin.keep_freed_memory_in_the_heap()  # and for this one
standin.half_precision_products_in_fp32()  # on a CPU slow at 16-bit products: in fp32, as a GPU sums them

import background_runs  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def hub() -> Path:
    """The stand-in model and dataset, installed once per test session."""
    standin.install_hub(HF_HOME)
    return HF_HOME


def pytest_collection_modifyitems(config, items):
    """The tests that wait for a background run go last; everything else runs meanwhile."""
    items.sort(key=lambda item: background_runs.waits_for_a_run(item.nodeid))  # stable: order kept otherwise


def pytest_sessionstart(session):
    """A run of whole folders or files without -k/-m: start the background runs before collecting (seconds earlier)."""
    option = session.config.option
    if not option.keyword and not option.markexpr and "::" not in " ".join(session.config.args):
        background_runs.start_for_paths(session.config.args)


def pytest_collection_finish(session):
    """Start the runs that need their own processes now, if a selected test needs them (tests/background_runs.py)."""
    background_runs.start_for([item.nodeid for item in session.items])


def pytest_sessionfinish(session, exitstatus):
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
