"""Japanese search: terms a learner would type find the page that explains them.

Material's search splits Japanese text with TinySegmenter and does not split queries the same way:
without a space, compounds such as 低ランク適応, パラメータ数 or 基盤モデル found nothing. mkdocs.yml's
``plugins: search: separator`` adds word breaks where the script changes (kanji, katakana, hiragana,
latin). This list is the regression test: every term must bring its page into the first ten results
(the ones Material shows before the learner scrolls).
"""

from __future__ import annotations

# (what a learner types, the page that explains it)
TERMS = [
    # English and abbreviations
    ("LoRA", "concepts/lora/"),
    ("QLoRA", "concepts/lora/"),
    ("EOS", "concepts/prompt-format/"),
    ("bf16", "glossary/"),
    ("SFTTrainer", "handson/"),
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
  }
  return found
}"""


def test_terms_find_the_page_that_explains_them(page, site_url):
    page.goto(site_url)
    found = page.evaluate(SEARCH_EACH, [term for term, _ in TERMS])

    misses = [
        f"{term} -> {found[term][:FIRST_RESULTS]} (expected {expected})"
        for term, expected in TERMS
        if expected not in found[term][:FIRST_RESULTS]
    ]
    assert misses == [], "\n".join(misses)


def test_search_term_list_covers_what_the_issue_asks_for():
    terms = [term for term, _ in TERMS]
    assert len(terms) >= 15 and len(set(terms)) == len(terms)
    assert any(len(t) == 2 and not t.isascii() for t in terms)  # 2-character words
    assert {"低ランク適応", "パラメータ数", "LoRA"} <= set(terms)
