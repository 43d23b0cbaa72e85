import torch
from trl import SFTConfig

training_args = SFTConfig(
    output_dir=str(OUTPUT_DIR / "checkpoints"),  # 途中経過（チェックポイント）の保存先
    num_train_epochs=1,
    per_device_train_batch_size=2,
    gradient_accumulation_steps=8,  # 2 × 8 = 16 例ごとに重みを更新します
    learning_rate=2e-4,  # QLoRA では少し大きめが目安です
    lr_scheduler_type="cosine",
    warmup_steps=0.03,  # 1 未満は全ステップに対する割合です
    max_length=MAX_LENGTH,
    fp16=True,  # T4 は bf16 の計算ができないので fp16 で計算します（学習する重みは float32 のまま持ちます）
    activation_checkpointing=True,  # 計算を少し増やして、メモリを大きく減らします（勾配チェックポイント）
    logging_steps=5,
    eval_strategy="steps",
    eval_steps=20,
    save_strategy="steps",
    save_steps=20,  # 20 回の更新ごとに途中経過を保存します。切断されても、そこから再開できます
    save_total_limit=2,  # 古いものから消して、最新の 2 つだけ残します
    report_to="none",
    use_cpu=not torch.cuda.is_available(),
)
