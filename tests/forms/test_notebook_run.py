"""The committed notebook, run top to bottom in a Jupyter kernel against the stand-in (the T4 tab: 4-bit QLoRA
under fp16 with CUDA's GradScaler rules; tests/harness/background_runs.py runs it beside the other tests)."""

from __future__ import annotations

import json
import re

import pytest

import background_runs
import standin
from handson_checks import REPO_ID
from learner_files import cell_source, pinned_requirements, secrets_in


@pytest.fixture(scope="module")
def notebook_run():
    """The committed notebook, run top to bottom in a fresh Jupyter kernel against the stand-in.

    Started right after collection (tests/harness/background_runs.py); this waits for it.
    """
    import nbformat

    out = background_runs.wait("notebook")
    nb = nbformat.reads((out / "executed.ipynb").read_text(encoding="utf-8"), as_version=4)
    facts = json.loads(nb.cells[-1].outputs[0]["text"])
    added = (background_runs.PREAMBLE, background_runs.AFTER_LOAD_MODEL, background_runs.BEFORE_MERGE, background_runs.REPORT)
    page_cells = [c for c in nb.cells if c.source not in added]
    return page_cells, out / "work", facts


def outputs_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")


def test_notebook_runs_top_to_bottom(notebook_run):
    cells, workdir, facts = notebook_run
    by_id = {c.id: c for c in cells}
    code = [c for c in cells if c.cell_type == "code"]
    assert all(o["output_type"] != "error" for c in code for o in c.outputs)
    counts = [c.execution_count for c in code]
    assert None not in counts and counts == sorted(counts) and len(set(counts)) == len(counts)  # every cell ran, in order

    # The install cell ran pip for real (no index): every pinned version was already satisfied.
    install = outputs_text(by_id["install"])
    for name, version in pinned_requirements(cell_source(by_id["install"])).items():
        assert re.search(rf"Requirement already satisfied: {re.escape(name)}=={re.escape(version)}", install, re.I), (
            install
        )

    # The T4 (QLoRA) settings: 4-bit base model, fp16 training; two steps on the stand-in data.
    assert facts["fp16"] is True
    assert "学習するパラメータ: " in outputs_text(by_id["preflight"])  # the pre-flight check ran before training
    assert "学習用" in outputs_text(by_id["prepare_dataset"])
    assert facts["before"] == facts["after"] == 3
    # One batched call each: before and after training, then ROUGE before and after (3 rows fit one batch).
    assert facts["requested_max_new_tokens"] == [256] and facts["generate_calls"] == 4
    assert facts["adapters_at_generation"] == ["none", "on", "off", "on"]  # ROUGE "before" without the adapter

    adapter = workdir / facts["adapter_dir"]
    merged = workdir / facts["merged_dir"]
    assert {"adapter_model.safetensors", "adapter_config.json"} <= {p.name for p in adapter.iterdir()}
    assert {"model.safetensors", "config.json"} <= {p.name for p in merged.iterdir()}
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == standin.MODEL_ID

    create, upload = facts["hub_calls"]
    assert create == ["create_repo", REPO_ID, {"private": True, "exist_ok": True}]
    assert upload[:2] == ["upload_folder", REPO_ID] and "adapter_model.safetensors" in upload[2]["files"]

    # The kernel had a token (HF_TOKEN, as a Colab secret gives it): no cell shows it.
    assert secrets_in(json.dumps([c.outputs for c in code], ensure_ascii=False)) == []


def test_notebook_trains_float32_adapters_on_an_unchanged_4bit_base(notebook_run):
    _, _, facts = notebook_run
    assert facts["fp16"] is True and facts["dtype"] == "torch.float16" and facts["load_in_4bit"] is True
    # TRL casts QLoRA adapters to bf16; the trainer cell casts them to float32 for CUDA's GradScaler (lora.md#qlora-dtypes)
    assert facts["trainable_dtypes"] == ["torch.float32"]
    # ... and trained with a GradScaler that refuses what CUDA's refuses (standin.fp16_as_on_a_gpu)
    assert facts["grad_scaler"] == "GradScalerWithCudaRules" and facts["grad_scaler_used"]
    assert facts["trainable_all_lora"] and facts["lora_b_moved"] and facts["global_step"] == 2
    assert facts["base_names_equal"] and facts["base_unchanged"]  # 4-bit packed weights and scales, bit for bit


def test_notebook_saves_a_float32_adapter_and_says_its_size(notebook_run):
    import torch
    from handson_checks import saved_adapter_dtypes

    cells, workdir, facts = notebook_run
    adapter = workdir / facts["adapter_dir"]
    assert saved_adapter_dtypes(adapter) == {torch.float32}
    size = (adapter / "adapter_model.safetensors").stat().st_size / 1e6
    save = next(c for c in cells if c.get("id") == "save_adapter")
    assert f"アダプターの重み {size:.0f} MB" in outputs_text(save)


def test_notebook_merges_into_a_16_bit_reload(notebook_run):
    import torch
    from handson_checks import check_merged_model

    _, workdir, facts = notebook_run
    prompt = "### 指示\n次の文章を要約してください。\n\n### 入力\n本文です。\n\n### 応答\n"
    check_merged_model(workdir / facts["merged_dir"], workdir / facts["adapter_dir"], torch.float16, prompt)
