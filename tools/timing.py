"""Time for one epoch, the evaluation pauses and the generation, from the estimator on real lengths.

The dataset report (tools/dataset_report.py) uses it on the real data; the tests compare the hands-on's
pre-flight estimate with it. No side effects on import.
"""

from __future__ import annotations

import math

import project

BEFORE_AFTER_EXAMPLES = 3  # snippets/handson/before_training.py の examples の数
EVAL_BATCH_SIZE = 8  # transformers' default per_device_eval_batch_size (the tabs do not set it)


def micro_batches(lengths: list[int], batch_size: int, seed: int = 42) -> list[list[int]]:
    """The training order as a shuffled sampler gives it (seeded), cut into micro-batches."""
    import torch

    order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(seed)).tolist()
    shuffled = [lengths[i] for i in order]
    return [shuffled[i : i + batch_size] for i in range(0, len(shuffled), batch_size)]


def tab_timing(arch, lengths_train, lengths_eval, settings, method, gpu, max_new_tokens, eval_rows):
    """Seconds for one epoch of training, the evaluation pauses, and the generation lower bounds."""
    estimator = project.load_estimator()
    Setup, estimate = estimator.Setup, estimator.estimate

    train_seconds = 0.0
    for batch in micro_batches(lengths_train, settings["batch_size"]):
        result = estimate(arch, Setup(method=method, batch_size=len(batch), seq_len=max(batch)))
        train_seconds += result.seconds(gpu.tflops)
    steps = math.ceil(math.ceil(len(lengths_train) / settings["batch_size"]) / settings["accumulation"])
    evaluations = steps // settings["eval_steps"]
    eval_seconds = 0.0
    for batch in micro_batches(lengths_eval, EVAL_BATCH_SIZE):
        result = estimate(arch, Setup(method=method, batch_size=len(batch), seq_len=max(batch)))
        eval_seconds += result.forward_seconds(gpu.tflops)
    per_token = estimate(arch, Setup(method=method, batch_size=1, seq_len=1)).seconds_per_new_token(gpu.bandwidth_gbs)
    # summarize() generates GENERATION_BATCH_SIZE rows at once: each step reads the weights once for the batch.
    batch = project.snippet_constant("generate", "GENERATION_BATCH_SIZE")
    generation = {
        "before_after": 2 * math.ceil(BEFORE_AFTER_EXAMPLES / batch) * max_new_tokens * per_token,
        "rouge": 2 * math.ceil(min(eval_rows, len(lengths_eval)) / batch) * max_new_tokens * per_token,
    }
    return {
        "steps": steps,
        "train_seconds": train_seconds * settings["epochs"],
        "evaluations": evaluations,
        "eval_seconds": evaluations * eval_seconds,
        "seconds_per_new_token_lower_bound": per_token,
        "generation_seconds_lower_bound": generation,
    }
