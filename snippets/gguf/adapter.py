from huggingface_hub import snapshot_download
from llama_cpp import Llama

ADAPTER_DIR = OUTPUT_DIR / "summary-lora-adapter"  # ハンズオン 8 で保存したアダプター


def convert_adapter(adapter_dir, base_dir, outfile, outtype="f16"):
    """PEFT で保存した LoRA のアダプターを、GGUF の LoRA に変換します。"""
    adapter_dir = Path(adapter_dir)
    if not (adapter_dir / "adapter_config.json").exists():
        raise RuntimeError(
            f"{adapter_dir} に LoRA のアダプター（adapter_config.json）がありません。\n"
            "ハンズオン 8 でアダプターを保存したフォルダー（Colab では Google ドライブ）を指定してください。"
        )
    outfile = run_converter("convert_lora_to_gguf.py", adapter_dir, outfile, "--base", base_dir, "--outtype", outtype)
    print(f"{outfile}（{outfile.stat().st_size / 1e6:.0f} MB）")
    return outfile


BASE_DIR = snapshot_download(MODEL_ID)  # 基盤モデルのフォルダー（ダウンロード済みならそれを使います）
BASE_GGUF = convert_model(BASE_DIR, GGUF_DIR / "base-16bit.gguf")
BASE_Q4_GGUF = quantize(BASE_GGUF, GGUF_DIR / "base-Q4_K_M.gguf")
BASE_GGUF.unlink()  # 16 ビットの GGUF は量子化したら要らないので、消してディスクを空けます
LORA_GGUF = convert_adapter(ADAPTER_DIR, BASE_DIR, GGUF_DIR / "summary-lora-f16.gguf")

# LoRA を渡すと、モデルのファイル全体をメモリに読み込みます。16 ビットより小さい 4 ビットの基盤モデルに足します
llm = Llama(model_path=str(BASE_Q4_GGUF), lora_path=str(LORA_GGUF), n_ctx=2048, verbose=False)
output = llm(prompt, max_tokens=256, temperature=0.0)
print(output["choices"][0]["text"])
print("止まった理由:", output["choices"][0]["finish_reason"])
