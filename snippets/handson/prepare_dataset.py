from collections import Counter
from difflib import SequenceMatcher

from datasets import Dataset, load_dataset

DATASET_ID = "kunishou/databricks-dolly-15k-ja"
REQUIRED_COLUMNS = ["instruction", "input", "output", "category"]
NEAR_COPY_RATIO = 0.9  # 出力と入力の文字の一致率がこれ以上なら「ほぼ丸写し」として除きます


def check_row(row):
    """列が欠けていたり文字列でなかったりする行を、分かる言葉で知らせます。"""
    for column in REQUIRED_COLUMNS:
        if not isinstance(row.get(column), str):
            raise ValueError(
                f"index={row.get('index')} の行の「{column}」が文字列ではありません（値: {row.get(column)!r}）。"
                f"{DATASET_ID} を読み込んでいるか、列 {REQUIRED_COLUMNS} がそろっているかを確かめてください。"
            )


def is_near_copy(text, summary):
    """要約が元の文章の書き写しに近いか（difflib の一致率 ratio が NEAR_COPY_RATIO 以上か）。"""
    matcher = SequenceMatcher(None, text, summary, autojunk=False)
    # quick_ratio() は ratio() の上限で、すぐ計算できます。明らかに違う組は ratio() を計算せずに済ませます
    return matcher.quick_ratio() >= NEAR_COPY_RATIO and matcher.ratio() >= NEAR_COPY_RATIO


def drop_reason(row):
    """学習に使えない行ならその理由を、使える行なら None を返します。"""
    text, summary = row["input"].strip(), row["output"].strip()
    if not text or not summary:
        return "入力か出力が空"
    if summary == text:
        return "出力が入力と同じ（丸写し）"
    if is_near_copy(text, summary):
        return f"出力が入力とほぼ同じ（一致率 {NEAR_COPY_RATIO} 以上）"
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
            '使える要約の行が 1 件もありません。category が "summarization" の行があるか、'
            "読み込んだデータセットが正しいかを確かめてください。"
        )
    return kept, dropped


raw_dataset = load_dataset(DATASET_ID, split="train")
summaries, dropped = select_summaries(raw_dataset)
print(f"全 {len(raw_dataset)} 行のうち、要約の行は {len(summaries) + dropped.total()} 行です。")
for reason, count in dropped.items():
    print(f"  除いた行: {reason} … {count} 行")
print(f"残りの {len(summaries)} 行を使います。")

splits = Dataset.from_list(summaries).train_test_split(test_size=0.1, seed=42)
print(f"学習用 {len(splits['train'])} 行 / 評価用 {len(splits['test'])} 行")
