import torch
from transformers import AutoModelForCausalLM

DTYPE = torch.bfloat16  # L4・A100 などは bf16 が使えます

model = AutoModelForCausalLM.from_pretrained(MODEL_ID, dtype=DTYPE, device_map="auto")
