"""docs/downloads/train_sft_lora.py: the hands-on's cells in page order, every tab, behind a command line.

The script is: a PEP 723 header (the pins), a docstring, the runtime (tools/script_runtime.py below
its own docstring, byte for byte), then the cells' code (each snippet file byte for byte), the tab
labels and defaults, and ``main()``.
"""

from __future__ import annotations

import ast
import json

import project

# Where each cell runs under ``accelerate launch`` (every process, or the main one), which cells need a flag,
# and which the runtime adjusts: project.CELL_ROLES.
MAIN_ONLY = set(project.cells_with(main_only=True))
OPT_IN = {name: role.flag for name, role in project.CELL_ROLES.items() if role.flag}
AFTER_CELL = set(project.cells_with(adjusted=True))
RUNTIME = project.TOOLS / "script_runtime.py"
GENERATED_NOTE = (
    "python tools/build_forms.py が生成したファイルです。直接編集せず、元のファイルを直して生成し直してください。"
)


def pep723_header() -> str:
    deps = "".join(f'#     "{name}=={version}",\n' for name, version in project.pins().items())
    return f'# /// script\n# requires-python = "{project.requires_python()}"\n# dependencies = [\n{deps}# ]\n# ///\n'


def runtime_code() -> str:
    """tools/script_runtime.py without its module docstring."""
    source = RUNTIME.read_text(encoding="utf-8")
    docstring = ast.parse(source).body[0]
    lines = source.splitlines(keepends=True)
    return "".join(lines[docstring.end_lineno :]).lstrip("\n")


def as_raw_string(source: str, where: str) -> str:
    if "'''" in source or source.endswith("\\"):
        raise SystemExit(f"{where} は ''' を含むか \\ で終わるので、スクリプトに埋め込めません")
    return "r'''" + source + "'''"


def cells() -> str:
    labels = project.tab_labels()
    names = {cell.name for cell in project.page_cells()}
    unknown = set(project.CELL_ROLES) - names
    if unknown:
        raise SystemExit(
            f"tools/project.py の CELL_ROLES のセル {sorted(unknown)} がページにありません。CELL_ROLES を直してください"
        )
    entries = []
    for cell in project.page_cells():  # every variant's cells, in page order; the script picks one variant
        rel = cell.path.relative_to(project.SNIPPETS).as_posix()
        entries.append(
            f"    # --- {rel}{' （' + labels[cell.variant] + '）' if cell.variant else ''}\n"
            f"    (\n"
            f"        {cell.name!r},\n"
            f"        {cell.variant!r},\n"
            f"        {cell.name in MAIN_ONLY!r},\n"
            f"        {OPT_IN.get(cell.name)!r},\n"
            f"        {as_raw_string(cell.source()[1], rel)},\n"
            f"    ),\n"
        )
    return "".join(entries)


def script_source() -> str:
    install = "pip install " + " ".join(project.pip_requirements())
    defaults = {"MODEL_ID": project.model_id(), "DATASET_ID": project.dataset_id()}
    return (
        "#!/usr/bin/env python3\n"
        + pep723_header()
        + '"""ハンズオン「LoRA で要約モデルを作る」を 1 本で実行するスクリプトです。\n'
        "\n"
        f"{GENERATED_NOTE}\n"
        "セル（CELLS）はハンズオンのページに埋め込まれているファイルそのもので、ページの順番に並んでいます。\n"
        "\n"
        "使い方（GPU のあるマシンで）:\n"
        "\n"
        "    uv run train_sft_lora.py                       # 依存ライブラリは上の script ブロックから入ります\n"
        f"    {install}\n"
        "    python train_sft_lora.py --variant qlora_t4   # 16 GB の GPU（T4 など）\n"
        "    accelerate launch --config_file accelerate_multi_gpu.yaml train_sft_lora.py   # 複数 GPU\n"
        "\n"
        "オプションは python train_sft_lora.py --help で確かめられます。\n"
        '"""\n'
        "\n"
        + runtime_code()
        + "\n\n"
        + "# --- ハンズオンのセルと設定（tools/script.py が書き込みます）\n"
        + f"VARIANTS = {json.dumps(project.tab_labels(), ensure_ascii=False)}\n"
        + f"DEFAULT_VARIANT = {json.dumps(project.SCRIPT_DEFAULT_VARIANT)}\n"
        + f"DEFAULTS = {json.dumps(defaults, ensure_ascii=False)}\n"
        + "# (名前, GPU の設定（None はどちらでも）, メインのプロセスだけで実行するか, 実行に必要なオプション, コード)\n"
        + "CELLS = [\n"
        + cells()
        + "]\n\n\n"
        + 'if __name__ == "__main__":\n'
        + "    main()\n"
    )
