import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, MistralConfig

# Japanese Stable LM Base Gamma 7B と同じ形（Mistral-7B-v0.1 の config.json の値）
config = MistralConfig(
    vocab_size=32000,
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
)
with torch.device("meta"):  # 重みの値は作らず、形だけのモデルを組み立てます（メモリをほぼ使いません）
    model = AutoModelForCausalLM.from_config(config)

lora_config = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
get_peft_model(model, lora_config).print_trainable_parameters()
#> trainable params: 41,943,040 || all params: 7,283,675,136 || trainable%: 0.5758
