"""Compare the memory estimator with the real peak memory of training steps on this CPU.

Run from the repository root (not collected by pytest):

    python tools/bench_estimator.py

Each configuration runs in its own subprocess: build a small Mistral (vocab 32,000, random weights,
bf16), add LoRA (or train all weights), then run 2 training steps: forward under bf16 autocast as
Trainer does with bf16=True, with labels (the model's
own loss over the full logits), backward, fused AdamW step, zero_grad. The estimator is asked about
the same loss (loss_head="full_logits"): TRL's SFTTrainer computes the loss in tiles instead, with
Triton kernels on a GPU and a different torch fallback on a CPU, so that term is not checked here. Peak memory is the process's peak resident set
size (VmHWM, reset through /proc/self/clear_refs after the runtime warms up) minus the resident size
before the model was built. glibc is told to serve every allocation of 64 KiB or more with mmap
(MALLOC_MMAP_THRESHOLD_), so freed tensors leave the resident set at once, as they leave
max_memory_allocated on a GPU. Writes docs/data/estimator-validation.md.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import project

ROOT = project.ROOT
OUTPUT = ROOT / "docs" / "data" / "estimator-validation.md"

# name: (hidden, intermediate, layers, heads, kv heads); intermediate/hidden = 3.5 as in Mistral 7B.
SIZES = {
    "S": (256, 896, 4, 4, 2),
    "M": (512, 1792, 8, 8, 2),
    "L": (768, 2688, 12, 12, 4),
}
# (method, gradient checkpointing, batch size, sequence length)
RUNS = [
    ("lora", True, 2, 256),
    ("lora", False, 2, 256),
    ("full", True, 2, 256),
    ("lora", True, 1, 1024),
]


def mistral_config(hidden, intermediate, layers, heads, kv_heads):
    from transformers import MistralConfig

    return MistralConfig(
        vocab_size=32000,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        tie_word_embeddings=False,
    )


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(spec: dict) -> dict:
    import gc
    import time

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    def prepare(config, method, checkpointing):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
        if checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.enable_input_require_grads()
        if method == "lora":
            lora = LoraConfig(
                r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM"
            )
            model = get_peft_model(model, lora)
        model.train()
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4, fused=True)
        return model, optimizer

    def train_step(model, optimizer, batch, seq):
        input_ids = torch.randint(3, 32000, (batch, seq))
        with torch.autocast("cpu", dtype=torch.bfloat16):  # Trainer (accelerate) runs bf16=True under autocast
            loss = model(input_ids=input_ids, labels=input_ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    torch.manual_seed(0)
    # Warm the runtime (thread pools, kernels) on a throwaway model so it is not counted.
    warm, warm_opt = prepare(mistral_config(64, 224, 1, 4, 2), spec["method"], spec["checkpointing"])
    train_step(warm, warm_opt, 1, 16)
    del warm, warm_opt
    gc.collect()

    before = resident_bytes()
    model, optimizer = prepare(mistral_config(*spec["size"]), spec["method"], spec["checkpointing"])
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current resident size
    started = time.perf_counter()
    for _ in range(2):
        train_step(model, optimizer, spec["batch"], spec["seq"])
    seconds = (time.perf_counter() - started) / 2
    return {"peak": peak_resident_bytes() - before, "seconds_per_step": seconds}


def cpu_name() -> str:
    """The processor's model name, for the "measured on" line of a results table."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if "model name" in line:
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    import peft
    import torch
    import transformers

    estimator = project.load_estimator()
    Architecture, Setup, estimate = estimator.Architecture, estimator.Setup, estimator.estimate

    rows = []
    for name, size in SIZES.items():
        arch = Architecture.from_config(mistral_config(*size))
        for method, checkpointing, batch, seq in RUNS:
            spec = {"size": size, "method": method, "checkpointing": checkpointing, "batch": batch, "seq": seq}
            env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "TOKENIZERS_PARALLELISM": "false"}
            result = subprocess.run(
                [sys.executable, __file__, "--child", json.dumps(spec)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            measured = json.loads(result.stdout.strip().splitlines()[-1])
            setup = Setup(method, batch, seq, checkpointing, loss_head="full_logits", device="cpu")
            predicted = estimate(arch, setup).peak
            error = (predicted - measured["peak"]) / measured["peak"]
            rows.append((name, arch.params, method, checkpointing, batch, seq, measured, predicted, error))
            print(
                f"{name} {method} gc={checkpointing} b={batch} s={seq}: measured {measured['peak'] / 2**20:.0f} MiB, "
                f"estimated {predicted / 2**20:.0f} MiB, error {error:+.1%}, {measured['seconds_per_step']:.1f} s/step",
                flush=True,
            )

    cpu = cpu_name()
    lines = [
        "| モデル | パラメータ数 | 方法 | 勾配チェックポイント | バッチ × 長さ | 実測（MiB） | 見積もり（MiB） | 誤差 |",
        "|---|---:|---|---|---|---:|---:|---:|",
    ]
    for name, params, method, checkpointing, batch, seq, measured, predicted, error in rows:
        lines.append(
            f"| {name} | {params:,} | {method} | {'有効' if checkpointing else '無効'} | {batch} × {seq} | "
            f"{measured['peak'] / 2**20:,.0f} | {predicted / 2**20:,.0f} | {error:+.1%} |"
        )
    worst = max(abs(row[-1]) for row in rows)
    lines += [
        "",
        f"誤差の絶対値の最大: {worst:.1%}",
        "",
        (
            f"計測: {datetime.date.today().isoformat()}、CPU {cpu}（{os.cpu_count()} コア）、GPU なし、"
            f"Python {platform.python_version()}、torch {torch.__version__}、transformers {transformers.__version__}、"
            f"peft {peft.__version__}。コマンド: `python tools/bench_estimator.py`"
        ),
    ]
    OUTPUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(json.loads(sys.argv[2]))))
    else:
        main()
