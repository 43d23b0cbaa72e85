import math
import re
from collections import Counter
from statistics import median

import torch

# 時間の目安に使う値。「メモリと学習時間」のページの見積もり（estimator.py）と同じ値・同じ式です。
GPU_TFLOPS = {"T4": 65, "L4": 121, "A100": 312}  # 16 ビットの行列計算のピーク性能（TFLOPS、NVIDIA の仕様書）
UTILIZATION = 0.3  # そのうち 3 割の速さで計算が進むという仮定（測った値ではありません）


def training_flops(config, batch_size, seq_len, checkpointing):
    """LoRA の学習 1 回分（batch_size 例 × seq_len トークン）の計算量。"""
    hidden, layers = config.hidden_size, config.num_hidden_layers
    head_dim = getattr(config, "head_dim", None) or hidden // config.num_attention_heads
    q_dim, kv_dim = config.num_attention_heads * head_dim, config.num_key_value_heads * head_dim
    linear = layers * (2 * hidden * q_dim + 2 * hidden * kv_dim + 3 * hidden * config.intermediate_size)
    tokens = batch_size * seq_len
    forward = 2 * (linear + config.vocab_size * hidden) * tokens + 4 * layers * hidden * seq_len * tokens
    return forward * (2 + checkpointing)  # 順伝播と逆伝播、勾配チェックポイントなら順伝播をもう 1 回


def training_seconds(config, lengths, args, epochs, tflops):
    """例の長さ lengths から、学習全体の時間の目安（秒）。ランダムに並べてバッチに分け、バッチ内の最長で数えます。"""
    order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(args.seed)).tolist()
    batch = args.per_device_train_batch_size
    flops = 0
    for start in range(0, len(order), batch):
        seq_lens = [lengths[i] for i in order[start : start + batch]]
        flops += training_flops(config, len(seq_lens), max(seq_lens), args.activation_checkpointing)
    return flops * epochs / (tflops * 1e12 * UTILIZATION) / args.world_size


def check_before_training(trainer, given):
    """SFTTrainer が準備した学習用データを調べます。学習を台無しにする問題があれば、学習の前に止めます。"""
    data, args = trainer.train_dataset, trainer.args
    eos = trainer.processing_class.eos_token_id
    examples = list(zip(data["input_ids"], data["labels"]))
    trained = [sum(label != -100 for label in labels) for _, labels in examples]
    cut = [ids for ids, _ in examples if args.max_length and len(ids) >= args.max_length and ids[-1] != eos]
    no_eos = [ids for ids, labels in examples if ids[-1] != eos or labels[-1] == -100]
    problems = []
    if len(data) < len(given):
        problems.append(
            f"- 渡した {len(given)} 行のうち {len(given) - len(data)} 行を、損失を計算するトークンが 1 つも残らないため、"
            f"SFTTrainer が外しました（プロンプトだけで max_length の {args.max_length} トークンを超えている、"
            "またはラベルがすべて -100）。3 の「長すぎる行を除く」のセルで、max_length と同じ MAX_LENGTH で除いてください。"
        )
    if 0 in trained:
        problems.append(
            f"- {trained.count(0)} 行は、ラベルがすべて -100 で、損失を計算するトークンがありません（損失が 0 になります）。"
            "データを prompt と completion の 2 列にして SFTTrainer に渡してください（ラベルは TRL が作ります）。"
        )
    if cut:
        problems.append(
            f"- {len(cut)} 行は、max_length（{args.max_length} トークン）で末尾が切られ、要約と EOS が途中で切れています。"
            "3 で使った MAX_LENGTH と、SFTConfig の max_length が同じかを確かめてください。"
        )
    if len(no_eos) > len(cut):
        problems.append(
            f"- {len(no_eos) - len(cut)} 行は、最後のトークンが EOS（{trainer.processing_class.eos_token}）でないか、"
            "EOS のラベルが -100 です。EOS を学習しないと、生成が止まらなくなります。"
            "データを prompt と completion の 2 列にすれば、TRL が末尾に EOS を足して学習します。"
        )
    prompt_trained = sum(labels[0] != -100 for _, labels in examples)
    if prompt_trained:
        problems.append(
            f"- {prompt_trained} 行は、プロンプトの先頭から損失を計算します（プロンプトまで学習してしまいます）。"
            "SFTConfig で completion_only_loss=False にしていないか、データが prompt と completion の 2 列かを確かめてください。"
        )
    not_fp32 = Counter(str(p.dtype) for p in trainer.model.parameters() if p.requires_grad and p.dtype != torch.float32)
    if args.fp16 and not_fp32:
        kinds = "、".join(f"{dtype} が {count} 個" for dtype, count in sorted(not_fp32.items()))
        problems.append(
            f"- fp16=True なのに、学習する重みが float32 ではありません（{kinds}）。GPU の GradScaler は float32 の勾配しか"
            "扱えないので、最初の更新で止まります（bfloat16 なら「NotImplementedError: "
            "\"_amp_foreach_non_finite_check_and_unscale_cuda\" not implemented for 'BFloat16'」、"
            "float16 なら「ValueError: Attempting to unscale FP16 gradients.」）。"
            "SFTTrainer を作るセルの、学習する重みを float32 にする行が抜けていないか確かめてください。"
        )
    if problems:
        raise ValueError(
            "学習を始める前の確認で問題が見つかりました。直してから、SFTTrainer を作るセルからやり直してください。\n"
            + "\n".join(problems)
        )

    batches = math.ceil(len(data) / (args.per_device_train_batch_size * args.world_size))
    steps_per_epoch = max(math.ceil(batches / args.gradient_accumulation_steps), 1)
    steps = args.max_steps if args.max_steps > 0 else math.ceil(args.num_train_epochs * steps_per_epoch)
    trainable, total = trainer.model.get_nb_trainable_parameters()
    per_update = args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
    print("学習前の確認（SFTTrainer が準備した学習用データ）:")
    print(f"  例の数: {len(data)} 行")
    print(f"  1 例で損失を計算するトークン（要約と EOS）: 最小 {min(trained)}、中央値 {median(trained):g}")
    print(f"  要約が途中で切れた例: 0 行、EOS で終わり EOS も学習する例: {len(data)} 行（すべて）")
    print(f"  学習するパラメータ: {trainable:,} / 全体 {total:,}（{100 * trainable / total:.2f} %）")
    print(f"  更新の回数: {steps} 回（{per_update} 例ごとに 1 回）")
    seconds = None
    if not torch.cuda.is_available():
        print("  学習時間の目安: GPU がないので出しません。")
    else:
        gpu = torch.cuda.get_device_name(0)
        tflops = next((value for name, value in GPU_TFLOPS.items() if re.search(rf"\b{name}\b", gpu)), None)
        if tflops is None:
            print(f"  学習時間の目安: {gpu} の目安はありません（{'・'.join(GPU_TFLOPS)} だけ出します）。")
        else:
            lengths = [len(ids) for ids, _ in examples]
            seconds = training_seconds(trainer.model.config, lengths, args, steps / steps_per_epoch, tflops)
            print(
                f"  学習時間の目安（{gpu}）: 約 {max(1, round(seconds / 60))} 分。計算量からの目安で、測った値ではありません"
                "（評価の時間を含みません。QLoRA では 4 ビットの重みを戻す分、これより遅くなります）。"
            )
    return {"examples": len(data), "trained": trained, "steps": steps, "trainable": trainable, "seconds": seconds}


preflight = check_before_training(trainer, train_dataset)
