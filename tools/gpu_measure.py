"""Part 2 of the GPU truth run (tools/gpu_check.py): the full-size 7B with random weights, measured per tab.

Every cell of the tab up to the train cell runs unchanged; the stand-in Hub answers from_pretrained with random
weights of the 7B's shape (they do not change memory or speed), and the data are examples of the real data's
lengths. MEASURE_OVERRIDES lists what the run changes in the tab's SFTConfig.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path

import project
from gpu_page import Checks, GenerationProbe, PageRun, probe_training, t4_emulation, update_timer

UPDATES_PER_PHASE = 3  # optimizer updates per measured length: the first warms up, the others are timed
MEASURE_OVERRIDES = {  # what the 7B runs change in the tab's SFTConfig (none of it changes memory or speed)
    "max_steps": "更新の回数（測る分だけ）",
    "train_sampling_strategy": "sequential（長さを決めた順に並べるため）",
    "eval_strategy": "no（評価は最後に 1 回だけ、別に測ります）",
    "save_strategy": "no（チェックポイントは保存しません）",
    "output_dir": "一時フォルダー",
}


def synthetic_examples(count: int, length: int, loss_share: float, eos: int, vocab: int, seed: int) -> list[dict]:
    """Tokenized examples of one length: random tokens ending in EOS, the loss on the last ``loss_share`` of them."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    trained = max(2, round(length * loss_share))
    examples = []
    for row in torch.randint(3, vocab, (count, length - 1), generator=generator).tolist():
        ids = [*row, eos]
        examples.append({"input_ids": ids, "labels": [-100] * (length - trained) + ids[length - trained :]})
    return examples


def measurement_data(plan: dict, variant: str, eos: int) -> tuple[list[dict], list[dict]]:
    """The 7B runs' data: UPDATES_PER_PHASE updates of examples at each phase's length, in that order, and one
    evaluation batch at the longest length."""
    tab, vocab, share = plan["settings"][variant], plan["config"].vocab_size, plan["lengths"]["loss_share"]
    per_update = tab["batch_size"] * tab["accumulation"]
    train = []
    for seed, seq_len in enumerate(plan["phases"].values()):
        train += synthetic_examples(per_update * UPDATES_PER_PHASE, seq_len, share, eos, vocab, seed)
    evaluation = synthetic_examples(tab["eval_batch_size"], plan["phases"]["max"], share, eos, vocab, 99)
    return train, evaluation


def random_state_dict(config, dtype, cuda: bool) -> dict:
    """Random weights of the model's shapes, left on the CPU as a checkpoint would be (made on the GPU: fast)."""
    import torch
    from transformers import MistralForCausalLM

    with torch.device("meta"):
        skeleton = MistralForCausalLM(config)
    device = "cuda" if cuda else "cpu"
    state = {}
    for name, tensor in skeleton.state_dict().items():
        if name.endswith("norm.weight"):
            value = torch.ones(tensor.shape, dtype=dtype, device=device)
        else:
            value = torch.empty(tensor.shape, dtype=dtype, device=device).normal_(0, config.initializer_range)
        state[name] = value.cpu()
        del value
    return state


def seven_b_stand_in(mp, config, cuda: bool) -> None:
    """The stand-in Hub answers ``from_pretrained(MODEL_ID, ...)`` with random weights of ``config``'s shape.

    The cell's own arguments (dtype, quantization_config, device_map="auto") are passed on unchanged, so the
    weights go through the same loading, quantization and placement as the real checkpoint's.
    """
    import standin
    from transformers import AutoModelForCausalLM, MistralForCausalLM

    original = AutoModelForCausalLM.from_pretrained.__func__

    def from_pretrained(cls, name, *args, **kwargs):
        if name != standin.MODEL_ID:
            return original(cls, name, *args, **kwargs)
        state = random_state_dict(config, kwargs.get("dtype"), cuda)
        return MistralForCausalLM.from_pretrained(None, *args, config=config, state_dict=state, **kwargs)

    mp.setattr(AutoModelForCausalLM, "from_pretrained", classmethod(from_pretrained))


def measure(variant: str, plan: dict, workdir: Path, cuda: bool, emulate: bool) -> dict:
    """Part 2 for one tab: the page's cells up to training on the 7B, then updates timed at each length."""
    import pytest
    import torch
    from datasets import Dataset
    from transformers.trainer_utils import IntervalStrategy, SaveStrategy

    check, facts, state = Checks(), {}, {}
    cells = project.cells_for(variant)
    names = [c.name for c in cells]
    phases, config = plan["phases"], plan["config"]
    workdir.mkdir(parents=True, exist_ok=True)

    def set_measure(ns):  # MEASURE_OVERRIDES: how many updates, in which order; nothing that changes a step
        args = ns["training_args"]
        args.max_steps = UPDATES_PER_PHASE * len(phases)
        args.train_sampling_strategy = "sequential"
        args.eval_strategy = IntervalStrategy.NO
        args.save_strategy = SaveStrategy.NO
        args.output_dir = str(workdir / "checkpoints")

    def real_length_data(ns):
        train, evaluation = measurement_data(plan, variant, ns["tokenizer"].eos_token_id)
        ns["train_dataset"], ns["eval_dataset"] = Dataset.from_list(train), Dataset.from_list(evaluation)

    def before_train(ns):
        probe_training(ns["trainer"], facts)
        state["timer"] = update_timer(ns["trainer"], cuda)

    def loaded(ns):  # stop at once if the weights did not land on the GPU: a CPU 7B would run for hours
        devices = sorted({p.device.type for p in ns["model"].parameters()})
        result["loaded"] = {
            "devices": devices,
            "device_map": getattr(ns["model"], "hf_device_map", None),
            "allocated_bytes": torch.cuda.memory_allocated() if cuda else None,
        }
        if cuda and devices != ["cuda"]:
            raise RuntimeError(f"7B の重みが GPU に載っていません（{devices}）。測っても GPU の数字になりません")

    run = PageRun(
        cells[: names.index("train") + 1],
        before={"trainer": real_length_data, "train": before_train},
        after={"load_model": loaded, "training_args": set_measure},
    )
    result: dict = {"t4_emulation": emulate, "overrides": MEASURE_OVERRIDES}
    started = time.perf_counter()
    torch.manual_seed(0)
    with pytest.MonkeyPatch.context() as mp, t4_emulation(mp, cuda and emulate) as emulation:
        mp.chdir(workdir)
        GenerationProbe().install(mp)
        seven_b_stand_in(mp, config, cuda)
        try:
            run.run()
            ns = run.namespace
            updates = state["timer"].updates
            result["updates"] = updates
            result["first_step"] = {k: v for k, v in facts.get("first_step", {}).items() if k != "trained_tokens"}
            result["phases"] = {}
            for index, (phase, seq_len) in enumerate(phases.items()):
                part = updates[index * UPDATES_PER_PHASE : (index + 1) * UPDATES_PER_PHASE]
                timed = [u["seconds"] for u in part[1:]]
                peaks = [u["peak_bytes"] for u in part if u["peak_bytes"] is not None]
                result["phases"][phase] = {
                    "seq_len": seq_len,
                    "seconds_per_update": sum(timed) / len(timed) if timed else None,
                    "peak_bytes": max(peaks) if peaks else None,
                    "skipped_updates": sum(u["skipped"] for u in part),
                }
            check("7B: 測った更新の回数", len(updates) == UPDATES_PER_PHASE * len(phases), "", len(updates))
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            evaluation_started = time.perf_counter()
            metrics = ns["trainer"].evaluate()
            if cuda:
                torch.cuda.synchronize()
            result["evaluation"] = {
                "examples": len(ns["eval_dataset"]),
                "seq_len": phases["max"],
                "seconds": time.perf_counter() - evaluation_started,
                "peak_bytes": torch.cuda.max_memory_allocated() if cuda else None,
                "eval_loss": metrics.get("eval_loss"),
            }
        except BaseException as error:  # noqa: BLE001 - an out-of-memory is a result too
            if isinstance(error, KeyboardInterrupt):
                raise
            result["out_of_memory"] = type(error).__name__ == "OutOfMemoryError"
            check.error(f"{variant} の 7B", error)
        finally:  # let the model go before the next part (the trainer is also referenced from the timer)
            run.namespace.clear()
            state.clear()
            facts.clear()
            gc.collect()
            if cuda:
                torch.cuda.empty_cache()
    result.update(seconds=time.perf_counter() - started, emulation=emulation, checks=check.results, ok=check.ok)
    return result
