from pathlib import Path

from transformers.trainer_utils import get_last_checkpoint

# 途中経過が保存されていれば、その続きから学習します（切断された後に、最初のセルから順にもう一度実行したとき）
checkpoint_dir = Path(training_args.output_dir)
last_checkpoint = get_last_checkpoint(checkpoint_dir) if checkpoint_dir.is_dir() else None
if last_checkpoint:
    print(f"途中経過 {last_checkpoint} から再開します。")
trainer.train(resume_from_checkpoint=last_checkpoint)
