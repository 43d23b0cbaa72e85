"""The wheels that the GPU truth run (tools/gpu_check.py) takes to the device machine, and the one call that runs it.

    python tools/gpu_wheels.py            # download into .whl/, repack bitsandbytes, check the size, print the call

The device machine (the device tool's README and KINDS.md) has Python 3.12 with torch 2.11 built for CUDA 13.0,
accelerate 1.15, huggingface_hub 1.33, tokenizers, safetensors, pyarrow, pandas, psutil and matplotlib, and no
network. What the hands-on needs beyond that travels as wheels with the working tree, 64 MiB in all (FACTS.md 8).
bitsandbytes ships one CUDA library per CUDA version (21-27 MB each): the repacked wheel keeps only the one for
the device's CUDA and the CPU library. The commit the wheels were made for is written beside them (the device
gets a copy of the working tree without .git), so the run's record names it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

import project

WHEEL_DIR = project.ROOT / ".whl"  # ignored by git (.gitignore); named in the run call's carry
COMMIT_FILE = WHEEL_DIR / "commit.json"
LIMIT_BYTES = 64 * 2**20  # what may travel in one call: the working tree and the carried paths together
DEVICE_CUDA = "130"  # the device's torch is 2.11.0+cu130: bitsandbytes loads libbitsandbytes_cuda130.so
TIMEOUT_S = 450  # the call's limit (7.5 min): gpu_check's budget (360 s), installing the wheels, starting up

# Pinned in pyproject.toml's handson extra, missing or another version on the device (accelerate: small, made sure).
PINNED = ("transformers", "trl", "peft", "datasets", "accelerate", "bitsandbytes", "neologdn", "rouge-score")
# Needed by those (or by tools/project.py) and missing on the device: the versions installed here.
DEPENDENCIES = ("dill", "multiprocess", "nltk", "pyyaml-env-tag")
# Only a source distribution on PyPI (pure Python): built into a wheel here.
SOURCE_ONLY = ("rouge-score",)
# What stays behind, and why (gpu_check reports it).
NOT_CARRIED = {
    "unidic-lite": "MeCab の辞書（47 MB）は 64 MiB に入らないので運びません。ROUGE の単語分けは文字単位の代役です",
    "fugashi": "辞書がないと動かないので運びません（代役を使います）",
    "huggingface_hub": "2.4.0 は httpx2 などを追加で必要とするので、装置の版を使います（transformers 5.24 は 1.31 以上で動きます）",
    "torch": "装置の CUDA 版（2.11.0+cu130）を使います",
}
PLATFORMS = [
    "manylinux_2_28_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_24_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux1_x86_64",
]


def wanted() -> dict[str, str]:
    """``{distribution: version}`` of every wheel that travels."""
    pins = project.pins()
    versions = {name: pins[name] for name in PINNED}
    for name in DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            raise SystemExit(
                f"{name} がこの環境に入っていません。README のテストコマンドで仮想環境を作ってから実行してください。"
            ) from None
    return versions


def wheel_name_matches(path: Path, name: str, version: str) -> bool:
    normalized = re.sub(r"[-_.]+", "_", name).lower()
    return path.name.lower().startswith(f"{normalized}-{version}-")


def download(versions: dict[str, str], dest: Path) -> None:
    binary = [f"{name}=={version}" for name, version in versions.items() if name not in SOURCE_ONLY]
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        [
            *pip,
            "download",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "--implementation",
            "cp",
            *platforms,
            "-d",
            str(dest),
            *binary,
        ],
        check=True,
    )
    source = [f"{name}=={version}" for name, version in versions.items() if name in SOURCE_ONLY]
    if source:
        subprocess.run([*pip, "wheel", "-q", "--no-deps", "-w", str(dest), *source], check=True)


def repack_bitsandbytes(wheel: Path, cuda: str = DEVICE_CUDA) -> int:
    """Keep only the CPU library and ``libbitsandbytes_cuda<cuda>.so``; returns the bytes saved."""
    keep = {"libbitsandbytes_cpu.so", f"libbitsandbytes_cuda{cuda}.so"}
    before = wheel.stat().st_size
    with zipfile.ZipFile(wheel) as source:
        names = source.namelist()
        if not any(Path(n).name == f"libbitsandbytes_cuda{cuda}.so" for n in names):
            raise SystemExit(f"{wheel.name} に libbitsandbytes_cuda{cuda}.so がありません（--cuda を確かめてください）")
        dropped = {n for n in names if Path(n).name.startswith("libbitsandbytes_") and Path(n).name not in keep}
        record = next(n for n in names if n.endswith(".dist-info/RECORD"))
        lines = source.read(record).decode().splitlines()
        kept_lines = [line for line in lines if line.split(",", 1)[0] not in dropped]
        with tempfile.NamedTemporaryFile(dir=wheel.parent, delete=False, suffix=".whl") as handle:
            target = Path(handle.name)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
            for info in source.infolist():
                if info.filename in dropped:
                    continue
                data = "\n".join(kept_lines).encode() + b"\n" if info.filename == record else source.read(info)
                out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    target.replace(wheel)
    return before - wheel.stat().st_size


def travelling_bytes(root: Path = project.ROOT, carried: tuple[Path, ...] = (WHEEL_DIR,)) -> int:
    """What one device call sends: tracked and untracked-but-not-ignored files, and the carried folders."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, capture_output=True, check=True
    ).stdout.decode()
    tree = sum((root / name).stat().st_size for name in listed.split("\0") if name and (root / name).is_file())
    return tree + sum(
        p.stat().st_size for folder in carried if folder.is_dir() for p in folder.rglob("*") if p.is_file()
    )


def commit(root: Path = project.ROOT) -> dict:
    def git(*args):
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "uncommitted_changes": bool(git("status", "--porcelain"))}


def run_call() -> dict:
    """The device tool's ``run`` arguments: install the carried wheels, then the truth run, its log under $OUT."""
    install = (
        "python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "
        ".whl/*.whl && export PYTHONPATH=/tmp/site || exit"
    )
    check = (
        'set -o pipefail; PYTHONUNBUFFERED=1 python3 tools/gpu_check.py --output "$OUT" 2>&1 | tee "$OUT/gpu-check.log"'
    )
    return {"command": f"{install}; {check}", "carry": [WHEEL_DIR.name], "timeout_s": TIMEOUT_S}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cuda", default=DEVICE_CUDA, help="装置の torch の CUDA の版（torch.version.cuda の数字だけ）"
    )
    args = parser.parse_args(argv)

    versions = wanted()
    shutil.rmtree(WHEEL_DIR, ignore_errors=True)
    WHEEL_DIR.mkdir()
    download(versions, WHEEL_DIR)
    wheels = sorted(WHEEL_DIR.glob("*.whl"))
    missing = [name for name, v in versions.items() if not any(wheel_name_matches(w, name, v) for w in wheels)]
    if missing:
        raise SystemExit(f"wheel を用意できませんでした: {', '.join(missing)}")
    (bnb,) = [w for w in wheels if wheel_name_matches(w, "bitsandbytes", versions["bitsandbytes"])]
    saved = repack_bitsandbytes(bnb, args.cuda)
    COMMIT_FILE.write_text(
        json.dumps({**commit(), "prepared": datetime.date.today().isoformat(), "wheels": versions}, indent=1) + "\n"
    )
    size = travelling_bytes()
    for wheel in wheels:
        print(f"  {wheel.name}  {wheel.stat().st_size / 2**20:.1f} MiB")
    print(f"bitsandbytes から CUDA {args.cuda} 以外のライブラリを除きました（{saved / 2**20:.1f} MiB 減）。")
    print(f"運ぶもの（作業ツリーと .whl）: {size / 2**20:.1f} MiB / 上限 {LIMIT_BYTES / 2**20:.0f} MiB")
    if size > LIMIT_BYTES:
        raise SystemExit(
            "64 MiB を超えています。作業ツリーの大きなファイル（無視されていないもの）を確かめてください。"
        )
    for name, why in NOT_CARRIED.items():
        print(f"  運ばないもの: {name}（{why}）")
    print("装置（device の run）に渡す引数（GPU を借りているときだけ。結果は $OUT に書かれます）:")
    print(json.dumps(run_call(), ensure_ascii=False))
    print("戻ってきた gpu-check.json と gpu-check.md を docs/data/ にコピーしてコミットします。")


if __name__ == "__main__":
    main()
