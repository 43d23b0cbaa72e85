from huggingface_hub import HfApi
from peft import PeftModel

ADAPTER_DIR = OUTPUT_DIR / "summary-lora-adapter"  # ハンズオン 8 で保存したフォルダー

if ADAPTER_DIR.is_dir():
    adapter_source = str(ADAPTER_DIR)
else:  # フォルダーがなければ、ハンズオン 8 でアップロードした Hub のリポジトリから読みます
    adapter_source = f"{HfApi().whoami()['name']}/{HUB_REPO_NAME}"
    print(f"{ADAPTER_DIR} がないので、Hub の {adapter_source} から読み込みます。")
try:
    model = PeftModel.from_pretrained(model, adapter_source)
except (OSError, ValueError) as error:
    raise RuntimeError(
        f"アダプター {adapter_source} を読み込めませんでした。次を確かめてください。\n"
        f"1. 保存先のフォルダー {ADAPTER_DIR} があるか（Colab では Google ドライブをマウントしたか）\n"
        "2. ハンズオン 8 で Hub にアップロードしたか、同じアカウントでログインしているか"
    ) from error

rows = splits["test"].select(range(min(4, len(splits["test"]))))
summaries = summarize(model, rows)  # 4 行をまとめて 1 回で生成します
for row, summary in zip(rows, summaries):
    print("【入力】", row["input"][:80], "…")
    print("【要約】", summary)
    print("-" * 40)
