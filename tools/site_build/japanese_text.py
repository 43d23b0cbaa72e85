"""No stray spaces where a source line breaks inside a Japanese sentence.

The pages keep one sentence a line in the Markdown source. HTML turns each line break into a space,
which a Japanese reader sees as a typo (「育てます。 コードは」). As markdown-it's cjk-breaks does, a
line break (with the indentation after it) is dropped from the built page where

- the character before or after it is Japanese punctuation or a full-width bracket (。、「」（）…), or
- the characters on both sides are Japanese (kana, kanji).

A break between a Japanese and a Latin word stays a space, as the pages write 「LoRA で」. A space after
。 or 、 goes too, also one typed in the source (「**遅くなります。** 掛け算」): Japanese puts none there.

- ``join_japanese_lines(html)``: the built pages (``on_page_content``). Code (``pre``, ``code``),
  scripts, styles and drawn diagrams are left as they are.
- ``join_markdown_lines(markdown)``: the notebook's Markdown cells (tools/notebook.py), which Jupyter
  and Colab render with the same spaces.

Checked in the browser by tests/site/browser/test_browser_pages.py, for the notebook by tests/forms/test_notebook.py.
"""

from __future__ import annotations

import re

PUNCTUATION = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
JAPANESE = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff" + PUNCTUATION
IS_PUNCTUATION = re.compile(f"[{PUNCTUATION}]")
IS_JAPANESE = re.compile(f"[{JAPANESE}]")
TOKENS = re.compile(r"<!--.*?-->|<[^>]*>|[^<]+", re.DOTALL)
TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)")
WHITESPACE = re.compile(r"[ \t\n]+")
FULL_STOPS = "。、"
# Elements whose text is never touched; in pre, script, style and template it is not even a neighbour.
LEFT_ALONE = {"pre", "script", "style", "template", "textarea"}
UNTOUCHED = LEFT_ALONE | {"code", "kbd", "samp"}


def dropped(whitespace: str, before: str, after: str) -> bool:
    """Whether this run of whitespace between two characters goes."""
    if not before or not after:
        return False
    return before in FULL_STOPS or ("\n" in whitespace and joins(before, after))


def joins(before: str, after: str) -> bool:
    """Whether a line break between these two characters is dropped."""
    if IS_PUNCTUATION.match(before) or IS_PUNCTUATION.match(after):
        return True
    return bool(IS_JAPANESE.match(before) and IS_JAPANESE.match(after))


def join_japanese_lines(html: str) -> str:
    tokens = TOKENS.findall(html)
    # The text tokens in order, with whether they may be changed (-1: left alone, not a neighbour)
    kinds: list[int] = []
    open_tags: list[str] = []
    for token in tokens:
        if token.startswith("<"):
            kinds.append(0)
            tag = TAG.match(token)
            if tag and not token.endswith("/>"):
                name = tag[2].lower()
                if tag[1]:
                    if name in open_tags:
                        del open_tags[len(open_tags) - 1 - open_tags[::-1].index(name) :]
                elif name in UNTOUCHED:
                    open_tags.append(name)
        elif LEFT_ALONE & set(open_tags):
            kinds.append(-1)
        else:
            kinds.append(2 if not open_tags else 1)  # 2: may change, 1: a neighbour only (code)

    def neighbour(index: int, step: int) -> str:
        index += step
        while 0 <= index < len(tokens):
            if kinds[index] == -1:
                return ""
            if kinds[index] > 0 and tokens[index]:
                return tokens[index][0 if step > 0 else -1]
            index += step
        return ""

    out = []
    for index, token in enumerate(tokens):
        if kinds[index] == 2 and WHITESPACE.search(token):
            pieces = WHITESPACE.split(token)
            runs = WHITESPACE.findall(token)
            text = pieces[0]
            for number, piece in enumerate(pieces[1:]):
                before = text[-1] if text else neighbour(index, -1)
                after = piece[0] if piece else neighbour(index, 1)
                text += ("" if dropped(runs[number], before, after) else runs[number]) + piece
            token = text
        out.append(token)
    return "".join(out)


def on_page_content(content, page, config, files):
    return join_japanese_lines(content)


# A Markdown line that starts a block of its own (heading, list item, table row, fence, HTML, quote)
BLOCK_START = re.compile(r"^\s*(?:#|[-*+] |\d+\. |\||```|~~~|<|>|$)")
QUOTED = re.compile(r"^> ?")


def join_markdown_lines(markdown: str) -> str:
    """Join the lines of a paragraph (or of a quote's paragraph) where they break inside Japanese text."""
    lines = markdown.split("\n")
    out: list[str] = []
    fenced = False
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            out.append(line)
            continue
        previous = out[-1] if out else ""
        quoted = bool(QUOTED.match(line)) and bool(QUOTED.match(previous))
        text = QUOTED.sub("", line, count=1) if quoted else line
        before = QUOTED.sub("", previous, count=1) if quoted else previous
        continues = (
            not fenced
            and before.strip()
            and not BLOCK_START.match(text)
            and not before.lstrip().startswith(("#", "|", "<", "```"))
            and joins(before.rstrip()[-1], text.lstrip()[0])
        )
        if continues:
            out[-1] = previous.rstrip() + text.lstrip()
        else:
            out.append(line)
    return "\n".join(out)
