import gc
from pathlib import Path

import torch
from peft import AutoPeftModelForCausalLM

MERGED_DIR = Path("outputs/summary-merged")

# 学習に使ったモデルを片付けて、GPU メモリを空けます。
del model, trainer
gc.collect()
torch.cuda.empty_cache()

# 4bit の重みには足し込めないので、基盤モデルを 16bit で読み直してからマージします。
adapter_model = AutoPeftModelForCausalLM.from_pretrained(ADAPTER_DIR, dtype=DTYPE, device_map="auto")
merged_model = adapter_model.merge_and_unload()
merged_model.save_pretrained(MERGED_DIR)
tokenizer.save_pretrained(MERGED_DIR)
print(sorted(path.name for path in MERGED_DIR.iterdir()))
