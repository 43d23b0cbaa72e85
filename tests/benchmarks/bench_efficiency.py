"""Train the hands-on recipe and a naive recipe on the same data and machine; compare speed and memory.

Run from the repository root (not collected by pytest):

    python tests/benchmarks/bench_efficiency.py

Every variant trains the same small random Mistral (hidden 256, 4 layers, bf16, LoRA r=16 on all linear
layers, the stand-in's Japanese tokenizer) for one epoch over the same rows (the project's sample rows
in tests/data, the summarization rows with an output), batch size 4, with TRL's SFTTrainer, each in
its own subprocess on the CPU. tokens/s counts real tokens only (no padding). Peak memory is measured
as in bench_estimator.py (peak resident set size over the training, minus the size before the model).
Writes docs/data/efficiency.md.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "docs" / "data" / "efficiency.md"
MAX_LENGTH = 1024

VARIANTS = {
    "naive": "素朴な設定: 全文に損失（text 形式）、常に 1024 トークンまで詰め物",
    "handson": "ハンズオンの設定: 要約だけに損失（prompt / completion）、バッチ内の最長に合わせて詰め物",
    "handson_grouped": 'ハンズオン + 長さの近い例を同じバッチに（train_sampling_strategy="group_by_length"）',
    "handson_no_checkpointing": "ハンズオン − 勾配チェックポイント",
}


def child(variant: str) -> dict:
    hf_home = tempfile.mkdtemp(prefix="hf-bench-")
    os.environ.update(HF_HOME=hf_home, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    sys.path.insert(0, str(ROOT / "tests"))
    sys.path.insert(0, str(ROOT / "tests" / "benchmarks"))
    import standin
    from bench_estimator import peak_resident_bytes, resident_bytes

    standin.install_hub(Path(hf_home))

    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoTokenizer, MistralConfig, MistralForCausalLM
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(standin.MODEL_ID)
    rows = [r for r in standin.sample_rows() if r["category"] == "summarization" and r["output"].strip()]
    prompts = [f"### 指示\n{r['instruction']}\n\n### 入力\n{r['input']}\n\n### 応答\n" for r in rows]
    completions = [r["output"].strip() for r in rows]
    if variant == "naive":
        dataset = Dataset.from_dict({"text": [p + c for p, c in zip(prompts, completions)]})
    else:
        dataset = Dataset.from_dict({"prompt": prompts, "completion": completions})
    real_tokens = sum(len(tokenizer(p + c).input_ids) + 1 for p, c in zip(prompts, completions))

    config = MistralConfig(
        vocab_size=len(tokenizer),
        hidden_size=256,
        intermediate_size=896,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        bos_token_id=1,
        eos_token_id=2,
    )
    args = SFTConfig(
        output_dir=tempfile.mkdtemp(prefix="bench-out-"),
        num_train_epochs=1,
        per_device_train_batch_size=4,
        learning_rate=1e-4,
        max_length=MAX_LENGTH,
        bf16=True,
        use_cpu=True,
        activation_checkpointing=variant != "handson_no_checkpointing",
        pad_to_multiple_of=MAX_LENGTH if variant == "naive" else None,
        train_sampling_strategy="group_by_length" if variant == "handson_grouped" else "random",
        logging_steps=1000,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=0,
    )
    torch.manual_seed(0)
    before = resident_bytes()
    model = MistralForCausalLM(config).to(torch.bfloat16)
    lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer, peft_config=lora)
    padded_tokens = 0

    def count_padded(module, inputs, kwargs):
        nonlocal padded_tokens
        padded_tokens += kwargs["input_ids"].numel()

    trainer.model.register_forward_pre_hook(count_padded, with_kwargs=True)
    Path("/proc/self/clear_refs").write_text("5")
    metrics = trainer.train().metrics
    return {
        "runtime": metrics["train_runtime"],
        "real_tokens": real_tokens,
        "padded_tokens": padded_tokens,
        "peak": peak_resident_bytes() - before,
        "rows": len(rows),
    }


def main() -> None:
    import peft
    import torch
    import transformers
    import trl

    results = {}
    for variant in VARIANTS:
        env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "PYTHONHASHSEED": "0"}
        out = subprocess.run(
            [sys.executable, __file__, "--child", variant], env=env, capture_output=True, text=True, check=True
        )
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
        r = results[variant]
        print(
            f"{variant}: {r['real_tokens'] / r['runtime']:.0f} tokens/s, peak {r['peak'] / 2**20:.0f} MiB, "
            f"{r['padded_tokens']} tokens through the model for {r['real_tokens']} real tokens",
            flush=True,
        )

    base = results["naive"]
    lines = [
        "| 設定 | 実トークン/秒 | 素朴な設定との比 | モデルに通したトークン（詰め物込み） | ピークメモリ（MiB） | 素朴な設定との比 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for variant, label in VARIANTS.items():
        r = results[variant]
        speed = r["real_tokens"] / r["runtime"]
        lines.append(
            f"| {label} | {speed:,.0f} | {speed / (base['real_tokens'] / base['runtime']):.2f} 倍 | "
            f"{r['padded_tokens']:,} | {r['peak'] / 2**20:,.0f} | {r['peak'] / base['peak']:.2f} 倍 |"
        )
    from bench_estimator import cpu_name

    cpu = cpu_name()
    lines += [
        "",
        (
            f"データ: tests/data のサンプルの要約の行 {base['rows']} 例、実トークン {base['real_tokens']:,}。"
            "1 エポック、バッチサイズ 4、bf16、LoRA r=16（all-linear）、小さな Mistral 型モデル（隠れ層 256、4 層）。"
        ),
        "",
        (
            f"計測: {datetime.date.today().isoformat()}、CPU {cpu}（{os.cpu_count()} コア）、GPU なし、"
            f"計測後の 1 分間の平均負荷 {os.getloadavg()[0]:.1f}、Python {platform.python_version()}、"
            f"torch {torch.__version__}、transformers {transformers.__version__}、trl {trl.__version__}、"
            f"peft {peft.__version__}。コマンド: `python tests/benchmarks/bench_efficiency.py`"
        ),
    ]
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2])))
    else:
        main()
