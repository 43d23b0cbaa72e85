"""docs/handson.md's tests share one run of the page (tests/harness/page_run.py) and the stand-in's tokenizer.

Both are made once per test session, by the first test that asks: the page trains once, whichever of
this folder's files run.
"""

from __future__ import annotations

import pytest

import standin
from page_run import IN_PROCESS_VARIANT, HandsonRun, run_page


@pytest.fixture(scope="session", params=[IN_PROCESS_VARIANT])
def handson(request, hub, tmp_path_factory) -> HandsonRun:
    return run_page(request.param, tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="session")
def tokenizer(hub):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(standin.MODEL_ID)
