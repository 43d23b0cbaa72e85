"""The live-metrics callback and the loss-curve cell, on a short real training run with the stand-in."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from types import SimpleNamespace

import pytest
import standin
import torch
from project import cell


@pytest.fixture(scope="module")
def logged_run(hub, tmp_path_factory):
    """Train the stand-in for 3 steps, logging every step, with the page's callback."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    namespace: dict = {"__name__": "__main__"}
    cell("live_metrics").run(namespace)
    tokenizer = AutoTokenizer.from_pretrained(standin.MODEL_ID)
    rows = [r for r in standin.sample_rows() if r["category"] == "summarization" and r["output"].strip()][:12]
    dataset = Dataset.from_list([{"prompt": r["instruction"] + r["input"], "completion": r["output"]} for r in rows])
    args = SFTConfig(
        output_dir=str(tmp_path_factory.mktemp("metrics")),
        max_steps=3,
        per_device_train_batch_size=2,
        logging_steps=1,
        bf16=False,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
    )
    torch.manual_seed(0)
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(standin.MODEL_ID),
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=LoraConfig(r=4, target_modules="all-linear", task_type="CAUSAL_LM"),
        callbacks=[namespace["SpeedAndMemoryCallback"]()],
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        trainer.train()
    return namespace, trainer, out.getvalue()


def test_each_logged_step_gets_tokens_per_second_and_peak_memory(logged_run):
    _, trainer, stdout = logged_run
    steps = [log for log in trainer.state.log_history if "loss" in log]
    assert [log["step"] for log in steps] == [1, 2, 3]
    assert all(log["tokens_per_second"] > 0 and log["peak_memory_gib"] > 0.1 for log in steps)
    # tokens/s is computed from TRL's own running token count
    assert steps[0]["num_tokens"] < steps[-1]["num_tokens"]
    for step in (1, 2, 3):
        assert f"ステップ {step}/3: " in stdout
    assert "トークン/秒、ピークメモリ" in stdout and "残り約 0 分" in stdout
    assert "tokens_per_second" not in trainer.state.log_history[-1]  # the end-of-training summary is left alone


def test_after_a_resume_eta_and_speed_count_only_this_runs_steps_and_tokens(logged_run, monkeypatch):
    """Resumed at update 100 of 200; one minute and one update later, 99 updates take about 99 minutes."""
    import time

    namespace, _, _ = logged_run
    clock = iter([1000.0, 1060.0, 1120.0])
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    callback = namespace["SpeedAndMemoryCallback"]()
    state = SimpleNamespace(global_step=100, max_steps=200, log_history=[{}])
    callback.on_train_begin(None, state, None)
    state.global_step = 101
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        # TRL counts num_tokens from 0 in each train() call: 6,000 tokens in this run's first minute
        callback.on_log(None, state, None, logs={"loss": 1.0, "num_tokens": 6000})
    assert "ステップ 101/200: 100 トークン/秒" in out.getvalue() and "残り約 99 分" in out.getvalue()
    assert state.log_history[-1]["tokens_per_second"] == 100.0
    state.global_step, state.log_history = 102, [{}]
    with contextlib.redirect_stdout(out):  # the next minute: 6,000 more tokens (TRL's count is cumulative)
        callback.on_log(None, state, None, logs={"loss": 1.0, "num_tokens": 12000})
    assert state.log_history[-1]["tokens_per_second"] == 100.0 and "残り約 98 分" in out.getvalue()


def test_under_fp16_the_grad_scale_is_shown_and_logged(logged_run, monkeypatch):
    import time

    namespace, _, _ = logged_run
    clock = iter([0.0, 10.0])
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    callback = namespace["SpeedAndMemoryCallback"]()
    state = SimpleNamespace(global_step=0, max_steps=10, log_history=[{}])
    callback.on_train_begin(None, state, None)
    state.global_step = 5
    optimizer = SimpleNamespace(scaler=SimpleNamespace(get_scale=lambda: 8192.0))  # accelerate's AcceleratedOptimizer
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        callback.on_log(None, state, None, logs={"loss": 1.0, "num_tokens": 100}, optimizer=optimizer)
    assert "勾配の倍率 8192" in out.getvalue() and state.log_history[-1]["grad_scale"] == 8192.0


def test_peak_memory_reads_the_gpu_when_there_is_one(logged_run, monkeypatch):
    namespace, _, _ = logged_run
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *args: 3 * 1024**3)
    assert namespace["peak_memory_gib"]() == 3.0


def test_loss_curve_plots_exactly_the_logged_points(logged_run):
    import matplotlib.pyplot as plt

    _, trainer, _ = logged_run
    namespace = {"__name__": "__main__", "trainer": trainer, "training_args": trainer.args}
    cell("plot_loss").run(namespace)
    (line,) = namespace["ax"].get_lines()
    expected = [(log["step"], log["loss"]) for log in trainer.state.log_history if "loss" in log]
    assert list(zip(line.get_xdata(), line.get_ydata())) == expected
    assert namespace["ax"].get_legend() is not None
    plt.close(namespace["fig"])


def test_loss_curve_says_so_when_nothing_was_logged(logged_run):
    import matplotlib.pyplot as plt

    _, trainer, _ = logged_run
    nothing_logged = SimpleNamespace(state=SimpleNamespace(log_history=[{"train_runtime": 1.0, "step": 2}]))
    args = dataclasses.replace(trainer.args, logging_steps=5)
    namespace = {"__name__": "__main__", "trainer": nothing_logged, "training_args": args}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cell("plot_loss").run(namespace)
    assert namespace["ax"].get_lines() == []
    assert "5 ステップごとに記録されます" in out.getvalue()
    plt.close(namespace["fig"])


# --- the run doctor (step 6) on this real history: the schedule it expects is the one the Trainer used ---


def test_doctor_expects_the_learning_rates_the_trainer_logged(logged_run, doctor):
    _, trainer, _ = logged_run
    logged = [(log["step"], log["learning_rate"]) for log in trainer.state.log_history if "learning_rate" in log]
    expected = doctor["scheduled_rates"](trainer.args, trainer.state.max_steps)
    assert len({rate for _, rate in logged}) == 3  # the linear decay gives every step its own rate
    assert [rate for _, rate in logged] == [expected[step - 1] for step, _ in logged]  # the rate of that update
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert doctor["diagnose_training"](trainer.state, trainer.args) == []
        cosine = dataclasses.replace(trainer.args, lr_scheduler_type="cosine")  # not what this run used
        findings = doctor["diagnose_training"](trainer.state, cosine)
    assert [anchor for anchor, _ in findings] == ["lr-schedule"] and "設定（cosine、" in findings[0][1]
    assert "学習用データの損失 3 個" in out.getvalue()
