"""The loss-mask view shown on the hands-on page (docs/data/loss-mask-sample.md) is the cell's own output.

tools/loss_mask_sample.py writes it from the real data, which CI does not have; what can be checked
here is that the sample is what the page's code (snippets/handson/loss_mask.py) renders: its two
display functions, run on the tokens the sample shows, give the sample back, and both forms show the
same tokens and labels, the trained ones ending in EOS.
"""

from __future__ import annotations

import ast
import html
import re

from project import DOCS, SNIPPETS

SAMPLE = (DOCS / "data" / "loss-mask-sample.md").read_text(encoding="utf-8")
OMITTED = "（プロンプトの途中は省略）"
SPAN = re.compile(r'<span style="(?P<style>[^"]*)">(?P<text>.*?)</span>', re.DOTALL)


def display_functions() -> dict:
    """as_html and as_text from the cell, without running the cell (it needs the model's tokenizer)."""
    tree = ast.parse((SNIPPETS / "handson" / "loss_mask.py").read_text(encoding="utf-8"))
    wanted = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in ("as_html", "as_text")]
    namespace: dict = {"html": html}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), "loss_mask.py", "exec"), namespace)
    return namespace


def boxes(spans: str) -> list[tuple[str, bool]]:
    """(token text, trained) for each span the notebook form shows."""
    return [
        (html.unescape(m["text"].replace("↵<br>", "\n")), m["style"].startswith("background"))
        for m in SPAN.finditer(spans)
    ]


def test_the_sample_is_what_the_cell_displays():
    functions = display_functions()
    shown = re.search(r'<div class="loss-mask-sample"[^>]*><p>(?P<counts>[^<]*)</p>(?P<html>.*)</div>\n', SAMPLE)
    assert shown, "no notebook form in the sample"
    legend_and_box = shown["html"]
    first, rest = legend_and_box.split(f"<br><span>{OMITTED}</span><br>")
    legend, first_spans = first.split('<div style="font-family:monospace;line-height:2">')
    last_spans = rest.removesuffix("</div>")
    head, tail = boxes(first_spans), boxes(last_spans)

    # The notebook form: the cell's as_html gives these very spans (and the legend)
    assert functions["as_html"](head).startswith(legend)
    assert functions["as_html"](head).endswith(first_spans + "</div>")
    assert functions["as_html"](tail).endswith(last_spans + "</div>")

    # The terminal form shows the same tokens and labels, as the cell's as_text writes them
    terminal = re.search(r"```text\n(?P<text>.*?)\n```", SAMPLE, re.DOTALL)["text"].split("\n")
    assert terminal[0] == html.unescape(shown["counts"])
    omitted = terminal.index(OMITTED)
    assert terminal[2:omitted] == functions["as_text"](head).rstrip("\n").split("\n")
    assert terminal[omitted + 1 :] == functions["as_text"](tail).split("\n")

    # What the view is for: the prompt is not trained, the summary and its EOS are
    assert not any(trained for _, trained in head)
    trained = [text for text, is_trained in tail if is_trained]
    assert trained and trained[-1] == "</s>"
    assert all(is_trained for _, is_trained in tail[tail.index((trained[0], True)) :])
    counts = re.match(r"全 (\d+) トークン: 損失を計算する (\d+) トークン", terminal[0])
    assert counts and int(counts[2]) >= len(trained)
