from trl import SFTTrainer

trainer = SFTTrainer(
    model=model,
    args=training_args,
    train_dataset=train_dataset,
    eval_dataset=eval_dataset,
    processing_class=tokenizer,
    peft_config=peft_config,
    callbacks=[SpeedAndMemoryCallback()],  # 前のセルのコールバック
)
trainer.model.print_trainable_parameters()
trainer.train()
