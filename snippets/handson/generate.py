import torch

GENERATION_BATCH_SIZE = 8  # 何行ずつまとめて生成するか。GPU のメモリが足りなければ減らします

if tokenizer.pad_token is None:
    tokenizer.pad_token = tokenizer.eos_token  # このモデルには pad トークンがないので、EOS で詰めます


def summarize(model, rows, max_new_tokens=256, batch_size=GENERATION_BATCH_SIZE):
    """rows（instruction と input を持つ行）の要約を、batch_size 行ずつまとめて生成して返します。"""
    model.eval()  # 学習直後は学習モードのままです。ドロップアウトを止め、KV キャッシュを使って生成します
    rows = list(rows)
    summaries = []
    for start in range(0, len(rows), batch_size):
        prompts = [build_prompt(row["instruction"], row["input"]) for row in rows[start : start + batch_size]]
        # 長さの違うプロンプトは左に詰めます。右に詰めると、詰め物の後ろに続きを書くことになります
        inputs = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left").to(model.device)
        with torch.no_grad():
            output_ids = model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,  # 止まらないときの上限
                do_sample=False,  # 毎回同じ結果になるよう、最も確からしいトークンを選びます
                eos_token_id=tokenizer.eos_token_id,  # EOS が出たら止まります
                pad_token_id=tokenizer.pad_token_id,
            )
        new_tokens = output_ids[:, inputs["input_ids"].shape[1] :]
        summaries += tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    return summaries
