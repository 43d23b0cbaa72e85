"""Write the forms of the hands-on that GitHub and Colab must serve as files, and check them.

    python tools/build_forms.py          # rewrite the committed forms
    python tools/build_forms.py --check  # list stale forms, exit 1 if any

- docs/notebooks/handson.ipynb (tools/notebook.py): the page converted, one GPU tab;
- docs/downloads/train_sft_lora.py (tools/script.py): the page's cells behind a command line.

Sources (edit these, never the outputs): docs/handson.md, snippets/handson/**.py, the pins in
pyproject.toml, tools/script_runtime.py, and mkdocs.yml's REPO_URL / SITE_URL (leave them unset
for the committed files; the Pages workflow sets them and regenerates the forms for its build).
Everything else that comes from these sources is rendered when the site is built
(tools/site_build/), so it is not committed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import notebook
import project
import script


def outputs() -> dict[Path, str]:
    return {
        project.NOTEBOOK: notebook.notebook_json(),
        project.SCRIPT: script.script_source(),
    }


def stale() -> list[Path]:
    return [path for path, text in outputs().items() if not path.exists() or path.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="書き込まず、古くなったファイルを表示します")
    args = parser.parse_args(argv)
    if args.check:
        old = stale()
        for path in old:
            print(f"古くなっています: {path.relative_to(project.ROOT)}")
        return int(bool(old))
    print(
        f"リポジトリ: {project.mkdocs_setting('repo_url') or '不明（REPO_URL なし: Colab のバッジは付けません）'} / "
        f"サイト: {project.site_url() or '不明（SITE_URL なし: サイトのページはリンクせず名前で書きます）'}"
    )
    for path, text in outputs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"生成しました: {path.relative_to(project.ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
