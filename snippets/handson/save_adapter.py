from pathlib import Path

ADAPTER_DIR = Path("outputs/summary-lora-adapter")

trainer.save_model(ADAPTER_DIR)  # LoRA の重みだけ（数十 MB）とトークナイザーを保存します
print(sorted(path.name for path in ADAPTER_DIR.iterdir()))
