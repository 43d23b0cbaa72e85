"""docs/handson.md, step 3: the loss-mask view, on the page's run and rerun in a notebook, without IPython, on an
example with split characters, and on a wrong mask. (The sample the page shows: test_handson_loss_mask_sample.py.)"""

from __future__ import annotations

import re
import sys
from types import SimpleNamespace

import pytest

from handson_checks import run_cell_printing, tokenized_example


def test_loss_mask_view_shows_what_the_trainer_trains(handson):
    """Step 3 makes the labels before the trainer exists: they are the trainer's, for every example."""
    ns = handson.namespace
    tokenizer = ns["tokenizer"]
    assert len(handson.trainer.train_dataset) == len(ns["train_dataset"])
    for position, example in enumerate(ns["train_dataset"]):
        ids, labels = ns["tokens_and_labels"](example)
        assert (ids, labels) == tokenized_example(handson.trainer, position)  # what the collator gives the model
        trained = [token for token, label in zip(ids, labels) if label != -100]
        assert tokenizer.decode(trained) == example["completion"] + tokenizer.eos_token
    # What the cell printed for the first example: the summary and the EOS, and only they, in brackets.
    view = handson.stdout.split("| がトークンの区切り、↵ が改行です。\n", 1)[1]
    before, inside = view.split("[[", 1)
    inside = inside.split("]]", 1)[0]
    assert before.startswith("<s>|") and before.endswith("答|↵\n")  # the prompt, up to "### 応答" and its newline
    assert inside.replace("↵\n", "\n").replace("|", "") == ns["train_dataset"][0]["completion"] + "</s>"
    assert inside.endswith("|</s>")


# "鬱蒼" is not in the vocabulary: each character becomes three byte tokens.
EXAMPLE = {"prompt": "### 指示\n要約してください。\n\n### 応答\n", "completion": "鬱蒼とした森。"}


@pytest.fixture
def mask_cell(tokenizer) -> dict:
    return {"__name__": "__main__", "tokenizer": tokenizer, "MAX_LENGTH": 2048, "train_dataset": [EXAMPLE]}


def test_terminal_view_brackets_exactly_the_summary_and_eos(mask_cell, tokenizer):
    namespace, out = run_cell_printing("loss_mask", mask_cell)
    ids, labels = namespace["loss_mask_ids"], namespace["loss_mask_labels"]
    assert ids[-1] == tokenizer.eos_token_id and labels[-1] == tokenizer.eos_token_id
    view = out.splitlines()[2:]
    assert view[0] == "<s>| ###| |指|示|↵"  # token by token, newlines shown
    inside = "\n".join(view).split("[[", 1)[1]
    assert inside.endswith("]]") and inside.count("[[") == 0
    assert inside[:-2].split("|") == ["鬱", "蒼", "と", "し", "た", "森", "。", "</s>"]  # 3 byte tokens -> one box
    trained = sum(label != -100 for label in labels)
    assert trained == 2 * 3 + 5 + 1 == len(ids) - len(tokenizer(EXAMPLE["prompt"]).input_ids)  # bytes, chars, EOS
    assert (
        f"全 {len(ids)} トークン: 損失を計算する {trained} トークン、ラベルが -100 の {len(ids) - trained} トークン"
        in out
    )


def test_notebook_view_is_coloured_html(mask_cell, tokenizer, monkeypatch):
    from html import escape

    import IPython
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace(kernel=object()))  # a Jupyter/Colab kernel
    monkeypatch.setattr(IPython.display, "display", shown.append)
    _, out = run_cell_printing("loss_mask", mask_cell)
    (html,) = [item.data for item in shown]
    assert "[[" not in out and "|" not in out  # no terminal markers in a notebook
    trained = re.findall(r'<span style="background:#c8e6c9[^"]*">(.*?)</span>', html.split("</p>", 1)[1])
    assert "".join(trained) == EXAMPLE["completion"] + "&lt;/s&gt;"  # the summary and a visible EOS, escaped
    prompt = re.findall(r'<span style="color:#757575[^"]*">(.*?)</span>', html)
    prompt_ids = tokenizer(EXAMPLE["prompt"]).input_ids
    assert "".join(prompt) == escape(tokenizer.decode(prompt_ids)).replace("\n", "↵<br>")  # every other token, grey


def test_without_ipython_the_view_is_plain_text(mask_cell, monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", None)  # a plain Python (the script form): import fails
    namespace, out = run_cell_printing("loss_mask", mask_cell)
    assert namespace["in_notebook"]() is False and "[[" in out


def test_a_wrong_mask_shows_where_training_happens(mask_cell):
    """What an old-style collator that masks the EOS would look like: the EOS stands outside the brackets."""
    namespace, _ = run_cell_printing("loss_mask", mask_cell)
    boxes = [("<s>", False), ("要約", True), ("</s>", False)]
    assert namespace["as_text"](boxes) == "<s>[[要約]]</s>"
