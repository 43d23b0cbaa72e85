import neologdn
from fugashi import Tagger
from rouge_score import rouge_scorer


class MecabTokenizer:
    """neologdn で表記を正規化し、MeCab（fugashi + unidic-lite）で単語に分けます。"""

    def __init__(self):
        self.tagger = Tagger()

    def tokenize(self, text):
        return [word.surface for word in self.tagger(neologdn.normalize(text))]


# rouge-score の既定のトークナイザーは日本語の文字を捨ててしまうので、MeCab を渡します。
scorer = rouge_scorer.RougeScorer(["rouge2"], tokenizer=MecabTokenizer())


def rouge2(predictions, references):
    """ROUGE-2 の F 値の平均を 100 倍した値（XL-Sum ja の公開スコアと同じ尺度）。"""
    scores = [scorer.score(ref, pred)["rouge2"].fmeasure for pred, ref in zip(predictions, references)]
    return 100 * sum(scores) / len(scores)
