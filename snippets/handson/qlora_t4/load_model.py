import torch
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

DTYPE = torch.float16  # T4 は bf16 に対応していないので fp16 で計算します

quantization_config = BitsAndBytesConfig(
    load_in_4bit=True,  # 重みを 4bit で持ち、メモリを約 1/4 にします
    bnb_4bit_quant_type="nf4",
    bnb_4bit_use_double_quant=True,
    bnb_4bit_compute_dtype=DTYPE,
)
model = AutoModelForCausalLM.from_pretrained(
    MODEL_ID, dtype=DTYPE, quantization_config=quantization_config, device_map="auto"
)
