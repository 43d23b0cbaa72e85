import resource
import time

import torch
from transformers import TrainerCallback


def peak_memory_gib():
    """GPU なら PyTorch が確保したメモリの最大値、GPU がなければこのプロセスの最大使用メモリ（GiB）。"""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 1024**3
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux では KiB 単位です


class SpeedAndMemoryCallback(TrainerCallback):
    """損失を表示するたびに、1 秒あたりのトークン数・ピークメモリ・残り時間の目安を 1 行で表示します。"""

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = self.last_time = time.perf_counter()
        self.start_step = state.global_step  # 途中経過から再開したときは、その回数から数えます
        self.last_tokens = 0  # TRL の num_tokens は、train() を呼ぶたびに 0 から数え直します

    def on_log(self, args, state, control, logs=None, optimizer=None, **kwargs):
        if "num_tokens" not in (logs or {}) or "loss" not in logs:
            return  # 評価のときや学習の終わりのまとめは飛ばします
        now = time.perf_counter()
        tokens_per_second = (logs["num_tokens"] - self.last_tokens) / (now - self.last_time)
        steps_done = state.global_step - self.start_step
        seconds_left = (now - self.start) / steps_done * (state.max_steps - state.global_step)
        self.last_time, self.last_tokens = now, logs["num_tokens"]
        record = dict(tokens_per_second=tokens_per_second, peak_memory_gib=peak_memory_gib())
        extra = f"ピークメモリ {record['peak_memory_gib']:.1f} GiB、残り約 {seconds_left / 60:.0f} 分"
        # fp16 では GradScaler が勾配の倍率を調整します。あふれた回は更新を飛ばし、倍率を半分にします
        scaler = getattr(optimizer, "scaler", None)
        if scaler is not None:
            record["grad_scale"] = scaler.get_scale()
            extra += f"、勾配の倍率 {record['grad_scale']:g}"
        state.log_history[-1].update(record)
        print(f"ステップ {state.global_step}/{state.max_steps}: {tokens_per_second:,.0f} トークン/秒、{extra}")
