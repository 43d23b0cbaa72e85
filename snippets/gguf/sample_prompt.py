from pathlib import Path

INSTRUCTION = "次の文章を要約してください。"
TEXT = (
    "図書館は四月から開館時間を変更します。平日は午前九時から午後八時まで、土日と祝日は午前十時から午後六時までです。"
    "また、毎月第二月曜日を休館日とし、その日は本の返却ポストだけを利用できます。"
)
prompt = build_prompt(INSTRUCTION, TEXT)  # 学習と同じプロンプト（ハンズオンの build_prompt）

GGUF_DIR = Path("outputs/gguf")  # このページで作るファイルの置き場所
GGUF_DIR.mkdir(parents=True, exist_ok=True)
(GGUF_DIR / "prompt.txt").write_text(prompt, encoding="utf-8")  # llama.cpp のコマンドで使うプロンプト
