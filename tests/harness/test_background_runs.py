"""The background runs (tests/harness/background_runs.py) are tied to the fixtures that wait for them."""

from __future__ import annotations


def test_every_background_run_is_waited_for_by_a_fixture_that_exists():
    """A run starts only when a selected test uses its fixture: a renamed fixture would silently lose its run."""
    import re

    import background_runs
    from project import TESTS

    sources = "\n".join(path.read_text(encoding="utf-8") for path in TESTS.rglob("test_*.py"))
    for run, fixture in background_runs.NEEDED_BY.items():
        assert re.search(rf"^def {fixture}\(", sources, re.M), f"no fixture {fixture} waits for the run {run}"
        assert f'background_runs.wait("{run}"' in sources
        assert re.search(rf"^def test_\w+\([^)]*\b{fixture}\b", sources, re.M), f"no test uses {fixture}"
