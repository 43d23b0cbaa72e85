after = summarize(trainer.model, examples)

for row, old, new in zip(examples, before, after):
    print("【正解の要約】", row["output"])
    print("【学習前】", old)
    print("【学習後】", new)
    print("-" * 40)
