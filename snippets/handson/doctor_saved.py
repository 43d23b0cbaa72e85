# 保存された最後の途中経過の記録を調べます（last_complete_checkpoint は「学習を始める」のセルの関数です）
saved_state = Path(last_complete_checkpoint(training_args.output_dir)) / "trainer_state.json"
saved_findings = diagnose_training(saved_state, training_args)
