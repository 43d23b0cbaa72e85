"""Helpers of the GGUF page's tests (tests/pages/gguf/): the page's sample, a trained adapter, the page's run."""

from __future__ import annotations

import contextlib
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import project
import standin
import torch
from project import DOCS, ROOT, SNIPPETS, Cell

PAGE = DOCS / "gguf.md"
SDIST_DIR = ROOT / "build" / "gguf"  # git ignores build/
ANSWER = "四月から開館時間が変わります。"  # what the trained adapter says for the page's sample text


def sample_constants() -> dict:
    """INSTRUCTION and TEXT as the page's cell writes them (read, not imported: the cell needs a model)."""
    import ast

    source = (SNIPPETS / "gguf" / "sample_prompt.py").read_text(encoding="utf-8")
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


def train_adapter(folder: Path, prompt: str, answer: str, steps: int = 80) -> None:
    """The hands-on's LoRA settings, trained on one example until greedy decoding answers ``answer`` and then EOS."""
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    namespace: dict = {"__name__": "__main__"}
    project.cell("lora_config").run(namespace)
    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(standin.MODEL_ID)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(standin.MODEL_ID, dtype=torch.float32), namespace["peft_config"]
    )
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
    # The stand-in's output layer is small and not adapted, so the loss stays high (about 9), but the
    # greedy choice is what generation uses: the answer, then EOS.
    model.eval()
    with torch.no_grad():
        generated = model.generate(input_ids=torch.tensor([prompt_ids]), max_new_tokens=len(ids), do_sample=False)
    assert generated[0, len(prompt_ids) :].tolist() == ids[len(prompt_ids) :], (
        loss.item(),
        tokenizer.decode(generated[0, len(prompt_ids) :]),
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def tab_dtype(variant: str) -> torch.dtype:
    """The tab's DTYPE, as its load_model cell sets it (bf16 on the 24 GB tab, fp16 on the T4 tab)."""
    import ast

    source = project.cell("load_model", variant).source()[1]
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["DTYPE"]:
            return getattr(torch, node.value.attr)
    raise AssertionError(f"{variant}: no DTYPE")


def merge_as_the_handson_does(workdir: Path, adapter_dir: Path, variant: str = project.VARIANTS[0]) -> None:
    """The hands-on's merge cell itself, with the tab's DTYPE, where training left its adapter."""
    from transformers import AutoTokenizer

    namespace = {
        "__name__": "__main__",
        "model": None,
        "trainer": None,  # the cell frees them first
        "MODEL_ID": standin.MODEL_ID,
        "ADAPTER_DIR": adapter_dir,
        "DTYPE": tab_dtype(variant),
        "tokenizer": AutoTokenizer.from_pretrained(standin.MODEL_ID),
    }
    with contextlib.chdir(workdir), contextlib.redirect_stdout(io.StringIO()):
        project.cell("merge", variant).run(namespace)


@dataclass
class PageRun:
    workdir: Path
    namespace: dict
    output: str
    generations: list  # each llama.cpp generation the page asked for: the model file and the arguments

    def path(self, name: str) -> Path:
        return self.workdir / self.namespace[name]

    def kept(self, name: str) -> Path:
        """A 16-bit GGUF the page deleted after quantizing it, as it was (gguf_report.keep_quantize_inputs)."""
        return self.workdir / KEPT / self.namespace[name].name


KEPT = "kept-16bit"  # where the tests keep the 16-bit GGUFs that the page deletes once quantized

# The cells a learner without a merged model runs (the page's 1, the functions of 2 and 3, then 5).
ADAPTER_ONLY_CELLS = [
    "output_dir",
    "load_tokenizer",
    "prompt_format",
    "get_converter",
    "sample_prompt",
    "convert",
    "quantize",
    "adapter",
]


@contextlib.contextmanager
def recording_generations(calls: list):
    """While active, each ``Llama(...)(prompt, ...)`` call is recorded (model, LoRA, context, arguments), then run."""
    from llama_cpp import Llama

    original = Llama.__call__

    def recording(self, prompt, *args, **kwargs):
        calls.append(
            {"model_path": self.model_path, "lora_path": self.lora_path, "n_ctx": self.n_ctx(), "args": args, **kwargs}
        )
        return original(self, prompt, *args, **kwargs)

    Llama.__call__ = recording
    try:
        yield calls
    finally:
        Llama.__call__ = original


def run_cells(cells: list[Cell], namespace: dict, workdir: Path, generations: list | None = None) -> str:
    import gguf_report

    out = io.StringIO()
    with (
        contextlib.chdir(workdir),
        contextlib.redirect_stdout(out),
        gguf_report.keep_quantize_inputs(workdir / KEPT),
        recording_generations([] if generations is None else generations),
    ):
        for cell in cells:
            cell.run(namespace)
    return out.getvalue()


def gguf_module(converter_dir: Path):
    """gguf-py as the page's converter ships it (the same version as the llama.cpp that reads the files)."""
    sys.path.insert(0, str(converter_dir / "gguf-py"))
    import gguf

    return gguf


def tensor_types(path: Path, converter_dir: Path) -> dict[str, int]:
    """``{type name: number of tensors}`` of a GGUF file."""
    counts: dict[str, int] = {}
    for tensor in gguf_module(converter_dir).GGUFReader(path).tensors:
        counts[tensor.tensor_type.name] = counts.get(tensor.tensor_type.name, 0) + 1
    return counts
