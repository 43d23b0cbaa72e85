"""Material's search keeps the last kanji of a query (学習率 is searched as 学習率, not 学習).

Material 9.8's search worker splits the kanji of a query into words of the search index
(src/templates/assets/javascripts/integrations/search/query/segment). Its loop never tries a word that
ends at the query's last character (``j < query.length``) and stops one character early when it moves
on (``q < query.length - 1``), so the last kanji is dropped: 学習率 was searched as 学習*, and a section
that only says 学習 ranked above the one about 学習率. This module fixes both bounds in the built worker
(two comparisons, found by pattern; the build fails if Material's code changed and they are not found).

Checked by tests/site/browser/test_browser_search.py (学習率 and the glossary's terms).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.japanese_search")

# for(let o=s+1;o<t.length;o++)t.slice(s,o)in e  ->  o<=t.length
WORD_END = re.compile(r"for\(let (\w+)=(\w+)\+1;\1<(\w+)\.length;\1\+\+\)\3\.slice\(\2,\1\)in ")
# n[a]&&a<t.length-1&&(i[s++]=a)  ->  a<t.length
NEXT_WORD = re.compile(r"(\w+)\[(\w+)\]&&\2<(\w+)\.length-1&&\((\w+)\[(\w+)\+\+\]=\2\)")


def fixed(worker: str) -> str | None:
    """The worker with both bounds fixed, or None when Material's code is not the one this module knows."""
    if len(WORD_END.findall(worker)) != 1 or len(NEXT_WORD.findall(worker)) != 1:
        return None
    worker = WORD_END.sub(lambda m: m[0].replace(f"{m[1]}<{m[3]}.length", f"{m[1]}<={m[3]}.length"), worker)
    return NEXT_WORD.sub(lambda m: m[0].replace(f"{m[3]}.length-1", f"{m[3]}.length"), worker)


def on_post_build(config):
    workers = sorted((Path(config["site_dir"]) / "assets" / "javascripts" / "workers").glob("search.*.min.js"))
    if len(workers) != 1:
        log.warning(f"Material's search worker not found (or not one): {workers}")
        return
    worker = workers[0].read_text(encoding="utf-8")
    patched = fixed(worker)
    if patched is None:
        log.warning(
            f"{workers[0].name}: Material's query segmentation has changed; check whether it still drops "
            "the last kanji of a query, and update or remove tools/site_build/japanese_search.py"
        )
        return
    workers[0].write_text(patched, encoding="utf-8")
