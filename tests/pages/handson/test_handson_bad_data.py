"""docs/handson.md, steps 2-3 on rows the page's data never has: broken rows, nothing left, made-up copies,
stray whitespace. The cells run unmodified; only the rows they get change."""

from __future__ import annotations

import pytest

import standin
from handson_checks import run_cell


@pytest.fixture(scope="module")
def data_cell(hub) -> dict:
    return run_cell("prepare_dataset")


GOOD = {
    "index": "0",
    "instruction": "要約してください。",
    "input": "長い文章です。",
    "output": "短い要約。",
    "category": "summarization",
}


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ({k: v for k, v in GOOD.items() if k != "output"}, "「output」が文字列ではありません（値: None）"),
        ({**GOOD, "input": 3}, "「input」が文字列ではありません（値: 3）"),
        ({**GOOD, "category": None}, "「category」が文字列ではありません"),
    ],
)
def test_broken_rows_get_a_clear_message(data_cell, broken, message):
    with pytest.raises(ValueError, match=message) as error:
        data_cell["select_summaries"]([GOOD, {**broken, "index": "7"}])
    assert "index=7 の行" in str(error.value)


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [{**GOOD, "category": "open_qa"}],
        [{**GOOD, "category": "summarization", "output": " "}],
    ],
)
def test_nothing_left_after_filtering_is_a_clear_error(data_cell, rows):
    with pytest.raises(ValueError, match="使える要約の行が 1 件もありません"):
        data_cell["select_summaries"](rows)


def test_cleaning_rules_on_made_up_rows(data_cell):
    base = {**GOOD, "input": "0123456789" * 5}
    rows = [
        {**base, "index": "empty", "output": "  "},
        {**base, "index": "same", "output": " " + base["input"]},
        {**base, "index": "near", "output": base["input"] + "0"},  # ratio 100/101: almost a copy
        {**base, "index": "summary", "output": "0123456789"},  # ratio 20/60: a real shortening
        {**base, "index": "edge", "output": base["input"][:41]},  # ratio 82/91 = 0.901: just a near-copy
        {**base, "index": "below", "output": base["input"][:40]},  # ratio 80/90 = 0.889: kept
        {**base, "index": "at", "input": base["input"] + "01234", "output": base["input"][:45]},  # 90/100 = 0.9
    ]
    kept, dropped = data_cell["select_summaries"](rows)
    assert [row["index"] for row in kept] == ["summary", "below"]
    ratio = data_cell["NEAR_COPY_RATIO"]
    assert dict(dropped) == {
        "入力か出力が空": 1,
        "出力が入力と同じ（丸写し）": 1,
        f"出力が入力とほぼ同じ（一致率 {ratio} 以上）": 3,  # "0.9 以上": exactly 0.9 is dropped too
    }


def test_length_filter_counts_the_eos_and_filters_both_splits(hub, capsys):
    """Rows of MAX_LENGTH - 1, MAX_LENGTH and MAX_LENGTH + 1 tokens before the EOS, in both splits."""
    from datasets import Dataset, DatasetDict
    from transformers import AutoTokenizer

    namespace = run_cell("prompt_format", {"__name__": "__main__", "tokenizer": AutoTokenizer.from_pretrained(standin.MODEL_ID)})
    namespace = run_cell("max_length", {**namespace, "splits": DatasetDict(train=Dataset.from_list([GOOD]), test=Dataset.from_list([GOOD]))})
    limit, tokenizer = namespace["MAX_LENGTH"], namespace["tokenizer"]

    def row_of(tokens: int) -> dict:
        """A row whose prompt and completion make exactly ``tokens`` tokens (the EOS not counted)."""
        body = "あ" * tokens
        while True:
            example = namespace["to_prompt_completion"]({**GOOD, "input": body})
            n = len(tokenizer(example["prompt"] + example["completion"]).input_ids)
            if n == tokens:
                return {**GOOD, "input": body, "index": str(tokens)}
            body = body[: len(body) - (n - tokens)] if n > tokens else body + "あ" * (tokens - n)

    rows = [row_of(limit - 1), row_of(limit), row_of(limit + 1)]
    splits = DatasetDict(train=Dataset.from_list(rows), test=Dataset.from_list(rows))
    capsys.readouterr()
    namespace = run_cell("max_length", {**namespace, "splits": splits})
    # with its EOS, the MAX_LENGTH-token row would be cut: the summary's end would be lost
    assert namespace["splits"]["train"]["index"] == namespace["splits"]["test"]["index"] == [str(limit - 1)]
    assert namespace["too_long"] == {"train": 2, "test": 2}


def test_prompt_format_drops_the_whitespace_a_learners_rows_may_carry():
    """The real summarization rows have none (checked on all 1,263), a learner's own data may: spaces or a
    trailing newline would differ between training and generation, and a newline before the EOS is learned."""
    namespace = run_cell("prompt_format")
    row = {"instruction": " 要約してください。\n", "input": "\n本文です。\n\n", "output": "  短い要約。\n"}
    example = namespace["to_prompt_completion"](row)
    assert example == {
        "prompt": "### 指示\n要約してください。\n\n### 入力\n本文です。\n\n### 応答\n",
        "completion": "短い要約。",
    }
    assert namespace["build_prompt"](row["instruction"], row["input"]) == example["prompt"]
