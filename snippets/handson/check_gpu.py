import warnings

import torch

if torch.cuda.is_available():
    gpu = torch.cuda.get_device_properties(0)
    gpu_memory_gib = gpu.total_memory / 1024**3
    print(f"GPU: {gpu.name}（メモリ {gpu_memory_gib:.1f} GiB）")
    if torch.cuda.is_bf16_supported() and gpu_memory_gib >= 20:
        print("→ 設定は「24 GB 以上（bf16 LoRA）」のタブを選んでください。")
    else:
        print("→ 設定は「T4 16 GB（4bit QLoRA）」のタブを選んでください。")
else:
    warnings.warn(
        "GPU が見つかりません。このままでは 7B モデルの学習は現実的な時間で終わりません。\n"
        "Colab なら「ランタイム」→「ランタイムのタイプを変更」で T4 GPU などを選び、"
        "このセルからやり直してください。",
        stacklevel=1,
    )
