def build_prompt(instruction, text):
    """学習でも推論でも、プロンプトはこの関数だけで組み立てます。"""
    return f"### 指示\n{instruction.strip()}\n\n### 入力\n{text.strip()}\n\n### 応答\n"


def to_prompt_completion(row):
    return {
        "prompt": build_prompt(row["instruction"], row["input"]),
        "completion": row["output"].strip(),  # TRL が末尾に EOS を足します
    }


MAX_LENGTH = 1024  # 1 例あたりの最大トークン数（SFTConfig にも渡します）


def fits_max_length(example):
    # 長すぎる例は末尾（＝要約）が切り捨てられるので、学習に使いません。+1 は EOS の分です。
    return len(tokenizer(example["prompt"] + example["completion"]).input_ids) + 1 <= MAX_LENGTH


train_dataset = splits["train"].map(to_prompt_completion, remove_columns=splits["train"].column_names)
eval_dataset = splits["test"].map(to_prompt_completion, remove_columns=splits["test"].column_names)
train_dataset = train_dataset.filter(fits_max_length)
eval_dataset = eval_dataset.filter(fits_max_length)
print(f"{MAX_LENGTH} トークン以内: 学習用 {len(train_dataset)} 例 / 評価用 {len(eval_dataset)} 例")
print(train_dataset[0]["prompt"] + train_dataset[0]["completion"])
