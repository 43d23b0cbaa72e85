import time

examples = splits["test"].select(range(3))
started = time.perf_counter()
before = summarize(model, examples)  # 3 行をまとめて 1 回で生成します
seconds_per_batch = time.perf_counter() - started  # 7 の評価にかかる時間の見積もりに使います

for row, generated in zip(examples, before):
    print("【入力】", row["input"][:80], "…")
    print("【正解の要約】", row["output"])
    print("【学習前のモデル】", generated)
    print("-" * 40)
print(f"生成にかかった時間: {seconds_per_batch:.0f} 秒（{len(examples)} 行をまとめて）")
