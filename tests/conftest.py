"""Offline test environment: a stand-in Hub, set up before any Hugging Face import.

huggingface_hub reads HF_HOME and HF_HUB_OFFLINE once, when it is imported, so they are
set here at the top of conftest, before pytest imports any test module.
"""

import os
import tempfile
from pathlib import Path

HF_HOME = Path(tempfile.mkdtemp(prefix="hf-standin-"))
os.environ.update(
    HF_HOME=str(HF_HOME),
    HF_HUB_OFFLINE="1",
    HF_DATASETS_OFFLINE="1",
    HF_TOKEN="hf_standin_token_for_tests",
    HF_HUB_DISABLE_PROGRESS_BARS="1",
    TOKENIZERS_PARALLELISM="false",
    TRANSFORMERS_NO_ADVISORY_WARNINGS="1",
    HANDSON_ALLOW_CPU="1",  # the page's documented switch: run every cell on a machine without a GPU
)

import pytest  # noqa: E402

import standin  # noqa: E402


@pytest.fixture(scope="session")
def hub() -> Path:
    """The stand-in model and dataset, installed once per test session."""
    standin.install_hub(HF_HOME)
    return HF_HOME
