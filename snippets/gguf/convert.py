import subprocess
import sys
from pathlib import Path

MERGED_DIR = Path("outputs/summary-merged")  # ハンズオン 8 のマージのセルが保存したフォルダー
GGUF_DIR = Path("outputs/gguf")


def run_converter(script_name, source, outfile, *options):
    """llama.cpp の変換スクリプトを実行します。失敗したら、スクリプトの出力の最後を見せて止まります。"""
    outfile = Path(outfile)
    outfile.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, CONVERTER_DIR / script_name, source, "--outfile", outfile, *options]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"{source} を GGUF に変換できませんでした。変換スクリプトの出力の最後:\n{result.stderr[-3000:]}"
        )
    return outfile


def convert_model(model_dir, outfile, outtype="bf16"):
    """Hugging Face の形式で保存したモデルのフォルダーを、GGUF の 1 ファイルに変換します。"""
    model_dir = Path(model_dir)
    if (model_dir / "adapter_config.json").exists():
        raise RuntimeError(
            f"{model_dir} は LoRA のアダプターのフォルダーで、モデル全体ではありません。\n"
            f"マージしたモデルのフォルダー（ハンズオン 8 の {MERGED_DIR}）を指定するか、"
            "アダプターのまま使う方法（このページの 5「アダプターのまま使う」）で変換してください。"
        )
    if not (model_dir / "config.json").exists() or not list(model_dir.glob("*.safetensors")):
        raise RuntimeError(
            f"{model_dir} にモデル（config.json と *.safetensors）がありません。\n"
            f"ハンズオン 8 のマージのセルを実行して {MERGED_DIR} を作ってから、もう一度実行してください"
            "（Colab のランタイムを切断すると outputs/ は消えます）。"
        )
    outfile = run_converter("convert_hf_to_gguf.py", model_dir, outfile, "--outtype", outtype)
    print(f"{outfile}（{outfile.stat().st_size / 1e9:.2f} GB）")
    return outfile


BF16_GGUF = convert_model(MERGED_DIR, GGUF_DIR / "summary-bf16.gguf")
