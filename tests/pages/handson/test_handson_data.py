"""docs/handson.md, steps 2-3 on the page's run: which rows are kept, how they are split, what the loss covers.

(The same cells on broken and made-up rows: test_handson_bad_data.py.)
"""

from __future__ import annotations

import math
from collections import Counter

from handson_checks import REASON_OF_ROLE, indexes, tokenized_example
import standin


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


def test_example_counts_are_reported(handson):
    ns = handson.namespace
    assert f"学習用 {len(ns['splits']['train'])} 行 / 評価用 {len(ns['splits']['test'])} 行" in handson.stdout
    assert Counter(ns["dropped"]).total() == len(indexes("exact_copy", "near_copy"))


def test_loss_covers_only_the_summary_and_its_eos(handson):
    ns = handson.namespace
    tokenizer = ns["tokenizer"]
    for position in range(len(ns["train_dataset"])):
        example = ns["train_dataset"][position]
        input_ids, labels = tokenized_example(handson.trainer, position)
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
    training_ids, _ = tokenized_example(handson.trainer, 0)
    assert training_ids[: len(inference_ids)] == inference_ids
    assert inference_prompt.endswith("### 応答\n")


def test_long_examples_are_left_out(handson):
    ns = handson.namespace
    tokenizer = ns["tokenizer"]
    for dataset in (ns["train_dataset"], ns["eval_dataset"]):
        for example in dataset:
            assert len(tokenizer(example["prompt"] + example["completion"]).input_ids) + 1 <= ns["MAX_LENGTH"]
    assert ns["training_args"].max_length == ns["MAX_LENGTH"]
