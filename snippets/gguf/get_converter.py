import importlib.metadata
import subprocess
import sys
import tarfile
from pathlib import Path

# 変換スクリプトは、入れた llama-cpp-python と同じ版の llama.cpp のものを使います（GGUF の形式が合います）
LLAMA_CPP_VERSION = importlib.metadata.version("llama_cpp_python")
CONVERTER_DIR = Path(f"llama.cpp-{LLAMA_CPP_VERSION}")
CONVERTER_FILES = ("convert_hf_to_gguf.py", "convert_lora_to_gguf.py", "conversion/", "gguf-py/")

if not (CONVERTER_DIR / "convert_hf_to_gguf.py").exists():
    # PyPI にある llama-cpp-python のソース（約 77 MB）には llama.cpp 一式が入っています
    pip_download = ["pip", "download", "--no-deps", "--no-binary", "llama-cpp-python", "--dest", "downloads"]
    subprocess.run([sys.executable, "-m", *pip_download, f"llama-cpp-python=={LLAMA_CPP_VERSION}"], check=True)
    sdist = Path("downloads") / f"llama_cpp_python-{LLAMA_CPP_VERSION}.tar.gz"
    inside = f"llama_cpp_python-{LLAMA_CPP_VERSION}/vendor/llama.cpp/"
    with tarfile.open(sdist) as archive:  # 変換に使うファイルだけを取り出します
        members = [m for m in archive.getmembers() if m.name.removeprefix(inside).startswith(CONVERTER_FILES)]
        for member in members:
            member.name = member.name.removeprefix(inside)
        archive.extractall(CONVERTER_DIR, members=members, filter="data")
print(f"変換スクリプト: {CONVERTER_DIR.resolve()}")
