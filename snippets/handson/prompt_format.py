def build_prompt(instruction, text):
    """学習でも推論でも、プロンプトはこの関数だけで組み立てます。"""
    return f"### 指示\n{instruction.strip()}\n\n### 入力\n{text.strip()}\n\n### 応答\n"


def to_prompt_completion(row):
    return {
        "prompt": build_prompt(row["instruction"], row["input"]),
        "completion": row["output"].strip(),  # TRL が末尾に EOS を足します
    }
