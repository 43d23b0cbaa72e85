"""The checks around training, each rerun in a situation the hands-on run never meets.

- the loss-mask view (step 3) in a notebook, without IPython, on an example with split characters;
- the pre-flight check (step 6) on trainers built from deliberately broken data, and its time
  estimate on a named GPU;
- the run doctor (step 6) on recorded histories (tests/data/synthetic-trainer-states: SYNTHETIC, made up).

The cells run unmodified; only what they are given changes. The hands-on run itself (the page's data,
the real trainer and its history) is checked in tests/test_handson.py, section "training checks".
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import standin
import project
from project import DOCS, cell

STATES = Path(__file__).parent / "data" / "synthetic-trainer-states"
TROUBLESHOOTING = DOCS / "concepts" / "troubleshooting.md"


def run(name: str, namespace: dict, variant: str | None = None) -> tuple[dict, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cell(name, variant).run(namespace)
    return namespace, out.getvalue()


@pytest.fixture(scope="module")
def tokenizer(hub):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(standin.MODEL_ID)


# --- the loss-mask view -------------------------------------------------------------------------

# "鬱蒼" is not in the vocabulary: each character becomes three byte tokens.
EXAMPLE = {"prompt": "### 指示\n要約してください。\n\n### 応答\n", "completion": "鬱蒼とした森。"}


@pytest.fixture
def mask_cell(tokenizer) -> dict:
    return {"__name__": "__main__", "tokenizer": tokenizer, "MAX_LENGTH": 2048, "train_dataset": [EXAMPLE]}


def test_terminal_view_brackets_exactly_the_summary_and_eos(mask_cell, tokenizer):
    namespace, out = run("loss_mask", mask_cell)
    ids, labels = namespace["loss_mask_ids"], namespace["loss_mask_labels"]
    assert ids[-1] == tokenizer.eos_token_id and labels[-1] == tokenizer.eos_token_id
    view = out.splitlines()[2:]
    assert view[0] == "<s>| ###| |指|示|↵"  # token by token, newlines shown
    inside = "\n".join(view).split("[[", 1)[1]
    assert inside.endswith("]]") and inside.count("[[") == 0
    assert inside[:-2].split("|") == ["鬱", "蒼", "と", "し", "た", "森", "。", "</s>"]  # 3 byte tokens -> one box
    trained = sum(label != -100 for label in labels)
    assert trained == 2 * 3 + 5 + 1 == len(ids) - len(tokenizer(EXAMPLE["prompt"]).input_ids)  # bytes, chars, EOS
    assert (
        f"全 {len(ids)} トークン: 損失を計算する {trained} トークン、ラベルが -100 の {len(ids) - trained} トークン"
        in out
    )


def test_notebook_view_is_coloured_html(mask_cell, tokenizer, monkeypatch):
    from html import escape

    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace(kernel=object()))  # a Jupyter/Colab kernel
    monkeypatch.setattr(IPython.display, "display", shown.append)
    _, out = run("loss_mask", mask_cell)
    (html,) = [item.data for item in shown]
    assert "[[" not in out and "|" not in out  # no terminal markers in a notebook
    trained = re.findall(r'<span style="background:#c8e6c9[^"]*">(.*?)</span>', html.split("</p>", 1)[1])
    assert "".join(trained) == EXAMPLE["completion"] + "&lt;/s&gt;"  # the summary and a visible EOS, escaped
    prompt = re.findall(r'<span style="color:#757575[^"]*">(.*?)</span>', html)
    prompt_ids = tokenizer(EXAMPLE["prompt"]).input_ids
    assert "".join(prompt) == escape(tokenizer.decode(prompt_ids)).replace("\n", "↵<br>")  # every other token, grey


def test_without_ipython_the_view_is_plain_text(mask_cell, monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", None)  # a plain Python (the script form): import fails
    namespace, out = run("loss_mask", mask_cell)
    assert namespace["in_notebook"]() is False and "[[" in out


def test_a_wrong_mask_shows_where_training_happens(mask_cell):
    """What an old-style collator that masks the EOS would look like: the EOS stands outside the brackets."""
    namespace, _ = run("loss_mask", mask_cell)
    boxes = [("<s>", False), ("要約", True), ("</s>", False)]
    assert namespace["as_text"](boxes) == "<s>[[要約]]</s>"


# --- the pre-flight check on broken setups --------------------------------------------------------

ROWS = [r for r in standin.sample_rows() if standin.sample_roles()[r["index"]] == "trained"][:4]


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
    return run("preflight", {"__name__": "__main__", "trainer": trainer, "train_dataset": given})


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


# --- the pre-flight time estimate on a GPU -------------------------------------------------------------


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

    arch = project.seven_b_architecture()  # the 7B shape, as the memory page's snippet writes it
    from transformers import MistralConfig

    config = MistralConfig(
        hidden_size=arch.hidden,
        intermediate_size=arch.intermediate,
        num_hidden_layers=arch.layers,
        num_attention_heads=arch.heads,
        num_key_value_heads=arch.kv_dim * arch.heads // arch.hidden,
        vocab_size=arch.vocab,
    )
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


# --- the run doctor on recorded (synthetic) histories ----------------------------------------------

EXPECTED = {
    "healthy": [],
    "nan": ["loss-zero-nan"],
    "overfit": ["overfitting"],
    "flat": ["loss-not-falling"],
    "spike": ["grad-norm-spikes"],
    "constant-rate": ["lr-schedule"],
    "fp16-early-skips": [],  # a skipped update while the GradScaler finds its scale is normal
    "fp16-collapse": ["fp16-skipped"],
}


@pytest.fixture(scope="module")
def doctor(hub, tmp_path_factory) -> dict:
    """The doctor cell's functions, and the settings the synthetic runs pretend to have (the bf16 tab's)."""
    from trl import SFTConfig

    namespace = {"__name__": "__main__", "OUTPUT_DIR": tmp_path_factory.mktemp("doctor"), "MAX_LENGTH": 2048}
    cell("training_args", "lora_bf16").run(namespace)
    fake_run = SimpleNamespace(state=SimpleNamespace(log_history=[], global_step=0, max_steps=0))
    namespace["trainer"] = fake_run  # the cell's last line diagnoses "trainer"; here nothing was logged yet
    with contextlib.redirect_stdout(io.StringIO()):
        cell("doctor").run(namespace)
    assert isinstance(namespace["training_args"], SFTConfig)
    return namespace


def diagnose(doctor: dict, state, args="page") -> tuple[list, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        findings = doctor["diagnose_training"](state, doctor["training_args"] if args == "page" else args)
    return findings, out.getvalue()


@pytest.mark.parametrize("name", list(EXPECTED))
def test_doctor_names_the_problem_of_each_recorded_run(doctor, name):
    findings, out = diagnose(doctor, STATES / f"{name}.json")
    assert [anchor for anchor, _ in findings] == EXPECTED[name]
    if findings:
        (anchor, message), title = findings[0], doctor["TROUBLESHOOTING"][findings[0][0]]
        assert anchor == EXPECTED[name][0]
        assert f"・{message}\n  →「困ったときは」のページの「{title}」を見てください。" in out
    else:
        assert out.rstrip().endswith("問題は見つかりませんでした。")
    assert out.startswith("学習の記録（全 124 回の更新）: 学習用データの損失 24 個、評価用データの損失 6 個")


def test_doctor_says_from_which_step_evaluation_got_worse(doctor):
    (finding,), _ = diagnose(doctor, STATES / "overfit.json")
    assert "ステップ 60 の 1.490 を底に、ステップ 120 では 1.660 に上がっています" in finding[1]


def test_doctor_details(doctor):
    (nan,), _ = diagnose(doctor, STATES / "nan.json")
    assert "最初はステップ 45 の nan" in nan[1]
    (spike,), _ = diagnose(doctor, STATES / "spike.json")
    assert "勾配ノルムが 1 回" in spike[1] and "最大はステップ 35 の 9.5" in spike[1]
    (rate,), _ = diagnose(doctor, STATES / "constant-rate.json")
    # fp16 may skip a few updates (and their schedule steps): a lag of up to 6 updates is allowed here
    assert "22 か所で設定（cosine、最大 0.0001、全 124 回）と違います（最初はステップ 15 の 0.0001" in rate[1]
    # without the settings there is nothing to compare the rates with
    assert diagnose(doctor, STATES / "constant-rate.json", args=None)[0] == []


def test_doctor_counts_fp16_skips_without_an_alarm(doctor):
    findings, out = diagnose(doctor, STATES / "fp16-early-skips.json")
    assert findings == []
    assert "fp16 で勾配があふれて飛ばした更新の記録が 1 個あります（最初はステップ 5）" in out
    # the same history read as a bf16 run (no GradScaler, no scale logged): an inf gradient is a failure there
    from transformers import TrainerState

    state = TrainerState.load_from_json(str(STATES / "fp16-early-skips.json"))
    for log in state.log_history:
        log.pop("grad_scale", None)
    assert [anchor for anchor, _ in diagnose(doctor, state)[0]] == ["loss-zero-nan"]


def test_doctor_flags_a_collapsing_grad_scale_although_the_loss_looks_normal(doctor):
    (finding,), _ = diagnose(doctor, STATES / "fp16-collapse.json")  # the logged losses are finite: no NaN alarm
    assert finding[0] == "fp16-skipped"
    assert f"勾配ノルムが inf・NaN の記録 19 個、勾配の倍率は最後に {2.0 ** (16 - (120 - 29)):g}" in finding[1]


@pytest.mark.parametrize(
    ("norms", "scales", "expected"),
    [
        ((0.5, math.inf, 0.5, 0.5), None, []),  # one skip, then updates again
        ((0.5, math.inf, math.inf, math.inf), None, ["fp16-skipped"]),  # the last three all skipped
        ((0.5, 0.5, math.inf, math.inf), None, []),  # two in a row: not yet judged
        ((0.5, 0.5, 0.5), (4.0, 2.0, 1.0), []),  # the scale may go down to 1
        ((0.5, 0.5, 0.5), (4.0, 2.0, 0.5), ["fp16-skipped"]),  # below 1: collapsing
    ],
)
def test_doctor_fp16_thresholds_are_the_ones_the_pages_describe(doctor, norms, scales, expected):
    from transformers import TrainerState

    logs = [{"grad_norm": n, "step": 10 * (i + 1)} for i, n in enumerate(norms)]
    for log, scale in zip(logs, scales or ()):
        log["grad_scale"] = scale
    fp16_args = SimpleNamespace(**{**doctor["training_args"].to_dict(), "fp16": True}) if scales is None else None
    state = TrainerState(global_step=10 * len(norms), max_steps=10 * len(norms), log_history=logs)
    findings, _ = diagnose(doctor, state, args=fp16_args)
    assert [anchor for anchor, _ in findings] == expected
    page = TROUBLESHOOTING.read_text(encoding="utf-8")
    assert "inf・NaN の記録が続くとき、または勾配の倍率（`grad_scale`）が 1 を下回ったとき" in page


def made_up_state(loss=(), eval_loss=(), grad_norm=()):
    """A tiny in-memory history: one value per logged point, every 10 updates."""
    from transformers import TrainerState

    series = {"loss": loss, "eval_loss": eval_loss, "grad_norm": grad_norm}
    logs = [{key: value, "step": 10 * (i + 1)} for key, values in series.items() for i, value in enumerate(values)]
    steps = 10 * max(len(loss), len(eval_loss), len(grad_norm))
    return TrainerState(global_step=steps, max_steps=steps, log_history=logs)


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ({"loss": (1.0, 1.0, 1.0, 0.981)}, ["loss-not-falling"]),  # fell by less than 2 %
        ({"loss": (1.0, 1.0, 1.0, 0.979)}, []),
        ({"loss": (1.0, 1.0, 1.0)}, []),  # fewer than 4 points: not judged
        ({"loss": (1.0, 0.8, 0.7), "eval_loss": (1.0, 0.9, 0.9181)}, ["overfitting"]),  # rose by more than 2 %
        ({"loss": (1.0, 0.8, 0.7), "eval_loss": (1.0, 0.9, 0.9179)}, []),
        ({"loss": (1.0, 0.8, 0.7), "eval_loss": (0.9, 0.99)}, []),  # fewer than 3 evaluations: not judged
        ({"grad_norm": (1.0, 1.0, 1.0, 1.0, 10.01)}, ["grad-norm-spikes"]),  # more than 10 times the median
        ({"grad_norm": (1.0, 1.0, 1.0, 1.0, 9.99)}, []),
        ({"grad_norm": (1.0, 1.0, 1.0, 100.0)}, []),  # fewer than 5 points: not judged
        ({"loss": (1.0, 0.0)}, ["loss-zero-nan"]),
        ({"grad_norm": (0.5, float("inf"))}, ["loss-zero-nan"]),
    ],
)
def test_doctor_thresholds_are_the_ones_the_pages_describe(doctor, history, expected):
    findings, out = diagnose(doctor, made_up_state(**history), args=None)
    assert [anchor for anchor, _ in findings] == expected
    assert ("4 個より少ない" in out) == (len(history.get("loss", ())) < 4)
    page = TROUBLESHOOTING.read_text(encoding="utf-8")
    for words in (
        "記録が 4 個以上",
        "2 % に満たなければ",
        "記録が 3 個以上",
        "2 % を超えて上がった",
        "記録が 5 個以上",
        "10 倍を超えた",
    ):
        assert words in page


def test_doctor_reads_a_state_object_like_the_file(doctor):
    from transformers import TrainerState

    state = TrainerState.load_from_json(str(STATES / "overfit.json"))
    assert diagnose(doctor, state) == diagnose(doctor, STATES / "overfit.json")


def test_each_finding_has_its_troubleshooting_section(doctor):
    page = TROUBLESHOOTING.read_text(encoding="utf-8")
    handson = (DOCS / "handson.md").read_text(encoding="utf-8")
    for anchor, title in doctor["TROUBLESHOOTING"].items():
        assert f"\n## {title} {{#{anchor}}}\n" in page, f"困ったときは に「{title}」{{#{anchor}}} の節がありません"
        assert f"](#{anchor})" in page.split("## 症状から探す", 1)[1].split("\n## ", 1)[0]  # listed in the index
        assert f"(concepts/troubleshooting.md#{anchor})" in handson  # the page's table links it


def test_synthetic_histories_are_what_make_states_writes():
    import runpy

    make_states = SimpleNamespace(**runpy.run_path(str(STATES / "make_states.py")))

    for path, text in make_states.outputs().items():
        assert path.read_text(encoding="utf-8") == text, f"python {STATES / 'make_states.py'} で作り直してください"
    # the files really are in transformers' format, and the rates really follow the bf16 tab's schedule
    healthy = json.loads((STATES / "healthy.json").read_text(encoding="utf-8"))
    assert healthy["max_steps"] == 124 and math.isclose(healthy["log_history"][0]["learning_rate"], 1e-4)
