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
# fp16 の学習では、学習する重みを float32 にします。TRL は QLoRA の重みを bf16 にしますが、GPU の GradScaler は
# bf16 の勾配を扱えず、最初の更新で止まるためです（「困ったときは」の「T4 で学習が最初の更新で止まる」）。
for parameter in trainer.model.parameters():
    if training_args.fp16 and parameter.requires_grad:
        parameter.data = parameter.data.float()
