"""The hands-on's loss-mask view (step 3) as the real data shows it: docs/data/loss-mask-sample.md.

    python tools/loss_mask_sample.py     # needs the real data and tokenizer (../shared/data), like dataset_report.py

Runs the hands-on's cells up to step 3 on the real dataset and the model's real tokenizer
(tools/real_data.py), then the loss-mask cell (snippets/handson/loss_mask.py) unmodified: once as in a
terminal (what it prints) and once as in a notebook (the HTML it displays, caught from IPython's
display). The page shows both, for the first training example, with the middle of the prompt left
out (the first line, then from the last "### 応答" line to the end: where the mask starts).
tests/pages/handson/test_handson_loss_mask_sample.py checks that the two forms show the same tokens and labels.
"""

from __future__ import annotations

import contextlib
import datetime
import html
import io
import re
import sys
from pathlib import Path

from project import DATA, ROOT, cell
from real_data import DEFAULT_DATA, DEFAULT_TOKENIZER, run_cells

OUT = DATA / "loss-mask-sample.md"
COMMAND = "python tools/loss_mask_sample.py"
GENERATED = f"{COMMAND} が生成したファイルです。直接編集しないでください。"
OMITTED = "（プロンプトの途中は省略）"
SPAN = re.compile(r"<span [^>]*>.*?</span>", re.DOTALL)
BOX = re.compile(r'(<div style="[^"]*">)(.*)(</div>)$', re.DOTALL)


def outputs(namespace: dict) -> tuple[str, str]:
    """(what the cell prints in a terminal, the HTML it displays in a notebook) for train_dataset[0]."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        cell("loss_mask").run(namespace)
    import IPython.display

    shown = []
    real_display = IPython.display.display
    IPython.display.display = lambda obj: shown.append(obj.data)
    namespace["in_notebook"] = lambda: True  # as in Jupyter or Colab
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            namespace["show_loss_mask"](namespace["train_dataset"][0])
    finally:
        IPython.display.display = real_display
    return printed.getvalue(), shown[0]


def shortened_text(printed: str) -> str:
    """The terminal form: the two header lines, the first token line, then from the last ### line."""
    lines = printed.rstrip("\n").split("\n")
    last = max(i for i, line in enumerate(lines) if line.startswith("###"))
    return "\n".join([*lines[:3], OMITTED, *lines[last:]])


def shortened_html(shown: str) -> str:
    """The notebook form, cut the same way: the spans of the first line, then from the last ### line."""
    legend, box = shown.split("</p>", 1)
    opening, body, closing = BOX.match(box).groups()
    spans = SPAN.findall(body)
    starts = [0] + [i + 1 for i, span in enumerate(spans[:-1]) if "↵<br>" in span]
    first_line_end = starts[1]
    last = max(s for s in starts if re.sub(r"<[^>]+>", "", spans[s]).startswith("###"))
    omitted = f"<br><span>{OMITTED}</span><br>"
    return f"{legend}</p>{opening}{''.join(spans[:first_line_end])}{omitted}{''.join(spans[last:])}{closing}"


def include(printed: str, shown: str) -> str:
    counts = printed.split("\n", 1)[0]  # printed above the display in a notebook too
    return (
        f"<!-- {GENERATED} -->\n"
        "\n"
        f"実際のデータセットの学習用の最初の例では、次のように表示されます{OMITTED}。"
        f"生成: {datetime.date.today().isoformat()}、`{COMMAND}`。\n"
        "\n"
        "ノートブックの表示:\n"
        "\n"
        f'<div class="loss-mask-sample" data-search-exclude><p>{html.escape(counts)}</p>{shortened_html(shown)}</div>\n'
        "\n"
        "ターミナルの表示:\n"
        "\n"
        "```text\n"
        f"{shortened_text(printed)}\n"
        "```\n"
    )


def main() -> int:
    for path in (DEFAULT_DATA, DEFAULT_TOKENIZER / "tokenizer.json"):
        if not path.exists():
            print(f"実データがありません: {path}（.github/CONTRIBUTING.md の「実データの数字」）", file=sys.stderr)
            return 1
    namespace, _, _ = run_cells(DEFAULT_DATA, DEFAULT_TOKENIZER)
    OUT.write_text(include(*outputs(namespace)), encoding="utf-8")
    print(f"生成しました: {Path(OUT).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
