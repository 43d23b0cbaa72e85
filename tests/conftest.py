"""Offline test environment: a stand-in Hub, set up before any Hugging Face import.

huggingface_hub reads HF_HOME and HF_HUB_OFFLINE once, when it is imported, so they are
set here at the top of conftest, before pytest imports any test module; the process itself is set up
first (tools/process_setup.py). tools/ and tests/harness/ are on the import path through pyproject.toml's
``pythonpath``.

One folder serves the whole test session (``SFT_HANDSON_TEST_HOME``): the stand-in Hub and the
results of the background runs (tests/harness/background_runs.py) live there. A folder made here is removed
after a session that passed (about 50 MB); after a failure it stays, with what the runs wrote.
"""

import os
import shutil
import tempfile
from pathlib import Path

import process_setup  # tools/process_setup.py: this process and the ones it starts, set up in one place

process_setup.prepare(imports_follow=True)  # the collector stays off until the tests' modules are imported
import standin  # noqa: E402

MADE_HERE = "SFT_HANDSON_TEST_HOME" not in os.environ
if MADE_HERE:
    os.environ["SFT_HANDSON_TEST_HOME"] = tempfile.mkdtemp(prefix="sft-handson-tests-")
SESSION = Path(os.environ["SFT_HANDSON_TEST_HOME"])
HF_HOME = SESSION / "hf"
os.environ.update(standin.offline_environment(HF_HOME))

import background_runs  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def hub() -> Path:
    """The stand-in model and dataset, installed once per test session."""
    standin.install_hub(HF_HOME)
    return HF_HOME


def pytest_collection_modifyitems(config, items):
    """The tests that wait for a background run go last; everything else runs meanwhile."""
    items.sort(key=background_runs.waits_for_a_run)  # stable: order kept otherwise


def pytest_collection_finish(session):
    """Start the runs that need their own processes now, if a selected test needs them (tests/harness/background_runs.py).

    Not earlier: collecting tests/site/browser/ and tests/site/textlint/ puts those folders on sys.path, and coverage
    reacts to a changed sys.path by removing the modules imported meanwhile, by any thread, from
    sys.modules (coverage 7.17, coveragepy issue 2247). A thread started at session start made the
    collection fail now and then with ``KeyError: 'learner_files'``.
    """
    background_runs.start_for(session.items)
    # The modules the tests use are imported now. The garbage collector walked all their objects on each
    # full pass (22 passes, 8.4 s of this process's CPU in a whole run): leave them out of its passes, and
    # make passes rarer (3.5 s). Whatever a test makes is still collected.
    process_setup.imports_done()


def pytest_sessionfinish(session, exitstatus):
    background_runs.stop_all()
    if MADE_HERE and exitstatus == pytest.ExitCode.OK:
        shutil.rmtree(SESSION, ignore_errors=True)


@pytest.fixture(scope="session")
def local_site() -> tuple[Path, str]:
    """``mkdocs build --strict`` as on a developer's machine: without REPO_URL and SITE_URL.

    Built once per session, in the background (tests/harness/background_runs.py): ``(site folder, build log)``.
    The deployed form: ``deployed_build`` (tests/site/browser/conftest.py).
    """
    out = background_runs.wait("local_site", timeout=120)  # started right after collection
    log = (out / "stdout.txt").read_text(encoding="utf-8") + (out / "stderr.txt").read_text(encoding="utf-8")
    return out / "site", log
