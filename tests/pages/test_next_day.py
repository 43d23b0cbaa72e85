"""docs/next-day.md: a fresh session loads the base model plus the saved adapter and summarizes.

The page's cells run unmodified, in page order, in a new namespace, once per GPU tab. The adapter
is made here (a LoRA with random, non-zero weights: training is tested in tests/pages/handson/) and put
where the page looks: the output folder, or the Hub (the stand-in hub cache, as a repository of
the logged-in user).
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pytest
import torch

import standin
import project
from project import DOCS, VARIANTS, cells_for

PAGE = DOCS / "next-day.md"
HUB_REPO = f"standin-user/{project.snippet_constant('output_dir', 'HUB_REPO_NAME')}"  # the stand-in's whoami()


@pytest.fixture(scope="module")
def adapter(hub, tmp_path_factory) -> Path:
    """A non-trivial adapter with the hands-on's LoRA settings, saved as the hands-on saves it."""
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    namespace: dict = {"__name__": "__main__"}
    next(c for c in cells_for(VARIANTS[0]) if c.name == "lora_config").run(namespace)
    config = namespace["peft_config"]
    config.init_lora_weights = False  # random A and B: the adapter changes the outputs
    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(standin.MODEL_ID), config)
    folder = tmp_path_factory.mktemp("adapter") / "summary-lora-adapter"
    model.save_pretrained(folder)
    return folder


def install_hub_repo(hub: Path, repo_id: str, folder: Path) -> None:
    """The adapter as the Hub would serve it to ``from_pretrained`` offline: a hub-cache snapshot."""
    repo = hub / "hub" / ("models--" + repo_id.replace("/", "--"))
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(folder, repo / "snapshots" / commit, dirs_exist_ok=True)


def run_page(variant: str, workdir: Path, monkeypatch) -> tuple[dict, str]:
    namespace: dict = {"__name__": "__main__"}
    out = io.StringIO()
    monkeypatch.chdir(workdir)
    standin.HubRecorder().install(monkeypatch)
    standin.ShortGeneration().install(monkeypatch)
    with contextlib.redirect_stdout(out):
        for cell in cells_for(variant, PAGE):
            cell.run(namespace)
    return namespace, out.getvalue()


@pytest.mark.parametrize("variant", VARIANTS)
def test_adapter_from_the_output_folder(adapter, tmp_path, monkeypatch, variant):
    shutil.copytree(adapter, tmp_path / "outputs" / "summary-lora-adapter")
    ns, out = run_page(variant, tmp_path, monkeypatch)
    assert [c.name for c in cells_for(variant, PAGE)][-1] == "load_adapter"
    assert ns["adapter_source"] == str(Path("outputs") / "summary-lora-adapter")
    assert len(ns["summaries"]) == len(ns["rows"]) == min(4, len(ns["splits"]["test"])) > 1
    assert out.count("【要約】") == len(ns["rows"])
    assert "Hub の" not in out
    if variant == "qlora_t4":  # 4 bits on a T4, as the day before
        assert ns["model"].base_model.model.config.quantization_config.load_in_4bit
    # The rows summarized are the evaluation rows the hands-on held out, not rows the adapter trained on.
    assert ns["rows"]["input"] == ns["splits"]["test"].select(range(len(ns["rows"])))["input"]
    assert not set(ns["rows"]["input"]) & set(ns["splits"]["train"]["input"])
    # The adapter in the model is the saved one, weight for weight (not a fresh init, not another folder).
    from safetensors.torch import load_file

    saved = load_file(adapter / "adapter_model.safetensors")
    loaded = {n.replace(".default", ""): p for n, p in ns["model"].named_parameters() if "lora_" in n}
    assert loaded.keys() == saved.keys() and saved
    assert all(torch.equal(loaded[name].detach().cpu(), tensor) for name, tensor in saved.items())


def test_adapter_from_the_hub_when_the_folder_is_gone(adapter, hub, tmp_path, monkeypatch):
    install_hub_repo(hub, HUB_REPO, adapter)
    ns, out = run_page(VARIANTS[0], tmp_path, monkeypatch)
    assert ns["adapter_source"] == HUB_REPO
    assert f"Hub の {HUB_REPO} から読み込みます。" in out
    assert len(ns["summaries"]) == len(ns["rows"])


def test_missing_adapter_says_what_to_check(hub, tmp_path, monkeypatch):
    """No folder, and no Hub repository of that name for this user: a message, not a stack trace."""
    from huggingface_hub import HfApi

    namespace: dict = {"__name__": "__main__"}
    monkeypatch.chdir(tmp_path)
    standin.ShortGeneration().install(monkeypatch)
    monkeypatch.setattr(HfApi, "whoami", lambda self, *a, **k: {"name": "someone-without-that-repo"})
    cells = cells_for(VARIANTS[0], PAGE)
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in cells[:-1]:
            cell.run(namespace)
    with pytest.raises(RuntimeError, match="を読み込めませんでした") as error:
        cells[-1].run(namespace)
    message = str(error.value)
    assert f"someone-without-that-repo/{HUB_REPO.split('/')[1]}" in message
    assert "Google ドライブをマウントしたか" in message and "Hub にアップロードしたか" in message


def test_batched_summaries_equal_one_by_one(adapter, tmp_path, monkeypatch):
    shutil.copytree(adapter, tmp_path / "outputs" / "summary-lora-adapter")
    ns, _ = run_page(VARIANTS[0], tmp_path, monkeypatch)
    monkeypatch.undo()  # the real generate, with a real length
    model, rows = ns["model"], ns["rows"]
    prompts = [ns["build_prompt"](r["instruction"], r["input"]) for r in rows]
    lengths = {len(ns["tokenizer"](p).input_ids) for p in prompts}
    assert len(lengths) > 1, "the rows must need padding for this test to mean anything"
    # What the page says the test shows: on the CPU, in the 24 GB tab's bf16, the rows agree.
    assert model.dtype == torch.bfloat16 and model.device.type == "cpu"
    together = ns["summarize"](model, rows, max_new_tokens=12)
    one_by_one = ns["summarize"](model, rows, max_new_tokens=12, batch_size=1)
    assert together == one_by_one
    # The page's summaries (generate capped at 4 tokens) came from the model with the adapter switched on.
    assert ns["summaries"] == ns["summarize"](model, rows, max_new_tokens=4)
    with model.disable_adapter():
        assert ns["summarize"](model, rows, max_new_tokens=4) != ns["summaries"]
