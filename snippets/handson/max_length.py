MAX_LENGTH = 2048  # 1 例あたりの最大トークン数（SFTConfig にも渡します）


def fits_max_length(row):
    # 長すぎる例は末尾（＝要約）が切り捨てられるので、学習に使いません。+1 は EOS の分です。
    example = to_prompt_completion(row)
    return len(tokenizer(example["prompt"] + example["completion"]).input_ids) + 1 <= MAX_LENGTH


rows_before = {name: len(split) for name, split in splits.items()}
splits = splits.filter(fits_max_length)  # 評価や生成で使う splits["test"] からも除きます
print(f"{MAX_LENGTH} トークン以内: 学習用 {len(splits['train'])} 行 / 評価用 {len(splits['test'])} 行")
too_long = {name: rows_before[name] - len(split) for name, split in splits.items()}
print(f"  長すぎて除いた行: 学習用 {too_long['train']} 行 / 評価用 {too_long['test']} 行")

train_dataset = splits["train"].map(to_prompt_completion, remove_columns=splits["train"].column_names)
eval_dataset = splits["test"].map(to_prompt_completion, remove_columns=splits["test"].column_names)
print(train_dataset[0]["prompt"] + train_dataset[0]["completion"])
