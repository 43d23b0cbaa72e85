"""docs/notebooks/handson.ipynb: the hands-on page converted block by block (one GPU tab).

Code cells are the snippet files byte for byte; prose keeps the page's headings (with their ids,
as HTML: mkdocs-jupyter gives Japanese Markdown headings id=""), admonitions become quotes, lines
that break inside a Japanese sentence are joined (tools/site_build/japanese_text.py), links
to the site become absolute where the site's address is known and page names where it is not.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

import project
from project import (
    DATA_INCLUDES,
    DOCS,
    HANDSON_PAGE,
    INCLUDE,
    NOT_IN_NOTEBOOK_INSTALL,
    NOTEBOOK_VARIANT,
    SCRIPT_DEFAULT_VARIANT,
    SNIPPETS,
    Cell,
)
from site_build import rendered
from site_build.japanese_text import join_markdown_lines

HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<text>.*?)(?:\s*\{#(?P<id>[\w-]+)\})?\s*$")
# !!! note "title", ??? info page-meta "title" (collapsible, with an extra CSS class)
ADMONITION = re.compile(r'^(?:!!!|\?\?\?\+?)\s+(?P<kind>[\w-]+)(?:\s+[\w-]+)*(?:\s+"(?P<title>[^"]*)")?\s*$')
TAB = re.compile(r'^===\+?\s+"(?P<label>[^"]+)"\s*$')
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)")
# A relative link (not an image) with the spaces around it: [text](concepts/lora.md#anchor)
SITE_LINK = re.compile(
    r"(?P<before> ?)(?<!!)\[(?P<text>[^\]\n]+)\]\((?!https?://|#|mailto:)(?P<path>[^)#\s]+?)(?P<anchor>#[\w-]+)?\)(?P<after> ?)"
)
LOSS_MASK_SAMPLE = DATA_INCLUDES + "loss-mask-sample.md"  # written by tools/loss_mask_sample.py
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
        url = project.site_url(path)
        if url is None:
            return f"サイトの「{text}」{'のページ' if is_page else ''}"
        return f"{match['before']}[{text}]({url}{match['anchor'] or ''}){match['after']}"

    return SITE_LINK.sub(replace, text)


def data_include(path: str) -> list[str]:
    """A docs/data fragment's lines without its "generated" comment."""
    lines = (DOCS / path).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if not line.startswith("<!--")]


def expand_data_includes(lines: list[str]) -> list[str]:
    """Inline docs/data fragments (inside fences and admonitions too), keeping the include's indent; not the
    loss-mask sample, a recorded display of a cell's output (in the notebook the cell shows the real one)."""
    result = []
    for line in lines:
        m = INCLUDE.match(line)
        if m and m["path"].startswith(DATA_INCLUDES) and m["path"] != LOSS_MASK_SAMPLE:
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
        self.labels = project.tab_labels()
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
        text = join_markdown_lines(text)  # Jupyter and Colab would show a space at each line break
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
        if path == rendered.INSTALL_COMMAND:
            # one package a line, as on the page (IPython joins the lines a backslash continues)
            self.code("install", "%" + rendered.pip_install(project.pip_requirements(NOT_IN_NOTEBOOK_INSTALL)) + "\n")
        elif path == rendered.TESTED_VERSIONS:
            self.markdown += [
                f"> **動作確認バージョン**: {rendered.short_versions()}。"
                + site_links(
                    "Colab では torch を入れ直さず、最初から入っているものを使います（[動作確認バージョン](versions.md)）。"
                ),
                "",
            ]
        elif path == LOSS_MASK_SAMPLE:
            pass  # a recorded display of the cell above: in the notebook the cell shows the real one
        else:
            raise SystemExit(f'docs/handson.md の「--8<-- "{path}"」をノートブックに変換する方法がありません')

    def heading(self, level: int, text: str, anchor: str | None) -> None:
        self.flush()
        self.section = anchor or "title"
        if level == 1:
            colab = project.colab_url()
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
                    f"> **Colab で開くには**: このノートブック（`{project.NOTEBOOK.name}`）をダウンロードし"
                    f"（サイトでは、このページの最初にある「ノートブック（.ipynb）をダウンロード」のボタン）、{rendered.COLAB_UPLOAD}で選びます。",
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
                if any(b.lstrip().startswith("|") for b in body):
                    # nbconvert (the site's notebook page) shows a table inside a quote as raw text
                    self.markdown += [f"**{title}**", ""] + [site_links(b) for b in body] + [""]
                else:
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
            "generated_by": "python tools/build_forms.py",  # from docs/handson.md and snippets/: do not edit
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, ensure_ascii=False, indent=1) + "\n"
