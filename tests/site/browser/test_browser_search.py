"""Japanese search: terms a learner would type find the page that explains them.

Material's search splits Japanese text with TinySegmenter and does not split queries the same way:
without a space, compounds such as 低ランク適応, パラメータ数 or 基盤モデル found nothing. mkdocs.yml's
``plugins: search: separator`` adds word breaks where the script changes (kanji, katakana, hiragana,
latin) and at の between kanji (次の日). ``TERMS`` is the regression test: every term must bring its page
into the first ten results (the ones Material shows before the learner scrolls).

``ANSWERS`` asks more: the page that answers the term must be among the first three result pages, not
only a page that mentions it. What puts it there is the page's own text (a synonym such as
「基盤モデル」（ベースモデルとも呼びます）, a heading that starts with the term), never a boost that
would lift the page for every other term too. Material searches only the kanji of a query by the
words of its index and dropped the last kanji (学習率 was searched as 学習*);
tools/site_build/japanese_search.py fixes that in the built worker, and ``test_a_compound_is_searched_whole``
keeps it fixed.

``GLOSSARY_TERMS`` are the glossary's entries (docs/glossary.md, one ### heading a term, both names of
「名前（別名）」): each brings the glossary first (issue 20). The glossary is boosted for that (its front
matter), so a definition comes before a page that only uses the term in its title.
"""

from __future__ import annotations

import re

import pytest
from page_weight import SEARCH_INDEX, WORKER_FETCHES, load_and_weigh
from site_pages import DOCS, source_pages, url_path

# (what a learner types, the page that explains it)
TERMS = [
    # English and abbreviations
    ("LoRA", "concepts/lora/"),
    ("QLoRA", "concepts/lora/"),
    ("EOS", "concepts/prompt-format/"),
    ("bf16", "glossary/"),
    ("SFTTrainer", "handson/"),
    ("GGUF", "gguf/"),
    ("Ollama", "gguf/"),
    ("llama.cpp", "gguf/"),
    # two-character words
    ("損失", "concepts/prompt-format/"),
    ("要約", "handson/"),
    ("公開", "concepts/publishing/"),
    # katakana words and compounds
    ("ランク", "concepts/lora/"),
    ("マージ", "concepts/publishing/"),
    ("アダプター", "concepts/publishing/"),
    ("ドロップアウト", "concepts/tuning/"),
    ("バッチサイズ", "concepts/tuning/"),
    ("チャットテンプレート", "concepts/prompt-format/"),
    ("トークナイザー", "glossary/"),
    # kanji compounds
    ("量子化", "concepts/memory-and-time/"),
    ("学習率", "concepts/tuning/"),
    ("過学習", "concepts/tuning/"),
    ("勾配累積", "concepts/memory-and-time/"),
    ("混合精度", "concepts/memory-and-time/"),
    ("実験管理", "concepts/experiment-tracking/"),
    # mixed scripts: these found nothing with Material's default separator
    ("低ランク適応", "concepts/lora/"),
    ("パラメータ数", "concepts/lora/"),
    ("基盤モデル", "concepts/base-model/"),
    ("大規模言語モデル", "glossary/"),
    ("プロンプト形式", "concepts/prompt-format/"),
    ("エポック数", "concepts/tuning/"),
    ("メモリ不足", "concepts/troubleshooting/"),
    ("ゲート付きモデル", "concepts/troubleshooting/"),
    ("教師あり", "concepts/sft/"),
    ("LoRAとは", "concepts/lora/"),
]
FIRST_RESULTS = 10  # Material shows the first 10 result pages at once, more only on scrolling

# (what a learner types, the page that answers it): among the first ANSWER_RESULTS result pages.
# Checked 2026-12-07, the rank then in brackets (the glossary, boosted for its terms, is often [1]).
ANSWERS = [
    ("学習率", "concepts/tuning/"),  # [2] heading 学習率（learning_rate）
    ("ベースモデル", "concepts/base-model/"),  # [1] what many learners call 基盤モデル
    ("基盤モデル", "concepts/base-model/"),  # [2]
    ("LoRA", "concepts/lora/"),  # [1]
    ("QLoRA", "concepts/lora/"),  # [1]
    ("量子化", "concepts/memory-and-time/"),  # [2] 量子化: 重みそのものを小さくする
    ("メモリ不足", "concepts/troubleshooting/"),  # [1]
    ("過学習", "concepts/tuning/"),  # [3] the symptom table and what to change
    ("プロンプト", "concepts/prompt-format/"),  # [1]
    ("EOS", "concepts/prompt-format/"),  # [2] EOS を最後に付ける理由
    ("ROUGE", "handson/"),  # [3] ROUGE-2 で数値にする: how the hands-on scores its summaries
    ("ROUGE", "concepts/base-model/"),  # [2] what ROUGE-2 counts, and the published XL-Sum ja scores
    ("マージ", "concepts/lora/"),  # [2] what merging does (W' = W + α/r BA); publishing is [3]
    ("次の日", "next-day/"),  # [1] 次の日に使う
    ("チェックポイント", "handson/"),  # [2] 保存先（チェックポイント）を決める: checkpoints on Google Drive
    ("再開", "handson/"),  # [2] a disconnected Colab resumes from the last checkpoint
    ("Google ドライブ", "handson/"),  # [1] where the hands-on saves checkpoints and the adapter
    ("GGUF", "gguf/"),  # llama.cpp と Ollama で使う（GGUF）
    ("Ollama", "gguf/"),
    ("llama.cpp", "gguf/"),
]
ANSWER_RESULTS = 3


def glossary_terms() -> list[str]:
    """Every name of every glossary entry, as a learner would type it. A name with a word that starts
    with "-" (ラベル -100) is left out: Material's search reads "-100" as "without 100"."""
    entries = re.findall(r"^### (.+?) \{#[\w-]+\}$", (DOCS / "glossary.md").read_text(encoding="utf-8"), re.MULTILINE)
    names = [name.strip() for entry in entries for name in re.split(r"[（）]", entry) if name.strip()]
    return [name for name in names if not re.search(r"(^|\s)-", name)]


GLOSSARY_TERMS = glossary_terms()

# Types each term into Material's search box the way a keyboard does (value, then input and keyup
# events: Material searches on keyup) and waits for the result list to answer that very query: a
# query with no results first gives a known state to wait from. Returns, per term, the result
# pages in order (site paths), or [] when the term found nothing within 5 s.
SEARCH_EACH = r"""async terms => {
  const box = document.querySelector("input.md-search__input")
  const meta = () => document.querySelector(".md-search-result__meta").textContent.trim()
  const none = JSON.parse(document.getElementById("__config").textContent).translations["search.result.none"]
  const type = value => {
    box.focus()
    box.value = value
    box.dispatchEvent(new Event("input", { bubbles: true }))
    box.dispatchEvent(new KeyboardEvent("keyup", { key: "End", bubbles: true }))
  }
  const until = async (ok, ms) => {
    for (const start = Date.now(); Date.now() - start < ms;) {
      if (ok()) return true
      await new Promise(resolve => setTimeout(resolve, 10))
    }
    return false
  }
  const root = location.pathname  // the home page: the site's root (GitHub Pages serves it under /<repo>/)
  const found = {}
  for (const term of terms) {
    type("zzzzqqqq")
    if (!await until(() => meta() === none, 10000)) throw new Error("search did not answer")
    type(term)
    const answered = await until(() => meta() !== none && document.querySelector(".md-search-result__item"), 5000)
    const pages = answered
      ? [...document.querySelectorAll(".md-search-result__item > .md-search-result__link")]
          .map(a => new URL(a.href).pathname.slice(root.length))
      : []
    found[term] = [...new Set(pages)]
    // the words the search matched (highlighted), in the results shown
    found[`marks:${term}`] = [...new Set([...document.querySelectorAll(".md-search-result mark")].map(m => m.textContent))]
  }
  return found
}"""


@pytest.fixture(scope="module")
def found(shared_tab, site_url, traffic, received, landing_with_search_worker) -> dict[str, list[str]]:
    """Result pages, in order, for every term of both lists: one search session on the home page
    (Material indexes the site once a page load, seconds of CPU). The bytes of that load are kept for
    tests/site/browser/test_page_weight.py."""
    traffic.take()
    shared_tab.emulate_media(color_scheme="light")
    weights = load_and_weigh(shared_tab, received, site_url, wait_for=(SEARCH_INDEX, *WORKER_FETCHES))
    landing_with_search_worker.update(weights)
    terms = list(dict.fromkeys([term for term, _ in TERMS] + [term for term, _ in ANSWERS] + GLOSSARY_TERMS))
    results = shared_tab.evaluate(SEARCH_EACH, terms)
    offsite, errors = traffic.take()
    assert offsite == [] and errors == [], (offsite, errors)
    return results


def ranked(found: dict[str, list[str]], pairs, first: int) -> list[str]:
    """The (term, page) pairs whose page is not among the first `first` result pages."""
    return [
        f"{term} -> {found[term][:first]} (expected {expected} in the first {first})"
        for term, expected in pairs
        if expected not in found[term][:first]
    ]


def test_terms_find_the_page_that_explains_them(found):
    misses = ranked(found, TERMS, FIRST_RESULTS)
    assert misses == [], "\n".join(misses)


def test_terms_bring_the_page_that_answers_them_to_the_top(found):
    misses = ranked(found, ANSWERS, ANSWER_RESULTS)
    assert misses == [], "\n".join(misses)


def titled(term: str) -> set[str]:
    """The pages whose title (H1) names the term: each explains it (プロンプト: プロンプトとプロンプト形式)."""
    pages = set()
    for page in source_pages():
        text = page.read_text(encoding="utf-8") if page.suffix == ".md" and page.exists() else ""
        title = re.search(r"^# (.+)$", text, re.MULTILINE)
        if title and term in title[1]:
            pages.add(url_path(page))
    return pages


def test_glossary_terms_bring_their_explanation_first(found):
    """Each glossary term a learner types ranks its explanation first: the glossary, or a page titled
    with the term (トークナイザー brought the troubleshooting and GGUF pages first, the glossary 6th)."""
    misses = [
        f"{term} -> {found[term][:3]}"
        for term in GLOSSARY_TERMS
        if not found[term] or found[term][0] not in {"glossary/"} | titled(term)
    ]
    assert misses == [], "\n".join(misses)


def test_glossary_term_list_is_the_glossary():
    assert len(GLOSSARY_TERMS) >= 40 and {"トークナイザー", "LoRA", "SFT", "教師ありファインチューニング"} <= set(
        GLOSSARY_TERMS
    )


def test_a_compound_is_searched_whole(found):
    """学習率 was searched as 学習 (Material dropped the last kanji): a section that only said 学習 came
    before the one about 学習率. Now every highlighted match is 学習率 itself."""
    marks = found["marks:学習率"]
    assert marks and all(mark.startswith("学習率") for mark in marks), marks


def test_search_term_list_covers_what_the_issue_asks_for():
    terms = [term for term, _ in TERMS]
    assert len(terms) >= 15 and len(set(terms)) == len(terms)
    assert any(len(t) == 2 and not t.isascii() for t in terms)  # 2-character words
    assert {"低ランク適応", "パラメータ数", "LoRA"} <= set(terms)


def test_answer_list_covers_what_the_issue_asks_for():
    asked = {"学習率", "ベースモデル", "基盤モデル", "LoRA", "QLoRA", "量子化", "メモリ不足", "過学習", "プロンプト",
             "EOS", "ROUGE", "マージ", "次の日", "チェックポイント", "再開", "Google ドライブ"}  # fmt: skip
    assert asked <= {term for term, _ in ANSWERS}
    assert len(set(ANSWERS)) == len(ANSWERS)
