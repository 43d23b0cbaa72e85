"""docs/handson.md, step 6: the run doctor, on the page's run and its saved state, and on recorded histories
(tests/data/synthetic-trainer-states: SYNTHETIC, made up). (The learning rates it expects: test_handson_live_metrics.py.)"""

from __future__ import annotations

import contextlib
import io
import json
import math
from types import SimpleNamespace

import pytest

from project import DOCS, TESTS


def test_doctor_reads_the_run_and_its_saved_state(handson):
    ns, state = handson.namespace, handson.trainer.state
    assert ns["doctor_findings"] == []
    eval_loss = next(log["eval_loss"] for log in state.log_history if "eval_loss" in log)
    lowest = f"評価用データの損失が最も低かったのは、ステップ {state.global_step} の {eval_loss:.3f} です。"
    assert lowest in handson.stdout
    # logging_steps (5) is longer than this run (2 updates): no training loss was logged, and the doctor says so
    assert "学習用データの損失 0 個" in handson.stdout and "4 個より少ないので" in handson.stdout
    saved = handson.workdir / ns["training_args"].output_dir / f"checkpoint-{state.global_step}" / "trainer_state.json"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        findings = ns["diagnose_training"](saved, ns["training_args"])
    assert findings == [] and out.getvalue() in handson.stdout  # the saved file tells the same story


STATES = TESTS / "data" / "synthetic-trainer-states"


TROUBLESHOOTING = DOCS / "concepts" / "troubleshooting.md"


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
