from collections import Counter

from datasets import Dataset, load_dataset

DATASET_ID = "kunishou/databricks-dolly-15k-ja"
REQUIRED_COLUMNS = ["instruction", "input", "output", "category"]


def check_row(row):
    """列が欠けていたり文字列でなかったりする行を、分かる言葉で知らせます。"""
    for column in REQUIRED_COLUMNS:
        if not isinstance(row.get(column), str):
            raise ValueError(
                f"index={row.get('index')} の行の「{column}」が文字列ではありません（値: {row.get(column)!r}）。"
                f"{DATASET_ID} を読み込んでいるか、列 {REQUIRED_COLUMNS} がそろっているかを確かめてください。"
            )


def drop_reason(row):
    """学習に使えない行ならその理由を、使える行なら None を返します。"""
    text, summary = row["input"].strip(), row["output"].strip()
    if not text or not summary:
        return "入力か出力が空"
    if summary == text:
        return "出力が入力と同じ"
    if summary in row["instruction"]:
        return "出力が指示に書き写されている"
    return None


def select_summaries(rows):
    """要約（summarization）の行だけを残し、使えない行を理由ごとに数えて除きます。"""
    kept, dropped = [], Counter()
    for row in rows:
        check_row(row)
        if row["category"] != "summarization":
            continue
        reason = drop_reason(row)
        if reason is None:
            kept.append(row)
        else:
            dropped[reason] += 1
    if not kept:
        raise ValueError(
            "使える要約の行が 1 件もありません。category が \"summarization\" の行があるか、"
            "読み込んだデータセットが正しいかを確かめてください。"
        )
    return kept, dropped


raw_dataset = load_dataset(DATASET_ID, split="train")
summaries, dropped = select_summaries(raw_dataset)
print(f"全 {len(raw_dataset)} 行のうち、要約の行を {len(summaries)} 行使います。")
for reason, count in dropped.items():
    print(f"  除いた行: {reason} … {count} 行")

splits = Dataset.from_list(summaries).train_test_split(test_size=0.1, seed=42)
print(f"学習用 {len(splits['train'])} 行 / 評価用 {len(splits['test'])} 行")
