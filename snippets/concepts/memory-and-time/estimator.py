"""学習 1 ステップのピークメモリと時間の見積もり（目安）。

モデルの構成（config）から重みなしのモデルを meta デバイスに組み立て、実際の層の形を数えます。
見積もるのは PyTorch が確保するテンソルの量（GPU なら torch.cuda.max_memory_allocated に当たる値）で、
CUDA の作業領域やアロケーターのキャッシュは含みません。式の根拠はページの説明を見てください。
"""

from dataclasses import dataclass

import torch
from transformers import AutoModelForCausalLM

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
METHODS = ("full", "lora", "qlora")
OPTIMIZER_STATE_BYTES = {"adamw": None, "adamw_8bit": 2, "sgd": 0}  # None: 学習する重みと同じ型で 2 つ
LOSS_HEADS = ("trl_fused", "full_logits")
NF4_BYTES = 0.5 + 0.127 / 8  # 4 ビット + 二重量子化したスケール（1 個あたり 0.127 ビット）
TRL_TILE = (4096, 32768)  # TRL 1.16 が損失を計算するタイル（トークン数 × 語彙）


@dataclass(frozen=True)
class GPU:
    """GPU の公称値（NVIDIA の仕様書）。"""

    memory_gb: float  # メモリ（GB）
    tflops: float  # 16 ビットの行列計算のピーク性能（TFLOPS、疎行列なし）
    bandwidth_gbs: float  # メモリ帯域（GB/s）
    bf16: bool  # bfloat16 の計算に対応しているか（Compute Capability 8.0 以上）


GPUS = {
    "T4 16 GB": GPU(memory_gb=16, tflops=65, bandwidth_gbs=320, bf16=False),
    "L4 24 GB": GPU(memory_gb=24, tflops=121, bandwidth_gbs=300, bf16=True),
    "A100 40 GB": GPU(memory_gb=40, tflops=312, bandwidth_gbs=1555, bf16=True),
    "A100 80 GB": GPU(memory_gb=80, tflops=312, bandwidth_gbs=2039, bf16=True),
}
UTILIZATION = 0.3  # 学習の計算がピーク性能の何割で進むかの仮定（測った値ではありません）


@dataclass(frozen=True)
class Architecture:
    """重みなしで数えたモデルの形。"""

    layers: int
    hidden: int
    intermediate: int
    kv_dim: int
    heads: int
    vocab: int
    params: int
    linear_shapes: dict  # 1 層目の線形層の名前 → (入力の幅, 出力の幅)

    @classmethod
    def from_config(cls, config):
        with torch.device("meta"):  # 重みのメモリを確保せずに、本物と同じ形のモデルを作ります
            model = AutoModelForCausalLM.from_config(config)
        first_layer = model.model.layers[0]
        shapes = {
            name.split(".")[-1]: (module.in_features, module.out_features)
            for name, module in first_layer.named_modules()
            if isinstance(module, torch.nn.Linear)
        }
        return cls(
            layers=len(model.model.layers),
            hidden=config.hidden_size,
            intermediate=config.intermediate_size,
            kv_dim=shapes["k_proj"][1],
            heads=config.num_attention_heads,
            vocab=config.vocab_size,
            params=sum(p.numel() for p in model.parameters()),
            linear_shapes=shapes,
        )

    @property
    def layer_linear_params(self):
        return self.layers * sum(i * o for i, o in self.linear_shapes.values())


@dataclass(frozen=True)
class Setup:
    """学習の設定。既定値はハンズオンの「24 GB 以上（bf16 LoRA）」のタブと同じです。"""

    method: str = "lora"  # "full"（全パラメータ）/ "lora" / "qlora"（4 ビットの基盤モデル + LoRA）
    batch_size: int = 2  # per_device_train_batch_size
    seq_len: int = 2048  # 1 例のトークン数（バッチ内の最長。ハンズオンの MAX_LENGTH が上限）
    gradient_checkpointing: bool = True
    optimizer: str = "adamw"  # "adamw" / "adamw_8bit" / "sgd"
    lora_r: int = 16
    lora_targets: tuple = ALL_LINEAR
    lora_dropout: float = 0.05
    dtype_bytes: int = 2  # bf16 / fp16 の重みと計算
    loss_head: str = "trl_fused"  # "trl_fused"（TRL の SFTTrainer）/ "full_logits"（モデル自身の損失）
    device: str = "cuda"  # "cpu" ではドロップアウトのマスクが 1 要素 4 バイトになります（GPU では 1 バイト）

    def check(self):
        if self.method not in METHODS:
            raise ValueError(f"method は {METHODS} のどれかにしてください（指定: {self.method!r}）。")
        if self.optimizer not in OPTIMIZER_STATE_BYTES:
            raise ValueError(
                f"optimizer は {tuple(OPTIMIZER_STATE_BYTES)} のどれかにしてください（指定: {self.optimizer!r}）。"
            )
        if self.loss_head not in LOSS_HEADS:
            raise ValueError(f"loss_head は {LOSS_HEADS} のどれかにしてください（指定: {self.loss_head!r}）。")
        if self.batch_size < 1 or self.seq_len < 1:
            raise ValueError("batch_size と seq_len は 1 以上にしてください。")


@dataclass(frozen=True)
class Estimate:
    weights: float  # バイト
    trainable: float  # 学習する重み（LoRA のアダプター。ハンズオンでは LoRA も QLoRA も float32）
    gradients: float
    optimizer_states: float
    activations: float  # 逆伝播のために覚えておく途中の計算結果（層の分）
    logits: float  # 出力層と損失の計算に使う一時的な領域
    peak: float  # 1 ステップの間の最大
    flops: float  # 1 回の順伝播と逆伝播の浮動小数点演算の回数
    forward_flops: float  # 順伝播 1 回の分（評価では順伝播だけを計算します）

    def seconds(self, peak_tflops, utilization=UTILIZATION):
        """ピーク性能 peak_tflops の GPU が、その utilization 倍の速さで計算できると仮定した時間。"""
        return self.flops / (peak_tflops * 1e12 * utilization)

    def forward_seconds(self, peak_tflops, utilization=UTILIZATION):
        """同じ仮定で、順伝播だけ（評価）にかかる時間。"""
        return self.forward_flops / (peak_tflops * 1e12 * utilization)

    def seconds_per_new_token(self, bandwidth_gbs):
        """生成で 1 トークンを作る時間の下限。1 トークンごとに重みをすべて 1 回読むので、重み ÷ メモリ帯域です。"""
        return self.weights / (bandwidth_gbs * 1e9)


def lora_params(arch, setup):
    return arch.layers * sum(setup.lora_r * sum(arch.linear_shapes[name]) for name in setup.lora_targets)


def layer_activation_bytes(arch, setup):
    """1 トークン・1 層あたり、逆伝播のために保存されるバイト数（CPU の実測で確かめた内訳）。"""
    h, i, kv = arch.hidden, arch.intermediate, arch.kv_dim
    # RMSNorm の float32 の途中結果が 3 個。q と注意の出力、k と v、MLP の 3 つの中間結果（16 ビット）。
    saved = 3 * 4 * h + 2 * (2 * h + 2 * kv + 3 * i) + 4 * arch.heads
    if setup.method == "full":  # 重みの勾配のために、注意と MLP の入力（16 ビット）と正規化の結果（float32）も
        return saved + 2 * 2 * h + 2 * 4 * h
    if setup.method == "qlora":
        saved += 2 * 2 * h  # 4 ビットの層も入力を保存します
    # アダプターの入力（16 ビットの写し）とドロップアウトのマスク、A の出力を、LoRA を付けた層ごとに保存します
    per_input = 2 + (0 if not setup.lora_dropout else 4 if setup.device == "cpu" else 1)
    saved += sum(per_input * arch.linear_shapes[name][0] + 2 * setup.lora_r for name in setup.lora_targets)
    return saved


def estimate(arch, setup):
    """arch（Architecture）のモデルを setup（Setup）で学習するときの 1 ステップの見積もり。"""
    setup.check()
    tokens = setup.batch_size * setup.seq_len
    embeddings = arch.params - arch.layer_linear_params  # 埋め込み・lm_head・正規化層
    if setup.method == "qlora":
        weights = arch.layer_linear_params * NF4_BYTES + embeddings * setup.dtype_bytes
    else:
        weights = arch.params * setup.dtype_bytes

    if setup.method == "full":
        trainable, trained_bytes, n_trained = 0, setup.dtype_bytes, arch.params
    else:
        n_trained = lora_params(arch, setup)
        # PEFT はアダプターを float32 で持ちます。QLoRA でも、fp16 の学習のためにハンズオンは float32 に戻します
        trained_bytes = 4
        trainable = trained_bytes * n_trained
    state_bytes = OPTIMIZER_STATE_BYTES[setup.optimizer]
    optimizer_states = n_trained * (2 * trained_bytes if state_bytes is None else state_bytes)
    gradients = n_trained * trained_bytes

    per_layer = layer_activation_bytes(arch, setup) * tokens
    if setup.gradient_checkpointing:  # 各層の入力だけを覚え、逆伝播で 1 層ずつ計算し直します
        activations = arch.layers * 2 * arch.hidden * tokens + per_layer
    else:
        activations = arch.layers * per_layer
    if setup.loss_head == "full_logits":  # float32 の log_softmax の結果・その勾配・入力の勾配
        logits = 12 * arch.vocab * tokens
    else:  # TRL は語彙全体の出力を作らず、タイルごとに計算します（16 ビットのタイルと、float32 の入力の勾配）
        logits = 2 * min(tokens, TRL_TILE[0]) * TRL_TILE[1] + 4 * arch.hidden * tokens
    peak = weights + trainable + optimizer_states
    if setup.method == "full":  # 全パラメータの勾配は、活性化が解放されていく逆伝播の間に増えます
        peak += max(gradients, activations + logits)
    else:
        peak += gradients + activations + logits

    forward = 2 * (arch.layer_linear_params + arch.vocab * arch.hidden) * tokens
    forward += 4 * arch.layers * arch.hidden * setup.seq_len * tokens  # 注意の行列計算
    passes = (3 if setup.method == "full" else 2) + setup.gradient_checkpointing  # 順伝播を 1 とした回数
    flops = forward * passes
    return Estimate(weights, trainable, gradients, optimizer_states, activations, logits, peak, flops, forward)
