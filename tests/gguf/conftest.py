"""What the GGUF page's tests need around them: llama.cpp's converter offline, a trained adapter, a workdir.

These tests run apart from the main suite (pyproject's ``--ignore=tests/gguf``; README's gguf test
command), because they need llama-cpp-python, which pip builds from source in minutes.

- The page fetches llama.cpp's converter with ``pip download`` (the source distribution of the
  llama-cpp-python it runs with). The tests give that same pip a local folder instead of an index
  (``PIP_NO_INDEX``, ``PIP_FIND_LINKS``): the folder ``build/gguf/`` holds the file, downloaded from
  PyPI once by the fixture below if it is not there yet (the only network access; PyPI only).
- The adapter is trained here, for a few seconds, to answer the page's sample text with a short
  summary and EOS: so "generation stops at EOS" can be checked, and the LoRA applied at load time
  differs measurably from the base model.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

import project
import standin
from project import DOCS, ROOT, SNIPPETS, Cell, page_cells

PAGE = DOCS / "gguf.md"
SDIST_DIR = ROOT / "build" / "gguf"  # git ignores build/
ANSWER = "四月から開館時間が変わります。"  # what the trained adapter says for the page's sample text


def sample_constants() -> dict:
    """INSTRUCTION and TEXT as the page's cell writes them (read, not imported: the cell needs a model)."""
    import ast

    source = (SNIPPETS / "gguf" / "run_llama_cpp.py").read_text(encoding="utf-8")
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("INSTRUCTION", "TEXT"):
                found[node.targets[0].id] = ast.literal_eval(node.value)
    return found


def build_prompt(instruction: str, text: str) -> str:
    """The hands-on's own build_prompt (snippets/handson/prompt_format.py)."""
    namespace: dict = {}
    project.cell("prompt_format").run(namespace)
    return namespace["build_prompt"](instruction, text)


@pytest.fixture(scope="session")
def offline_pip():
    """pip as the page calls it, answered from build/gguf/ (downloaded from PyPI once if missing)."""
    version = importlib.metadata.version("llama_cpp_python")
    sdist = SDIST_DIR / f"llama_cpp_python-{version}.tar.gz"
    if not sdist.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--dest", str(SDIST_DIR),
             f"llama-cpp-python=={version}"],
            check=True,
        )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIP_NO_INDEX", "1")
        patch.setenv("PIP_FIND_LINKS", str(SDIST_DIR))
        yield sdist


def train_adapter(folder: Path, prompt: str, answer: str, steps: int = 80) -> None:
    """The hands-on's LoRA settings, trained on one example until it answers ``answer`` and then EOS."""
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    namespace: dict = {"__name__": "__main__"}
    project.cell("lora_config").run(namespace)
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(standin.MODEL_ID)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(standin.MODEL_ID, dtype=torch.float32), namespace["peft_config"])
    prompt_ids = tokenizer(prompt).input_ids
    ids = tokenizer(prompt + answer).input_ids + [tokenizer.eos_token_id]
    assert ids[: len(prompt_ids)] == prompt_ids
    input_ids = torch.tensor([ids])
    labels = torch.tensor([[-100] * len(prompt_ids) + ids[len(prompt_ids) :]])
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=input_ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert loss.item() < 0.05, loss.item()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def merge_as_the_handson_does(workdir: Path, adapter_dir: Path) -> None:
    """The hands-on's merge cell itself (24 GB tab: bf16), where training left its adapter."""
    from transformers import AutoTokenizer

    namespace = {
        "__name__": "__main__",
        "model": None,
        "trainer": None,  # the cell frees them first
        "MODEL_ID": standin.MODEL_ID,
        "ADAPTER_DIR": adapter_dir,
        "DTYPE": torch.bfloat16,
        "tokenizer": AutoTokenizer.from_pretrained(standin.MODEL_ID),
    }
    with contextlib.chdir(workdir), contextlib.redirect_stdout(io.StringIO()):
        project.cell("merge", project.VARIANTS[0]).run(namespace)


@dataclass
class PageRun:
    workdir: Path
    namespace: dict
    output: str

    def path(self, name: str) -> Path:
        return self.workdir / self.namespace[name]


def run_cells(cells: list[Cell], namespace: dict, workdir: Path) -> str:
    out = io.StringIO()
    with contextlib.chdir(workdir), contextlib.redirect_stdout(out):
        for cell in cells:
            cell.run(namespace)
    return out.getvalue()


@pytest.fixture(scope="session")
def page_run(hub, offline_pip, tmp_path_factory) -> PageRun:
    """The whole page, top to bottom, in one namespace, after the hands-on left its adapter and merged model."""
    workdir = tmp_path_factory.mktemp("gguf-page")
    constants = sample_constants()
    adapter_dir = workdir / "outputs" / "summary-lora-adapter"  # the hands-on's OUTPUT_DIR outside Colab
    train_adapter(adapter_dir, build_prompt(constants["INSTRUCTION"], constants["TEXT"]), ANSWER)
    merge_as_the_handson_does(workdir, Path("outputs") / "summary-lora-adapter")
    namespace: dict = {"__name__": "__main__"}
    output = run_cells(page_cells(PAGE), namespace, workdir)
    return PageRun(workdir, namespace, output)
