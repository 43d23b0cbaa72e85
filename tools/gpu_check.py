"""The GPU truth run: the hands-on on CUDA for both tabs, and the 7B recipes measured (issue 21).

    python tools/gpu_check.py --dry        # here, without a GPU: everything before the GPU work (seconds)
    python tools/gpu_check.py --rehearse   # here, without a GPU: the whole run on the CPU, a small model for the 7B
    python tools/gpu_check.py              # on a CUDA GPU: writes docs/data/gpu-check.json and gpu-check.md
                                           # (the device machine: python tools/gpu_wheels.py prints the call)

On the GPU, in this order, each part recorded as it ends (so a run stopped at its limit keeps what it did):

1. The hands-on page's cells in page order against the stand-in Hub (tools/standin.py: the real tokenizer, a tiny
   Mistral), once per tab, then the next-day page in the same folder. The bf16 tab runs as on a 24 GB GPU; the T4
   tab as on a free Colab T4, as far as an H100 can play one (t4_emulation: a 15 GB memory cap, no flash or cuDNN
   attention, a T4's free memory for device_map="auto" and the merge cell), plus a disconnect right after the first
   checkpoint and a rerun of every cell. The checks are the CPU tests' (each names the test it mirrors), and what
   only CUDA does: autocast, the GradScaler, and float32 trainable weights under fp16.
2. The full-size 7B (tools/project.py's seven_b_config) with random weights, per tab: every cell up to the train
   cell, unchanged, with the stand-in answering from_pretrained with the 7B and the data replaced by examples of the
   real data's lengths (docs/data/dataset-report.json). Measured: peak torch.cuda.max_memory_allocated and seconds
   per optimizer update at the real data's mean padded micro-batch and at MAX_LENGTH, and one evaluation batch.
   The memory page's estimator stands beside each figure, with its error.

Only the environment is adapted (stand-in Hub, capped generation, recorded Hub calls, the settings listed in
gpu_measure.MEASURE_OVERRIDES for the 7B runs): the page's code runs as a learner runs it.
Part 1 is tools/gpu_page.py, part 2 tools/gpu_measure.py; this module plans, records and runs them.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import types
from importlib import metadata
from pathlib import Path

import project
from gpu_measure import measure, measurement_data
from gpu_page import NEXT_DAY_PAGE, NOT_EMULATED, T4_MEMORY_BYTES, gb, method_of, page_run, resume_run

OUTPUT_NAME = "gpu-check"  # gpu-check.json and gpu-check.md
BUDGET_S = 360  # a part starts only if it is expected to end by then; the device call adds installing and starting up
EXPECTED_S = {"page": 60, "7b": 100}  # a part's time on an H100, guessed before any GPU run (checked by the first one)
# Dense 16-bit tensor throughput (TFLOPS) from NVIDIA's data sheets (which print twice these, "with sparsity").
PEAK_TFLOPS = (("H200", 989), ("H100 PCIe", 756), ("H100", 989), ("A100", 312), ("L4", 121), ("T4", 65))
# Not carried (the device's own), recorded: transformers 5.24 needs huggingface_hub >= 1.31 and tokenizers >= 0.23.1,
# datasets 5.2 pyarrow >= 24.
ON_THE_DEVICE = ("torch", "huggingface_hub", "tokenizers", "safetensors", "pyarrow", "psutil", "matplotlib")
ANCHORS = ("load_model", "training_args", "trainer", "train", "save_adapter", "push_to_hub", "merge")


# --- the environment ---------------------------------------------------------------------------------------


def set_environment(hf_home: Path) -> None:
    """The stand-in's offline environment; it must be in place before huggingface_hub is imported."""
    import standin

    wanted = standin.offline_environment(hf_home)
    changed = {k for k, v in wanted.items() if os.environ.get(k) != v}
    if changed and "huggingface_hub" in sys.modules:
        raise SystemExit(f"huggingface_hub を読み込んだ後で環境変数 {sorted(changed)} は変えられません")
    os.environ.update(wanted)


def japanese_words_stand_in() -> list[str]:
    """Where MeCab's dictionary (unidic-lite, 47 MB) could not travel, ROUGE splits Japanese into characters."""
    if importlib.util.find_spec("unidic_lite") is not None:
        return []

    class Word:
        def __init__(self, surface):
            self.surface = surface

    class Tagger:
        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, text):
            return [Word(character) for character in text if not character.isspace()]

    module = types.ModuleType("fugashi")
    module.Tagger, module.Word = Tagger, Word
    sys.modules["fugashi"] = module
    return ["fugashi: MeCab の辞書（unidic-lite）がないので、ROUGE の単語分けは 1 文字ずつの代役です"]


def check_packages() -> dict[str, str | None]:
    """The pinned libraries the page needs, at the pinned versions: else which wheel to carry, by name."""
    import gpu_wheels

    pins = project.pins()
    found, problems = {}, []
    for name in (*gpu_wheels.PINNED, *gpu_wheels.DEPENDENCIES, *ON_THE_DEVICE):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
        if name in gpu_wheels.PINNED and found[name] != pins[name]:
            problems.append(f"{name}=={pins[name]}（この環境: {found[name] or 'なし'}）")
        elif name in gpu_wheels.DEPENDENCIES and found[name] is None:
            problems.append(f"{name}（この環境にありません）")
    if problems:
        raise SystemExit(
            "ハンズオンに必要なパッケージが足りないか、版が違います:\n  "
            + "\n  ".join(problems)
            + "\nGPU のマシンでは、`python tools/gpu_wheels.py` で用意した wheel（.whl/）を運び、"
            "表示されるコマンドで入れてから実行してください。"
        )
    return found


def require_cuda() -> None:
    import torch

    if not torch.cuda.is_available():
        raise SystemExit(
            "CUDA の GPU が見つかりません。この確認は GPU のマシンで実行します。\n"
            "GPU なしで確かめるには、--dry（GPU を使う直前まで）か --rehearse（CPU で全体を小さく）を付けてください。"
        )


def require_bitsandbytes_cuda() -> None:
    import torch
    from bitsandbytes import cextension

    if type(cextension.lib).__name__ != "CudaBNBNativeLibrary":
        raise SystemExit(
            f"bitsandbytes の CUDA のライブラリを読み込めません（torch の CUDA {torch.version.cuda}）。"
            f"`python tools/gpu_wheels.py --cuda {torch.version.cuda.replace('.', '')}` で wheel を作り直してください。"
        )


# --- the plan: everything that needs no GPU ----------------------------------------------------------------


def tab_settings(variant: str, workdir: Path) -> dict:
    """The tab's LoRA and training settings, from its cells (run here on the CPU: they only build configs)."""
    namespace = {
        "OUTPUT_DIR": workdir / "outputs",
        "MAX_LENGTH": project.snippet_constant("max_length", "MAX_LENGTH"),
    }
    project.cell("lora_config").run(namespace)
    project.cell("training_args", variant).run(namespace)
    args, lora = namespace["training_args"], namespace["peft_config"]
    targets = lora.target_modules
    return {
        "batch_size": args.per_device_train_batch_size,
        "accumulation": args.gradient_accumulation_steps,
        "eval_batch_size": args.per_device_eval_batch_size,
        "max_length": args.max_length,
        "fp16": args.fp16,
        "bf16": args.bf16,
        "checkpointing": bool(args.activation_checkpointing),
        "optim": getattr(args.optim, "value", args.optim),
        "lora_r": lora.r,
        "lora_dropout": lora.lora_dropout,
        "lora_targets": targets if isinstance(targets, str) else sorted(targets),
    }


def real_lengths(settings: dict) -> dict:
    """Example lengths for the 7B runs, from the real data's report: its mean padded micro-batch, and MAX_LENGTH."""
    report = json.loads((project.DATA / "dataset-report.json").read_text(encoding="utf-8"))
    batch = report["settings"]["lora_bf16"]["batch_size"]  # tools/dataset_report.py counts the padding with this tab
    if any(tab["batch_size"] != batch for tab in settings.values()):
        raise SystemExit(
            "dataset-report.json の詰め物の表と、タブのバッチサイズが違います: tools/dataset_report.py を直してください"
        )
    rows = report["rows"]["train_within_max_length"]
    padded = report["padding"]["hands_on"]  # tokens the model computes in one epoch, padding included
    return {
        "mean_padded": math.ceil(padded / rows),  # per example, in the real data's shuffled micro-batches
        "max_length": report["max_length"],
        "loss_share": report["padding"]["loss_tokens"] / report["padding"]["real_tokens"],
        "source": f"docs/data/dataset-report.json（{report['generated']}）: padding.hands_on / rows.train_within_max_length",
    }


def estimator_setup(method: str, tab: dict, seq_len: int):
    estimator = project.load_estimator()
    targets = tab["lora_targets"]
    return estimator.Setup(
        method=method,
        batch_size=tab["batch_size"],
        seq_len=seq_len,
        gradient_checkpointing=tab["checkpointing"],
        optimizer="adamw",  # SFTConfig's adamw_torch_fused: two states per trained weight
        lora_r=tab["lora_r"],
        lora_targets=estimator.ALL_LINEAR if targets == "all-linear" else tuple(targets),
        lora_dropout=tab["lora_dropout"],
    )


def estimates(arch, tab: dict, method: str, phases: dict[str, int]) -> dict:
    estimator = project.load_estimator()
    result = {}
    for phase, seq_len in phases.items():
        estimate = estimator.estimate(arch, estimator_setup(method, tab, seq_len))
        result[phase] = {
            "seq_len": seq_len,
            "peak_bytes": estimate.peak,
            "weights_bytes": estimate.weights,
            "flops_per_update": estimate.flops * tab["accumulation"],
            "utilization_assumed": estimator.UTILIZATION,
        }
    return result


def make_plan(workdir: Path, rehearse: bool) -> dict:
    variants = project.VARIANTS
    cells = {v: [c.name for c in project.cells_for(v)] for v in variants}
    for variant, names in cells.items():
        missing = [name for name in ANCHORS if name not in names]
        if missing:
            raise SystemExit(f"ハンズオンの {variant} のタブに、この確認が使うセル {missing} がありません")
        if not names.index("save_adapter") < names.index("push_to_hub") < names.index("merge") == len(names) - 1:
            raise SystemExit("ハンズオンのセルの順番（保存 → アップロード → マージが最後）が変わっています")
    settings = {v: tab_settings(v, workdir) for v in variants}
    lengths = real_lengths(settings)
    if rehearse:  # the CPU plays the 7B with a small model and short examples: the code path, not the figures
        import standin
        from transformers import MistralConfig

        config = MistralConfig(vocab_size=32000, **standin.TINY_MISTRAL)
        phases = {"mean": 24, "max": 48}
    else:
        config = project.seven_b_config()
        phases = {"mean": lengths["mean_padded"], "max": lengths["max_length"]}
    arch = project.load_estimator().Architecture.from_config(config) if rehearse else project.seven_b_architecture()
    return {
        "variants": list(variants),
        "methods": {v: method_of(v) for v in variants},
        "cells": cells,
        "next_day_cells": {v: [c.name for c in project.cells_for(v, NEXT_DAY_PAGE)] for v in variants},
        "settings": settings,
        "lengths": lengths,
        "phases": phases,
        "model": {"params": arch.params, "layers": arch.layers, "hidden": arch.hidden, "vocab": arch.vocab},
        "config": config,
        "estimates": {v: estimates(arch, settings[v], method_of(v), phases) for v in variants},
    }


# --- the record: one JSON and one Markdown table -----------------------------------------------------------


def git_commit() -> dict:
    """The commit: from git here, from the file tools/gpu_wheels.py wrote beside the wheels on the device."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project.ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=project.ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        return {"commit": head, "uncommitted_changes": bool(dirty), "source": "git"}
    except (OSError, subprocess.CalledProcessError):
        import gpu_wheels

        if gpu_wheels.COMMIT_FILE.exists():
            return {**json.loads(gpu_wheels.COMMIT_FILE.read_text()), "source": ".whl/commit.json"}
        return {"commit": None, "source": "なし"}


def device_facts(cuda: bool) -> dict:
    import torch

    facts = {"python": platform.python_version(), "torch": torch.__version__, "torch_cuda": torch.version.cuda}
    if not cuda:
        return {**facts, "name": "CPU（GPU なし）", "machine": f"{platform.system()} {platform.machine()}"}
    properties = torch.cuda.get_device_properties(0)
    try:
        driver = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        driver = None
    return {
        **facts,
        "name": properties.name,
        "capability": list(torch.cuda.get_device_capability(0)),
        "total_memory_bytes": properties.total_memory,
        "driver": driver,
        "peak_tflops": peak_tflops(properties.name),
    }


def peak_tflops(name: str) -> float | None:
    return next((value for key, value in PEAK_TFLOPS if key in name), None)


class Record:
    """gpu-check.json and gpu-check.md, written again after every part."""

    def __init__(self, folder: Path, data: dict):
        self.folder, self.data = folder, data

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / f"{OUTPUT_NAME}.json").write_text(
            json.dumps(self.data, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8"
        )
        (self.folder / f"{OUTPUT_NAME}.md").write_text(markdown(self.data), encoding="utf-8")


def _seconds(value) -> str:
    return "—" if value is None else f"{value:.1f} 秒"


def _error(estimate, measured) -> str:
    return "—" if estimate is None or not measured else f"{100 * (estimate - measured) / measured:+.0f} %"


def markdown(data: dict) -> str:
    """The table the memory page can include: measured beside the estimator, with the estimator's error."""
    device, versions, commit = data["device"], data["versions"], data["commit"]
    lines = [f"<!-- python tools/gpu_check.py が生成したファイルです（{data['mode']}）。直接編集しないでください。 -->"]
    if data["mode"] != "gpu":
        lines.append(f"**{data['mode']} の実行です。GPU では測っていないので、ページには使いません。**\n")
    lines.append(
        f"計測: {device['name']}、{data['date']}、コミット `{str(commit.get('commit'))[:7]}`"
        f"（torch {device['torch']}、transformers {versions.get('transformers')}、trl {versions.get('trl')}、"
        f"peft {versions.get('peft')}、bitsandbytes {versions.get('bitsandbytes')}）。"
        f"7B は同じ形で重みを乱数にしたモデルです（重みの値はメモリと時間を変えません）。\n"
    )
    lines += [
        "| タブ | 1 例のトークン数（バッチ 2 例） | ピークメモリ（実測） | 見積もり | 見積もりの誤差"
        " | 1 回の更新（実測） | 見積もり（ピーク性能の 30 %） | 実測の計算速度（ピーク性能比） |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    tflops = device.get("peak_tflops")
    for variant in data["plan"]["variants"]:
        result = data.get("measurements", {}).get(variant, {"t4_emulation": variant == data["t4_emulation"]["tab"]})
        label = data["tab_labels"].get(variant, variant) + ("（15 GB に制限）" if result.get("t4_emulation") else "")
        for phase, planned in data["plan"]["estimates"][variant].items():
            measured = result.get("phases", {}).get(phase, {})
            seconds = measured.get("seconds_per_update")
            flops = planned["flops_per_update"]
            assumed = flops / (tflops * 1e12 * planned["utilization_assumed"]) if tflops else None
            utilization = f"{100 * flops / (seconds * tflops * 1e12):.0f} %" if seconds and tflops else "—"
            lines.append(
                f"| {label} | {planned['seq_len']:,}（{'実データの平均' if phase == 'mean' else '最長'}）"
                f" | {gb(measured.get('peak_bytes'))} | {gb(planned['peak_bytes'])}"
                f" | {_error(planned['peak_bytes'], measured.get('peak_bytes'))}"
                f" | {_seconds(seconds)} | {_seconds(assumed)} | {utilization} |"
            )
        weights = next(iter(data["plan"]["estimates"][variant].values()))["weights_bytes"]
        allocated = result.get("loaded", {}).get("allocated_bytes")
        lines.append(
            f"| {label}、重みを読み込んだ直後 | — | {gb(allocated)} | {gb(weights)} | {_error(weights, allocated)}"
            " | — | — | — |"
        )
        evaluation = result.get("evaluation", {})
        lines.append(
            f"| {label}、評価 | {evaluation.get('examples', '—')} 例 × {evaluation.get('seq_len', '—')}"
            f" | {gb(evaluation.get('peak_bytes'))} | — | — | {_seconds(evaluation.get('seconds'))} | — | — |"
        )
    lines.append("")
    lines.append(
        "| 確かめたこと | " + " | ".join(data["tab_labels"].get(v, v) for v in data["plan"]["variants"]) + " |"
    )
    lines.append("| --- |" + " :---: |" * len(data["plan"]["variants"]))
    names: list[str] = []
    for run in data.get("page_runs", {}).values():
        names += [r["check"] for r in run["checks"] if r["check"] not in names]
    for name in names:
        marks = []
        for variant in data["plan"]["variants"]:
            found = [r for r in data.get("page_runs", {}).get(variant, {}).get("checks", []) if r["check"] == name]
            marks.append("—" if not found else {True: "✓", False: "✗", None: "記録"}[found[0]["ok"]])
        lines.append(f"| {name} | " + " | ".join(marks) + " |")
    lines.append("")
    if data.get("t4_emulation", {}).get("not_emulated"):
        lines.append(
            "T4 のタブは H100 で T4 に近づけて実行しました（メモリ 15 GB、flash attention なし）。再現できないこと: "
        )
        lines += [f"- {item}" for item in data["t4_emulation"]["not_emulated"]]
    return "\n".join(lines) + "\n"


# --- main --------------------------------------------------------------------------------------------------


def part_names(variants: list[str], emulated: dict[str, bool]) -> list[str]:
    """The parts in the order they run: the T4 tab first (free Colab's learners; issue 19's crash), then the others."""
    ordered = sorted(variants, key=lambda v: not emulated[v])
    return [f"{kind}:{variant}" for variant in ordered for kind in ("page", "7b")]


def selected_parts(variants, emulated, wanted: str | None):
    names = part_names(variants, emulated)
    chosen = names if not wanted else wanted.split(",")
    unknown = [name for name in chosen if name not in names]
    if unknown:
        raise SystemExit(f"--parts に知らない名前があります: {unknown}（使える名前: {','.join(names)}）")
    return [(name, EXPECTED_S[name.split(":")[0]], name.split(":")) for name in names if name in chosen]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry", action="store_true", help="GPU を使う直前まで（このマシンで数秒）")
    mode.add_argument("--rehearse", action="store_true", help="CPU で全体を小さく（7B の代わりに小さなモデル）")
    parser.add_argument(
        "--output", type=Path, help="gpu-check.json と gpu-check.md を書くフォルダー（GPU では既定 docs/data）"
    )
    parser.add_argument("--workdir", type=Path, help="ページを実行するフォルダー（既定: 一時フォルダー）")
    parser.add_argument("--hf-home", type=Path, help="代役の Hub を置くフォルダー（既定: 作業フォルダーの中）")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="この秒数を過ぎそうなら、新しい部分を始めません")
    parser.add_argument("--parts", help="実行する部分（カンマ区切り。例: 7b:lora_bf16。既定: すべて）")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    mode = "dry" if args.dry else "rehearsal" if args.rehearse else "gpu"
    if mode != "gpu" and args.output and args.output.resolve() == project.DATA.resolve():
        raise SystemExit("--dry と --rehearse の結果は docs/data に書きません（GPU で測っていないため）")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gpu-check-"))
    output = args.output or (project.DATA if mode == "gpu" else workdir / "record")
    set_environment(args.hf_home or workdir / "hf")
    started = time.perf_counter()
    if mode == "gpu":
        require_cuda()  # the first CUDA call: --dry stops before it
    versions = check_packages()
    if mode == "gpu":
        require_bitsandbytes_cuda()
    harness = str(project.TESTS / "harness")
    if harness not in sys.path:  # tests/harness/handson_checks.py: the CPU tests' own checks of the saved files
        sys.path.append(harness)
    import standin

    stand_ins = japanese_words_stand_in()
    if mode == "rehearsal":  # the CPU-only adaptations the CPU tests' notebook run makes (tools/standin.py)
        import process_setup

        standin.bitsandbytes_as_on_a_gpu()
        process_setup.half_precision_products_in_fp32()
        stand_ins.append("CPU でのリハーサル: bitsandbytes の CPU だけの経路を止め、16 ビットの行列積を fp32 で")
    plan = make_plan(workdir, rehearse=mode == "rehearsal")
    standin.install_hub(Path(os.environ["HF_HOME"]))
    cuda = mode == "gpu"
    record = Record(
        output,
        {
            "command": "python tools/gpu_check.py" + {"gpu": "", "dry": " --dry", "rehearsal": " --rehearse"}[mode],
            "mode": mode,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": git_commit(),
            "device": device_facts(cuda),
            "versions": versions,
            "stand_ins": stand_ins,
            "tab_labels": project.tab_labels(),
            "plan": {k: v for k, v in plan.items() if k != "config"},
            "t4_emulation": {
                "tab": project.NOTEBOOK_VARIANT,
                "memory_cap_bytes": T4_MEMORY_BYTES,
                "not_emulated": NOT_EMULATED,
            },
            "budget_s": args.budget,
            "parts": [],
        },
    )
    record.save()
    print(
        f"計画: {len(plan['cells'][plan['variants'][0]])} 個のセル × {len(plan['variants'])} タブ、"
        f"7B の長さ {plan['phases']}、記録 {output}"
    )
    if mode == "dry":
        for variant in plan["variants"]:  # the 7B runs' data, made as they will make it (on the CPU: seconds)
            train, evaluation = measurement_data(plan, variant, eos=2)
            record.data.setdefault("dry_data", {})[variant] = {
                "train_lengths": sorted({len(e["input_ids"]) for e in train}),
                "train_examples": len(train),
                "eval_examples": len(evaluation),
            }
        record.save()
        print("--dry: GPU を使う直前で止めました（計画と見積もりだけを記録）。")
        return record.data

    def part(name: str, expected_s: float, work):
        left = args.budget - (time.perf_counter() - started)
        if left < expected_s:
            record.data["parts"].append({"part": name, "skipped": f"残り {left:.0f} 秒で、時間が足りません"})
        else:
            print(f"== {name}", file=sys.__stdout__)
            began = time.perf_counter()
            work()
            record.data["parts"].append({"part": name, "seconds": time.perf_counter() - began})
        record.save()

    page_runs = record.data.setdefault("page_runs", {})
    measurements = record.data.setdefault("measurements", {})
    emulated = {v: v == project.NOTEBOOK_VARIANT for v in plan["variants"]}  # the tab a free Colab T4 runs

    def page(variant):
        result = page_run(variant, workdir / f"page-{variant}", cuda, emulated[variant])
        trained, steps = result.pop("_trained"), result.pop("_global_step")
        page_runs[variant] = result
        if emulated[variant] and trained:
            result["resume"] = resume_run(variant, workdir / f"resume-{variant}", cuda, True, trained, steps)
            result["checks"] += result["resume"]["checks"]
            result["ok"] &= result["resume"]["ok"]

    def seven_b(variant):
        measurements[variant] = measure(variant, plan, workdir / f"7b-{variant}", cuda, emulated[variant])

    runs = {"page": page, "7b": seven_b}
    for name, expected_s, (kind, variant) in selected_parts(plan["variants"], emulated, args.parts):
        part(name, expected_s, lambda kind=kind, variant=variant: runs[kind](variant))
    record.data["seconds"] = time.perf_counter() - started
    record.data["ok"] = all(r["ok"] for r in [*page_runs.values(), *measurements.values()]) and not any(
        "skipped" in p for p in record.data["parts"]
    )
    record.save()
    print(
        f"{'すべて確かめました' if record.data['ok'] else '確かめられなかったことがあります'}: {output / OUTPUT_NAME}.md"
    )
    return record.data


if __name__ == "__main__":
    data = main()
    sys.exit(0 if data["mode"] == "dry" or data.get("ok") else 1)
