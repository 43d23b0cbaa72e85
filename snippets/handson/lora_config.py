from peft import LoraConfig

peft_config = LoraConfig(
    r=16,  # 追加する行列の「幅」（ランク）。大きいほど表現力もメモリも増えます
    lora_alpha=32,  # LoRA の出力に掛ける倍率は lora_alpha / r = 2
    lora_dropout=0.05,  # 過学習を抑えるためのドロップアウト
    target_modules="all-linear",  # 各層の q,k,v,o,gate,up,down に LoRA を付けます
    task_type="CAUSAL_LM",
)
