"""docs/handson.md, step 6: the pre-flight check, on the page's run and on trainers built from deliberately
broken data, and its time estimate on a named GPU. The cell runs unmodified; only what it is given changes.
(The T4 tab's fp16 rule: test_handson_t4.py.)"""

from __future__ import annotations

import contextlib
import io
import re
import statistics
from types import SimpleNamespace

import pytest
import torch

import project
import standin
from handson_checks import run_cell_printing, trained_rows
from project import DOCS, cells_for

ROWS = trained_rows()
TROUBLESHOOTING = DOCS / "concepts" / "troubleshooting.md"


def test_preflight_runs_right_before_training(handson):
    names = [cell.name for cell in cells_for(handson.variant)]
    assert names[names.index("train") - 2 : names.index("train") + 1] == ["trainer", "preflight", "train"]
    out = handson.stdout
    assert out.index("学習前の確認（SFTTrainer が準備した学習用データ）:") < out.index("学習の記録（全")


def test_preflight_reports_what_the_trainer_prepared(handson):
    ns, trainer = handson.namespace, handson.trainer
    report = ns["preflight"]
    trained = [sum(label != -100 for label in labels) for labels in trainer.train_dataset["labels"]]
    assert report["examples"] == len(trainer.train_dataset) == len(ns["train_dataset"])
    assert report["trained"] == trained and min(trained) >= 2  # at least one summary token and the EOS
    assert report["steps"] == trainer.state.max_steps == trainer.state.global_step  # what the Trainer then did
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    assert report["trainable"] == trainable
    assert report["seconds"] is None  # no GPU: no time estimate
    for line in (
        f"  例の数: {len(trained)} 行",
        f"  1 例で損失を計算するトークン（要約と EOS）: 最小 {min(trained)}、中央値 {statistics.median(trained):g}",
        f"  学習するパラメータ: {trainable:,} / 全体 ",
        f"  更新の回数: {trainer.state.max_steps} 回（16 例ごとに 1 回）",
        "  学習時間の目安: GPU がないので出しません。",
    ):
        assert line in handson.stdout


def prompt_completion(rows=ROWS) -> list[dict]:
    return [{"prompt": f"### 指示\n{r['instruction']}\n\n### 応答\n", "completion": r["output"]} for r in rows]


def build_trainer(tmp_path, rows: list[dict], peft: bool = False, **config):
    """A real SFTTrainer on the stand-in model: TRL prepares ``rows`` as it would a learner's data."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(output_dir=str(tmp_path), bf16=False, use_cpu=True, report_to="none", **config)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return SFTTrainer(
            model=AutoModelForCausalLM.from_pretrained(standin.MODEL_ID),
            args=args,
            train_dataset=Dataset.from_list(rows),
            processing_class=AutoTokenizer.from_pretrained(standin.MODEL_ID),
            peft_config=LoraConfig(r=4, target_modules="all-linear", task_type="CAUSAL_LM") if peft else None,
        )


def preflight(trainer, given) -> tuple[dict, str]:
    return run_cell_printing("preflight", {"__name__": "__main__", "trainer": trainer, "train_dataset": given})


def hand_tokenized(tokenizer, eos: bool = True, mask_all: bool = False) -> list[dict]:
    """Rows tokenized by hand, as older tutorials did before TRL made the labels itself."""
    rows = []
    for example in prompt_completion():
        prompt = tokenizer(example["prompt"]).input_ids
        ids = tokenizer(example["prompt"] + example["completion"]).input_ids + [tokenizer.eos_token_id] * eos
        labels = [-100] * len(ids) if mask_all else [-100] * len(prompt) + ids[len(prompt) :]
        rows.append({"input_ids": ids, "labels": labels})
    return rows


def test_no_eos_stops_before_training(hub, tmp_path, tokenizer):
    rows = hand_tokenized(tokenizer, eos=False)
    trainer = build_trainer(tmp_path, rows)
    with pytest.raises(ValueError, match="学習を始める前の確認で問題が見つかりました") as error:
        preflight(trainer, rows)
    message = str(error.value)
    assert (
        f"{len(rows)} 行は、最後のトークンが EOS（</s>）でないか" in message and "生成が止まらなくなります" in message
    )
    assert "prompt と completion の 2 列" in message  # what to do
    assert trainer.state.global_step == 0
    first_line = f"ValueError: {message.splitlines()[0]}"  # the troubleshooting page shows it as it is
    assert f"```text\n{first_line}\n```" in TROUBLESHOOTING.read_text(encoding="utf-8")


def test_prompt_longer_than_max_length_stops_before_training(hub, tmp_path, tokenizer):
    long = {"prompt": "### 指示\n" + ROWS[0]["input"] * 3 + "\n\n### 応答\n", "completion": ROWS[0]["output"]}
    rows = prompt_completion() + [long]
    max_length = max(len(tokenizer(r["prompt"] + r["completion"]).input_ids) + 1 for r in rows[:-1])
    assert len(tokenizer(long["prompt"]).input_ids) > max_length  # the prompt alone is too long
    trainer = build_trainer(tmp_path, rows, max_length=max_length)
    assert len(trainer.train_dataset) == len(rows) - 1  # TRL dropped it without a word
    with pytest.raises(ValueError) as error:
        preflight(trainer, rows)
    message = str(error.value)
    assert f"渡した {len(rows)} 行のうち 1 行を、損失を計算するトークンが 1 つも残らないため" in message
    assert f"max_length の {max_length} トークン" in message and "MAX_LENGTH で除いてください" in message


def test_everything_masked_stops_before_training(hub, tmp_path, tokenizer):
    rows = hand_tokenized(tokenizer, mask_all=True)
    trainer = build_trainer(tmp_path, rows, max_length=None)  # no truncation, so TRL keeps the rows
    with pytest.raises(ValueError) as error:
        preflight(trainer, rows)
    message = str(error.value)
    assert (
        f"{len(rows)} 行は、ラベルがすべて -100 で、損失を計算するトークンがありません（損失が 0 になります）"
        in message
    )
    assert "EOS のラベルが -100" in message  # and so the EOS is not trained either


def test_summary_cut_by_max_length_stops_before_training(hub, tmp_path, tokenizer):
    rows = prompt_completion()
    shortest = min(len(tokenizer(r["prompt"] + r["completion"]).input_ids) + 1 for r in rows)
    prompts = max(len(tokenizer(r["prompt"]).input_ids) for r in rows)
    assert prompts < shortest - 1
    trainer = build_trainer(tmp_path, rows, max_length=shortest - 1)  # every summary loses its end
    with pytest.raises(ValueError) as error:
        preflight(trainer, rows)
    message = str(error.value)
    assert f"{len(rows)} 行は、max_length（{shortest - 1} トークン）で末尾が切られ" in message
    assert "EOS のラベルが -100" not in message  # the cut rows are reported once, as cut


def test_training_on_the_prompt_too_stops_before_training(hub, tmp_path):
    rows = prompt_completion()
    trainer = build_trainer(tmp_path, rows, completion_only_loss=False)
    with pytest.raises(ValueError) as error:
        preflight(trainer, rows)
    assert f"{len(rows)} 行は、プロンプトの先頭から損失を計算します" in str(error.value)


def test_float16_adapters_with_fp16_stop_before_training(hub, tmp_path, monkeypatch):
    """An old tutorial's model.half(): on a T4 the first update would fail with GradScaler's error."""
    rows = prompt_completion()
    trainer = build_trainer(tmp_path, rows, peft=True)
    trainer.model.half()
    monkeypatch.setattr(trainer.args, "fp16", True)  # the T4 tab's setting (it needs a GPU to be set here)
    trainable = sum(p.requires_grad for p in trainer.model.parameters())
    with pytest.raises(ValueError) as error:
        preflight(trainer, rows)
    assert f"学習する重みが float32 ではありません（torch.float16 が {trainable} 個）" in str(error.value)
    assert "Attempting to unscale FP16 gradients." in str(error.value)
    assert "Attempting to unscale FP16 gradients." in TROUBLESHOOTING.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def healthy_trainer(hub, tmp_path_factory):
    return build_trainer(tmp_path_factory.mktemp("preflight"), prompt_completion(), peft=True)


def fake_gpu(monkeypatch, name: str) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: name)


@pytest.mark.parametrize(("gpu", "tflops"), [("Tesla T4", 65), ("NVIDIA L4", 121), ("NVIDIA A100-SXM4-40GB", 312)])
def test_time_estimate_for_a_known_gpu(healthy_trainer, monkeypatch, gpu, tflops):
    fake_gpu(monkeypatch, gpu)
    namespace, out = preflight(healthy_trainer, prompt_completion())
    seconds = namespace["preflight"]["seconds"]
    assert namespace["GPU_TFLOPS"][re.search(r"T4|L4|A100", gpu)[0]] == tflops
    lengths = [len(ids) for ids in healthy_trainer.train_dataset["input_ids"]]
    args = healthy_trainer.args
    expected = namespace["training_seconds"](healthy_trainer.model.config, lengths, args, 1, tflops)
    assert seconds == pytest.approx(expected * args.num_train_epochs, rel=1e-12)
    assert (
        f"学習時間の目安（{gpu}）: 約 {max(1, round(seconds / 60))} 分。計算量からの目安で、測った値ではありません"
        in out
    )


@pytest.mark.parametrize("gpu", ["NVIDIA H100 80GB HBM3", "NVIDIA L40S"])  # L40S is not an L4
def test_no_time_estimate_for_other_gpus(healthy_trainer, monkeypatch, gpu):
    fake_gpu(monkeypatch, gpu)
    namespace, out = preflight(healthy_trainer, prompt_completion())
    assert namespace["preflight"]["seconds"] is None
    assert f"学習時間の目安: {gpu} の目安はありません（T4・L4・A100 だけ出します）。" in out


def test_time_estimate_is_the_projects_estimator(healthy_trainer):
    """The cell's compact formula gives what the memory page's estimator and the page's time table give."""
    import timing

    estimator = project.load_estimator()

    namespace, _ = preflight(healthy_trainer, prompt_completion())
    assert {name: namespace["GPU_TFLOPS"][name.split()[0]] for name in estimator.GPUS} == {
        name: gpu.tflops for name, gpu in estimator.GPUS.items()
    }
    assert namespace["UTILIZATION"] == estimator.UTILIZATION

    config = project.seven_b_config()  # the 7B shape, as the memory page's snippet writes it
    arch = project.seven_b_architecture()
    for batch, seq_len in [(2, 2048), (1, 631), (2, 17)]:
        setup = estimator.Setup(method="lora", batch_size=batch, seq_len=seq_len)
        assert namespace["training_flops"](config, batch, seq_len, True) == estimator.estimate(arch, setup).flops

    lengths = [631, 2048, 120, 977, 1500, 433, 812]  # any lengths: the same batches, the same sum
    args = SimpleNamespace(seed=42, per_device_train_batch_size=2, activation_checkpointing=True, world_size=1)
    settings = {"batch_size": 2, "accumulation": 8, "epochs": 1, "eval_steps": 20}
    for gpu_name, gpu in estimator.GPUS.items():
        report = timing.tab_timing(arch, lengths, [], settings, "lora", gpu, 256, 30)
        seconds = namespace["training_seconds"](config, lengths, args, 1, gpu.tflops)
        assert seconds == pytest.approx(report["train_seconds"], rel=1e-12), gpu_name
