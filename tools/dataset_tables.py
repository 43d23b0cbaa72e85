"""The real-data report as the pages show it: Markdown tables, sentences and step outputs for docs/data/.

Every function takes the report that tools/dataset_numbers.py computes and returns text; ``includes()``
names the file each one goes to. The tabs' names and GPUs come from tools/project.py (TABS).
"""

from __future__ import annotations

import project
from dataset_numbers import COMMAND
from timing import BEFORE_AFTER_EXAMPLES

GENERATED = f"{COMMAND} が生成したファイルです。直接編集しないでください。"
# The first line of each include, then a blank line: the include stays valid Markdown wherever the page
# puts it (inside an admonition or a tab too, where a comment glued to a table turned it into raw text).
HEADER = f"<!-- {GENERATED} -->\n"
# The estimate counts the products, not the 4-bit weights turned back into 16 bits before each one.
QLORA_IS_SLOWER = "QLoRA の時間は、掛け算のたびに 4 ビットの重みを 16 ビットに戻す処理を数えていないので、実際にはこれより長くなります。"


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
            f"| 1 エポックの更新回数（{project.TABS[variant].short_label}: {s['batch_size']} × {s['accumulation']} 例ごと） | "
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
            f"{project.TABS[variant].short_label} のタブでは {s['batch_size']} × {s['accumulation']} = "
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
    """Per MAX_LENGTH: what stays of the data, and per tab the peak memory and an epoch on the tab's GPU."""
    tabs = [project.TABS[variant] for variant in report["settings"]]

    def short(gpu: str) -> str:
        return gpu.split()[0]  # "L4 24 GB" -> "L4"

    columns = [f"{tab.short_label} のピークメモリ" for tab in tabs]
    columns += [f"1 エポック（{short(tab.gpu)}・{tab.short_label}）" for tab in tabs]
    lines = [
        HEADER,
        "| MAX_LENGTH | 残る行 | 残るトークン | 学習用の例 | " + " | ".join(columns) + " |",
        "|" + " ---: |" * (4 + len(columns)),
    ]
    for c in report["choices"]:
        mark = "（ハンズオンの値）" if c["max_length"] == report["max_length"] else ""
        cells = [f"{n(c['max_length'])}{mark}", pct(c["rows_share"]), pct(c["tokens_share"]), n(c["train"])]
        cells += [f"{c['tabs'][tab.variant]['peak_gb']:.1f} GB" for tab in tabs]
        for tab in tabs:
            timing = c["tabs"][tab.variant]["gpus"].get(tab.gpu)
            cells.append(minutes(timing["train_seconds"]) if timing else "入らない")
        lines.append("| " + " | ".join(cells) + " |")
    batches = "、".join(f"{tab.short_label} {report['settings'][tab.variant]['batch_size']} 例" for tab in tabs)
    peaks = "、".join(f"{short(tab.gpu)} {report['gpus'][tab.gpu]['tflops']:g}" for tab in tabs)
    lines += [
        "",
        (
            f"ピークメモリは、バッチ（{batches}）のすべての例が "
            "MAX_LENGTH の長さのときの見積もりです。"
            "時間は、学習用の例を実際の長さのままランダムに並べてバッチに分け、バッチごとに見積もった計算量を、"
            f"GPU のピーク性能の {pct(report['utilization'])} で割った目安です（{peaks} TFLOPS）。{QLORA_IS_SLOWER}"
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
        tab = project.tab_for_gpu(gpu_name)
        timing = choice["tabs"][tab.variant]["gpus"].get(gpu_name)
        if timing is None:  # pragma: no cover - every listed GPU fits its tab at the hands-on's MAX_LENGTH
            continue
        label = tab.short_label
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


def includes(report: dict) -> dict[str, str]:
    """File name in docs/data/ -> its text (the pages include them as ``data/<name>``)."""
    return {
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
