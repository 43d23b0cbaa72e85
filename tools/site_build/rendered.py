"""What the site build makes from the pins, the pages and the script, instead of reading a file.

- the page versions.md (the tested versions, the tested pages, the tools), which exists only in the build;
- the includes named ``rendered/...`` (install commands, the script's option table, the tested-versions
  note): a page's ``--8<-- "rendered/install-command.md"`` line is replaced by the rendered text,
  indented like the line, before pymdownx.snippets reads the page.

Nothing here is committed as a file, so it cannot go stale. The notebook generator uses the same functions.
"""

from __future__ import annotations

from pathlib import Path

import project
import script
from project import DOCS, HANDSON_PAGE, INCLUDE, NOT_IN_NOTEBOOK_INSTALL, NOTEBOOK_VARIANT, SCRIPT, VARIANTS

# Where the URLs are unknown: how to open the downloaded notebook in Colab, in Colab's own words.
COLAB_UPLOAD = "Colab の「ファイル」→「ノートブックをアップロード」"
VERSIONS_PAGE = "versions.md"  # a page of the site that exists only in the build
# Includes (``--8<-- "name"``) that the build renders instead of reading a file: their names say so.
INSTALL_COMMAND = project.RENDERED_INCLUDES + "install-command.md"
TESTED_VERSIONS = project.RENDERED_INCLUDES + "tested-versions.md"
SCRIPT_INSTALL_COMMAND = project.RENDERED_INCLUDES + "script-install-command.md"
SCRIPT_OPTIONS = project.RENDERED_INCLUDES + "script-options.md"
GGUF_INSTALL_COMMAND = project.RENDERED_INCLUDES + "gguf-install-command.md"


def pip_install(requirements: list[str]) -> str:
    """``pip install`` with one package a line: every name readable on a phone, none under the copy button."""
    return " \\\n".join(["pip install", *(f"  {requirement}" for requirement in requirements)])


def install_command() -> str:
    return "```bash\n" + pip_install(project.pip_requirements(NOT_IN_NOTEBOOK_INSTALL)) + "\n```\n"


# How the GGUF page builds llama.cpp, the same build as README's GGUF test command (tests/pages/gguf/ checks):
# code for any x86-64 CPU with AVX2 rather than for the building machine's own (docs/gguf.md says why).
GGUF_CMAKE_ARGS = "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"


def gguf_install_command() -> str:
    """The GGUF page's install command: pyproject's gguf extra (llama-cpp-python and what its converter needs),
    built the way the tests build it (GGUF_CMAKE_ARGS)."""
    pins = [f'"{n}=={v}"' for n, v in project.pins("gguf").items()]
    return f'```bash\nCMAKE_ARGS="{GGUF_CMAKE_ARGS}" ' + pip_install(pins) + "\n```\n"


def script_install_command() -> str:
    script = SCRIPT.name
    return (
        "```bash\n"
        f"uv run {script}\n"
        "```\n\n"
        "uv を使わないときは、同じバージョンを pip で入れてから実行します。\n\n"
        "```bash\n"
        f"{pip_install(project.pip_requirements())}\n"
        f"python {script}\n"
        "```\n"
    )


def script_options() -> str:
    """The script's options as a table, read from its own argparse parser."""
    namespace: dict = {"__name__": "rendered"}
    exec(compile(script.script_source(), str(SCRIPT), "exec"), namespace)
    parser = namespace["build_parser"]()
    rows = ["| オプション | 説明 |", "| --- | --- |"]
    for action in parser._actions:
        if action.dest == "help":
            continue
        flag = action.option_strings[-1]
        if action.nargs == 0:
            metavar = ""
        elif action.choices:
            metavar = " {" + ",".join(action.choices) + "}"
        else:
            metavar = " " + (action.metavar or action.dest.upper())
        help_text = (action.help or "").replace("%(default)s", str(action.default))
        rows.append(f"| `{flag}{metavar}` | {help_text} |")
    return "\n".join(rows) + "\n"


def short_versions() -> str:
    return " / ".join(f"{name} {version}" for name, version in project.pins().items())


def tested_versions_include() -> str:
    colab = project.colab_url()
    if colab:
        forms = (
            f"同じ手順は [ノートブック版](notebooks/handson.ipynb)（[Colab で開く]({colab})）"
            "と、GPU サーバー向けの [スクリプト版](scaling.md) でも実行できます。"
        )
    else:  # no repository, no Colab link: say how to bring the notebook to Colab
        forms = (
            "同じ手順は [ノートブック版](notebooks/handson.ipynb) と、GPU サーバー向けの [スクリプト版](scaling.md) "
            "でも実行できます。ノートブックを Colab で使うときは、ノートブック版のページからダウンロードし、"
            f"{COLAB_UPLOAD}で開きます。"
        )
    # The links to the other forms stay in view; the version list (a note for the curious) is folded away.
    return (
        f"{forms}\n"
        "\n"
        '??? note page-meta "動作確認バージョン"\n'
        f"    このページのコードは {short_versions()} でテストしています。"
        "Colab では torch を入れ直さず、最初から入っているものを使います。"
        "詳しくは [動作確認バージョン](versions.md) を見てください。\n"
    )


def versions_page() -> str:
    handson, docs, test = project.pins("handson"), project.pins("docs"), project.pins("test")
    labels = project.tab_labels()
    lines = [
        "# 動作確認バージョン {#versions}",
        "",
        "このサイトのコードがテストされたライブラリのバージョンです。",
        "バージョンは `pyproject.toml` の `handson` extra の 1 か所だけに書いてあり、"
        "このページ、ハンズオンのインストールコマンド、ノートブック版、スクリプト版はそこから生成しています。",
        "",
        "## ライブラリ {#libraries}",
        "",
        "| パッケージ | バージョン | ノートブック版（Colab）の最初のセル |",
        "| --- | --- | --- |",
    ]
    for name, version in handson.items():
        note = (
            "入れ直しません（Colab の CUDA 版をそのまま使います）"
            if name in NOT_IN_NOTEBOOK_INSTALL
            else "このバージョンを入れます"
        )
        lines.append(f"| {name} | {version} | {note} |")
    lines += [
        "",
        "[llama.cpp と Ollama で使う（GGUF）](gguf.md) のページは、上の表に加えて次のバージョンでテストしています"
        "（`pyproject.toml` の `gguf` extra）。",
        "",
        "| パッケージ | バージョン |",
        "| --- | --- |",
        *(f"| {name} | {version} |" for name, version in project.pins("gguf").items()),
    ]
    lines += [
        "",
        f"Python は {project.requires_python()} です（`pyproject.toml` の `requires-python`）。",
        "",
        "## テストしたページ {#pages}",
        "",
        "次のページとファイルのコードは、どれも上の表の同じバージョンで、変更を加えるたびにテストしています。",
        "",
        "| ページ・ファイル | テストの内容 |",
        "| --- | --- |",
    ]
    for page in project.code_pages():
        rel = page.relative_to(DOCS).as_posix()
        tabs = "、".join(f"「{labels[v]}」" for v in VARIANTS) if page == HANDSON_PAGE else ""
        detail = f"ページの順番どおりに、GPU のタブごと（{tabs}）に全セルを実行" if tabs else "ページのコードを実行"
        lines.append(f"| [{project.page_title(page)}]({rel}) | {detail} |")
    lines += [
        f"| [ノートブック版](notebooks/handson.ipynb) | 「{labels[NOTEBOOK_VARIANT]}」の設定で、"
        "最初のセル（インストール）から最後まで Jupyter のカーネルで実行 |",
        f"| [スクリプト版]({SCRIPT.relative_to(DOCS).as_posix()}) | "
        "`accelerate launch` で 2 プロセス（CPU）の分散学習を実行し、両方のプロセスの LoRA の重みが一致することを確認 |",
        "",
        "テストは GPU のないマシンで、同じ構造の小さな代役モデルとサンプルデータを使って実行しています。"
        "コードは書き換えずにそのまま実行し、ラベルのマスク、学習で変わった重み、保存されたファイルなどを確かめています。",
        "",
        "## サイトの生成とテストに使ったツール {#tools}",
        "",
        "| パッケージ | バージョン | 用途 |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {name} | {version} | サイトの生成 |" for name, version in docs.items()]
    lines += [f"| {name} | {version} | テスト |" for name, version in test.items()]
    lines += [
        "",
        "## 新しいバージョンが出たら {#newer-releases}",
        "",
        "ライブラリの新しいリリースでハンズオンが動くかどうかは、リポジトリの `tools/check_drift.py` で確かめています"
        "（手順はリポジトリの .github/CONTRIBUTING.md の「バージョンを上げるとき」）。"
        "上の表より新しいバージョンを使うときは、エラーが出たら [困ったときは](concepts/troubleshooting.md) も見てください。",
        "",
    ]
    return "\n".join(lines)


RENDERERS = {
    INSTALL_COMMAND: install_command,
    TESTED_VERSIONS: tested_versions_include,
    SCRIPT_INSTALL_COMMAND: script_install_command,
    SCRIPT_OPTIONS: script_options,
    GGUF_INSTALL_COMMAND: gguf_install_command,
}


def include_text(name: str) -> str | None:
    """What ``--8<-- "name"`` shows on the site: rendered here, read from pymdownx.snippets' folders, or None."""
    if name in RENDERERS:
        return RENDERERS[name]()
    found = [base / name for base in project.snippet_dirs() if (base / name).exists()]
    return found[0].read_text(encoding="utf-8") if found else None


def page_text(page: Path) -> str:
    """A page's markdown: the file, or for the page that exists only in the build, its rendering."""
    if page == DOCS / VERSIONS_PAGE:
        return versions_page()
    return page.read_text(encoding="utf-8")


def render_includes(markdown: str) -> str:
    def replace(match):
        name = match["path"]
        if name not in RENDERERS:
            return match[0]
        indent = match[0][: len(match[0]) - len(match[0].lstrip())]
        text = RENDERERS[name]()
        return "\n".join(indent + line if line else "" for line in text.rstrip("\n").splitlines())

    return INCLUDE.sub(replace, markdown)


# --- the build's events (tools/site_build/hooks.py) ------------------------------------------------------


def on_files(files, config):
    from mkdocs.structure.files import File  # only the build needs mkdocs (the notebook generator uses this module)

    files.append(File.generated(config, VERSIONS_PAGE, content=versions_page()))
    return files


def on_page_markdown(markdown, page, config, files):
    return render_includes(markdown)
