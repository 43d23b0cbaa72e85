import math

EVAL_ROWS = 30  # 生成には時間がかかるので、評価用データの先頭から最大 30 行で比べます

eval_rows = splits["test"].select(range(min(EVAL_ROWS, len(splits["test"]))))
references = [row["output"] for row in eval_rows]
# 学習前と学習後で 1 回ずつ、GENERATION_BATCH_SIZE 行ずつまとめて生成します。時間は 4 で測った速さからの目安です。
batches = 2 * math.ceil(len(eval_rows) / GENERATION_BATCH_SIZE)
print(f"{len(eval_rows)} 行を学習前と学習後で要約します。約 {batches * seconds_per_batch / 60:.0f} 分かかる見込みです。")

with trainer.model.disable_adapter():  # LoRA を外す＝学習前の基盤モデル（基盤の重みは学習で変わりません）
    base_summaries = summarize(trainer.model, eval_rows)
tuned_summaries = summarize(trainer.model, eval_rows)

rouge_before, rouge_after = rouge2(base_summaries, references), rouge2(tuned_summaries, references)
print(f"評価用データ {len(eval_rows)} 行の ROUGE-2（F 値 × 100）: 学習前 {rouge_before:.2f} → 学習後 {rouge_after:.2f}")
