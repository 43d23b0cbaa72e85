"""docs/handson.md: run the whole page, unmodified and in page order, and check what it left behind.

The page runs once in this process with the bf16 tab (module-scoped fixture): masked labels,
untouched base weights, files on disk, Hub calls. The T4 tab runs as the notebook in a Jupyter
kernel (tests/test_forms.py), where the same facts are checked; the tab's settings are checked
here for both tabs by running their settings cells.
"""

from __future__ import annotations

import contextlib
import copy
import math
import io
import statistics
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

import standin
from handson_checks import UpdateCounter, base_name, check_merged_model, saved_adapter_dtypes
import project
from project import VARIANTS, cells_for

LORA_TARGETS = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
REPO_ID = f"standin-user/{project.snippet_constant('output_dir', 'HUB_REPO_NAME')}"  # the stand-in's whoami()

# Which rule drops which kind of sample row (tests/data/databricks-dolly-15k-ja/roles.json).
REASON_OF_ROLE = {"exact_copy": "出力が入力と同じ（丸写し）", "near_copy": "出力が入力とほぼ同じ（一致率 0.9 以上）"}


def indexes(*roles: str) -> set[str]:
    return {index for index, role in standin.sample_roles().items() if role in roles}


@dataclass
class HandsonRun:
    variant: str
    workdir: Path
    namespace: dict
    stdout: str
    base_state: dict
    trainer: object
    hub: standin.HubRecorder
    generation: standin.ShortGeneration
    before_train: dict  # the namespace right before the trainer is built, with its own copy of the model
    rng_before_train: torch.Tensor


# The in-process run takes the bf16 tab; the T4 (4-bit QLoRA) tab runs as the notebook, in a Jupyter
# kernel (tests/test_forms.py checks the same facts there). One training per tab, not two.
IN_PROCESS_VARIANT = "lora_bf16"


@pytest.fixture(scope="module", params=[IN_PROCESS_VARIANT])
def handson(request, hub, tmp_path_factory) -> HandsonRun:
    variant = request.param
    workdir = tmp_path_factory.mktemp(variant)
    namespace: dict = {"__name__": "__main__"}
    captured: dict = {}
    recorder = standin.HubRecorder()
    generation = standin.ShortGeneration()
    out = io.StringIO()
    torch.manual_seed(0)  # LoRA's random init happens inside SFTTrainer: fix it for repeatable runs
    with pytest.MonkeyPatch.context() as monkeypatch, contextlib.redirect_stdout(out):
        monkeypatch.chdir(workdir)
        recorder.install(monkeypatch)
        generation.install(monkeypatch)
        for cell in cells_for(variant):
            if cell.name == project.snapshot_cell("trained"):  # the merge cell lets the trainer go
                captured["trainer"] = namespace["trainer"]
            if cell.name == project.snapshot_cell("training-inputs"):  # a rerun starts here (the resume test)
                captured["before_train"] = {
                    **namespace,
                    "model": copy.deepcopy(namespace["model"]),
                    "training_args": copy.deepcopy(namespace["training_args"]),
                }
                captured["rng"] = torch.get_rng_state()
            cell.run(namespace)
            if cell.name == project.snapshot_cell("base-weights"):
                captured["base_state"] = {k: v.detach().clone() for k, v in namespace["model"].state_dict().items()}
    return HandsonRun(
        variant,
        workdir,
        namespace,
        out.getvalue(),
        captured["base_state"],
        captured["trainer"],
        recorder,
        generation,
        captured["before_train"],
        captured["rng"],
    )


def test_cleaning_drops_exactly_the_copied_rows(handson):
    ns = handson.namespace
    expected = {reason: len(indexes(role)) for role, reason in REASON_OF_ROLE.items()}
    assert all(expected.values()) and dict(ns["dropped"]) == expected
    assert {row["index"] for row in ns["summaries"]} == indexes("trained", "too_long")  # other categories skipped
    assert f"一致率 {ns['NEAR_COPY_RATIO']} 以上" in REASON_OF_ROLE["near_copy"]
    for reason, count in expected.items():
        assert f"除いた行: {reason} … {count} 行" in handson.stdout
    summarization = sum(r["category"] == "summarization" for r in standin.sample_rows())
    assert f"要約の行は {summarization} 行です。" in handson.stdout
    assert f"残りの {len(ns['summaries'])} 行を使います。" in handson.stdout


def test_length_filter_drops_exactly_the_long_rows(handson):
    ns = handson.namespace
    splits = ns["splits"]
    assert set(splits["train"]["index"]) | set(splits["test"]["index"]) == indexes("trained")
    assert len(ns["train_dataset"]) == len(splits["train"]) and len(ns["eval_dataset"]) == len(splits["test"])
    # The split was made before the filter: 9:1 of every usable row, long ones included.
    assert ns["rows_before"]["test"] == math.ceil(0.1 * len(ns["summaries"]))
    dropped = sum(ns["too_long"].values())
    assert dropped == len(indexes("too_long")) > 0
    long_rows = [row for row in ns["summaries"] if row["index"] in indexes("too_long")]
    tokenizer = ns["tokenizer"]
    for row in long_rows:  # really over the limit with the real tokenizer, EOS included
        example = ns["to_prompt_completion"](row)
        assert len(tokenizer(example["prompt"] + example["completion"]).input_ids) + 1 > ns["MAX_LENGTH"]
    assert (
        f"長すぎて除いた行: 学習用 {ns['too_long']['train']} 行 / 評価用 {ns['too_long']['test']} 行" in handson.stdout
    )


def test_split_is_reproducible(handson):
    from datasets import Dataset

    again = Dataset.from_list(handson.namespace["summaries"]).train_test_split(test_size=0.1, seed=42)
    kept = set(indexes("trained"))
    assert [i for i in again["test"]["index"] if i in kept] == handson.namespace["splits"]["test"]["index"]


def tokenized_example(handson, position: int) -> tuple[list[int], list[int]]:
    """input_ids and labels of one training example, as the trainer's collator builds them."""
    trainer = handson.trainer
    batch = trainer.data_collator([trainer.train_dataset[position]])
    return batch["input_ids"][0].tolist(), batch["labels"][0].tolist()


def test_loss_covers_only_the_summary_and_its_eos(handson):
    ns = handson.namespace
    tokenizer = ns["tokenizer"]
    for position in range(len(ns["train_dataset"])):
        example = ns["train_dataset"][position]
        input_ids, labels = tokenized_example(handson, position)
        prompt_length = len(tokenizer(example["prompt"]).input_ids)
        assert all(label == -100 for label in labels[:prompt_length])
        assert labels[prompt_length:] == input_ids[prompt_length:]
        assert labels[-1] == input_ids[-1] == tokenizer.eos_token_id
        summary_ids = tokenizer(example["prompt"] + example["completion"]).input_ids[prompt_length:]
        assert labels[prompt_length:-1] == summary_ids


def test_inference_prompt_is_the_training_prompt_prefix(handson):
    ns = handson.namespace
    tokenizer, row = ns["tokenizer"], ns["splits"]["train"][0]
    inference_prompt = ns["build_prompt"](row["instruction"], row["input"])
    example = ns["train_dataset"][0]
    assert example["prompt"] == inference_prompt
    assert example["completion"] == row["output"].strip()
    inference_ids = tokenizer(inference_prompt).input_ids
    training_ids, _ = tokenized_example(handson, 0)
    assert training_ids[: len(inference_ids)] == inference_ids
    assert inference_prompt.endswith("### 応答\n")


def test_long_examples_are_left_out(handson):
    ns = handson.namespace
    tokenizer = ns["tokenizer"]
    for dataset in (ns["train_dataset"], ns["eval_dataset"]):
        for example in dataset:
            assert len(tokenizer(example["prompt"] + example["completion"]).input_ids) + 1 <= ns["MAX_LENGTH"]
    assert ns["training_args"].max_length == ns["MAX_LENGTH"]


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
    args = tab_settings(handson, "qlora_t4")  # the tab's run itself: the notebook (tests/test_forms.py)
    assert args.fp16 and not args.bf16 and args.activation_checkpointing and args.use_cpu


def test_adapter_files_are_written(handson):
    adapter_dir = handson.workdir / handson.namespace["ADAPTER_DIR"]
    names = {p.name for p in adapter_dir.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "tokenizer.json", "README.md"} <= names
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == standin.MODEL_ID
    assert (config["r"], config["lora_alpha"]) == (16, 32)
    assert {name.split(".")[-1] for name in config["target_modules"]} == LORA_TARGETS


def test_merged_model_matches_the_adapter_model(handson):
    ns = handson.namespace
    text = ns["train_dataset"][0]["prompt"]
    check_merged_model(handson.workdir / ns["MERGED_DIR"], handson.workdir / ns["ADAPTER_DIR"], ns["DTYPE"], text)


def test_hub_upload_sends_the_adapter_to_the_learners_repo(handson):
    calls = handson.hub.calls
    assert calls[0] == ("create_repo", REPO_ID, {"private": True, "exist_ok": True})
    kind, repo_id, details = calls[1]
    assert (kind, repo_id) == ("upload_folder", REPO_ID)
    assert {"adapter_model.safetensors", "adapter_config.json", "README.md"} <= set(details["files"])
    assert len(calls) == 2
    assert f"非公開のリポジトリにアップロードしました: https://huggingface.co/{REPO_ID}" in handson.stdout


def test_before_and_after_generations_are_compared(handson):
    ns = handson.namespace
    assert len(ns["before"]) == len(ns["after"]) == len(ns["examples"]) == 3
    assert all(isinstance(text, str) for text in ns["before"] + ns["after"])
    assert handson.stdout.count("【学習後】") == 3
    assert set(handson.generation.requested) == {256}  # what the page asks for (capped here, see ShortGeneration)


def test_generation_respects_max_new_tokens(handson, monkeypatch):
    ns = handson.namespace
    model, row = handson.trainer.model, ns["examples"][0]
    new_token_counts = []
    original_generate = model.generate

    def counting_generate(**kwargs):
        output = original_generate(**kwargs)
        new_token_counts.append(output.shape[1] - kwargs["input_ids"].shape[1])
        return output

    monkeypatch.setattr(model, "generate", counting_generate)
    model.train()  # as the trainer leaves it: summarize must switch dropout off itself
    ns["summarize"](model, [row], max_new_tokens=5)
    assert not model.training
    assert len(new_token_counts) == 1 and 0 < new_token_counts[0] <= 5


def test_generation_stops_at_eos(handson):
    from transformers import AutoModelForCausalLM

    ns = handson.namespace
    eos = ns["tokenizer"].eos_token_id
    model = AutoModelForCausalLM.from_pretrained(standin.MODEL_ID).eval()
    # A model that wants to stop after two tokens: EOS wins from the third generated position on.
    prompt_length = len(ns["tokenizer"](ns["build_prompt"]("要約して", "本文")).input_ids)

    def prefer_eos_later(module, inputs, output):
        if output.shape[1] == 1 or output.shape[1] > prompt_length:  # a decoding step
            steps = prefer_eos_later.steps = getattr(prefer_eos_later, "steps", 0) + 1
            if steps >= 3:
                output[..., eos] = 1e4
        return output

    model.lm_head.register_forward_hook(prefer_eos_later)
    (generated,) = ns["summarize"](model, [{"instruction": "要約して", "input": "本文"}], max_new_tokens=50)
    assert prefer_eos_later.steps == 3  # generation ended at the EOS, far before the limit
    assert "</s>" not in generated and generated.strip()


def test_batched_generation_equals_one_row_at_a_time_in_float32(handson):
    """Prompts of different lengths in one batch: each must get the continuation it gets alone (the pad
    tokens on the left; on the right the model would continue after them). In float32 on the CPU the
    results are equal token for token; a GPU in 16 bits may differ by rounding (next-day page)."""
    from transformers import AutoModelForCausalLM

    ns = handson.namespace
    model = AutoModelForCausalLM.from_pretrained(standin.MODEL_ID, dtype=torch.float32).eval()
    rows = [{"instruction": "要約して", "input": text} for text in ("短い本文", "これは少し長めの本文で、語数がずっと多くなります")]
    assert len({len(ns["tokenizer"](ns["build_prompt"](r["instruction"], r["input"])).input_ids) for r in rows}) == 2
    together = ns["summarize"](model, rows, max_new_tokens=6)
    alone = [ns["summarize"](model, [row], max_new_tokens=6)[0] for row in rows]
    assert together == alone and all(together)


def test_adapter_is_uploaded_before_the_merge_reloads_the_base_model():
    names = [cell.name for cell in cells_for(VARIANTS[0])]
    assert names.index("save_adapter") < names.index("push_to_hub") < names.index("merge")
    assert names[-1] == "merge"  # the only step that loads 14.5 GB comes last: nothing is lost if it stops


def test_printed_adapter_size_is_the_file_on_disk(handson):
    ns = handson.namespace
    weights = handson.workdir / ns["ADAPTER_DIR"] / "adapter_model.safetensors"
    assert f"アダプターの重み {weights.stat().st_size / 1e6:.0f} MB" in handson.stdout
    assert ns["adapter_mb"] == weights.stat().st_size / 1e6


def test_adapters_train_in_the_type_the_pages_say(handson):
    """fp32 adapters on the bf16 tab (PEFT's default); the 4-bit tab's (fp32 too): tests/test_forms.py, test_handson_t4.py."""
    trainable = [p for p in handson.trainer.model.parameters() if p.requires_grad]
    assert trainable and {p.dtype for p in trainable} == {torch.float32}
    assert saved_adapter_dtypes(handson.workdir / handson.namespace["ADAPTER_DIR"]) == {torch.float32}


def test_evaluation_says_how_long_it_will_take_before_generating(handson):
    ns = handson.namespace
    rows = len(ns["eval_rows"])
    line = next(line for line in handson.stdout.splitlines() if "行を学習前と学習後で要約します" in line)
    minutes = 2 * math.ceil(rows / ns["GENERATION_BATCH_SIZE"]) * ns["seconds_per_batch"] / 60
    assert line == f"{rows} 行を学習前と学習後で要約します。約 {minutes:.0f} 分かかる見込みです。"
    assert handson.stdout.index(line) < handson.stdout.index("ROUGE-2（F 値 × 100）")


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


def test_example_counts_are_reported(handson):
    ns = handson.namespace
    assert f"学習用 {len(ns['splits']['train'])} 行 / 評価用 {len(ns['splits']['test'])} 行" in handson.stdout
    assert Counter(ns["dropped"]).total() == len(indexes("exact_copy", "near_copy"))


def test_loss_curve_is_drawn_from_the_log_history(handson):
    history = handson.trainer.state.log_history
    logged = [[(log["step"], log[key]) for log in history if key in log] for key in ("loss", "eval_loss")]
    drawn = [list(zip(line.get_xdata(), line.get_ydata())) for line in handson.namespace["ax"].get_lines()]
    assert drawn == [points for points in logged if points]  # only what was logged, however few points


def test_rouge_is_scored_before_and_after_training(handson):
    ns = handson.namespace
    rows = len(ns["eval_rows"])
    assert rows == min(ns["EVAL_ROWS"], len(ns["splits"]["test"])) == 3
    assert len(ns["base_summaries"]) == len(ns["tuned_summaries"]) == len(ns["references"]) == rows
    # Without the adapter the model computes what the base model did before training.
    assert ns["base_summaries"][:3] == ns["before"]
    # ... which the stand-in's few updates rarely change: what proves "before" is the adapter's state at
    # each generate(): none yet (step 4), on (step 7), then off and on for the two ROUGE passes.
    assert handson.generation.adapters == ["none", "on", "off", "on"]
    assert ns["rouge_before"] == ns["rouge2"](ns["base_summaries"], ns["references"])
    assert ns["rouge_after"] == ns["rouge2"](ns["tuned_summaries"], ns["references"])
    assert 0 <= ns["rouge_before"] <= 100 and 0 <= ns["rouge_after"] <= 100
    assert f"学習前 {ns['rouge_before']:.2f} → 学習後 {ns['rouge_after']:.2f}" in handson.stdout


# --- the real-data report (docs/data, written by tools/dataset_report.py) is the code's --------

REPORT = json.loads((Path(__file__).parents[1] / "docs" / "data" / "dataset-report.json").read_text(encoding="utf-8"))
DATA = Path(__file__).parents[1] / "docs" / "data"


def tab_settings(handson, variant: str):
    """The training settings of a GPU tab: its settings cell, run after the page's earlier cells."""
    namespace = dict(handson.namespace)
    project.cell("training_args", variant).run(namespace)
    return namespace["training_args"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_real_data_report_was_made_with_these_settings(handson, variant):
    """The report cannot be regenerated here (no real data in CI): fail when the code moved on without it."""
    import inspect

    ns, args = handson.namespace, tab_settings(handson, variant)
    assert REPORT["max_length"] == ns["MAX_LENGTH"] == args.max_length
    assert REPORT["near_copy"]["threshold"] == ns["NEAR_COPY_RATIO"]
    assert REPORT["settings"][variant] == {
        "batch_size": args.per_device_train_batch_size,
        "accumulation": args.gradient_accumulation_steps,
        "epochs": args.num_train_epochs,
        "eval_steps": args.eval_steps,
        "max_length": args.max_length,
    }
    assert REPORT["eval_rows"] == ns["EVAL_ROWS"]
    assert REPORT["max_new_tokens"] == inspect.signature(ns["summarize"]).parameters["max_new_tokens"].default
    assert set(REPORT["rows"]["dropped"]) >= set(REASON_OF_ROLE.values())


def shape(line: str) -> str:
    return re.sub(r"\d[\d,]*", "N", line.rstrip())


@pytest.mark.parametrize("name", ["dataset-step2-output.txt", "dataset-step3-output.txt"])
def test_real_data_outputs_on_the_page_are_what_the_code_prints(handson, name):
    printed = {shape(line) for line in handson.stdout.splitlines()}
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    assert lines and all(shape(line) in printed for line in lines), "rerun tools/dataset_report.py"


def table_row(page: Path, first_cell: str) -> list[str]:
    for line in page.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == first_cell:
            return cells
    raise AssertionError(f"{page.name} に「{first_cell}」の行がありません")


@pytest.mark.parametrize("variant", VARIANTS)
def test_settings_tables_show_the_code_values(handson, variant):
    ns, args = handson.namespace, tab_settings(handson, variant)
    column = {"lora_bf16": 2, "qlora_t4": 3}[variant]  # | param | meaning | 24 GB | T4 |
    page = Path(__file__).parents[1] / "docs" / "handson.md"
    assert table_row(page, "`max_length`")[column] == str(ns["MAX_LENGTH"])
    batch = table_row(page, "`per_device_train_batch_size` × `gradient_accumulation_steps`")[column]
    effective = args.per_device_train_batch_size * args.gradient_accumulation_steps
    assert batch == f"{args.per_device_train_batch_size} × {args.gradient_accumulation_steps} = {effective}"
    assert float(table_row(page, "`learning_rate`")[column]) == args.learning_rate
    assert table_row(page, "`num_train_epochs`")[column] == str(args.num_train_epochs)
    config = ns["peft_config"]
    assert table_row(page, "`r`, `lora_alpha`")[column] == f"{config.r}, {config.lora_alpha}"

    tuning = Path(__file__).parents[1] / "docs" / "concepts" / "tuning.md"
    column = column - 1  # | setting | 24 GB | T4 |
    assert table_row(tuning, "`max_length`")[column].startswith(str(ns["MAX_LENGTH"]))
    assert float(table_row(tuning, "`learning_rate`")[column]) == args.learning_rate
    assert table_row(tuning, "`r` / `lora_alpha`")[column] == f"{config.r} / {config.lora_alpha}"


# --- training checks on the page's run: loss-mask view (step 3), pre-flight check and run doctor (step 6) ---
# (their broken-setup and recorded-history cases are in tests/test_handson_training_checks.py)


def test_loss_mask_view_shows_what_the_trainer_trains(handson):
    """Step 3 makes the labels before the trainer exists: they are the trainer's, for every example."""
    ns = handson.namespace
    tokenizer = ns["tokenizer"]
    assert len(handson.trainer.train_dataset) == len(ns["train_dataset"])
    for position, example in enumerate(ns["train_dataset"]):
        ids, labels = ns["tokens_and_labels"](example)
        assert (ids, labels) == tokenized_example(handson, position)  # what the collator gives the model
        trained = [token for token, label in zip(ids, labels) if label != -100]
        assert tokenizer.decode(trained) == example["completion"] + tokenizer.eos_token
    # What the cell printed for the first example: the summary and the EOS, and only they, in brackets.
    view = handson.stdout.split("| がトークンの区切り、↵ が改行です。\n", 1)[1]
    before, inside = view.split("[[", 1)
    inside = inside.split("]]", 1)[0]
    assert before.startswith("<s>|") and before.endswith("答|↵\n")  # the prompt, up to "### 応答" and its newline
    assert inside.replace("↵\n", "\n").replace("|", "") == ns["train_dataset"][0]["completion"] + "</s>"
    assert inside.endswith("|</s>")


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
