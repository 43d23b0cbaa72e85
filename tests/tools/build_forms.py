"""Generate every other form of the hands-on from the page, the snippets and the pins.

    python tests/tools/build_forms.py          # rewrite the generated files
    python tests/tools/build_forms.py --check  # list stale files, exit 1 if any

Sources (edit these, never the outputs):
- docs/handson.md: order of the cells and the prose around them;
- snippets/handson/**.py: the code, copied byte for byte;
- pyproject.toml, extra ``handson``: the tested versions (the only place they are pinned);
- mkdocs.yml: ``repo_url`` (Colab badge), ``site_url`` (links from the notebook to the site) and
  ``remote_branch`` (where the deployed site, with its copy of the notebook, lives). mkdocs.yml reads the
  two URLs from the environment variables REPO_URL and SITE_URL; unset (a local build, the committed
  files) there is no Colab badge and the notebook names the site's pages without linking to them.
  The deployment (.github/workflows/pages.yml) sets both and runs this script before ``mkdocs gh-deploy``.

Outputs (committed; tests/test_forms.py fails when one is stale): see ``outputs()``.
"""

from __future__ import annotations

import argparse
import ast
import html
import json
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml_env_tag import construct_env_tag  # mkdocs' own !ENV tag (package pyyaml_env_tag)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from handson_page import (  # noqa: E402
    DOCS,
    HANDSON_PAGE,
    INCLUDE,
    SNIPPETS,
    VARIANTS,
    Cell,
    cells_for,
    includes,
    page_cells,
)

NOTEBOOK = DOCS / "notebooks" / "handson.ipynb"
SCRIPT = DOCS / "downloads" / "train_sft_lora.py"
VERSIONS_PAGE = DOCS / "versions.md"
TESTED_VERSIONS_INCLUDE = DOCS / "includes" / "tested-versions.md"
INSTALL_COMMAND_INCLUDE = DOCS / "includes" / "install-command.md"
ACCELERATE_CONFIG = DOCS / "downloads" / "accelerate_multi_gpu.yaml"
ACCELERATE_CONFIG_INCLUDE = DOCS / "includes" / "accelerate-config.md"  # the same text, shown on docs/scaling.md
DATA = DOCS / "data"  # fragments written by tests/benchmarks/dataset_report.py from the real data

NOTEBOOK_VARIANT = "qlora_t4"  # Colab's free T4 runs it; QLoRA also runs on every larger GPU
SCRIPT_DEFAULT_VARIANT = "lora_bf16"  # the page's first tab; GPU servers usually have 24 GB or more
NOT_IN_NOTEBOOK_INSTALL = {"torch"}  # Colab ships a CUDA build of torch: keep it (FACTS 7)

GENERATED_NOTE = (
    "tests/tools/build_forms.py が生成したファイルです。直接編集せず、元のファイルを直して生成し直してください。"
)


# ---------------------------------------------------------------------------------------------
# The sources
# ---------------------------------------------------------------------------------------------


def pins(extra: str = "handson") -> dict[str, str]:
    """``{package: version}`` from pyproject's extra, in the order written there."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    result = {}
    for requirement in project["optional-dependencies"][extra]:
        name, sep, version = requirement.partition("==")
        if not sep:
            raise SystemExit(f"pyproject.toml の {extra} extra は「名前==バージョン」で固定してください: {requirement}")
        result[name.strip()] = version.strip()
    return result


def requires_python() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]


class _MkdocsYaml(yaml.SafeLoader):
    """mkdocs.yml as mkdocs reads it for the settings used here: !ENV resolved, other tags ignored."""


_MkdocsYaml.add_multi_constructor("", lambda loader, suffix, node: None)  # !relative, !!python/...
_MkdocsYaml.add_constructor("!ENV", construct_env_tag)


def mkdocs_setting(name: str) -> str | None:
    """A top-level setting of mkdocs.yml, with ``!ENV [VAR, default]`` resolved as mkdocs does."""
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_MkdocsYaml)
    value = config.get(name)
    return str(value) if value else None


def site_url(path: str = "") -> str | None:
    """The page's address on the published site, or None where the site's address is unknown."""
    base = mkdocs_setting("site_url")
    return None if base is None else base.rstrip("/") + "/" + path


def github_repository() -> str | None:
    """``owner/name`` of the GitHub repository (mkdocs.yml's repo_url), or None where it is unknown."""
    repo = mkdocs_setting("repo_url")
    if repo is None:
        return None
    match = re.fullmatch(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?", repo)
    if match is None:
        raise SystemExit(
            f"REPO_URL（mkdocs.yml の repo_url）は https://github.com/持ち主/リポジトリ の形にしてください"
            f"（Colab は GitHub にあるノートブックしか開けません）: {repo}"
        )
    return f"{match[1]}/{match[2]}"


def site_path(source: Path) -> str:
    """Where the built site keeps a notebook: next to its page (mkdocs-jupyter's include_source,
    use_directory_urls), e.g. docs/notebooks/handson.ipynb -> notebooks/handson/handson.ipynb."""
    return f"{source.relative_to(DOCS).with_suffix('').as_posix()}/{source.name}"


def colab_url(notebook: Path = NOTEBOOK) -> str | None:
    """Colab opens the notebook of the deployed site: ``mkdocs gh-deploy`` pushes the built site, with the
    notebook generated for that site, to the branch ``remote_branch`` (docs/overrides/main.html builds
    the site's Colab button the same way). None where the repository is unknown."""
    repo = github_repository()
    if repo is None:
        return None
    branch = mkdocs_setting("remote_branch") or "gh-pages"  # mkdocs' default
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{site_path(notebook)}"


# Where the URLs are unknown: how to open the downloaded notebook in Colab, in Colab's own words.
COLAB_UPLOAD = "Colab の「ファイル」→「ノートブックをアップロード」"


def tab_labels() -> dict[str, str]:
    """``{variant: tab label}`` as the page shows them (the tab holding that variant's snippets)."""
    labels: dict[str, str] = {}
    label = None
    for line in HANDSON_PAGE.read_text(encoding="utf-8").splitlines():
        if m := re.match(r'^=== "(.+)"\s*$', line):
            label = m[1]
        elif label and (m := INCLUDE.match(line)):
            variant = Path(m["path"]).parent.name
            if variant in VARIANTS:
                labels.setdefault(variant, label)
        elif line and not line.startswith((" ", "\t", "===")):
            label = None
    missing = set(VARIANTS) - set(labels)
    if missing:
        raise SystemExit(f"docs/handson.md に {sorted(missing)} のタブが見つかりません")
    return labels


def snippet_constant(cell_name: str, name: str) -> str:
    """The string a snippet assigns to a module-level constant (MODEL_ID, DATASET_ID)."""
    source = next(c for c in cells_for(VARIANTS[0]) if c.name == cell_name).source()[1]
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]:
            return ast.literal_eval(node.value)
    raise SystemExit(f"{cell_name} に {name} = ... がありません")


# ---------------------------------------------------------------------------------------------
# Small generated pages and includes
# ---------------------------------------------------------------------------------------------


def pip_requirements(exclude: set[str] = frozenset()) -> list[str]:
    return [f'"{name}=={version}"' for name, version in pins().items() if name not in exclude]


def install_command() -> str:
    return "```bash\npip install " + " ".join(pip_requirements(NOT_IN_NOTEBOOK_INSTALL)) + "\n```\n"


def script_install_command() -> str:
    script = SCRIPT.name
    return (
        "```bash\n"
        f"uv run {script}\n"
        "```\n\n"
        "uv を使わないときは、同じバージョンを pip で入れてから実行します。\n\n"
        "```bash\n"
        f"pip install {' '.join(pip_requirements())}\n"
        f"python {script}\n"
        "```\n"
    )


def script_options() -> str:
    """The script's options as a table, read from its own argparse parser."""
    namespace: dict = {"__name__": "build_forms"}
    exec(compile(script_source(), str(SCRIPT), "exec"), namespace)
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
    return f"<!-- {GENERATED_NOTE} -->\n" + "\n".join(rows) + "\n"


# The multi-GPU config that tests/test_forms.py launches (data parallel, one process per GPU).
ACCELERATE_CONFIG_TEXT = """\
# accelerate launch --config_file accelerate_multi_gpu.yaml train_sft_lora.py
# 1 台のマシンの複数 GPU で、データ並列（DDP）で学習する設定です。
# 各 GPU がモデル全体を持ち、バッチを分けて計算し、勾配を平均します。
compute_environment: LOCAL_MACHINE
distributed_type: MULTI_GPU
num_machines: 1
machine_rank: 0
num_processes: 2  # 使う GPU の数に合わせます
gpu_ids: all
mixed_precision: "no"  # bf16 / fp16 はスクリプトの学習の設定（SFTConfig）が決めます
downcast_bf16: "no"
rdzv_backend: static
same_network: true
main_training_function: main
enable_cpu_affinity: false
use_cpu: false
tpu_env: []
tpu_use_cluster: false
tpu_use_sudo: false
"""


def accelerate_config_include() -> str:
    return f"<!-- {GENERATED_NOTE} -->\n```yaml\n{ACCELERATE_CONFIG_TEXT}```\n"


def short_versions() -> str:
    return " / ".join(f"{name} {version}" for name, version in pins().items())


def tested_versions_include() -> str:
    colab = colab_url()
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
    return (
        f"<!-- {GENERATED_NOTE} -->\n"
        '!!! note "動作確認バージョン"\n'
        f"    このページのコードは {short_versions()} でテストしています。"
        "Colab では torch を入れ直さず、最初から入っているものを使います。"
        "詳しくは [動作確認バージョン](versions.md) を見てください。\n"
        "\n"
        f"    {forms}\n"
    )


def code_pages() -> list[Path]:
    """Pages that embed snippet code (every one of them runs in the tests)."""
    return [
        page
        for page in sorted(DOCS.rglob("*.md"))
        if "includes" not in page.relative_to(DOCS).parts and any(path.endswith(".py") for path, _ in includes(page))
    ]


def page_title(page: Path) -> str:
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return re.sub(r"\s*\{#[\w-]+\}\s*$", "", line[2:]).strip()
    return page.stem


def versions_page() -> str:
    handson, docs, test = pins("handson"), pins("docs"), pins("test")
    labels = tab_labels()
    lines = [
        f"<!-- {GENERATED_NOTE} -->",
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
        f"Python は {requires_python()} です（`pyproject.toml` の `requires-python`）。",
        "",
        "## テストしたページ {#pages}",
        "",
        "次のページとファイルのコードは、どれも上の表の同じバージョンで、変更を加えるたびにテストしています。",
        "",
        "| ページ・ファイル | テストの内容 |",
        "| --- | --- |",
    ]
    for page in code_pages():
        rel = page.relative_to(DOCS).as_posix()
        tabs = "、".join(f"「{labels[v]}」" for v in VARIANTS) if page == HANDSON_PAGE else ""
        detail = f"ページの順番どおりに、GPU のタブごと（{tabs}）に全セルを実行" if tabs else "ページのコードを実行"
        lines.append(f"| [{page_title(page)}]({rel}) | {detail} |")
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
        "ライブラリの新しいリリースでハンズオンが動くかどうかは、リポジトリの `tests/tools/check_drift.py` で確かめています"
        "（手順は README の「バージョンを上げるとき」）。"
        "上の表より新しいバージョンを使うときは、エラーが出たら [困ったときは](concepts/troubleshooting.md) も見てください。",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The notebook: the page, converted block by block
# ---------------------------------------------------------------------------------------------

HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.*?)(?:\s*\{#(?P<id>[\w-]+)\})?\s*$")
ADMONITION = re.compile(r'^(?:!!!|\?\?\?\+?)\s+(?P<kind>[\w-]+)(?:\s+"(?P<title>[^"]*)")?\s*$')
TAB = re.compile(r'^===\+?\s+"(?P<label>[^"]+)"\s*$')
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)")
# A relative link (not an image) with the spaces around it: [text](concepts/lora.md#anchor)
SITE_LINK = re.compile(
    r"(?P<before> ?)(?<!!)\[(?P<text>[^\]\n]+)\]\((?!https?://|#|mailto:)(?P<path>[^)#\s]+?)(?P<anchor>#[\w-]+)?\)(?P<after> ?)"
)
ADMONITION_TITLES = {"note": "メモ", "info": "情報", "tip": "ヒント", "warning": "注意", "danger": "危険"}


@dataclass
class NbCell:
    kind: str  # "markdown" or "code"
    id: str
    source: str
    tags: tuple[str, ...] = ()


# The badge image lives on colab.research.google.com: shown in Jupyter, Colab and GitHub, but
# left out of the site (mkdocs.yml remove_tag_config), which makes no request to other hosts and
# shows its own Colab button instead (docs/overrides/main.html).
COLAB_BADGE_TAG = "colab-badge"


def site_links(text: str) -> str:
    """Relative links to the site's pages, which lead nowhere in Jupyter or Colab.

    With a known site address they become absolute links to the published pages; without one the
    page is named instead (サイトの「LoRA と QLoRA」のページ), never linked to a local address.
    """

    def replace(match: re.Match) -> str:
        path, text = match["path"], match["text"]
        is_page = path.endswith(".md")
        if is_page:
            path = path[: -len("index.md")] if path.endswith("index.md") else path[: -len(".md")] + "/"
        url = site_url(path)
        if url is None:
            return f"サイトの「{text}」{'のページ' if is_page else ''}"
        return f"{match['before']}[{text}]({url}{match['anchor'] or ''}){match['after']}"

    return SITE_LINK.sub(replace, text)


def data_include(path: str) -> list[str]:
    """A docs/data fragment's lines without its "generated" comment."""
    lines = (DATA / path).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if not line.startswith("<!--")]


def expand_data_includes(lines: list[str]) -> list[str]:
    """Inline docs/data fragments (inside fences and admonitions too), keeping the include's indent."""
    result = []
    for line in lines:
        m = INCLUDE.match(line)
        if m and (DATA / m["path"]).exists():
            indent = line[: len(line) - len(line.lstrip())]
            result += [indent + text if text else "" for text in data_include(m["path"])]
        else:
            result.append(line)
    return result


def indented_block(lines: list[str], start: int) -> tuple[list[str], int]:
    """The lines indented under a tab or admonition (blank lines inside kept), dedented by 4."""
    body, i = [], start
    while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
        body.append(lines[i][4:])
        i += 1
    while body and not body[-1].strip():
        body.pop()
        i -= 1
    return body, i


class NotebookBuilder:
    def __init__(self, variant: str):
        self.variant = variant
        self.labels = tab_labels()
        self.cells: list[NbCell] = []
        self.markdown: list[str] = []
        self.section = "intro"
        self.ids: set[str] = set()

    def new_id(self, base: str) -> str:
        base = re.sub(r"[^\w-]", "-", base)[:60]
        candidate, n = base, 1
        while candidate in self.ids:
            n += 1
            candidate = f"{base}-{n}"
        self.ids.add(candidate)
        return candidate

    def flush(self) -> None:
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(self.markdown)).strip("\n")
        if text.strip():
            self.cells.append(NbCell("markdown", self.new_id(f"md-{self.section}"), text))
        self.markdown = []

    def code(self, cell_id: str, source: str) -> None:
        self.flush()
        self.cells.append(NbCell("code", self.new_id(cell_id), source))

    def snippet(self, path: str, section: str | None) -> None:
        cell = Cell(SNIPPETS / path, section)
        if cell.variant not in (None, self.variant):
            raise SystemExit(f"{path}: {self.variant} のノートブックに別の GPU の設定が混じっています")
        stem = cell.path.relative_to(SNIPPETS / "handson").with_suffix("").as_posix().replace("/", "-")
        self.code(stem, cell.source()[1])  # the snippet file, byte for byte

    def include(self, path: str) -> None:
        if (DATA / path).exists():  # a generated fragment about the real data: its text, as the site shows it
            self.markdown += [absolute_links(line) for line in data_include(path)]
        elif path == INSTALL_COMMAND_INCLUDE.name:
            self.code("install", "%pip install " + " ".join(pip_requirements(NOT_IN_NOTEBOOK_INSTALL)) + "\n")
        elif path == TESTED_VERSIONS_INCLUDE.name:
            self.markdown += [
                f"> **動作確認バージョン**: {short_versions()}。"
                + site_links(
                    "Colab では torch を入れ直さず、最初から入っているものを使います（[動作確認バージョン](versions.md)）。"
                ),
                "",
            ]
        else:
            raise SystemExit(f'docs/handson.md の「--8<-- "{path}"」をノートブックに変換する方法がありません')

    def heading(self, level: int, text: str, anchor: str | None) -> None:
        self.flush()
        self.section = anchor or "title"
        if level == 1:
            colab = colab_url()
            if colab:  # where the repository is unknown there is nothing to link to: no badge
                badge = f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab})"
                self.cells.append(NbCell("markdown", self.new_id(COLAB_BADGE_TAG), badge, (COLAB_BADGE_TAG,)))
            self.markdown += [
                f'<h1 id="{anchor or "handson-notebook"}">{html.escape(text)}（ノートブック版）</h1>',
                "",
                site_links(
                    "このノートブックは [ハンズオン](handson.md) と同じファイルから自動で作っています。"
                    "コードはページと 1 文字も違いません。"
                ),
                site_links(
                    f"GPU の設定は「{self.labels[self.variant]}」です（Colab の無料枠の T4 でも動きます）。"
                    f"24 GB 以上の GPU で「{self.labels[SCRIPT_DEFAULT_VARIANT]}」を使うときは、ハンズオンの同じ名前のタブのコードを使うか、"
                    "[複数 GPU とスクリプト版](scaling.md) のスクリプトを使ってください。"
                ),
                "",
            ]
            if not colab:
                self.markdown += [
                    f"> **Colab で開くには**: このノートブック（`{NOTEBOOK.name}`）をダウンロードし"
                    f"（サイトではこのページの右上のボタン）、{COLAB_UPLOAD}で選びます。",
                    "",
                ]
            return
        if anchor is None:
            raise SystemExit(
                f"docs/handson.md の見出し「{text}」に {{#id}} を付けてください（ノートブックの検索とリンクに使います）"
            )
        # mkdocs-jupyter would slugify a Markdown heading to id="" (Japanese): an HTML heading keeps the page's id.
        self.markdown += [f'<h{level} id="{anchor}">{html.escape(text)}</h{level}>', ""]

    def convert(self, lines: list[str]) -> None:
        i = 0
        while i < len(lines):
            line = lines[i]
            if m := FENCE.match(line):
                end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == m["fence"])
                body = lines[i + 1 : end]
                found = [INCLUDE.match(b) for b in body if b.strip()]
                if found and all(found):
                    for inc in found:
                        self.snippet(inc["path"], inc["section"])
                else:
                    self.markdown += lines[i : end + 1]
                i = end + 1
            elif m := TAB.match(line):
                tabs = []
                while i < len(lines) and (m := TAB.match(lines[i])):
                    body, i = indented_block(lines, i + 1)
                    tabs.append((m["label"], body))
                    while i < len(lines) and not lines[i].strip() and i + 1 < len(lines) and TAB.match(lines[i + 1]):
                        i += 1
                chosen = [body for label, body in tabs if label == self.labels[self.variant]]
                if len(chosen) != 1:
                    raise SystemExit(
                        f"タブ {[label for label, _ in tabs]} に「{self.labels[self.variant]}」がありません"
                    )
                self.markdown += [f"**「{self.labels[self.variant]}」のコードです。**", ""]
                self.convert(chosen[0])
            elif m := ADMONITION.match(line):
                body, i = indented_block(lines, i + 1)
                title = m["title"] or ADMONITION_TITLES.get(m["kind"], m["kind"])
                quoted = [f"> **{title}**", ">"] + [f"> {site_links(b)}".rstrip() for b in body]
                self.markdown += quoted + [""]
            elif m := HEADING.match(line):
                self.heading(len(m["hashes"]), m["text"], m["id"])
                i += 1
            elif m := INCLUDE.match(line):
                self.include(m["path"])
                i += 1
            else:
                self.markdown.append(site_links(line))
                i += 1
        self.flush()


def notebook_json(variant: str = NOTEBOOK_VARIANT) -> str:
    builder = NotebookBuilder(variant)
    builder.convert(expand_data_includes(HANDSON_PAGE.read_text(encoding="utf-8").splitlines()))
    cells = []
    for cell in builder.cells:
        metadata = {"tags": list(cell.tags)} if cell.tags else {}
        entry = {"cell_type": cell.kind, "id": cell.id, "metadata": metadata, "source": cell.source.splitlines(True)}
        if cell.kind == "code":
            entry.update(execution_count=None, outputs=[])
        cells.append(entry)
    notebook = {
        "cells": cells,
        "metadata": {
            "accelerator": "GPU",  # Colab opens it on a GPU runtime
            "colab": {"gpuType": "T4", "provenance": []},
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, ensure_ascii=False, indent=1) + "\n"


# ---------------------------------------------------------------------------------------------
# The standalone script: the page's cells in page order, every variant, behind argparse
# ---------------------------------------------------------------------------------------------

# Where each cell runs under ``accelerate launch``: on every process, or on the main process only
# (demos, saving, merging and uploading; DDP keeps the same weights on every process).
MAIN_ONLY = {
    "check_gpu",
    "before_training",
    "plot_loss",
    "after_training",
    "rouge",
    "evaluate",
    "save_adapter",
    "merge",
    "push_to_hub",
}
OPT_IN = {"push_to_hub": "push"}  # cells that run only when their command-line flag is given
AFTER_CELL = {"training_args", "plot_loss"}  # the script adjusts their results (see SCRIPT_RUNTIME)

SCRIPT_RUNTIME = '''
CommandLine = argparse.Namespace


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="ハンズオン「LoRA で要約モデルを作る」を最初から最後まで実行します（既定値はハンズオンと同じです）。",
    )
    parser.add_argument("--model", default=DEFAULTS["MODEL_ID"], help="基盤モデルの Hub の ID（既定: %(default)s）")
    parser.add_argument("--dataset", default=DEFAULTS["DATASET_ID"], help="データセットの Hub の ID（既定: %(default)s）")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("."),
        help="このフォルダの下の outputs/ に、ハンズオンと同じ名前でアダプターとマージ済みモデルを保存します（既定: 今のフォルダ）",
    )
    parser.add_argument(
        "--variant",
        choices=list(VARIANTS),
        default=DEFAULT_VARIANT,
        help="GPU に合わせた設定: " + " / ".join(f"{key} = {label}" for key, label in VARIANTS.items()) + "（既定: %(default)s）",
    )
    parser.add_argument(
        "--max-steps", type=int, default=-1, help="学習するステップ数。-1 ならハンズオンと同じく 1 エポック（既定: %(default)s）"
    )
    parser.add_argument("--push", action="store_true", help="最後にアダプターを自分の Hub のリポジトリ（非公開）に上げます")
    return parser


def parse_args(argv=None) -> CommandLine:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.max_steps == 0 or args.max_steps < -1:
        parser.error("--max-steps には 1 以上の数か、1 エポック学習する -1 を指定してください。")
    return args


class Namespace(MutableMapping):
    """One namespace for all cells, like a notebook's; the command line's values win.

    A cell's own ``MODEL_ID = "..."`` (or DATASET_ID) is ignored when the command line gave
    that name, so the cell's code, unchanged, loads what you asked for.
    """

    def __init__(self, fixed: dict):
        self.globals = {"__name__": "__main__", "__builtins__": __builtins__, **fixed}
        self.fixed = set(fixed)

    def __getitem__(self, key):
        return self.globals[key]

    def __setitem__(self, key, value):
        if key not in self.fixed:
            self.globals[key] = value

    def __delitem__(self, key):
        del self.globals[key]

    def __iter__(self):
        return iter(self.globals)

    def __len__(self):
        return len(self.globals)

    def run(self, name: str, source: str) -> None:
        filename = f"<ハンズオンのセル {name}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)  # for tracebacks
        exec(compile(source, filename, "exec"), self.globals, self)


@contextlib.contextmanager
def one_model_per_process(distributed: bool):
    """With several processes, each loads the whole model onto its own device.

    The cells load with device_map="auto", which spreads one model over all GPUs: right for one
    process, wrong for data parallel training (accelerate refuses to train such a model).
    """
    if not distributed:
        yield
        return
    from accelerate import PartialState
    from transformers import AutoModelForCausalLM

    device = PartialState().device
    original = AutoModelForCausalLM.from_pretrained
    own = vars(AutoModelForCausalLM).get("from_pretrained")  # put back exactly what was there

    def from_pretrained(*args, **kwargs):
        if kwargs.get("device_map") == "auto":
            kwargs["device_map"] = {"": device}
        return original(*args, **kwargs)

    AutoModelForCausalLM.from_pretrained = from_pretrained
    print(f"分散学習: このプロセスは {device} にモデル全体を読み込みます。")
    try:
        yield
    finally:
        if own is None:
            del AutoModelForCausalLM.from_pretrained
        else:
            AutoModelForCausalLM.from_pretrained = own


def main(argv=None) -> dict:
    args = parse_args(argv)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    is_main = int(os.environ.get("RANK", "0")) == 0
    if world_size > 1:
        from huggingface_hub import get_token

        if get_token() is None:
            sys.exit(
                "複数のプロセスで実行するときは、先に Hugging Face にログインしておいてください"
                "（`hf auth login` を実行するか、環境変数 HF_TOKEN にトークンを設定します）。"
            )
    args.output_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(args.output_dir)  # the cells write to ./outputs/..., as in the hands-on
    namespace = Namespace({"MODEL_ID": args.model, "DATASET_ID": args.dataset})
    if is_main:
        print(f"設定: {VARIANTS[args.variant]} / モデル {args.model} / データセット {args.dataset} / 出力 {Path.cwd()}")

    for name, variant, main_only, flag, source in CELLS:
        if variant not in (None, args.variant) or (flag and not getattr(args, flag)) or (main_only and not is_main):
            continue
        quiet = contextlib.redirect_stdout(io.StringIO()) if not is_main else contextlib.nullcontext()
        with quiet, one_model_per_process(world_size > 1 and name == "load_model"):
            namespace.run(name, source)
        if name == "training_args":
            namespace["training_args"].max_steps = args.max_steps
        if name == "plot_loss" and "fig" in namespace:  # no window on a server: keep the graph as a file
            Path("outputs").mkdir(exist_ok=True)
            namespace["fig"].savefig("outputs/loss.png")
            print(f"損失のグラフを {Path('outputs/loss.png').resolve()} に保存しました。")
    return namespace.globals


if __name__ == "__main__":
    main()
'''


def pep723_header() -> str:
    deps = "".join(f'#     "{name}=={version}",\n' for name, version in pins().items())
    return f'# /// script\n# requires-python = "{requires_python()}"\n# dependencies = [\n{deps}# ]\n# ///\n'


def as_raw_string(source: str, where: str) -> str:
    if "'''" in source or source.endswith("\\"):
        raise SystemExit(f"{where} は ''' を含むか \\ で終わるので、スクリプトに埋め込めません")
    return "r'''" + source + "'''"


def script_source() -> str:
    labels = tab_labels()
    names = {cell.name for cell in page_cells()}
    unknown = (MAIN_ONLY | set(OPT_IN) | AFTER_CELL) - names
    if unknown:
        raise SystemExit(
            f"build_forms.py が知っているセル {sorted(unknown)} がページにありません。MAIN_ONLY などを直してください"
        )
    entries = []
    for cell in page_cells():  # every variant's cells, in page order; the script picks one variant
        rel = cell.path.relative_to(SNIPPETS).as_posix()
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
    install = "pip install " + " ".join(pip_requirements())
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
        "    uv run train_sft_lora.py                       # 依存ライブラリは下の script ブロックから入ります\n"
        f"    {install}\n"
        "    python train_sft_lora.py --variant qlora_t4   # 16 GB の GPU（T4 など）\n"
        "    accelerate launch --config_file accelerate_multi_gpu.yaml train_sft_lora.py   # 複数 GPU\n"
        "\n"
        "オプションは python train_sft_lora.py --help で確かめられます。\n"
        '"""\n'
        "\n"
        "import argparse\n"
        "import contextlib\n"
        "import io\n"
        "import linecache\n"
        "import os\n"
        "import sys\n"
        "from collections.abc import MutableMapping\n"
        "from pathlib import Path\n"
        "\n"
        f"VARIANTS = {json.dumps(labels, ensure_ascii=False)}\n"
        f"DEFAULT_VARIANT = {json.dumps(SCRIPT_DEFAULT_VARIANT)}\n"
        "DEFAULTS = {"
        f'"MODEL_ID": {json.dumps(snippet_constant("load_tokenizer", "MODEL_ID"))}, '
        f'"DATASET_ID": {json.dumps(snippet_constant("prepare_dataset", "DATASET_ID"))}'
        "}\n"
        "\n"
        "# (名前, GPU の設定（None はどちらでも）, メインのプロセスだけで実行するか, 実行に必要なオプション, コード)\n"
        "CELLS = [\n" + "".join(entries) + "]\n" + SCRIPT_RUNTIME
    )


# ---------------------------------------------------------------------------------------------


def outputs() -> dict[Path, str]:
    return {
        NOTEBOOK: notebook_json(),
        SCRIPT: script_source(),
        VERSIONS_PAGE: versions_page(),
        TESTED_VERSIONS_INCLUDE: tested_versions_include(),
        INSTALL_COMMAND_INCLUDE: install_command(),
        DOCS / "includes" / "script-install-command.md": script_install_command(),
        DOCS / "includes" / "script-options.md": script_options(),
        ACCELERATE_CONFIG: ACCELERATE_CONFIG_TEXT,
        ACCELERATE_CONFIG_INCLUDE: accelerate_config_include(),
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
            print(f"古くなっています: {path.relative_to(ROOT)}")
        return int(bool(old))
    print(
        f"リポジトリ: {mkdocs_setting('repo_url') or '不明（REPO_URL なし: Colab のバッジは付けません）'} / "
        f"サイト: {site_url() or '不明（SITE_URL なし: サイトのページはリンクせず名前で書きます）'}"
    )
    for path, text in outputs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"生成しました: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
