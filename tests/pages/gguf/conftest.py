"""What the GGUF page's tests need around them: llama.cpp's converter offline, a trained adapter, a workdir.

These tests run apart from the main suite (pyproject's ``--ignore=tests/pages/gguf``; README's gguf test
command), because they need llama-cpp-python, which pip builds from source in minutes.

- The page fetches llama.cpp's converter with ``pip download`` (the source distribution of the
  llama-cpp-python it runs with). The tests give that same pip a local folder instead of an index
  (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``): the folder ``build/gguf/`` holds the file and the wheels pip
  needs to read its metadata, downloaded from PyPI once by the fixture below if they are not there yet
  (the only network access of these tests, PyPI only; the Hub is the stand-in, as in the main suite).
- The adapter is trained here, for a few seconds, to answer the page's sample text with a short
  summary and EOS: so "generation stops at EOS" can be checked, and the LoRA applied at load time
  differs measurably from the base model.
- The page deletes each 16-bit GGUF once it is quantized; the runs keep a hard link to each before it is
  quantized (gguf_report.keep_quantize_inputs), so the tests can still compare them with transformers.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest
from gguf_page import (
    ADAPTER_ONLY_CELLS,
    ANSWER,
    PAGE,
    SDIST_DIR,
    PageRun,
    build_prompt,
    merge_as_the_handson_does,
    run_cells,
    sample_constants,
    train_adapter,
)
from project import page_cells


@pytest.fixture(scope="session")
def offline_pip():
    """pip as the page calls it, answered from build/gguf/ instead of PyPI.

    The folder holds llama-cpp-python's source distribution and what pip needs to read its metadata
    (its build backend; cmake and ninja where the machine has none): downloaded from PyPI once if missing.
    """
    version = importlib.metadata.version("llama_cpp_python")
    sdist = SDIST_DIR / f"llama_cpp_python-{version}.tar.gz"
    pip = [sys.executable, "-m", "pip", "download", "--dest", str(SDIST_DIR)]
    if not sdist.exists():
        subprocess.run(
            [*pip, "--no-deps", "--no-binary", "llama-cpp-python", f"llama-cpp-python=={version}"], check=True
        )
    with tarfile.open(sdist) as archive:
        pyproject = archive.extractfile(f"llama_cpp_python-{version}/pyproject.toml").read().decode()
    backend = tomllib.loads(pyproject)["build-system"]["requires"]
    tools = [name for name in ("cmake", "ninja") if shutil.which(name) is None]
    ready = SDIST_DIR / f".build-requirements-{version}"
    if not ready.exists():
        subprocess.run([*pip, *backend, *tools], check=True)
        ready.touch()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIP_NO_INDEX", "1")
        patch.setenv("PIP_FIND_LINKS", str(SDIST_DIR))
        yield sdist


@pytest.fixture(scope="session")
def page_run(hub, offline_pip, tmp_path_factory) -> PageRun:
    """The whole page, top to bottom, in one namespace, after the hands-on left its adapter and merged model."""
    workdir = tmp_path_factory.mktemp("gguf-page")
    constants = sample_constants()
    adapter_dir = workdir / "outputs" / "summary-lora-adapter"  # the hands-on's OUTPUT_DIR outside Colab
    train_adapter(adapter_dir, build_prompt(constants["INSTRUCTION"], constants["TEXT"]), ANSWER)
    merge_as_the_handson_does(workdir, Path("outputs") / "summary-lora-adapter")
    namespace: dict = {"__name__": "__main__"}
    generations: list = []
    output = run_cells(page_cells(PAGE), namespace, workdir, generations)
    return PageRun(workdir, namespace, output, generations)


@pytest.fixture(scope="session")
def adapter_only_run(page_run, tmp_path_factory) -> PageRun:
    """A learner without a merged model: a fresh folder holding only the saved adapter (and llama.cpp's
    converter, which the page's get_converter cell then finds instead of fetching it again), and the cells
    the page names for that case."""
    workdir = tmp_path_factory.mktemp("gguf-adapter-only")
    adapter = Path("outputs") / "summary-lora-adapter"
    shutil.copytree(page_run.workdir / adapter, workdir / adapter)
    converter = page_run.namespace["CONVERTER_DIR"]
    shutil.copytree(page_run.workdir / converter, workdir / converter)
    cells = {c.name: c for c in page_cells(PAGE)}
    namespace: dict = {"__name__": "__main__"}
    generations: list = []
    output = run_cells([cells[name] for name in ADAPTER_ONLY_CELLS], namespace, workdir, generations)
    return PageRun(workdir, namespace, output, generations)
