from trl import SFTTrainer

# SFTTrainer はここで学習用データを準備します（要約の末尾に EOS を足してトークンにし、プロンプトのラベルを -100 にします）
trainer = SFTTrainer(
    model=model,
    args=training_args,
    train_dataset=train_dataset,
    eval_dataset=eval_dataset,
    processing_class=tokenizer,
    peft_config=peft_config,
    callbacks=[SpeedAndMemoryCallback()],  # 前のセルのコールバック
)
