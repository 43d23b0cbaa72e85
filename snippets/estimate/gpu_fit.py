from estimator import Architecture, Setup, estimate
from transformers import MistralConfig

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

# GPU の公称メモリ（GB）と、16 ビットの行列計算のピーク性能（TFLOPS、NVIDIA の仕様書の値）
GPUS = {"T4 16 GB": (16, 65), "L4 24 GB": (24, 121), "A100 40 GB": (40, 312), "A100 80 GB": (80, 312)}
RESERVE_GB = 1  # CUDA の作業領域やアロケーターのキャッシュの分として空けておく量（仮定）
EXAMPLES_PER_UPDATE = 16  # ハンズオンの実効バッチサイズ（どちらのタブも 16 例ごとに重みを更新）
VARIANTS = {
    "QLoRA（T4 のタブ）": Setup(method="qlora", batch_size=2),
    "LoRA（24 GB 以上のタブ）": Setup(method="lora", batch_size=4),
    "LoRA・勾配チェックポイントなし": Setup(method="lora", batch_size=4, gradient_checkpointing=False),
    "LoRA・バッチサイズ 1": Setup(method="lora", batch_size=1),
    "全パラメータ（AdamW）": Setup(method="full", batch_size=1),
    "全パラメータ（8 ビット AdamW）": Setup(method="full", batch_size=1, optimizer="adamw_8bit"),
}

print("| 設定（1 例 1024 トークン） | ピークメモリの目安 | " + " | ".join(GPUS) + " |")
print("|---|---:|" + "---|" * len(GPUS))
for name, setup in VARIANTS.items():
    result = estimate(arch, setup)
    cells = []
    for memory_gb, tflops in GPUS.values():
        if result.peak / 1e9 + RESERVE_GB > memory_gb:
            cells.append("入らない")
        else:
            seconds = result.seconds(tflops) * EXAMPLES_PER_UPDATE / setup.batch_size
            cells.append(f"入る・約 {seconds:.0f} 秒/更新")
    print(f"| {name} | {result.peak / 1e9:.1f} GB | " + " | ".join(cells) + " |")
