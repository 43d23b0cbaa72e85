import shutil
import subprocess
import sys
from pathlib import Path

MERGED_DIR = Path("outputs/summary-merged")  # ハンズオン 8 のマージのセルが保存したフォルダー


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


def convert_model(model_dir, outfile):
    """Hugging Face の形式で保存したモデルのフォルダーを、16 ビットの GGUF の 1 ファイルに変換します。"""
    model_dir, outfile = Path(model_dir), Path(outfile)
    if (model_dir / "adapter_config.json").exists():
        raise RuntimeError(
            f"{model_dir} は LoRA のアダプターのフォルダーで、モデル全体ではありません。\n"
            f"マージしたモデルのフォルダー（ハンズオン 8 の {MERGED_DIR}）を指定するか、"
            "アダプターのまま使う方法（このページの 5「アダプターのまま使う」）で変換してください。"
        )
    weights = list(model_dir.glob("*.safetensors"))  # 大きなモデルは、いくつかのファイルに分けて保存されます
    if not (model_dir / "config.json").exists() or not weights:
        raise RuntimeError(
            f"{model_dir} にモデル（config.json と *.safetensors）がありません。\n"
            f"ハンズオン 8 のマージのセルを実行して {MERGED_DIR} を作ってから、もう一度実行してください"
            "（Colab のランタイムを切断すると outputs/ は消えます）。"
        )
    # 16 ビットの GGUF は、16 ビットの重みのファイルとほぼ同じ大きさです。書き始める前に空きを確かめます
    needed_gb = sum(path.stat().st_size for path in weights) / 1e9
    outfile.parent.mkdir(parents=True, exist_ok=True)
    free_gb = shutil.disk_usage(outfile.parent).free / 1e9
    if free_gb < 1.1 * needed_gb:
        raise RuntimeError(
            f"{outfile.name}（約 {needed_gb:.1f} GB）を書くには、ディスクの空きが足りません（空き {free_gb:.1f} GB）。\n"
            "要らなくなったファイル（前に作った GGUF など）を消してから、もう一度実行してください。"
        )
    # "auto" は重みと同じ型で書き出します（bf16 なら bf16、fp16 なら f16）。型を変えると、全部の重みが丸められます
    outfile = run_converter("convert_hf_to_gguf.py", model_dir, outfile, "--outtype", "auto")
    print(f"{outfile}（{outfile.stat().st_size / 1e9:.2f} GB）")
    return outfile
