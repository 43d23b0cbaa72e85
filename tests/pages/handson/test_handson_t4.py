"""docs/handson.md, the T4 tab's training cells under CUDA's fp16 rules: the cast to float32, the
pre-flight stop, checkpoints with a GradScaler, resuming, and a torn checkpoint.

On a CPU accelerate makes no GradScaler and no fp16 autocast, so the T4's first-update crash (bf16
adapters under fp16) can't happen here by itself. ``standin.fp16_as_on_a_gpu`` gives every fp16 run
both, with the gradient types CUDA's unscale kernel accepts (FACTS section 8). The notebook run
(tests/forms/test_notebook_run.py) runs the whole T4 tab that way; this module runs its training cells in this
process, on four sample rows, where each situation can be set up (and measured by coverage).

The cells run unmodified. What the tests change is their input (four rows, one example per update so
that two updates happen, a checkpoint after each update) and the situation (a disconnect right after
a checkpoint, a checkpoint without its last file).
"""

from __future__ import annotations

import contextlib
import copy
import io
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import standin
from handson_checks import UpdateCounter, run_cell_printing, trained_rows
from project import DOCS, cell

ROWS = trained_rows()
TRAINING_CELLS = ("trainer", "preflight", "train")


def run(name: str, namespace: dict, variant: str | None = "qlora_t4") -> str:
    """What the cell printed (the T4 tab's cell by default)."""
    return run_cell_printing(name, namespace, variant)[1]


def trainable(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad}


class Disconnect(Exception):
    """The runtime goes away (raised right after a checkpoint was written)."""


@pytest.fixture(scope="module")
def t4(hub, tmp_path_factory):
    """The T4 tab's cells up to the trainer's inputs, on four rows; GradScaler and autocast as on a GPU."""
    from datasets import Dataset

    workdir = tmp_path_factory.mktemp("t4")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.chdir(workdir)
        standin.fp16_as_on_a_gpu(monkeypatch)
        standin.bitsandbytes_as_on_a_gpu(monkeypatch)
        rows = [{"prompt": f"### 指示\n{r['instruction']}\n\n### 応答\n", "completion": r["output"]} for r in ROWS]
        namespace = {
            "__name__": "__main__",
            "OUTPUT_DIR": Path("outputs"),
            "MAX_LENGTH": 2048,
            "train_dataset": Dataset.from_list(rows),
            "eval_dataset": Dataset.from_list(rows[:2]),
        }
        for name in ("load_tokenizer", "training_args", "lora_config", "live_metrics"):
            run(name, namespace)
        args = namespace["training_args"]
        # Two updates on four rows, a checkpoint and a log line after each (the page: 16 examples an update, ...)
        args.gradient_accumulation_steps, args.save_steps, args.logging_steps, args.eval_strategy = 1, 1, 1, "no"
        yield namespace, workdir


def build_and_train(namespace: dict, disconnect_after: int | None = None) -> tuple[str, UpdateCounter]:
    """The trainer, pre-flight and train cells, as the learner runs them after (re)connecting."""
    import transformers

    counter = UpdateCounter()
    run("load_model", namespace)  # a fresh 4-bit model, as after a reconnect (the cells from the top)
    out = run("trainer", namespace, None) + run("preflight", namespace, None)
    namespace["trainer"].add_callback(counter.callback)
    original_save = transformers.Trainer._save_checkpoint

    def save_then_disconnect(trainer, *args, **kwargs):
        original_save(trainer, *args, **kwargs)
        if trainer.state.global_step == disconnect_after:
            raise Disconnect

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(transformers.Trainer, "_save_checkpoint", save_then_disconnect)
        try:
            out += run("train", namespace, None)
        except Disconnect:
            pass
    return out, counter


@pytest.fixture(scope="module")
def t4_run(t4):
    """Train, disconnect after the first checkpoint, reconnect and run the training cells again."""
    from trl import SFTTrainer

    namespace, workdir = t4
    seen_by_trl = []  # the trainable dtypes right after SFTTrainer's own __init__, before the cell's cast
    original_init = SFTTrainer.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        seen_by_trl.append({p.dtype for p in self.model.parameters() if p.requires_grad})

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(SFTTrainer, "__init__", init)
        torch.manual_seed(0)
        first_out, first = build_and_train(namespace, disconnect_after=1)
        first_trainer = namespace["trainer"]
        cast = {p.dtype for p in first_trainer.model.parameters() if p.requires_grad}
        after_first = trainable(first_trainer.model)
        second_out, second = build_and_train(namespace)
    return {
        "namespace": namespace,
        "workdir": workdir,
        "seen_by_trl": seen_by_trl,
        "cast": cast,
        "first": (first_out, first, first_trainer, after_first),
        "second": (second_out, second, namespace["trainer"]),
    }


def test_trl_makes_qlora_adapters_bf16_and_the_trainer_cell_makes_them_float32(t4_run):
    assert t4_run["seen_by_trl"][0] == {torch.bfloat16}  # TRL 1.16's cast for quantized models
    assert t4_run["cast"] == {torch.float32}
    _, _, trainer = t4_run["second"]
    assert trainer.args.fp16 and trainer.model.base_model.model.config.quantization_config.load_in_4bit


def test_fp16_training_runs_with_a_grad_scaler_that_keeps_cudas_rules(t4_run):
    out, counter, trainer = t4_run["second"]
    scaler = trainer.accelerator.scaler
    assert type(scaler).__name__ == "GradScalerWithCudaRules" and trainer.accelerator.native_amp
    logged = [log["grad_scale"] for log in trainer.state.log_history if "grad_scale" in log]
    assert logged and logged[-1] == scaler.get_scale()
    assert f"勾配の倍率 {scaler.get_scale():g}" in out  # the live line shows it
    assert counter.dtypes == {torch.float16}  # float32 adapter weights, fp16 products under autocast
    before, after = t4_run["first"][3], trainable(trainer.model)
    assert any(not torch.equal(before[name], after[name]) for name in before if "lora_B" in name)


def test_training_resumes_from_the_t4_checkpoint_and_does_only_what_is_left(t4_run):
    first_out, first, _, _ = t4_run["first"]
    second_out, second, trainer = t4_run["second"]
    assert first.steps == [1]  # disconnected right after checkpoint-1 was written
    checkpoint = t4_run["workdir"] / "outputs" / "checkpoints" / "checkpoint-1"
    assert {"scaler.pt", "optimizer.pt", "adapter_model.safetensors"} <= {p.name for p in checkpoint.iterdir()}
    assert "途中経過 outputs/checkpoints/checkpoint-1 から再開します。" in second_out
    assert second.steps == [2]  # one update left, not two from the start
    assert trainer.state.global_step == trainer.state.max_steps == 2
    steps = [log["step"] for log in trainer.state.log_history if "loss" in log]
    assert steps == [1, 2]  # the checkpoint's history, then this run's
    assert "残り約" in second_out and "ステップ 2/2" in second_out


def test_a_torn_checkpoint_is_skipped_and_kept(t4_run):
    """A disconnect while checkpoint-2 was written: it lacks trainer_state.json, written last."""
    namespace, workdir = t4_run["namespace"], t4_run["workdir"]
    _, _, finished = t4_run["second"]
    checkpoints = workdir / "outputs" / "checkpoints"
    torn = checkpoints / "checkpoint-2"
    (torn / "trainer_state.json").unlink()
    kept = sorted(p.name for p in torn.iterdir())

    out, counter = build_and_train(namespace)
    assert (
        "途中経過 outputs/checkpoints/checkpoint-2 は保存の途中で切れているので使いません"
        "（trainer_state.json がありません。消さずに残します）。" in out
    )
    assert "途中経過 outputs/checkpoints/checkpoint-1 から再開します。" in out
    assert counter.steps == [2]
    assert set(kept) <= {p.name for p in torn.iterdir()}  # nothing the learner had was deleted
    # The same update from the same checkpoint: the same adapter as the first resumed run
    resumed, reference = trainable(namespace["trainer"].model), trainable(finished.model)
    for name, value in resumed.items():
        torch.testing.assert_close(value, reference[name], rtol=0, atol=0)


def test_bf16_adapters_under_fp16_stop_before_training_and_would_crash_as_on_a_t4(t4):
    """An older notebook without the cast: the pre-flight stops; training would stop at the first update."""
    from trl import SFTTrainer

    namespace, _ = t4
    with contextlib.redirect_stdout(io.StringIO()):
        cell("load_model", "qlora_t4").run(namespace)
        old = SFTTrainer(
            model=namespace["model"],
            args=copy.deepcopy(namespace["training_args"]),
            train_dataset=namespace["train_dataset"],
            processing_class=namespace["tokenizer"],
            peft_config=namespace["peft_config"],
        )
    count = sum(p.requires_grad for p in old.model.parameters())
    with pytest.raises(ValueError) as error:
        run("preflight", {"__name__": "__main__", "trainer": old, "train_dataset": namespace["train_dataset"]}, None)
    message = str(error.value)
    assert f"学習する重みが float32 ではありません（torch.bfloat16 が {count} 個）" in message
    assert "not implemented for 'BFloat16'" in message and "Attempting to unscale FP16 gradients." in message
    page = (DOCS / "concepts" / "troubleshooting.md").read_text(encoding="utf-8")
    cuda_error = '"_amp_foreach_non_finite_check_and_unscale_cuda" not implemented for \'BFloat16\''
    assert f"NotImplementedError: {cuda_error}" in page

    old.args.max_steps, old.args.output_dir = 1, "outputs/old-notebook"
    with pytest.raises(NotImplementedError) as crash, contextlib.redirect_stdout(io.StringIO()):
        old.train()
    assert str(crash.value) == cuda_error
    assert old.state.global_step == 0


def train_cell_choice(checkpoint_dir: Path) -> tuple[str, list]:
    """The train cell alone: what it prints, and what a stand-in trainer was asked to resume from."""
    asked = []
    namespace = {
        "__name__": "__main__",
        "training_args": SimpleNamespace(output_dir=str(checkpoint_dir)),
        "trainer": SimpleNamespace(train=lambda resume_from_checkpoint: asked.append(resume_from_checkpoint)),
    }
    return run("train", namespace, None), asked


def test_with_only_torn_checkpoints_training_starts_over_and_says_so(tmp_path):
    """The train cell's choice alone (a stand-in trainer records what it was asked to resume from)."""
    for step, files in ((20, ["adapter_model.safetensors"]), (40, [])):
        (tmp_path / f"checkpoint-{step}").mkdir()
        for name in files:
            (tmp_path / f"checkpoint-{step}" / name).write_bytes(b"")
    (tmp_path / "checkpoint-notes").mkdir()  # not a checkpoint: ignored
    out, asked = train_cell_choice(tmp_path)
    assert asked == [None]
    lines = out.splitlines()
    assert lines[0].startswith(f"途中経過 {tmp_path}/checkpoint-40 は保存の途中で切れているので使いません（adapter_model")
    assert lines[1].startswith(f"途中経過 {tmp_path}/checkpoint-20 は") and "trainer_state.json がありません" in lines[1]
    assert lines[2] == "使える途中経過がないので、最初から学習します。" and len(lines) == 3


def test_the_newest_checkpoint_is_chosen_by_its_number_not_its_name(tmp_path):
    for step in (20, 100):  # as text, "checkpoint-20" sorts after "checkpoint-100"
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        for name in ("adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "trainer_state.json"):
            (folder / name).write_bytes(b"")
    out, asked = train_cell_choice(tmp_path)
    assert out == f"途中経過 {tmp_path}/checkpoint-100 から再開します。\n"
    assert asked == [str(tmp_path / "checkpoint-100")]
