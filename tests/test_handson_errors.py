"""Bad input and missing hardware: each page cell, rerun in the situation, says clearly what to do.

The cells run unmodified; only their environment changes (no token, a fake GPU, a gated repo,
broken rows).
"""

from __future__ import annotations

from types import SimpleNamespace

import httpx2 as httpx  # the HTTP client huggingface_hub uses
import pytest
import torch

from handson_page import cell


def run(name: str, namespace: dict | None = None, variant: str | None = None) -> dict:
    namespace = {"__name__": "__main__"} if namespace is None else namespace
    cell(name, variant).run(namespace)
    return namespace


def fake_gpu(monkeypatch, name: str, memory_gib: float, bf16: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(
        torch.cuda, "get_device_properties", lambda index: SimpleNamespace(name=name, total_memory=memory_gib * 1024**3)
    )
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16)


def test_no_gpu_warns_how_to_get_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="GPU が見つかりません") as record:
        run("check_gpu")
    assert "ランタイムのタイプを変更" in str(record[0].message)


@pytest.mark.parametrize(
    ("gpu", "memory_gib", "bf16", "tab"),
    [
        ("NVIDIA L4", 22.0, True, "24 GB 以上（bf16 LoRA）"),  # an L4 reports about 22 GiB
        ("NVIDIA A100-SXM4-40GB", 39.4, True, "24 GB 以上（bf16 LoRA）"),
        ("Tesla T4", 14.7, False, "T4 16 GB（4bit QLoRA）"),
        ("NVIDIA RTX A4000", 15.7, True, "T4 16 GB（4bit QLoRA）"),  # bf16 but too little memory for bf16 LoRA
    ],
)
def test_gpu_check_points_to_the_right_tab(monkeypatch, capsys, recwarn, gpu, memory_gib, bf16, tab):
    fake_gpu(monkeypatch, gpu, memory_gib, bf16)
    run("check_gpu")
    out = capsys.readouterr().out
    assert f"GPU: {gpu}（メモリ {memory_gib:.1f} GiB）" in out
    assert f"「{tab}」のタブ" in out
    assert not recwarn.list


def test_page_tabs_match_the_gpu_check_advice():
    from handson_page import HANDSON_PAGE

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


def test_gated_model_without_access_explains_what_to_do(hub, monkeypatch):
    import transformers.utils.hub
    from huggingface_hub.errors import GatedRepoError

    def gated(*args, **kwargs):
        request = httpx.Request("GET", "https://huggingface.co/stabilityai/japanese-stablelm-base-gamma-7b")
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
    with pytest.raises(RuntimeError, match="ログインしていないので公開できません"):
        run("push_to_hub", {"__name__": "__main__", "ADAPTER_DIR": tmp_path})


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
    ]
    kept, dropped = data_cell["select_summaries"](rows)
    assert [row["index"] for row in kept] == ["summary", "below"]
    ratio = data_cell["NEAR_COPY_RATIO"]
    assert dict(dropped) == {
        "入力か出力が空": 1,
        "出力が入力と同じ（丸写し）": 1,
        f"出力が入力とほぼ同じ（一致率 {ratio} 以上）": 2,
    }
