import matplotlib.pyplot as plt

history = trainer.state.log_history
train_points = [(log["step"], log["loss"]) for log in history if "loss" in log]
eval_points = [(log["step"], log["eval_loss"]) for log in history if "eval_loss" in log]

fig, ax = plt.subplots()
for points, label in [(train_points, "loss (train)"), (eval_points, "eval_loss")]:
    if points:
        ax.plot(*zip(*points), marker="o", label=label)
ax.set_xlabel("step")
ax.set_ylabel("loss")
if train_points or eval_points:
    ax.legend()
else:
    print(f"損失はまだ記録されていません（{training_args.logging_steps} ステップごとに記録されます）。")
plt.show()
