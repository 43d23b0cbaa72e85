"""docs/handson.md, steps 4-6 on the page's run: what trained, in which types, where checkpoints go, resuming.

(The T4 tab's fp16 training: test_handson_t4.py; the checks around training: test_handson_preflight.py and
test_handson_doctor.py.)
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from handson_checks import LORA_TARGETS, UpdateCounter, base_name, saved_adapter_dtypes, tab_settings
from project import NOTEBOOK_VARIANT, cells_for


def test_training_changed_only_lora_weights(handson):
    trained = handson.trainer.model.state_dict()
    lora = {name: value for name, value in trained.items() if "lora_" in name}
    base = {base_name(name): value for name, value in trained.items() if "lora_" not in name}
    assert base.keys() == handson.base_state.keys()
    unchanged = [name for name, value in base.items() if torch.equal(value, handson.base_state[name])]
    assert unchanged == list(base), "a base weight changed during training"
    lora_b = [value for name, value in lora.items() if "lora_B" in name]
    assert lora_b and all(value.abs().sum() > 0 for value in lora_b), "LoRA B starts at zero and must have moved"
    trainable = {name for name, p in handson.trainer.model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in name for name in trainable)
    assert {name.split(".")[-4] for name in trainable} == LORA_TARGETS  # ...q_proj.lora_A.default.weight


def test_variant_settings(handson):
    ns = handson.namespace
    args = ns["training_args"]
    model = handson.trainer.model
    assert args.bf16 and not args.fp16 and ns["DTYPE"] == torch.bfloat16
    assert getattr(model, "is_loaded_in_4bit", False) is False
    assert args.activation_checkpointing
    assert args.use_cpu  # no GPU here: the snippet falls back to the CPU by itself


def test_t4_tab_trains_in_fp16(handson):
    args = tab_settings(handson.namespace, NOTEBOOK_VARIANT)  # the tab's run itself: the notebook (tests/forms/test_notebook_run.py)
    assert args.fp16 and not args.bf16 and args.activation_checkpointing and args.use_cpu


def test_adapters_train_in_the_type_the_pages_say(handson):
    """fp32 adapters on the bf16 tab (PEFT's default); the 4-bit tab's (fp32 too): tests/forms/test_notebook_run.py, test_handson_t4.py."""
    trainable = [p for p in handson.trainer.model.parameters() if p.requires_grad]
    assert trainable and {p.dtype for p in trainable} == {torch.float32}
    assert saved_adapter_dtypes(handson.workdir / handson.namespace["ADAPTER_DIR"]) == {torch.float32}


def test_checkpoints_are_saved_where_the_output_dir_cell_says(handson):
    ns = handson.namespace
    args = ns["training_args"]
    assert Path(args.output_dir) == ns["OUTPUT_DIR"] / "checkpoints" and ns["OUTPUT_DIR"] == Path("outputs")
    assert args.save_strategy == "steps" and args.save_steps == args.eval_steps and args.save_total_limit == 2
    # The stand-in run is shorter than save_steps: the final checkpoint is the one transformers writes at the end.
    checkpoints = sorted((handson.workdir / args.output_dir).glob("checkpoint-*"))
    assert [c.name for c in checkpoints] == [f"checkpoint-{handson.trainer.state.global_step}"]


def test_training_resumes_after_a_disconnect(handson, tmp_path, monkeypatch, capsys):
    """Stop right after the first checkpoint, run the train cell again: the result equals an uninterrupted run."""
    import transformers

    namespace = {**handson.before_train, "model": copy.deepcopy(handson.before_train["model"])}
    namespace["training_args"] = copy.deepcopy(handson.before_train["training_args"])
    namespace["training_args"].save_steps = 1  # the stand-in data gives 2 updates: save after the first
    monkeypatch.chdir(tmp_path)
    torch.set_rng_state(handson.rng_before_train)  # the same LoRA initialisation as the uninterrupted run

    original_save = transformers.Trainer._save_checkpoint

    def save_then_disconnect(trainer, *args, **kwargs):
        original_save(trainer, *args, **kwargs)
        raise KeyboardInterrupt  # the runtime goes away right after a checkpoint was written

    cells = cells_for(handson.variant)
    names = [c.name for c in cells]
    training = cells[names.index("trainer") : names.index("train") + 1]  # build, check, train
    monkeypatch.setattr(transformers.Trainer, "_save_checkpoint", save_then_disconnect)
    with pytest.raises(KeyboardInterrupt):
        for cell in training:
            cell.run(namespace)
    assert namespace["trainer"].state.global_step == 1
    monkeypatch.setattr(transformers.Trainer, "_save_checkpoint", original_save)
    capsys.readouterr()
    # After a reconnect the learner runs every cell again; those before the trainer give the same state here.
    updates = UpdateCounter()
    for cell in training:
        cell.run(namespace)
        if cell.name == "trainer":  # count what this run does (a fresh run would also end at step 2)
            namespace["trainer"].add_callback(updates.callback)
    out = capsys.readouterr().out
    assert "途中経過 outputs/checkpoints/checkpoint-1 から再開します。" in out
    resumed = namespace["trainer"]
    assert resumed.state.global_step == handson.trainer.state.global_step == 2
    assert updates.steps == [2]  # only the update that was left

    reference = {n: p for n, p in handson.trainer.model.named_parameters() if p.requires_grad}
    weights = {n: p for n, p in resumed.model.named_parameters() if p.requires_grad}
    assert weights.keys() == reference.keys()
    for name, value in weights.items():
        torch.testing.assert_close(value, reference[name], rtol=0, atol=0)


def test_loss_curve_is_drawn_from_the_log_history(handson):
    history = handson.trainer.state.log_history
    logged = [[(log["step"], log[key]) for log in history if key in log] for key in ("loss", "eval_loss")]
    drawn = [list(zip(line.get_xdata(), line.get_ydata())) for line in handson.namespace["ax"].get_lines()]
    assert drawn == [points for points in logged if points]  # only what was logged, however few points
