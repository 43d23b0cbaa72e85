"""Write the SYNTHETIC training histories the run-doctor tests read (made-up numbers, not a real run).

    python tests/data/synthetic-trainer-states/make_states.py

Each file is a ``trainer_state.json`` as transformers saves it in a checkpoint folder, for a pretend
run with the hands-on's bf16 tab settings (learning rate 1e-4, cosine, warmup 3 %, logging every 5
updates, evaluation every 20) over 124 updates (2 epochs of 62). The curves are smooth formulas with
one deliberate problem each; the learning rates are what that schedule gives (the real-run tests in
tests/pages/handson/test_handson_live_metrics.py check the doctor's schedule against a real Trainer).
"""

from __future__ import annotations

import math
from pathlib import Path

HERE = Path(__file__).parent
MAX_STEPS, LOGGING_STEPS, EVAL_STEPS, STEPS_PER_EPOCH = 124, 5, 20, 62
LEARNING_RATE, WARMUP = 1e-4, 0.03


def scheduled_rate(step: int) -> float:
    """The rate transformers logs at ``step``: the one the step's update used (cosine, warmup 3 %)."""
    warmup = math.ceil(MAX_STEPS * WARMUP)
    done = step - 1
    if done < warmup:
        return LEARNING_RATE * done / warmup
    progress = (done - warmup) / (MAX_STEPS - warmup)
    return LEARNING_RATE * max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


def healthy_loss(step: int) -> float:
    return 1.35 + 0.55 * math.exp(-step / 30) + 0.01 * math.sin(step)


def healthy_eval(step: int) -> float:
    return 1.42 + 0.4 * math.exp(-step / 35)


def history(
    loss=healthy_loss,
    eval_loss=healthy_eval,
    grad_norm=lambda s: 0.45 + 0.1 * math.sin(s / 7),
    rate=scheduled_rate,
    grad_scale=None,
):
    logs = []
    for step in range(LOGGING_STEPS, MAX_STEPS + 1, LOGGING_STEPS):
        logs.append(
            {
                "loss": loss(step),
                "grad_norm": grad_norm(step),
                "learning_rate": rate(step),
                "entropy": 0.9 * loss(step),
                "mean_token_accuracy": 0.55 + 0.1 * (1 - math.exp(-step / 40)),
                "num_tokens": float(step * 16 * 650),
                "epoch": step / STEPS_PER_EPOCH,
                "step": step,
            }
        )
        if grad_scale:  # fp16: what the hands-on's callback adds from the GradScaler
            logs[-1]["grad_scale"] = grad_scale(step)
        if step % EVAL_STEPS == 0:
            logs.append({"eval_loss": eval_loss(step), "epoch": step / STEPS_PER_EPOCH, "step": step})
    logs.append({"train_runtime": 1000.0, "train_loss": loss(MAX_STEPS), "epoch": 2.0, "step": MAX_STEPS})
    return logs


OVERFIT_EVAL = {20: 1.62, 40: 1.53, 60: 1.49, 80: 1.52, 100: 1.58, 120: 1.66}
FLAT_EVAL = {20: 2.30, 40: 2.31, 60: 2.30, 80: 2.31, 100: 2.30, 120: 2.31}

HISTORIES = {
    "healthy": history(),
    # fp16 overflow from step 45 on: NaN loss and gradients, then NaN evaluation
    "nan": history(
        loss=lambda s: healthy_loss(s) if s < 45 else math.nan,
        eval_loss=lambda s: healthy_eval(s) if s < 45 else math.nan,
        grad_norm=lambda s: 0.45 if s < 45 else math.nan,
    ),
    # training loss keeps falling, evaluation loss bottoms out at step 60
    "overfit": history(loss=lambda s: 0.6 + 1.3 * math.exp(-s / 35), eval_loss=OVERFIT_EVAL.get),
    # nothing is learned (e.g. a learning rate far too small)
    "flat": history(loss=lambda s: 2.31 + 0.01 * math.sin(s), eval_loss=FLAT_EVAL.get),
    # one bad batch at step 35
    "spike": history(grad_norm=lambda s: 9.5 if s == 35 else 0.45 + 0.1 * math.sin(s / 7)),
    # the rate stays at its maximum although the settings say cosine with warmup
    "constant-rate": history(rate=lambda s: LEARNING_RATE),
    # fp16 (T4 tab): the GradScaler skips the update at step 5 (its gradients overflowed at scale 2^16) and
    # settles at 2^13; the rest is healthy. Normal, not a problem.
    "fp16-early-skips": history(
        grad_norm=lambda s: math.inf if s == 5 else 0.45 + 0.1 * math.sin(s / 7),
        grad_scale=lambda s: 2.0**13,
    ),
    # fp16: from step 30 on every update overflows and is skipped; the scale halves each time. The logged
    # loss stays plausible (logging_nan_inf_filter averages over non-finite losses), only the scale tells.
    "fp16-collapse": history(
        grad_norm=lambda s: math.inf if s >= 30 else 0.45,
        grad_scale=lambda s: 2.0 ** (16 - max(0, s - 29)),
        loss=lambda s: healthy_loss(min(s, 29)),
        eval_loss=lambda s: healthy_eval(min(s, 29)),
    ),
}


def state_json(log_history: list[dict]) -> str:
    from transformers import TrainerState

    state = TrainerState(
        epoch=2.0,
        global_step=MAX_STEPS,
        max_steps=MAX_STEPS,
        logging_steps=LOGGING_STEPS,
        eval_steps=EVAL_STEPS,
        save_steps=EVAL_STEPS,
        num_train_epochs=2,
        train_batch_size=2,
        log_history=log_history,
    )
    import dataclasses
    import json

    return json.dumps(dataclasses.asdict(state), indent=2, sort_keys=True) + "\n"


def outputs() -> dict[Path, str]:
    return {HERE / f"{name}.json": state_json(logs) for name, logs in HISTORIES.items()}


if __name__ == "__main__":
    for path, text in outputs().items():
        path.write_text(text, encoding="utf-8")
        print(path.name)
