from transformers import MistralConfig

# 前のセル（estimator.py）の Architecture, Setup, estimate, GPUS を使います。
# Japanese Stable LM Base Gamma 7B の構成（Mistral 7B と同じ。モデルカードの値）。重みは読み込みません。
config = MistralConfig(
    vocab_size=32000,
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
)
arch = Architecture.from_config(config)

RESERVE_GB = 1  # CUDA の作業領域やアロケーターのキャッシュの分として空けておく量（仮定）
EXAMPLES_PER_UPDATE = 16  # ハンズオンの実効バッチサイズ（どちらのタブも 16 例ごとに重みを更新）
VARIANTS = {
    "QLoRA（T4 のタブ）": Setup(method="qlora", batch_size=2),
    "LoRA（24 GB 以上のタブ）": Setup(method="lora", batch_size=2),
    "LoRA・勾配チェックポイントなし": Setup(method="lora", batch_size=2, gradient_checkpointing=False),
    "LoRA・バッチサイズ 1": Setup(method="lora", batch_size=1),
    "全パラメータ（AdamW）": Setup(method="full", batch_size=1),
    "全パラメータ（8 ビット AdamW）": Setup(method="full", batch_size=1, optimizer="adamw_8bit"),
}

print(f"| 設定（1 例 {Setup().seq_len} トークン） | ピークメモリの目安 | " + " | ".join(GPUS) + " |")
print("|---|---:|" + "---|" * len(GPUS))
for name, setup in VARIANTS.items():
    result = estimate(arch, setup)
    cells = []
    for gpu in GPUS.values():
        if result.peak / 1e9 + RESERVE_GB > gpu.memory_gb:
            cells.append("入らない")
        else:
            seconds = result.seconds(gpu.tflops) * EXAMPLES_PER_UPDATE / setup.batch_size
            cells.append(f"入る・約 {seconds:.0f} 秒/更新")
    print(f"| {name} | {result.peak / 1e9:.1f} GB | " + " | ".join(cells) + " |")
