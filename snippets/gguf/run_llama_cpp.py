from llama_cpp import Llama

llm = Llama(model_path=str(Q4_GGUF), n_ctx=2048, verbose=False)
output = llm(prompt, max_tokens=256, temperature=0.0)  # EOS（</s>）が出たら止まります
print(output["choices"][0]["text"])
print("止まった理由:", output["choices"][0]["finish_reason"])  # stop なら EOS、length なら max_tokens
