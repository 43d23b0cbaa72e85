ADAPTER_DIR = OUTPUT_DIR / "summary-lora-adapter"

trainer.save_model(ADAPTER_DIR)  # LoRA の重み（アダプター）とトークナイザーを保存します。基盤モデルの重みは含みません
adapter_mb = (ADAPTER_DIR / "adapter_model.safetensors").stat().st_size / 1e6
print(f"保存しました: {ADAPTER_DIR}（アダプターの重み {adapter_mb:.0f} MB）")
print(sorted(path.name for path in ADAPTER_DIR.iterdir()))
