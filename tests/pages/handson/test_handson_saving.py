"""docs/handson.md, steps 1 and 9: where the run saves, the adapter on disk and on the Hub, and the merge.

The page's run (the ``handson`` fixture) for what it saved; the output-folder and merge cells rerun on
Colab's numbers, without Google Drive, without room for the 16-bit model, with layers offloaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import standin
from handson_checks import LORA_TARGETS, REPO_ID, check_merged_model, run_cell
from project import VARIANTS, cells_for


def test_adapter_files_are_written(handson):
    adapter_dir = handson.workdir / handson.namespace["ADAPTER_DIR"]
    names = {p.name for p in adapter_dir.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "README.md"} <= names
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == standin.MODEL_ID
    assert (config["r"], config["lora_alpha"]) == (16, 32)
    assert {name.split(".")[-1] for name in config["target_modules"]} == LORA_TARGETS


def test_printed_adapter_size_is_the_file_on_disk(handson):
    ns = handson.namespace
    weights = handson.workdir / ns["ADAPTER_DIR"] / "adapter_model.safetensors"
    assert f"アダプターの重み {weights.stat().st_size / 1e6:.0f} MB" in handson.stdout
    assert ns["adapter_mb"] == weights.stat().st_size / 1e6


def test_hub_upload_sends_the_adapter_to_the_learners_repo(handson):
    calls = handson.hub.calls
    assert calls[0] == ("create_repo", REPO_ID, {"private": True, "exist_ok": True})
    kind, repo_id, details = calls[1]
    assert (kind, repo_id) == ("upload_folder", REPO_ID)
    assert {"adapter_model.safetensors", "adapter_config.json", "README.md"} <= set(details["files"])
    assert len(calls) == 2
    assert f"非公開のリポジトリにアップロードしました: https://huggingface.co/{REPO_ID}" in handson.stdout


def test_adapter_is_uploaded_before_the_merge_reloads_the_base_model():
    names = [cell.name for cell in cells_for(VARIANTS[0])]
    assert names.index("save_adapter") < names.index("push_to_hub") < names.index("merge")
    assert names[-1] == "merge"  # the only step that loads 14.5 GB comes last: nothing is lost if it stops


def test_merged_model_matches_the_adapter_model(handson):
    ns = handson.namespace
    text = ns["train_dataset"][0]["prompt"]
    check_merged_model(handson.workdir / ns["MERGED_DIR"], handson.workdir / ns["ADAPTER_DIR"], ns["DTYPE"], text)


def fake_colab(monkeypatch, mount) -> list:
    """A ``google.colab`` module whose ``drive.mount`` does what ``mount`` does."""
    import sys

    calls = []
    drive = SimpleNamespace(mount=lambda path: (calls.append(path), mount(path)))
    colab = SimpleNamespace(drive=drive)
    monkeypatch.setitem(sys.modules, "google", SimpleNamespace(colab=colab))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    return calls


def test_outside_colab_the_output_dir_is_local(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = run_cell("output_dir")
    assert namespace["OUTPUT_DIR"] == Path("outputs") and (tmp_path / "outputs").is_dir()
    assert f"保存先: {tmp_path / 'outputs'}" in capsys.readouterr().out


def test_on_colab_the_output_dir_is_on_google_drive(monkeypatch, tmp_path):
    made = []
    calls = fake_colab(monkeypatch, lambda path: None)
    monkeypatch.setattr(Path, "mkdir", lambda self, **kwargs: made.append(self))  # no /content here
    monkeypatch.chdir(tmp_path)
    namespace = run_cell("output_dir")
    assert calls == ["/content/drive"]
    assert namespace["OUTPUT_DIR"] == namespace["DRIVE_FOLDER"] == made[0]
    assert str(namespace["OUTPUT_DIR"]).startswith("/content/drive/MyDrive/")


def test_without_google_drive_it_says_what_is_lost_and_saves_locally(monkeypatch, tmp_path, capsys):
    def refuse(path):
        raise ValueError("mount failed")  # what google.colab raises when access is not granted

    fake_colab(monkeypatch, refuse)
    monkeypatch.chdir(tmp_path)
    namespace = run_cell("output_dir")
    out = capsys.readouterr().out
    assert namespace["OUTPUT_DIR"] == Path("outputs") and (tmp_path / "outputs").is_dir()
    assert "Google ドライブをマウントできませんでした（mount failed）" in out and "切断されると消える" in out


@pytest.fixture
def merge_namespace(hub, tmp_path, monkeypatch) -> dict:
    """What the merge cell finds after training: a saved adapter, the model and trainer still in memory."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    monkeypatch.chdir(tmp_path)
    base = AutoModelForCausalLM.from_pretrained(standin.MODEL_ID)
    lora = LoraConfig(r=4, target_modules="all-linear", task_type="CAUSAL_LM", init_lora_weights=False)
    adapter = get_peft_model(base, lora)  # B is not zero: as after training, merging changes every target
    adapter.save_pretrained(tmp_path / "adapter")
    return {
        "__name__": "__main__",
        "model": adapter,
        "trainer": object(),
        "MODEL_ID": standin.MODEL_ID,
        "ADAPTER_DIR": tmp_path / "adapter",
        "DTYPE": torch.bfloat16,
        "tokenizer": AutoTokenizer.from_pretrained(standin.MODEL_ID),
    }


def free_memory(monkeypatch, ram_gb: float, disk_gb: float = 100.0, gpu_gb: float | None = None) -> None:
    import shutil

    import psutil

    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(available=ram_gb * 1e9))
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(free=disk_gb * 1e9))
    if gpu_gb is not None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "mem_get_info", lambda *a: (gpu_gb * 1e9, 16e9))


@pytest.mark.parametrize(
    ("ram_gb", "disk_gb"),
    [(0.001, 100.0), (100.0, 0.001)],  # the stand-in needs about 0.01 GB in 16 bits
    ids=["too-little-memory", "too-little-disk"],
)
def test_merge_refuses_when_the_16_bit_model_would_not_fit(merge_namespace, monkeypatch, ram_gb, disk_gb):
    free_memory(monkeypatch, ram_gb, disk_gb)
    with pytest.raises(RuntimeError, match="空きが足りません") as error:
        run_cell("merge", merge_namespace)
    message = str(error.value)
    assert f"CPU のメモリが {merge_namespace['ram_needed_gb']:.1f} GB 要るのに {ram_gb:.1f} GB" in message
    assert f"ディスク {disk_gb:.1f} GB" in message
    assert "マージしなくてもそのまま使えます" in message and str(merge_namespace["ADAPTER_DIR"]) in message
    assert (merge_namespace["ADAPTER_DIR"] / "adapter_model.safetensors").exists()  # nothing trained is lost
    assert not Path("outputs/summary-merged").exists()

    # The learner frees memory and runs the same cell again: it no longer needs the model it let go of
    free_memory(monkeypatch, 100.0)
    run_cell("merge", merge_namespace)
    assert merge_namespace["model"] is None and merge_namespace["trainer"] is None
    assert (Path("outputs/summary-merged") / "config.json").exists()


class Loading(Exception):
    """The check passed and the cell started loading the 16-bit model."""


@pytest.mark.parametrize(
    ("gpu_gb", "ram_gb", "fits"),
    [
        (15.0, 12.7, True),  # free Colab, the training model freed: 90 % on the T4, the rest and a shard in RAM
        (4.0, 12.7, False),  # the training model still on the GPU: most layers would go to the RAM
        (15.0, 2.5, False),  # the offloaded layers, one shard and the margin need about 3 GB
        (0.0, 16.6, True),  # no GPU: the whole 14.5 GB model, a shard and the margin in RAM
    ],
)
def test_merge_check_with_colabs_numbers_and_the_7b_model(merge_namespace, monkeypatch, gpu_gb, ram_gb, fits):
    """The 7B shape (not the stand-in's) against a T4's free memory, as device_map="auto" would place it."""
    import peft
    import transformers

    import project

    config = project.seven_b_config()
    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained", lambda *args, **kwargs: config)
    def loading(*args, **kwargs):
        raise Loading

    monkeypatch.setattr(peft.AutoPeftModelForCausalLM, "from_pretrained", loading)
    free_memory(monkeypatch, ram_gb, gpu_gb=gpu_gb if gpu_gb else None)
    with pytest.raises(Loading if fits else RuntimeError):
        run_cell("merge", merge_namespace)
    ns = merge_namespace
    assert ns["needed_gb"] == pytest.approx(14.48, abs=0.01)  # 7.24B parameters, 2 bytes each
    offloaded = max(ns["needed_gb"] - ns["GPU_SHARE"] * gpu_gb, 0)
    assert ns["ram_needed_gb"] == pytest.approx(offloaded + ns["SHARD_GB"] + 1)


def test_merge_saves_small_shards(merge_namespace, monkeypatch):
    """safetensors gathers a whole shard in RAM before writing it: the cell asks for 1 GB shards."""
    import transformers

    free_memory(monkeypatch, 100.0)
    calls = []
    original = transformers.PreTrainedModel.save_pretrained

    def save_pretrained(self, *args, **kwargs):
        calls.append(kwargs.get("max_shard_size"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(transformers.PreTrainedModel, "save_pretrained", save_pretrained)
    namespace = run_cell("merge", merge_namespace)
    assert calls == [f"{namespace['SHARD_GB']}GB"] and namespace["SHARD_GB"] == 1


def test_merge_counts_the_16_bit_size_from_the_model_config(merge_namespace, monkeypatch):
    free_memory(monkeypatch, 100.0)
    namespace = run_cell("merge", merge_namespace)
    params = sum(p.numel() for p in namespace["merged_model"].parameters())
    assert namespace["needed_gb"] == params * 2 / 1e9
    assert (Path("outputs/summary-merged") / "model.safetensors").exists()


def test_merge_of_offloaded_layers_saves_base_plus_update(merge_namespace, monkeypatch):
    """On a T4, device_map="auto" leaves some 16-bit layers off the GPU. Here layer 1 goes to the disk
    (on a CPU-only machine that is the offload that takes the hooks' path): its merged weights must still
    be W + (alpha/r)·BA, and the reloaded folder must compute what base + adapter computes."""
    import peft.peft_model
    import transformers.modeling_utils
    from handson_checks import check_merged_model

    placement = {"model.embed_tokens": "cpu", "model.layers.0": "cpu", "model.layers.1": "disk"}
    placement |= {"model.norm": "cpu", "model.rotary_emb": "cpu", "lm_head": "cpu"}
    chosen = []

    def auto_map(model, device_map, *args):
        chosen.append(device_map)
        return dict(placement)

    free_memory(monkeypatch, 100.0)
    with pytest.MonkeyPatch.context() as placed:
        # transformers places the base model, then PEFT places it again with the adapter (names prefixed)
        placed.setattr(transformers.modeling_utils, "_get_device_map", auto_map)
        peft_map = {f"base_model.model.{name}": device for name, device in placement.items()}
        placed.setattr(peft.peft_model, "infer_auto_device_map", lambda *a, **k: dict(peft_map))
        namespace = run_cell("merge", merge_namespace)
    assert chosen == ["auto"] and namespace["adapter_model"].base_model.model.hf_device_map == placement
    check_merged_model(Path("outputs/summary-merged"), merge_namespace["ADAPTER_DIR"], torch.bfloat16, "本文です。")
