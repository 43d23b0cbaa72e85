"""ROUGE-2 on Japanese tokens (snippets/handson/rouge.py), checked on strings scored by hand.

The before/after evaluation on the stand-in runs with the whole page in test_handson_generation.py.
"""

from __future__ import annotations

import pytest
from project import cell


@pytest.fixture(scope="module")
def rouge() -> dict:
    namespace: dict = {"__name__": "__main__"}
    cell("rouge").run(namespace)
    return namespace


def test_japanese_is_split_into_mecab_words_after_normalisation(rouge):
    tokenizer = rouge["MecabTokenizer"]()
    assert tokenizer.tokenize("東京で雨が降った") == ["東京", "で", "雨", "が", "降っ", "た"]
    assert tokenizer.tokenize("ＡＢＣ社が発表") == tokenizer.tokenize("ABC社が発表")  # neologdn: full-width to ASCII


def test_identical_summaries_score_one_and_disjoint_ones_zero(rouge):
    scorer = rouge["scorer"]
    assert scorer.score("東京で雨が降った", "東京で雨が降った")["rouge2"].fmeasure == 1.0
    assert scorer.score("東京で雨が降った", "犬は庭を走る")["rouge2"].fmeasure == 0.0
    assert rouge["rouge2"](["東京で雨が降った"], ["東京で雨が降った"]) == 100.0


def test_partial_overlap_matches_the_hand_count(rouge):
    scorer = rouge["scorer"]
    # Reference bigrams: 東京|で, で|雨, 雨|が, が|降っ, 降っ|た. The prediction shares 東京|で, が|降っ, 降っ|た.
    same_length = scorer.score("東京で雨が降った", "東京で雪が降った")["rouge2"]
    assert (same_length.precision, same_length.recall, same_length.fmeasure) == pytest.approx((0.6, 0.6, 0.6))
    # A shorter prediction: 東京|で, で|雨 are both in the reference: precision 2/2, recall 2/5.
    shorter = scorer.score("東京で雨が降った", "東京で雨")["rouge2"]
    assert (shorter.precision, shorter.recall) == pytest.approx((1.0, 0.4))
    assert shorter.fmeasure == pytest.approx(2 * 1.0 * 0.4 / 1.4)
    assert rouge["rouge2"](["東京で雪が降った", "東京で雨"], ["東京で雨が降った"] * 2) == pytest.approx(
        100 * (0.6 + 2 * 0.4 / 1.4) / 2
    )


def test_the_default_tokenizer_would_score_japanese_zero(rouge):
    from rouge_score import rouge_scorer

    default = rouge_scorer.RougeScorer(["rouge2"])  # why the cell passes a MeCab tokenizer
    assert default.score("東京で雨が降った", "東京で雨が降った")["rouge2"].fmeasure == 0.0
