"""The standalone script under ``accelerate launch`` with two processes (CPU, gloo): one model, trained together
(tests/harness/ddp_probe.py keeps each process's copy; tests/harness/background_runs.py runs it beside the other tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import background_runs
import standin
from learner_files import secrets_in


@pytest.fixture(scope="module")
def ddp_run():
    """The two-process run, started right after collection (tests/harness/background_runs.py)."""
    out = background_runs.wait("ddp")
    return out, (out / "stdout.txt").read_text(encoding="utf-8")


def adapter_weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "adapter_model.safetensors")


def test_two_processes_train_one_model(ddp_run):
    import torch

    workdir, stdout = ddp_run
    facts = [json.loads((workdir / "probe" / f"rank{r}" / "facts.json").read_text()) for r in (0, 1)]
    for rank, fact in enumerate(facts):
        assert (fact["rank"], fact["world_size"], fact["backend"], fact["global_step"]) == (rank, 2, "gloo", 2)
        assert fact["cwd"] == str(workdir / "run") and fact["model_id"] == standin.MODEL_ID
        assert fact["wrapped_in"] == "DistributedDataParallel"  # not two independent runs that happen to agree
    assert [f["has_merged_model"] for f in facts] == [True, False]  # merging runs on the main process only

    rank0, rank1 = (adapter_weights(workdir / "probe" / f"rank{r}") for r in (0, 1))
    assert rank0.keys() == rank1.keys() and rank0
    assert all(torch.equal(rank0[name], rank1[name]) for name in rank0), "the processes ended with different weights"
    assert all(value.abs().sum() > 0 for name, value in rank0.items() if "lora_B" in name)  # trained, not initial

    saved = adapter_weights(workdir / "run" / "outputs" / "summary-lora-adapter")  # what the script itself saved
    assert all(torch.equal(saved[name], rank0[name]) for name in rank0)
    assert (workdir / "run" / "outputs" / "summary-merged" / "model.safetensors").exists()
    assert (workdir / "run" / "outputs" / "loss.png").stat().st_size > 0  # the loss graph, kept as a file
    assert stdout.count(f"設定: 24 GB 以上（bf16 LoRA） / モデル {standin.MODEL_ID}") == 1
    assert "分散学習: このプロセスは cpu にモデル全体を読み込みます。" in stdout
    assert stdout.count("学習するパラメータ: ") == 1  # the other process's cell output is kept quiet
    assert secrets_in(stdout + (workdir / "stderr.txt").read_text()) == []  # HF_TOKEN was set: never printed
