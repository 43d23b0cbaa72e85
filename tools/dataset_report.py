"""The dataset report: every number the pages give about the real data, computed from the real data.

Run from the repository root (not collected by pytest; CI and public clones have no ../shared):

    python tools/dataset_report.py

It runs the hands-on's own cells, unmodified (load_tokenizer, prepare_dataset, prompt_format and the
two tabs' training_args), on the real dataset file and the model's real tokenizer, laid out as the
stand-in Hub does for the tests, and captures what they print: that is what a learner sees at steps 2
and 3. Then it measures the token lengths, the share kept at other MAX_LENGTH values, the optimizer
steps, and the time per GPU from the project's estimator (snippets/concepts/memory-and-time/estimator.py) on the
real micro-batch lengths. Everything lands in docs/data/ (see OUTPUTS); the pages include those files.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import math
import os
import platform
import statistics
import sys
from difflib import SequenceMatcher
from pathlib import Path

import project
from timing import BEFORE_AFTER_EXAMPLES, micro_batches, tab_timing
from real_data import DEFAULT_DATA, DEFAULT_TOKENIZER, ROOT, run_cells

OUT = ROOT / "docs" / "data"
FIGURES = ROOT / "docs" / "assets" / "figures"  # docs/data is not copied to the site; pictures must be
estimator = project.load_estimator()
# Where the data file comes from (SOURCE.md beside it); printed with every figure.
DATA_SOURCE = (
    "GitHub の kunishou/databricks-dolly-15k-ja の最初のコミット cd6c43d（2023-04-14）の 15,015 行。"
    "Hub 版はその後の翻訳の修正を含むので、理由ごとの行数が数行違うことがあります"
)

LENGTH_CHOICES = (512, 1024, 2048)
NEAR_COPY_THRESHOLDS = (0.8, 0.85, 0.9, 0.95)
GENERATION_GPU_TAB = {"T4 16 GB": "qlora_t4"}  # the GPU check sends the T4 to the QLoRA tab, the others to bf16 LoRA
TAB_METHOD = {"lora_bf16": "lora", "qlora_t4": "qlora"}
TAB_LABEL = {"lora_bf16": "bf16 LoRA", "qlora_t4": "QLoRA"}
# The estimate counts the products, not the 4-bit weights turned back into 16 bits before each one.
QLORA_IS_SLOWER = "QLoRA の時間は、掛け算のたびに 4 ビットの重みを 16 ビットに戻す処理を数えていないので、実際にはこれより長くなります。"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the dataset as a JSON list of rows")
    parser.add_argument("--tokenizer", type=Path, default=DEFAULT_TOKENIZER, help="folder with tokenizer.json")
    parser.add_argument("--out", type=Path, default=OUT)
    return parser.parse_args(argv)


def max_new_tokens_default(ns: dict) -> int:
    """summarize()'s default length, from the generate cell run beside the others."""
    import inspect

    namespace = dict(ns)
    project.cell("generate").run(namespace)
    return inspect.signature(namespace["summarize"]).parameters["max_new_tokens"].default


# --- numbers -------------------------------------------------------------------------------------


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
    Setup, estimate = estimator.Setup, estimator.estimate

    return estimate(arch, Setup(method=method, batch_size=batch_size, seq_len=seq_len)).peak / 1e9


def compute(ns, printed, settings, data: Path, tokenizer_dir: Path) -> dict:
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
            method = TAB_METHOD[variant]
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
        "command": "python tools/dataset_report.py",
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


# --- writing -------------------------------------------------------------------------------------

GENERATED = "python tools/dataset_report.py が生成したファイルです。直接編集しないでください。"
# The first line of each include, then a blank line: the include stays valid Markdown wherever the page
# puts it (inside an admonition or a tab too, where a comment glued to a table turned it into raw text).
HEADER = f"<!-- {GENERATED} -->\n"


def n(value) -> str:
    return f"{value:,}"


def pct(value: float) -> str:
    return f"{100 * value:.0f} %"


def minutes(seconds: float) -> str:
    return f"約 {max(1, round(seconds / 60))} 分"


def provenance(report: dict) -> str:
    v = report["versions"]
    return (
        f"データ: {report['data']['source']}（sha256 {report['data']['sha256'][:12]}…）。"
        f"トークナイザー: Mistral-7B-v0.1 の tokenizer.json（sha256 {report['tokenizer']['sha256'][:12]}…）。"
        f"生成: {report['generated']}、`{report['command']}`、"
        f"Python {v['python']}、transformers {v['transformers']}、trl {v['trl']}、datasets {v['datasets']}。"
    )


def step_outputs(report: dict) -> dict[str, str]:
    printed = report["printed"]
    step3 = [line for line in printed["max_length"].splitlines() if "トークン以内" in line or "長すぎて" in line]
    return {
        "dataset-step2-output.txt": printed["prepare_dataset"],
        "dataset-step3-output.txt": "\n".join(step3) + "\n",
    }


def rows_table(report: dict) -> str:
    rows, choice = report["rows"], next(c for c in report["choices"] if c["max_length"] == report["max_length"])
    lines = [
        HEADER,
        "| 段階 | 行数 |",
        "| --- | ---: |",
        f"| データセット全体 | {n(rows['all'])} |",
        f"| そのうち要約（summarization）の行 | {n(rows['summarization'])} |",
    ]
    for reason, count in rows["dropped"].items():
        lines.append(f"| 　除いた行: {reason} | {n(count)} |")
    lines += [
        f"| 学習に使える行 | {n(rows['kept'])} |",
        f"| 　学習用 / 評価用（9:1） | {n(rows['train'])} / {n(rows['eval'])} |",
        (
            f"| 　{n(report['max_length'])} トークン以内の行（学習用 / 評価用） | "
            f"{n(rows['train_within_max_length'])} / {n(rows['eval_within_max_length'])} |"
        ),
        *(
            f"| 1 エポックの更新回数（{TAB_LABEL[variant]}: {s['batch_size']} × {s['accumulation']} 例ごと） | "
            f"{n(choice['tabs'][variant]['steps_per_epoch'])} |"
            for variant, s in report["settings"].items()
        ),
        "",
    ]
    return "\n".join(lines)


def steps_include(report: dict) -> str:
    """One sentence for step 6: how many updates and evaluations the learner will see."""
    choice = next(c for c in report["choices"] if c["max_length"] == report["max_length"])
    parts = []
    for variant, s in report["settings"].items():
        steps = choice["tabs"][variant]["steps_per_epoch"]
        parts.append(
            f"{TAB_LABEL[variant]} のタブでは {s['batch_size']} × {s['accumulation']} = "
            f"{s['batch_size'] * s['accumulation']} 例ごとに 1 回更新するので {n(steps)} 回"
            f"（評価は {s['eval_steps']} 回ごとに {steps // s['eval_steps']} 回）"
        )
    return (
        f"{HEADER}\n"
        f"実際のデータセットでは、学習用の {n(choice['train'])} 行を 1 エポック学習します。"
        f"更新の回数は、{'、'.join(parts)}です。\n"
    )


def near_copy_include(report: dict) -> str:
    near = report["near_copy"]
    lines = [
        HEADER,
        "| 一致率のしきい値 | 「ほぼ丸写し」になる行 |",
        "| ---: | ---: |",
    ]
    for threshold, count in near["counts"].items():
        mark = "（ハンズオンの値）" if float(threshold) == near["threshold"] else ""
        lines.append(f"| {threshold} 以上{mark} | {n(count)} |")
    lines += ["", "除かれる行の例（データセットの index と、最初の違い）:", ""]
    for example in near["examples"]:
        diffs = "、".join(f"「{a or '（なし）'}」→「{b or '（なし）'}」" for a, b in example["first_differences"])
        lines.append(
            f"- index {example['index']}: 一致率 {example['ratio']}、入力 {n(example['input_chars'])} 文字・"
            f"出力 {n(example['output_chars'])} 文字。違い: {diffs}"
        )
    lines += [""]
    return "\n".join(lines)


def lengths_include(report: dict) -> str:
    tokens = report["tokens"]
    lines = [
        HEADER,
        f"| 使える {n(tokens['examples'])} 行のトークン数（プロンプト + 要約 + EOS） | 値 |",
        "| --- | ---: |",
        f"| 最小 | {n(tokens['min'])} |",
        f"| 中央値 | {n(round(tokens['median']))} |",
        f"| 95 パーセンタイル | {n(tokens['p95'])} |",
        f"| 最大 | {n(tokens['max'])} |",
        f"| 1 文字あたりのトークン数（プロンプトの見出しと EOS を含む） | {tokens['tokens_per_char']:.2f} |",
        "",
    ]
    return "\n".join(lines)


def tradeoff_include(report: dict) -> str:
    GPUS = estimator.GPUS

    lines = [
        HEADER,
        (
            "| MAX_LENGTH | 残る行 | 残るトークン | 学習用の例 | "
            "bf16 LoRA のピークメモリ | QLoRA のピークメモリ | 1 エポック（L4・bf16 LoRA） | 1 エポック（T4・QLoRA） |"
        ),
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in report["choices"]:
        lora, qlora = c["tabs"]["lora_bf16"], c["tabs"]["qlora_t4"]
        l4 = lora["gpus"].get("L4 24 GB")
        t4 = qlora["gpus"].get("T4 16 GB")
        mark = "（ハンズオンの値）" if c["max_length"] == report["max_length"] else ""
        lines.append(
            f"| {n(c['max_length'])}{mark} | {pct(c['rows_share'])} | {pct(c['tokens_share'])} | {n(c['train'])} | "
            f"{lora['peak_gb']:.1f} GB | {qlora['peak_gb']:.1f} GB | "
            f"{minutes(l4['train_seconds']) if l4 else '入らない'} | {minutes(t4['train_seconds']) if t4 else '入らない'} |"
        )
    batch = {v: s["batch_size"] for v, s in report["settings"].items()}
    lines += [
        "",
        (
            f"ピークメモリは、バッチ（bf16 LoRA {batch['lora_bf16']} 例、QLoRA {batch['qlora_t4']} 例）のすべての例が "
            "MAX_LENGTH の長さのときの見積もりです。"
            "時間は、学習用の例を実際の長さのままランダムに並べてバッチに分け、バッチごとに見積もった計算量を、"
            f"GPU のピーク性能の {pct(report['utilization'])} で割った目安です（L4 {GPUS['L4 24 GB'].tflops:g}、"
            f"T4 {GPUS['T4 16 GB'].tflops:g} TFLOPS）。{QLORA_IS_SLOWER}"
        ),
        "",
    ]
    return "\n".join(lines)


def time_include(report: dict) -> str:
    choice = next(c for c in report["choices"] if c["max_length"] == report["max_length"])
    lines = [
        HEADER,
        "| GPU（使うタブ） | 更新回数 | 学習 1 エポック | 途中の評価 | 学習前後の生成（下限） | ROUGE の生成（下限） |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for gpu_name in report["gpus"]:
        variant = GENERATION_GPU_TAB.get(gpu_name, "lora_bf16")
        timing = choice["tabs"][variant]["gpus"].get(gpu_name)
        if timing is None:  # pragma: no cover - every listed GPU fits its tab at the hands-on's MAX_LENGTH
            continue
        label = TAB_LABEL[variant]
        generation = timing["generation_seconds_lower_bound"]
        lines.append(
            f"| {gpu_name}（{label}） | {n(timing['steps'])} | {minutes(timing['train_seconds'])} | "
            f"{minutes(timing['eval_seconds'])}（{timing['evaluations']} 回） | "
            f"{minutes(generation['before_after'])} | {minutes(generation['rouge'])} |"
        )
    lines += [
        "",
        (
            "学習と評価は、実際の長さの例をバッチに分けて見積もった計算量を、"
            f"GPU のピーク性能の {pct(report['utilization'])} で計算できると仮定した目安です（測った値ではありません）。"
            f"{QLORA_IS_SLOWER}"
            f"生成は、{n(report['max_new_tokens'])} トークンまで生成したときの**下限**です"
            "（まとめて生成する行ごとに、1 トークンにつき重みをすべてメモリから 1 回読む時間）。"
            "実際には数倍かかることがあります。"
            f"ROUGE は評価用データ {n(report['eval_rows'])} 行を学習前と学習後で 2 回ずつ、"
            f"学習前後の比較は {BEFORE_AFTER_EXAMPLES} 例を 2 回ずつ生成します。"
            "モデルのダウンロード（初回のみ、約 14.5 GB）と読み込みの時間は含みません。"
        ),
        "",
    ]
    return "\n".join(lines)


def padding_include(report: dict) -> str:
    pad = report["padding"]
    batch = report["settings"]["lora_bf16"]["batch_size"]
    rows = [
        ("ハンズオン（ランダムな順のまま、バッチ内の最長に合わせる）", pad["hands_on"]),
        ("長さの近い例をまとめる（`group_by_length`）", pad["group_by_length"]),
        (f"すべての例を MAX_LENGTH（{n(report['max_length'])}）まで埋める", pad["pad_to_max_length"]),
    ]
    lines = [
        HEADER,
        f"| 1 エポックでモデルに通すトークン（詰め物を含む、バッチ {batch} 例） | トークン数 | 実トークンとの比 |",
        "| --- | ---: | ---: |",
        *(f"| {label} | {n(tokens)} | {tokens / pad['real_tokens']:.2f} 倍 |" for label, tokens in rows),
        "",
        (
            f"実トークン（詰め物を除く）は {n(pad['real_tokens'])} で、そのうち損失が掛かる要約と EOS は "
            f"{n(pad['loss_tokens'])}（{pct(pad['loss_tokens'] / pad['real_tokens'])}）です。"
            "全文に損失を掛ける設定では、残りのプロンプトのトークンにも損失が掛かります。"
        ),
        "",
    ]
    return "\n".join(lines)


def histogram_svgs(report: dict) -> dict[str, str]:
    """The token-length histogram, one SVG per colour scheme (text stays text: the page's font draws it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lengths, limit = report["lengths"], report["max_length"]
    svgs = {}
    for scheme, (fg, bar, line, bg) in {
        "light": ("#1f2328", "#3f51b5", "#c62828", "white"),
        "dark": ("#e6edf3", "#8c9eff", "#ff8a80", "#1e2129"),
    }.items():
        with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "dataset-report", "font.size": 11}):
            fig, ax = plt.subplots(figsize=(7, 3.2))
            fig.patch.set_facecolor(bg)
            ax.set_facecolor(bg)
            upper = 4096
            ax.hist([min(x, upper) for x in lengths], bins=range(0, upper + 129, 128), color=bar)
            ax.axvline(limit, color=line, linestyle="--")
            ax.text(limit + 40, ax.get_ylim()[1] * 0.9, f"MAX_LENGTH = {limit}", color=line)
            ax.set_xlabel(f"1 例のトークン数（{upper} 以上は右端にまとめています）", color=fg)
            ax.set_ylabel("行数", color=fg)
            ax.tick_params(colors=fg)
            for spine in ax.spines.values():
                spine.set_color(fg)
            fig.tight_layout()
            buffer = io.StringIO()
            fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
            plt.close(fig)
        svgs[f"dataset-lengths-{scheme}.svg"] = buffer.getvalue()
    return svgs


def write(report: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "dataset-report.json": json.dumps(
            {k: v for k, v in report.items() if k not in ("printed", "lengths")}, ensure_ascii=False, indent=1
        )
        + "\n",
        "dataset-provenance.md": f"{HEADER}\n{provenance(report)}\n",
        "dataset-rows.md": rows_table(report),
        "dataset-near-copies.md": near_copy_include(report),
        "handson-steps.md": steps_include(report),
        "dataset-lengths.md": lengths_include(report),
        "dataset-max-length.md": tradeoff_include(report),
        "handson-time.md": time_include(report),
        "efficiency-padding.md": padding_include(report),
        **step_outputs(report),
    }
    FIGURES.mkdir(parents=True, exist_ok=True)
    written = []
    for path, text in [
        *((out / name, text) for name, text in files.items()),
        *((FIGURES / name, svg) for name, svg in histogram_svgs(report).items()),
    ]:
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv=None) -> int:
    args = parse_args(argv)
    for path in (args.data, args.tokenizer / "tokenizer.json"):
        if not path.exists():
            raise SystemExit(
                f"{path} がありません。--data と --tokenizer で実データとトークナイザーの場所を指定してください。"
            )
    ns, printed, settings = run_cells(args.data, args.tokenizer)
    report = compute(ns, printed, settings, args.data, args.tokenizer)
    for path in write(report, args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
