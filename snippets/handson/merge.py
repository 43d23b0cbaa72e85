import gc
import shutil
from pathlib import Path

import psutil
import torch
from accelerate import init_empty_weights
from peft import AutoPeftModelForCausalLM
from transformers import AutoConfig, AutoModelForCausalLM

MERGED_DIR = Path("outputs/summary-merged")  # 16 ビットで約 14.5 GB あるので、Google ドライブには置きません
SHARD_GB = 1  # 1 GB ずつのファイルに分けて保存します（1 ファイル分を CPU のメモリに集めてから書くため）
GPU_SHARE = 0.9  # device_map="auto" は GPU の空きの 9 割まで層を載せ、残りを CPU のメモリに置きます

# 学習に使ったモデルを手放して、GPU メモリを空けます（アダプターは保存済みです。このセルは何度実行しても同じです）。
model = trainer = None
gc.collect()
torch.cuda.empty_cache()

# 16 ビットの基盤モデルが載るかを、読み込む前に確かめます（重みを読み込まずに数えます）。
with init_empty_weights():
    empty_model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(MODEL_ID))
needed_gb = sum(p.numel() for p in empty_model.parameters()) * 2 / 1e9  # 16 ビットは 1 パラメータ 2 バイト
gpu_free_gb = torch.cuda.mem_get_info()[0] / 1e9 if torch.cuda.is_available() else 0.0
ram_free_gb = psutil.virtual_memory().available / 1e9
# CPU のメモリには、GPU に載らない層と、保存のときの 1 ファイル分と、余裕の 1 GB が要ります
ram_needed_gb = max(needed_gb - GPU_SHARE * gpu_free_gb, 0) + SHARD_GB + 1
MERGED_DIR.parent.mkdir(parents=True, exist_ok=True)
disk_free_gb = shutil.disk_usage(MERGED_DIR.parent).free / 1e9
if ram_free_gb < ram_needed_gb or disk_free_gb < 1.1 * needed_gb:
    raise RuntimeError(
        f"マージには 16 ビットの基盤モデル（約 {needed_gb:.1f} GB）を読み込みますが、空きが足りません"
        f"（GPU {gpu_free_gb:.1f} GB のとき CPU のメモリが {ram_needed_gb:.1f} GB 要るのに {ram_free_gb:.1f} GB、"
        f"ディスク {disk_free_gb:.1f} GB）。\n"
        f"学習したアダプターは {ADAPTER_DIR} に保存してあるので、マージしなくてもそのまま使えます"
        "（「次の日に使う」のページ）。マージしたモデルが必要なら、メモリの大きいマシンでこのセルを実行してください。"
    )

# 4bit の重みには足し込めないので、基盤モデルを 16 ビットで読み直してからマージします。
adapter_model = AutoPeftModelForCausalLM.from_pretrained(ADAPTER_DIR, dtype=DTYPE, device_map="auto")
merged_model = adapter_model.merge_and_unload()
merged_model.save_pretrained(MERGED_DIR, max_shard_size=f"{SHARD_GB}GB")
tokenizer.save_pretrained(MERGED_DIR)
print(sorted(path.name for path in MERGED_DIR.iterdir()))
