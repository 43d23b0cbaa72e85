import torch


def summarize(model, instruction, text, max_new_tokens=256):
    """build_prompt で組み立てたプロンプトの続き（＝要約）を生成して返します。"""
    model.eval()  # 学習直後は学習モードのままです。ドロップアウトを止め、KV キャッシュを使って生成します
    inputs = tokenizer(build_prompt(instruction, text), return_tensors="pt").to(model.device)
    with torch.no_grad():
        output_ids = model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,  # 止まらないときの上限
            do_sample=False,  # 毎回同じ結果になるよう、最も確からしいトークンを選びます
            eos_token_id=tokenizer.eos_token_id,  # EOS が出たら止まります
            pad_token_id=tokenizer.eos_token_id,  # このモデルには pad トークンがありません
        )
    new_tokens = output_ids[0, inputs["input_ids"].shape[1] :]
    return tokenizer.decode(new_tokens, skip_special_tokens=True)
