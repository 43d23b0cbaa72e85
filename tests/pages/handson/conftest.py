"""docs/handson.md's tests share one run of the page (tests/harness/page_run.py), the stand-in's tokenizer and
the run doctor's functions.

Each is made once per test session, by the first test that asks: the page trains once, whichever of
this folder's files run.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import project
import standin
from handson_checks import run_cell, run_cell_printing
from page_run import IN_PROCESS_VARIANT, HandsonRun, run_page


@pytest.fixture(scope="session", params=[IN_PROCESS_VARIANT])
def handson(request, hub, tmp_path_factory) -> HandsonRun:
    return run_page(request.param, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="session")
def tokenizer(hub):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(standin.MODEL_ID)


@pytest.fixture(scope="session")
def doctor(hub, tmp_path_factory) -> dict:
    """The doctor cell's functions, and the settings the synthetic runs pretend to have (the bf16 tab's).
    For test_handson_doctor.py and the live-metrics run's learning-rate test."""
    from trl import SFTConfig

    namespace = {"__name__": "__main__", "OUTPUT_DIR": tmp_path_factory.mktemp("doctor"), "MAX_LENGTH": 2048}
    run_cell("training_args", namespace, project.SCRIPT_DEFAULT_VARIANT)
    fake_run = SimpleNamespace(state=SimpleNamespace(log_history=[], global_step=0, max_steps=0))
    namespace["trainer"] = fake_run  # the cell's last line diagnoses "trainer"; here nothing was logged yet
    run_cell_printing("doctor", namespace)  # what it prints of the empty run is not needed
    assert isinstance(namespace["training_args"], SFTConfig)
    return namespace
