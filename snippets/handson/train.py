from pathlib import Path

# 再開に必要なファイル。Trainer は trainer_state.json を最後に書くので、これがなければ保存の途中で切れています
CHECKPOINT_FILES = ("adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "trainer_state.json")


def last_complete_checkpoint(checkpoint_dir):
    """番号が最も大きい、ファイルのそろったチェックポイント。保存の途中で切れたものは理由を表示して飛ばします。"""
    folders = [path for path in Path(checkpoint_dir).glob("checkpoint-*") if path.name.split("-")[-1].isdigit()]
    for folder in sorted(folders, key=lambda path: int(path.name.split("-")[-1]), reverse=True):
        missing = [name for name in CHECKPOINT_FILES if not (folder / name).is_file()]
        if not missing:
            return str(folder)
        reason = f"{', '.join(missing)} がありません。消さずに残します"
        print(f"途中経過 {folder} は保存の途中で切れているので使いません（{reason}）。")
    if folders:
        print("使える途中経過がないので、最初から学習します。")
    return None


# 途中経過が保存されていれば、その続きから学習します（切断された後に、最初のセルから順にもう一度実行したとき）
last_checkpoint = last_complete_checkpoint(training_args.output_dir)
if last_checkpoint:
    print(f"途中経過 {last_checkpoint} から再開します。")
trainer.train(resume_from_checkpoint=last_checkpoint)
