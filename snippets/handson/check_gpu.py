import os

import torch

BF16_TAB_MIN_GIB = 20  # bf16 LoRA の見積もり（約 18 GB）に余裕を見た値
QLORA_TAB_MIN_GIB = 12  # 4bit QLoRA の見積もり（約 7 GB）に、評価や生成の分の余裕を見た値
# テストのときだけ 1 にします。GPU なしでも最後まで動かしますが、7B モデルの学習には使えません。
ALLOW_CPU = os.environ.get("HANDSON_ALLOW_CPU") == "1"

if torch.cuda.is_available():
    gpu = torch.cuda.get_device_properties(0)
    gpu_memory_gib = gpu.total_memory / 1024**3
    major, minor = torch.cuda.get_device_capability(0)
    # bf16 の計算回路は Compute Capability 8.0（Ampere）以降にあります。
    # torch.cuda.is_bf16_supported() はソフトウェアでのエミュレーションでも True を返すので使いません。
    has_bf16 = (major, minor) >= (8, 0)
    print(f"GPU: {gpu.name}（メモリ {gpu_memory_gib:.1f} GiB、Compute Capability {major}.{minor}）")
    if has_bf16 and gpu_memory_gib >= BF16_TAB_MIN_GIB:
        print("→ 設定は「24 GB 以上（bf16 LoRA）」のタブを選んでください。")
    elif gpu_memory_gib >= QLORA_TAB_MIN_GIB:
        print("→ 設定は「T4 16 GB（4bit QLoRA）」のタブを選んでください。")
    else:
        raise RuntimeError(
            f"この GPU（{gpu.name}、{gpu_memory_gib:.1f} GiB）では、7B モデルの学習にメモリが足りません。"
            f"{QLORA_TAB_MIN_GIB} GiB 以上の GPU（Colab なら T4）に切り替えてから、最初のセルからやり直してください。"
        )
elif ALLOW_CPU:
    print("GPU がありません。HANDSON_ALLOW_CPU=1 なので CPU で続けます（テスト用です。7B モデルでは終わりません）。")
else:
    raise RuntimeError(
        "GPU が見つかりません。このまま 7B モデルを CPU で学習すると、現実的な時間では終わりません。\n"
        "Colab なら「ランタイム」→「ランタイムのタイプを変更」で T4 GPU などを選び、最初のセルからやり直してください。"
    )
