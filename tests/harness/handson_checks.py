"""Checks and facts shared by the hands-on's tests: the in-process page run (tests/pages/handson/, bf16 tab),
the notebook's run in a kernel (tests/forms/test_notebook_run.py, T4 tab) and the next-day page."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import torch

import project
import standin

LORA_TARGETS = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
# Where the hands-on uploads: the learner's repository, with the name the output_dir cell sets.
REPO_ID = f"{standin.HUB_USER}/{project.snippet_constant('output_dir', 'HUB_REPO_NAME')}"
# Which rule drops which kind of sample row (tests/data/databricks-dolly-15k-ja/roles.json).
REASON_OF_ROLE = {"exact_copy": "出力が入力と同じ（丸写し）", "near_copy": "出力が入力とほぼ同じ（一致率 0.9 以上）"}


def indexes(*roles: str) -> set[str]:
    """The sample rows that are there for one of these reasons (tools/pick_sample.py)."""
    return {index for index, role in standin.sample_roles().items() if role in roles}


def trained_rows(count: int = 4) -> list[dict]:
    """The first sample rows that the hands-on trains on (none dropped by cleaning or length)."""
    return [row for row in standin.sample_rows() if standin.sample_roles()[row["index"]] == "trained"][:count]


def run_cell(name: str, namespace: dict | None = None, variant: str | None = None) -> dict:
    """One hands-on cell, unmodified, in ``namespace`` (a fresh one by default); its namespace afterwards."""
    namespace = {"__name__": "__main__"} if namespace is None else namespace
    project.cell(name, variant).run(namespace)
    return namespace


def run_cell_printing(name: str, namespace: dict, variant: str | None = None) -> tuple[dict, str]:
    """``run_cell``, and what the cell printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_cell(name, namespace, variant)
    return namespace, out.getvalue()


def tokenized_example(trainer, position: int) -> tuple[list[int], list[int]]:
    """input_ids and labels of one training example, as the trainer's collator builds them."""
    batch = trainer.data_collator([trainer.train_dataset[position]])
    return batch["input_ids"][0].tolist(), batch["labels"][0].tolist()


def tab_settings(namespace: dict, variant: str):
    """The training settings of a GPU tab: its settings cell, run after the page's earlier cells."""
    return run_cell("training_args", dict(namespace), variant)["training_args"]


def base_name(peft_name: str) -> str:
    return peft_name.removeprefix("base_model.model.").replace(".base_layer", "")


def logits(model, tokenizer, text: str) -> torch.Tensor:
    inputs = tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        return model(**inputs).logits.float()


def check_merged_model(merged_dir: Path, adapter_dir: Path, dtype: torch.dtype, text: str) -> None:
    """The merged model is W + (alpha/r)·BA for every LoRA target, 16-bit, and computes what base + adapter computes."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    names = {p.name for p in merged_dir.iterdir()}
    assert {"config.json", "tokenizer.json"} <= names
    assert "model.safetensors" in names or "model.safetensors.index.json" in names  # one file, or shards
    merged = AutoModelForCausalLM.from_pretrained(merged_dir).eval()
    assert merged.dtype == dtype and not hasattr(merged, "peft_config")  # 16-bit, plain transformers model

    base = AutoModelForCausalLM.from_pretrained(standin.MODEL_ID, dtype=dtype).eval()
    base_weights = {name: p.detach().clone() for name, p in base.named_parameters()}
    adapter = PeftModel.from_pretrained(base, adapter_dir).eval()

    # Weights: every merged matrix is W + (alpha/r)·BA, rounded once to 16 bits.
    merged_weights = dict(merged.named_parameters())
    moved = 0
    for name, module in adapter.named_modules():
        if hasattr(module, "lora_A"):
            key = base_name(name) + ".weight"
            delta = module.scaling["default"] * (module.lora_B["default"].weight @ module.lora_A["default"].weight)
            expected = (base_weights[key].float() + delta.float()).to(dtype)
            torch.testing.assert_close(merged_weights[key], expected, rtol=torch.finfo(dtype).eps, atol=1e-6)
            moved += int(not torch.equal(merged_weights[key], base_weights[key]))
    assert moved == 7 * len(merged.model.layers), "every LoRA target must carry its update"

    # Outputs: the merged model computes what the base model plus adapter computes.
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    torch.testing.assert_close(logits(merged, tokenizer, text), logits(adapter, tokenizer, text), rtol=0, atol=1e-2)


def saved_adapter_dtypes(adapter_dir: Path) -> set[torch.dtype]:
    from safetensors.torch import load_file

    return {value.dtype for value in load_file(adapter_dir / "adapter_model.safetensors").values()}


class UpdateCounter:
    """Counts the optimizer updates of one ``train()`` call (added to a trainer a cell built), and notes the
    type the first q_proj LoRA layer computes in (fp16 under autocast, as on a GPU)."""

    def __init__(self):
        from transformers import TrainerCallback

        counter = self

        class Callback(TrainerCallback):
            def on_train_begin(self, args, state, control, model=None, **kwargs):
                lora_a = next(m for name, m in model.named_modules() if name.endswith("q_proj.lora_A.default"))
                lora_a.register_forward_hook(lambda module, inputs, output: counter.dtypes.add(output.dtype))

            def on_step_end(self, args, state, control, **kwargs):
                counter.steps.append(state.global_step)

        self.steps: list[int] = []
        self.dtypes: set[torch.dtype] = set()
        self.callback = Callback()
