"""Checks on what the hands-on leaves on disk, shared by the in-process page run (tests/test_handson.py,
bf16 tab) and the notebook's run in a kernel (tests/test_forms.py, T4 tab)."""

from __future__ import annotations

from pathlib import Path

import torch

import standin


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
