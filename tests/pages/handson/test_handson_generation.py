"""docs/handson.md, steps 4, 7 and 8 on the page's run: generating before and after training, and ROUGE.

(ROUGE's tokenizer and arithmetic on their own: test_handson_rouge.py.)
"""

from __future__ import annotations

import math

import torch

import standin


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


def test_evaluation_says_how_long_it_will_take_before_generating(handson):
    ns = handson.namespace
    rows = len(ns["eval_rows"])
    line = next(line for line in handson.stdout.splitlines() if "行を学習前と学習後で要約します" in line)
    minutes = 2 * math.ceil(rows / ns["GENERATION_BATCH_SIZE"]) * ns["seconds_per_batch"] / 60
    assert line == f"{rows} 行を学習前と学習後で要約します。約 {minutes:.0f} 分かかる見込みです。"
    assert handson.stdout.index(line) < handson.stdout.index("ROUGE-2（F 値 × 100）")


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
