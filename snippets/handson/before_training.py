examples = splits["test"].select(range(3))
before = [summarize(model, row["instruction"], row["input"]) for row in examples]

for row, generated in zip(examples, before):
    print("【入力】", row["input"][:80], "…")
    print("【正解の要約】", row["output"])
    print("【学習前のモデル】", generated)
    print("-" * 40)
