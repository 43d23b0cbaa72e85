import math
from pathlib import Path
from statistics import median

import torch
from transformers import SchedulerType, TrainerState, get_scheduler

# 見つけた問題ごとに、「困ったときは」のページのどの節を見ればよいか
TROUBLESHOOTING = {
    "loss-zero-nan": "損失が 0 や NaN になる",
    "fp16-skipped": "fp16 で更新が飛ばされ続ける",
    "loss-not-falling": "損失が下がらない",
    "overfitting": "評価用データの損失だけが上がる（過学習）",
    "grad-norm-spikes": "勾配ノルムが跳ね上がる",
    "lr-schedule": "学習率が設定どおりに変わらない",
}


def scheduled_rates(args, max_steps):
    """設定どおりなら、1 回目から max_steps 回目までの更新で使われる学習率。"""
    optimizer = torch.optim.SGD([torch.zeros(1)], lr=args.learning_rate)
    scheduler = get_scheduler(
        args.lr_scheduler_type,
        optimizer,
        num_warmup_steps=args.get_warmup_steps(max_steps),
        num_training_steps=max_steps,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )
    # cosine などステップ数で決まるスケジュールだけを比べます（評価の結果で変わるものは比べません）
    rates = getattr(scheduler, "lr_lambdas", [])[:1]
    return [args.learning_rate * rate(step) for rate in rates for step in range(max_steps)]


def diagnose_training(state, args=None):
    """学習の記録（trainer.state、または保存された trainer_state.json のパス）を調べて、見つけた問題を表示します。"""
    if isinstance(state, (str, Path)):
        state = TrainerState.load_from_json(str(state))

    def points(key):
        return [(log["step"], log[key]) for log in state.log_history if key in log]

    losses, eval_losses, grad_norms = points("loss"), points("eval_loss"), points("grad_norm")
    scales = points("grad_scale")  # fp16 の GradScaler の倍率（ハンズオンのコールバックが記録します）
    findings = []

    # fp16 では、勾配があふれた回の更新を GradScaler が飛ばし、その回の勾配ノルムは inf や NaN になります。
    # 最初の数回は倍率を合わせるためで普通のことです。問題は、倍率が下がり続けて更新が進まないときです。
    fp16 = bool(scales) or (args is not None and args.fp16)
    skipped = [(step, value) for step, value in grad_norms if fp16 and not math.isfinite(value)]
    last_three_skipped = len(skipped) >= 3 and not any(math.isfinite(value) for _, value in grad_norms[-3:])
    collapsed = bool(scales) and scales[-1][1] < 1  # 倍率は 65536 から始まり、あふれるたびに半分になります
    if collapsed or last_three_skipped:
        scale_note = f"、勾配の倍率は最後に {scales[-1][1]:g}" if scales else ""
        findings.append(
            (
                "fp16-skipped",
                f"fp16 の GradScaler が更新を飛ばし続けています（勾配ノルムが inf・NaN の記録 {len(skipped)} 個"
                f"{scale_note}）。損失の記録が普通に見えても、重みはほとんど更新されていません。",
            )
        )

    checked_norms = [(step, value) for step, value in grad_norms if not fp16 or math.isfinite(value)]  # 飛ばした更新は除きます
    broken = [(step, value) for step, value in losses + eval_losses + checked_norms if not 0 < abs(value) < math.inf]
    if broken:
        step, value = min(broken)
        findings.append(
            (
                "loss-zero-nan",
                f"損失か勾配ノルムが 0 か NaN・inf になった記録が {len(broken)} 個あります"
                f"（最初はステップ {step} の {value}）。",
            )
        )

    finite = [(step, value) for step, value in losses if math.isfinite(value)]
    if len(finite) >= 4:
        k = len(finite) // 3
        first, last = (sum(value for _, value in part) / k for part in (finite[:k], finite[-k:]))
        if last > first * 0.98:
            findings.append(
                (
                    "loss-not-falling",
                    f"学習用データの損失が下がっていません（最初の {k} 回の記録の平均 {first:.3f} → "
                    f"最後の {k} 回の平均 {last:.3f}）。",
                )
            )

    evals = [(step, value) for step, value in eval_losses if math.isfinite(value)]
    if len(evals) >= 3:
        best_step, best = min(evals, key=lambda point: point[1])
        last_step, last = evals[-1]
        after = [value for step, value in finite if step >= best_step]
        if last > best * 1.02 and len(after) >= 2 and after[-1] < after[0]:
            findings.append(
                (
                    "overfitting",
                    f"評価用データの損失が、ステップ {best_step} の {best:.3f} を底に、"
                    f"ステップ {last_step} では {last:.3f} に上がっています。その間も学習用データの損失は "
                    f"{after[0]:.3f} → {after[-1]:.3f} と下がっていて、過学習の兆候です。",
                )
            )

    norms = [(step, value) for step, value in grad_norms if math.isfinite(value) and value > 0]
    if len(norms) >= 5:
        typical = median(value for _, value in norms)
        spikes = [(step, value) for step, value in norms if value > 10 * typical]
        if spikes:
            step, value = max(spikes, key=lambda point: point[1])
            findings.append(
                (
                    "grad-norm-spikes",
                    f"勾配ノルムが {len(spikes)} 回、ふだん（中央値 {typical:.3g}）の 10 倍を超えました"
                    f"（最大はステップ {step} の {value:.3g}）。",
                )
            )

    rates = points("learning_rate")
    expected = scheduled_rates(args, state.max_steps) if args is not None and rates and state.max_steps > 0 else []
    lag = max(2, state.max_steps // 20)  # fp16 で更新が飛ばされた回は、学習率も進みません。少しの遅れは許します
    wrong = [
        (step, value)
        for step, value in rates
        if not any(math.isclose(value, rate, rel_tol=1e-3) for rate in expected[max(0, step - 1 - lag) : step])
    ]
    if expected and wrong:
        step, value = wrong[0]
        findings.append(
            (
                "lr-schedule",
                f"記録された学習率が {len(wrong)} か所で設定（{SchedulerType(args.lr_scheduler_type).value}、最大 {args.learning_rate:g}、"
                f"全 {state.max_steps} 回）と違います（最初はステップ {step} の {value:.3g}、"
                f"設定どおりなら {expected[min(step, len(expected)) - 1]:.3g}）。",
            )
        )

    print(f"学習の記録（全 {state.global_step} 回の更新）: ", end="")
    print(f"学習用データの損失 {len(losses)} 個、評価用データの損失 {len(eval_losses)} 個")
    if skipped and not (collapsed or last_three_skipped):
        print(
            f"  fp16 で勾配があふれて飛ばした更新の記録が {len(skipped)} 個あります（最初はステップ {skipped[0][0]}）。"
            "GradScaler が倍率を合わせる間に起きるもので、続かなければ問題ありません。"
        )
    if len(finite) < 4:
        print("  学習用データの損失の記録が 4 個より少ないので、下がっているかは判断しません。")
    if evals:
        best_step, best = min(evals, key=lambda point: point[1])
        print(f"  評価用データの損失が最も低かったのは、ステップ {best_step} の {best:.3f} です。")
    for anchor, message in findings:
        print(f"・{message}\n  →「困ったときは」のページの「{TROUBLESHOOTING[anchor]}」を見てください。")
    if not findings:
        print("問題は見つかりませんでした。")
    return findings


doctor_findings = diagnose_training(trainer.state, training_args)
