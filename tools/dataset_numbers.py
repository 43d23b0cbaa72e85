"""The real-data report's numbers: every number the pages give about the real data, computed from the
hands-on's own cells run on it (tools/real_data.py) and the project's estimator
(snippets/concepts/memory-and-time/estimator.py) on the real micro-batch lengths.

``compute()`` returns the report (a dict); tools/dataset_tables.py and tools/dataset_plot.py turn it into
the files in docs/data/ and docs/assets/figures/, and tools/dataset_report.py runs it all.
"""

from __future__ import annotations

import datetime
import hashlib
import math
import os
import platform
import statistics
from difflib import SequenceMatcher
from pathlib import Path

import project
from timing import micro_batches, tab_timing

COMMAND = "python tools/dataset_report.py"
# Where the data file comes from (SOURCE.md beside it); printed with every figure.
DATA_SOURCE = (
    "GitHub の kunishou/databricks-dolly-15k-ja の最初のコミット cd6c43d（2023-04-14）の 15,015 行。"
    "Hub 版はその後の翻訳の修正を含むので、理由ごとの行数が数行違うことがあります"
)

LENGTH_CHOICES = (512, 1024, 2048)
NEAR_COPY_THRESHOLDS = (0.8, 0.85, 0.9, 0.95)


def max_new_tokens_default(ns: dict) -> int:
    """summarize()'s default length, from the generate cell run beside the others."""
    import inspect

    namespace = dict(ns)
    project.cell("generate").run(namespace)
    return inspect.signature(namespace["summarize"]).parameters["max_new_tokens"].default


def percentile(sorted_values: list[int], q: float) -> int:
    """Nearest-rank percentile."""
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def near_copy_table(ns: dict) -> tuple[dict, list[dict]]:
    """How many summarization rows each threshold would call a near-copy, and two real examples."""
    rows = [r for r in ns["raw_dataset"] if r["category"] == "summarization"]
    ratios = []
    for row in rows:
        text, summary = row["input"].strip(), row["output"].strip()
        if text and summary and text != summary:
            ratios.append((SequenceMatcher(None, text, summary, autojunk=False).ratio(), row))
    counts = {str(t): sum(1 for r, _ in ratios if r >= t) for t in NEAR_COPY_THRESHOLDS}
    threshold = ns["NEAR_COPY_RATIO"]
    near = sorted(((r, row) for r, row in ratios if r >= threshold), key=lambda x: x[0])
    examples = []
    for ratio, row in (near[0], near[len(near) // 2]) if near else ():
        text, summary = row["input"].strip(), row["output"].strip()
        matcher = SequenceMatcher(None, text, summary, autojunk=False)
        diffs = [(text[i1:i2], summary[j1:j2]) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"]
        examples.append(
            {
                "index": row["index"],
                "ratio": round(ratio, 3),
                "input_chars": len(text),
                "output_chars": len(summary),
                "first_differences": diffs[:3],
            }
        )
    return counts, examples


def example_lengths(ns: dict) -> list[int]:
    """Tokens per cleaned row (prompt + completion + EOS), as the length filter counts them."""
    tokenizer, to_pc = ns["tokenizer"], ns["to_prompt_completion"]
    lengths = []
    for split in ("train", "test"):
        for row in ns["splits_of_step_2"][split]:
            example = to_pc(row)
            lengths.append(len(tokenizer(example["prompt"] + example["completion"]).input_ids) + 1)
    return lengths


def completion_lengths(ns: dict) -> list[int]:
    """Tokens that carry the loss per training row within MAX_LENGTH: the summary and its EOS."""
    tokenizer, to_pc = ns["tokenizer"], ns["to_prompt_completion"]
    result = []
    for row in ns["splits"]["train"]:
        example = to_pc(row)
        whole = len(tokenizer(example["prompt"] + example["completion"]).input_ids)
        result.append(whole - len(tokenizer(example["prompt"]).input_ids) + 1)
    return result


def padding_table(ns: dict, lengths: list[int], batch_size: int, max_length: int) -> dict:
    """Tokens the model computes per epoch (padding included) for ways of forming micro-batches."""
    import random

    def padded(batches):
        return sum(max(batch) * len(batch) for batch in batches)

    shuffled = micro_batches(lengths, batch_size)
    order = [n for batch in shuffled for n in batch]
    mega = 50 * batch_size  # transformers' LengthGroupedSampler sorts within mega-batches of 50 batches
    grouped = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start : start + mega], reverse=True)
        grouped += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    random.Random(0).shuffle(grouped)
    loss_tokens = sum(completion_lengths(ns))
    return {
        "real_tokens": sum(lengths),
        "loss_tokens": loss_tokens,
        "hands_on": padded(shuffled),
        "group_by_length": padded(grouped),
        "pad_to_max_length": len(lengths) * max_length,
    }


def peak_gb(arch, method, batch_size, seq_len) -> float:
    estimator = project.load_estimator()
    Setup, estimate = estimator.Setup, estimator.estimate

    return estimate(arch, Setup(method=method, batch_size=batch_size, seq_len=seq_len)).peak / 1e9


def compute(ns, printed, settings, data: Path, tokenizer_dir: Path) -> dict:
    estimator = project.load_estimator()
    GPUS, UTILIZATION = estimator.GPUS, estimator.UTILIZATION

    arch = project.seven_b_architecture()
    max_length = ns["MAX_LENGTH"]
    lengths = example_lengths(ns)
    n_train = len(ns["splits_of_step_2"]["train"])
    train_lengths, eval_lengths = lengths[:n_train], lengths[n_train:]
    ordered = sorted(lengths)
    near_counts, near_examples = near_copy_table(ns)
    eval_rows, max_new_tokens = project.snippet_constant("evaluate", "EVAL_ROWS"), max_new_tokens_default(ns)

    choices = []
    for limit in sorted({*LENGTH_CHOICES, max_length}):
        kept = [n for n in lengths if n <= limit]
        kept_train = [n for n in train_lengths if n <= limit]
        kept_eval = [n for n in eval_lengths if n <= limit]
        per_tab = {}
        for variant, tab in settings.items():
            method = project.TABS[variant].method
            timing = {}
            for gpu_name, gpu in GPUS.items():
                fits = peak_gb(arch, method, tab["batch_size"], limit) + 1 <= gpu.memory_gb
                if fits and (gpu.bf16 or method == "qlora"):
                    timing[gpu_name] = tab_timing(
                        arch, kept_train, kept_eval, tab, method, gpu, max_new_tokens, eval_rows
                    )
            per_tab[variant] = {
                "peak_gb": peak_gb(arch, method, tab["batch_size"], limit),
                "steps_per_epoch": math.ceil(math.ceil(len(kept_train) / tab["batch_size"]) / tab["accumulation"]),
                "gpus": timing,
            }
        choices.append(
            {
                "max_length": limit,
                "rows_kept": len(kept),
                "rows_share": len(kept) / len(lengths),
                "tokens_share": sum(kept) / sum(lengths),
                "train": len(kept_train),
                "eval": len(kept_eval),
                "tabs": per_tab,
            }
        )

    # Every rule, also those that drop nothing in this data: ask drop_reason about made-up rows.
    probes = [("", "要約"), ("同じ文章です。", "同じ文章です。"), ("0123456789" * 5, "0123456789" * 5 + "0")]
    reasons = [ns["drop_reason"]({"input": text, "output": summary, "instruction": ""}) for text, summary in probes]
    dropped = {reason: ns["dropped"].get(reason, 0) for reason in reasons}
    if set(ns["dropped"]) - set(reasons):  # pragma: no cover - a new rule needs a probe here
        raise SystemExit(f"drop_reason に新しい理由があります: {set(ns['dropped']) - set(reasons)}")
    return {
        "generated": datetime.date.today().isoformat(),
        "command": COMMAND,
        "data": {
            "file": data.name,
            "sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
            "source": DATA_SOURCE,
        },
        "tokenizer": {
            "file": "tokenizer.json",
            "sha256": hashlib.sha256((tokenizer_dir / "tokenizer.json").read_bytes()).hexdigest(),
        },
        "versions": versions(),
        "machine": machine(),
        "rows": {
            "all": len(ns["raw_dataset"]),
            "summarization": len(ns["summaries"]) + sum(dropped.values()),
            "dropped": dropped,
            "kept": len(ns["summaries"]),
            "train": n_train,
            "eval": len(ns["splits_of_step_2"]["test"]),
            "train_within_max_length": len(ns["splits"]["train"]),
            "eval_within_max_length": len(ns["splits"]["test"]),
        },
        "near_copy": {"threshold": ns["NEAR_COPY_RATIO"], "counts": near_counts, "examples": near_examples},
        "tokens": {
            "examples": len(lengths),
            "min": ordered[0],
            "median": statistics.median(ordered),
            "p95": percentile(ordered, 0.95),
            "max": ordered[-1],
            "tokens_per_char": sum(lengths)
            / sum(len(r["instruction"] + r["input"] + r["output"]) for r in ns["summaries"]),
        },
        "max_length": max_length,
        "padding": padding_table(
            ns,
            [n for n in train_lengths if n <= max_length],
            settings["lora_bf16"]["batch_size"],
            max_length,
        ),
        "choices": choices,
        "settings": settings,
        "eval_rows": eval_rows,
        "max_new_tokens": max_new_tokens,
        "utilization": UTILIZATION,
        "gpus": {name: vars(gpu) for name, gpu in GPUS.items()},
        "printed": printed,
        "lengths": lengths,
    }


def versions() -> dict:
    import datasets
    import tokenizers
    import torch
    import transformers
    import trl

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "trl": trl.__version__,
        "datasets": datasets.__version__,
        "tokenizers": tokenizers.__version__,
    }


def machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} コア"
