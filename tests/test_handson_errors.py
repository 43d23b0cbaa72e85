"""Bad input and missing hardware: each page cell, rerun in the situation, says clearly what to do.

The cells run unmodified; only their environment changes (no token, a fake GPU, a gated repo,
broken rows).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import httpx2 as httpx  # the HTTP client huggingface_hub uses
import pytest
import torch

import standin
from project import cell


def run(name: str, namespace: dict | None = None, variant: str | None = None) -> dict:
    namespace = {"__name__": "__main__"} if namespace is None else namespace
    cell(name, variant).run(namespace)
    return namespace


def fake_gpu(monkeypatch, name: str, memory_gib: float, capability: tuple[int, int]) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(
        torch.cuda, "get_device_properties", lambda index: SimpleNamespace(name=name, total_memory=memory_gib * 1024**3)
    )
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index: capability)
    # Emulated bf16 counts here (torch's own behaviour on Turing and Volta): the check must not ask it.
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: pytest.fail("decide by compute capability"))


def test_no_gpu_stops_with_how_to_get_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("HANDSON_ALLOW_CPU")
    with pytest.raises(RuntimeError, match="GPU が見つかりません") as error:
        run("check_gpu")
    assert "ランタイムのタイプを変更" in str(error.value)


def test_troubleshooting_shows_the_message_the_gpu_check_raises(monkeypatch):
    from project import DOCS

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("HANDSON_ALLOW_CPU")
    with pytest.raises(RuntimeError) as error:
        run("check_gpu")
    first_line = f"RuntimeError: {str(error.value).splitlines()[0]}"
    page = (DOCS / "concepts" / "troubleshooting.md").read_text(encoding="utf-8")
    assert f"```text\n{first_line}\n```" in page


def test_cpu_runs_only_with_the_documented_switch(monkeypatch, capsys):
    from project import HANDSON_PAGE

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("HANDSON_ALLOW_CPU", "1")
    run("check_gpu")
    assert "HANDSON_ALLOW_CPU=1 なので CPU で続けます" in capsys.readouterr().out
    assert "HANDSON_ALLOW_CPU=1" in HANDSON_PAGE.read_text(encoding="utf-8")  # the page names the switch


@pytest.mark.parametrize(
    ("gpu", "memory_gib", "capability", "tab"),
    [
        ("NVIDIA L4", 22.0, (8, 9), "24 GB 以上（bf16 LoRA）"),  # an L4 reports about 22 GiB
        ("NVIDIA A100-SXM4-40GB", 39.4, (8, 0), "24 GB 以上（bf16 LoRA）"),
        ("Tesla T4", 14.7, (7, 5), "T4 16 GB（4bit QLoRA）"),
        ("Quadro RTX 6000", 23.6, (7, 5), "T4 16 GB（4bit QLoRA）"),  # 24 GB, but Turing: bf16 only emulated
        ("Tesla V100-SXM2-32GB", 31.7, (7, 0), "T4 16 GB（4bit QLoRA）"),  # Volta: no bf16 either
        ("NVIDIA RTX A4000", 15.7, (8, 6), "T4 16 GB（4bit QLoRA）"),  # bf16 but too little memory for bf16 LoRA
    ],
)
def test_gpu_check_points_to_the_right_tab(monkeypatch, capsys, gpu, memory_gib, capability, tab):
    fake_gpu(monkeypatch, gpu, memory_gib, capability)
    run("check_gpu")
    out = capsys.readouterr().out
    assert f"GPU: {gpu}（メモリ {memory_gib:.1f} GiB、Compute Capability {capability[0]}.{capability[1]}）" in out
    assert f"「{tab}」のタブ" in out


def test_too_small_gpu_stops_with_what_to_use(monkeypatch):
    fake_gpu(monkeypatch, "NVIDIA GeForce GTX 1080", 7.9, (6, 1))
    with pytest.raises(RuntimeError, match="メモリが足りません") as error:
        run("check_gpu")
    assert "T4" in str(error.value)


def test_gpu_thresholds_leave_room_for_the_estimates():
    """The check's memory thresholds cover each tab's estimated peak (the memory page's estimator) plus 1 GB."""
    import project

    estimator = project.load_estimator()
    namespace = run("check_gpu")
    arch = project.seven_b_architecture()
    for method, threshold in (("lora", "BF16_TAB_MIN_GIB"), ("qlora", "QLORA_TAB_MIN_GIB")):
        peak_gib = (estimator.estimate(arch, estimator.Setup(method=method)).peak + 1e9) / 1024**3
        assert peak_gib < namespace[threshold]


def test_page_tabs_match_the_gpu_check_advice():
    from project import HANDSON_PAGE

    page = HANDSON_PAGE.read_text(encoding="utf-8")
    for tab in ("24 GB 以上（bf16 LoRA）", "T4 16 GB（4bit QLoRA）"):
        assert page.count(f'=== "{tab}"') == 2  # model loading and training settings


def test_login_asks_for_a_token_only_when_there_is_none(monkeypatch):
    import huggingface_hub

    calls = []
    monkeypatch.setattr(huggingface_hub, "login", lambda *args, **kwargs: calls.append(args))
    run("login")
    assert calls == []  # HF_TOKEN is set: nothing to ask
    monkeypatch.delenv("HF_TOKEN")
    run("login")
    assert calls == [()]


@pytest.mark.parametrize(("role", "warned"), [("read", True), ("write", False), ("fineGrained", False)])
def test_login_says_before_training_when_the_token_cannot_upload(monkeypatch, capsys, role, warned):
    from huggingface_hub import HfApi

    answer = {"name": "learner", "auth": {"type": "access_token", "accessToken": {"role": role}}}
    monkeypatch.setattr(HfApi, "whoami", lambda self, *a, **k: answer)
    namespace = run("login")
    out = capsys.readouterr().out
    assert namespace["token_role"] == role
    assert ("このトークンは読み取り専用（read）です" in out) == warned
    if warned:
        assert "write 権限のトークンを作り、login(new_session=True) でログインし直してください" in out


def test_login_goes_on_when_the_token_cannot_be_checked(monkeypatch, capsys):
    """Offline (as here) whoami() fails: the cell says nothing and the upload cell will tell."""
    namespace = run("login")
    assert namespace["token_role"] is None and capsys.readouterr().out == ""


def test_upload_with_a_read_only_token_says_what_to_do_and_keeps_the_adapter(monkeypatch, tmp_path):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    (tmp_path / "adapter_model.safetensors").write_bytes(b"weights")

    def forbidden(self, repo_id, **kwargs):
        request = httpx.Request("POST", "https://huggingface.co/api/repos/create")
        raise HfHubHTTPError("403 Forbidden", response=httpx.Response(403, request=request))

    monkeypatch.setattr(HfApi, "whoami", lambda self, *a, **k: {"name": "learner"})
    monkeypatch.setattr(HfApi, "create_repo", forbidden)
    with pytest.raises(RuntimeError, match="に書き込む権限がありません（403）") as error:
        run("push_to_hub", {"__name__": "__main__", "ADAPTER_DIR": tmp_path, "HUB_REPO_NAME": "repo"})
    message = str(error.value)
    assert "learner/repo" in message and "login(new_session=True)" in message and str(tmp_path) in message
    assert (tmp_path / "adapter_model.safetensors").read_bytes() == b"weights"

    def server_error(self, repo_id, **kwargs):  # other HTTP errors are not about the token: shown as they are
        request = httpx.Request("POST", "https://huggingface.co/api/repos/create")
        raise HfHubHTTPError("500 Server Error", response=httpx.Response(500, request=request))

    monkeypatch.setattr(HfApi, "create_repo", server_error)
    with pytest.raises(HfHubHTTPError, match="500"):
        run("push_to_hub", {"__name__": "__main__", "ADAPTER_DIR": tmp_path, "HUB_REPO_NAME": "repo"})


def test_gated_model_without_access_explains_what_to_do(hub, monkeypatch):
    import transformers.utils.hub
    from huggingface_hub.errors import GatedRepoError

    def gated(*args, **kwargs):
        request = httpx.Request("GET", f"https://huggingface.co/{standin.MODEL_ID}")
        raise GatedRepoError("Access to this model is restricted.", response=httpx.Response(403, request=request))

    monkeypatch.setattr(transformers.utils.hub, "hf_hub_download", gated)
    monkeypatch.setattr(transformers.utils.hub, "snapshot_download", gated)
    with pytest.raises(RuntimeError, match="を読み込めませんでした") as error:
        run("load_tokenizer")
    message = str(error.value)
    assert "利用条件に同意" in message and "login()" in message
    assert isinstance(error.value.__cause__, OSError)


def test_push_without_login_says_to_log_in(monkeypatch, tmp_path):
    from huggingface_hub import HfApi

    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr(HfApi, "create_repo", lambda *a, **k: pytest.fail("nothing may be sent without a login"))
    with pytest.raises(RuntimeError, match="ログインしていないのでアップロードできません"):
        run("push_to_hub", {"__name__": "__main__", "ADAPTER_DIR": tmp_path, "HUB_REPO_NAME": "repo"})


@pytest.fixture(scope="module")
def data_cell(hub) -> dict:
    return run("prepare_dataset")


GOOD = {
    "index": "0",
    "instruction": "要約してください。",
    "input": "長い文章です。",
    "output": "短い要約。",
    "category": "summarization",
}


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({k: v for k, v in GOOD.items() if k != "output"}, "「output」が文字列ではありません（値: None）"),
        ({**GOOD, "input": 3}, "「input」が文字列ではありません（値: 3）"),
        ({**GOOD, "category": None}, "「category」が文字列ではありません"),
    ],
)
def test_broken_rows_get_a_clear_message(data_cell, broken, message):
    with pytest.raises(ValueError, match=message) as error:
        data_cell["select_summaries"]([GOOD, {**broken, "index": "7"}])
    assert "index=7 の行" in str(error.value)


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [{**GOOD, "category": "open_qa"}],
        [{**GOOD, "category": "summarization", "output": " "}],
    ],
)
def test_nothing_left_after_filtering_is_a_clear_error(data_cell, rows):
    with pytest.raises(ValueError, match="使える要約の行が 1 件もありません"):
        data_cell["select_summaries"](rows)


def test_cleaning_rules_on_made_up_rows(data_cell):
    base = {**GOOD, "input": "0123456789" * 5}
    rows = [
        {**base, "index": "empty", "output": "  "},
        {**base, "index": "same", "output": " " + base["input"]},
        {**base, "index": "near", "output": base["input"] + "0"},  # ratio 100/101: almost a copy
        {**base, "index": "summary", "output": "0123456789"},  # ratio 20/60: a real shortening
        {**base, "index": "edge", "output": base["input"][:41]},  # ratio 82/91 = 0.901: just a near-copy
        {**base, "index": "below", "output": base["input"][:40]},  # ratio 80/90 = 0.889: kept
        {**base, "index": "at", "input": base["input"] + "01234", "output": base["input"][:45]},  # 90/100 = 0.9
    ]
    kept, dropped = data_cell["select_summaries"](rows)
    assert [row["index"] for row in kept] == ["summary", "below"]
    ratio = data_cell["NEAR_COPY_RATIO"]
    assert dict(dropped) == {
        "入力か出力が空": 1,
        "出力が入力と同じ（丸写し）": 1,
        f"出力が入力とほぼ同じ（一致率 {ratio} 以上）": 3,  # "0.9 以上": exactly 0.9 is dropped too
    }


def test_length_filter_counts_the_eos_and_filters_both_splits(hub, capsys):
    """Rows of MAX_LENGTH - 1, MAX_LENGTH and MAX_LENGTH + 1 tokens before the EOS, in both splits."""
    from datasets import Dataset, DatasetDict
    from transformers import AutoTokenizer

    namespace = run("prompt_format", {"__name__": "__main__", "tokenizer": AutoTokenizer.from_pretrained(standin.MODEL_ID)})
    namespace = run("max_length", {**namespace, "splits": DatasetDict(train=Dataset.from_list([GOOD]), test=Dataset.from_list([GOOD]))})
    limit, tokenizer = namespace["MAX_LENGTH"], namespace["tokenizer"]

    def row_of(tokens: int) -> dict:
        """A row whose prompt and completion make exactly ``tokens`` tokens (the EOS not counted)."""
        body = "あ" * tokens
        while True:
            example = namespace["to_prompt_completion"]({**GOOD, "input": body})
            n = len(tokenizer(example["prompt"] + example["completion"]).input_ids)
            if n == tokens:
                return {**GOOD, "input": body, "index": str(tokens)}
            body = body[: len(body) - (n - tokens)] if n > tokens else body + "あ" * (tokens - n)

    rows = [row_of(limit - 1), row_of(limit), row_of(limit + 1)]
    splits = DatasetDict(train=Dataset.from_list(rows), test=Dataset.from_list(rows))
    capsys.readouterr()
    namespace = run("max_length", {**namespace, "splits": splits})
    # with its EOS, the MAX_LENGTH-token row would be cut: the summary's end would be lost
    assert namespace["splits"]["train"]["index"] == namespace["splits"]["test"]["index"] == [str(limit - 1)]
    assert namespace["too_long"] == {"train": 2, "test": 2}


def test_prompt_format_drops_the_whitespace_a_learners_rows_may_carry():
    """The real summarization rows have none (checked on all 1,263), a learner's own data may: spaces or a
    trailing newline would differ between training and generation, and a newline before the EOS is learned."""
    namespace = run("prompt_format")
    row = {"instruction": " 要約してください。\n", "input": "\n本文です。\n\n", "output": "  短い要約。\n"}
    example = namespace["to_prompt_completion"](row)
    assert example == {
        "prompt": "### 指示\n要約してください。\n\n### 入力\n本文です。\n\n### 応答\n",
        "completion": "短い要約。",
    }
    assert namespace["build_prompt"](row["instruction"], row["input"]) == example["prompt"]


# --- saving somewhere that survives a disconnect --------------------------------------------------


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
    namespace = run("output_dir")
    assert namespace["OUTPUT_DIR"] == Path("outputs") and (tmp_path / "outputs").is_dir()
    assert f"保存先: {tmp_path / 'outputs'}" in capsys.readouterr().out


def test_on_colab_the_output_dir_is_on_google_drive(monkeypatch, tmp_path):
    made = []
    calls = fake_colab(monkeypatch, lambda path: None)
    monkeypatch.setattr(Path, "mkdir", lambda self, **kwargs: made.append(self))  # no /content here
    monkeypatch.chdir(tmp_path)
    namespace = run("output_dir")
    assert calls == ["/content/drive"]
    assert namespace["OUTPUT_DIR"] == namespace["DRIVE_FOLDER"] == made[0]
    assert str(namespace["OUTPUT_DIR"]).startswith("/content/drive/MyDrive/")


def test_without_google_drive_it_says_what_is_lost_and_saves_locally(monkeypatch, tmp_path, capsys):
    def refuse(path):
        raise ValueError("mount failed")  # what google.colab raises when access is not granted

    fake_colab(monkeypatch, refuse)
    monkeypatch.chdir(tmp_path)
    namespace = run("output_dir")
    out = capsys.readouterr().out
    assert namespace["OUTPUT_DIR"] == Path("outputs") and (tmp_path / "outputs").is_dir()
    assert "Google ドライブをマウントできませんでした（mount failed）" in out and "切断されると消える" in out


# --- merging only when the 16-bit model fits --------------------------------------------------------


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
        run("merge", merge_namespace)
    message = str(error.value)
    assert f"CPU のメモリが {merge_namespace['ram_needed_gb']:.1f} GB 要るのに {ram_gb:.1f} GB" in message
    assert f"ディスク {disk_gb:.1f} GB" in message
    assert "マージしなくてもそのまま使えます" in message and str(merge_namespace["ADAPTER_DIR"]) in message
    assert (merge_namespace["ADAPTER_DIR"] / "adapter_model.safetensors").exists()  # nothing trained is lost
    assert not Path("outputs/summary-merged").exists()

    # The learner frees memory and runs the same cell again: it no longer needs the model it let go of
    free_memory(monkeypatch, 100.0)
    run("merge", merge_namespace)
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
        run("merge", merge_namespace)
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
    namespace = run("merge", merge_namespace)
    assert calls == [f"{namespace['SHARD_GB']}GB"] and namespace["SHARD_GB"] == 1


def test_merge_counts_the_16_bit_size_from_the_model_config(merge_namespace, monkeypatch):
    free_memory(monkeypatch, 100.0)
    namespace = run("merge", merge_namespace)
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
        namespace = run("merge", merge_namespace)
    assert chosen == ["auto"] and namespace["adapter_model"].base_model.model.hf_device_map == placement
    check_merged_model(Path("outputs/summary-merged"), merge_namespace["ADAPTER_DIR"], torch.bfloat16, "本文です。")
