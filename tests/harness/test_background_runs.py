"""The runs beside the tests (tests/harness/background_runs.py) are tied to the fixtures that wait for them, and
every process of the suite is set up in one place (tools/process_setup.py)."""

from __future__ import annotations

import re

import background_runs
import process_setup
from project import TESTS, TOOLS


def python_sources(folder) -> dict:
    return {p: p.read_text(encoding="utf-8") for p in folder.rglob("*.py") if "node_modules" not in p.parts}


def test_every_background_run_is_waited_for_by_a_fixture_that_exists():
    """A run starts only when a selected test uses its fixture: a renamed fixture would silently lose its run."""
    sources = "\n".join(python_sources(TESTS).values())
    assert set(background_runs.NEEDED_BY) == set(background_runs.RUNS) | set(background_runs.ON_THEIR_OWN)
    for run, fixture in background_runs.NEEDED_BY.items():
        assert re.search(rf"^def {fixture}\(", sources, re.M), f"no fixture {fixture} waits for the run {run}"
        assert f'background_runs.wait("{run}"' in sources
        assert re.search(rf"^def test_\w+\([^)]*\b{fixture}\b", sources, re.M), f"no test uses {fixture}"


def test_every_process_is_set_up_by_the_one_entry_point():
    """The pytest process, the notebook's kernel and the two-process run call process_setup.prepare(); nothing
    else sets threads, the allocator, the collector or the priority."""
    tests = python_sources(TESTS)
    sources = {**tests, **python_sources(TOOLS)}
    callers = {
        p.relative_to(TESTS.parent).as_posix()
        for p, text in sources.items()
        if "process_setup.prepare(" in text and p.name != "test_background_runs.py"
    }
    assert callers == {"tests/conftest.py", "tests/harness/background_runs.py", "tests/harness/ddp_probe.py"}
    assert "_process_setup.prepare()" in background_runs.PREAMBLE  # the kernel's first cell
    environment = background_runs.environment()  # what the kernel, the probe and the builds get
    assert {name: environment[name] for name in process_setup.ENVIRONMENT} == process_setup.ENVIRONMENT
    # tools/bench_estimator.py sets its own allocator threshold on purpose: it measures memory, it runs no test.
    test_code = {**tests, TOOLS / "standin.py": sources[TOOLS / "standin.py"]}
    knobs = re.compile(r"gc\.(disable|freeze|set_threshold)\(|setpriority\(|mallopt\(|OMP_NUM_THREADS|MALLOC_")
    elsewhere = {
        p.relative_to(TESTS.parent).as_posix()
        for p, text in test_code.items()
        if knobs.search(text) and p.name != "test_background_runs.py"
    }
    assert elsewhere == set()
