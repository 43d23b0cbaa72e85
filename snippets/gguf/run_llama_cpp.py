from llama_cpp import Llama

INSTRUCTION = "次の文章を要約してください。"
TEXT = (
    "図書館は四月から開館時間を変更します。平日は午前九時から午後八時まで、土日と祝日は午前十時から午後六時までです。"
    "また、毎月第二月曜日を休館日とし、その日は本の返却ポストだけを利用できます。"
)

llm = Llama(model_path=str(Q4_GGUF), n_ctx=2048, verbose=False)
prompt = build_prompt(INSTRUCTION, TEXT)  # 学習と同じプロンプト（ハンズオンの build_prompt）
output = llm(prompt, max_tokens=256, temperature=0.0)  # EOS（</s>）が出たら止まります
print(output["choices"][0]["text"])
print("止まった理由:", output["choices"][0]["finish_reason"])  # stop なら EOS、length なら max_tokens

(GGUF_DIR / "prompt.txt").write_text(prompt, encoding="utf-8")  # llama.cpp のコマンドで使うプロンプト
