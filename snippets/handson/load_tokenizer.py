from transformers import AutoTokenizer

MODEL_ID = "stabilityai/japanese-stablelm-base-gamma-7b"

try:
    tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
except OSError as error:
    raise RuntimeError(
        f"{MODEL_ID} を読み込めませんでした。次を確かめてから、もう一度実行してください。\n"
        f"1. https://huggingface.co/{MODEL_ID} で利用条件に同意したか（ゲート付きモデルです）\n"
        "2. 同じアカウントのトークンでログインしたか（前のセルの login()）\n"
        "3. インターネットにつながっているか"
    ) from error
