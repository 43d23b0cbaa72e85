"""Pick the committed sample of real rows that the tests load as the dataset.

Run from the repository root (needs the real data in ../shared/data; not collected by pytest):

    python tools/pick_sample.py

The hands-on's own cells decide every row's fate on the real data (see real_data.py); from that the
sample takes a few rows of each kind, so that every branch of the cleaning and the length filter is
exercised in the tests. The trained rows are the shortest ones, to keep the CPU tests fast.
Writes tests/data/databricks-dolly-15k-ja/sample.json and roles.json (index -> why it was picked).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from real_data import DEFAULT_DATA, DEFAULT_TOKENIZER, ROOT, run_cells

OUT = ROOT / "tests" / "data" / "databricks-dolly-15k-ja"
TRAINED_ROWS = 22  # with the 2 long rows, 24 usable rows -> 3 evaluation rows (the page compares 3 examples)
PER_KIND = 2
OTHER_CATEGORIES = ("open_qa", "closed_qa", "information_extraction")


def pick(ns: dict) -> dict[str, str]:
    """``{index: role}`` for the sample."""
    tokens = {}
    for row in ns["summaries"]:
        example = ns["to_prompt_completion"](row)
        tokens[row["index"]] = len(ns["tokenizer"](example["prompt"] + example["completion"]).input_ids) + 1
    summaries = ns["summaries"]
    # The shortest rows: on a CPU every token costs a 32,000-wide output layer, in fp16 on the T4 tab.
    shortest = sorted(summaries, key=lambda r: (tokens[r["index"]], int(r["index"])))[:TRAINED_ROWS]
    too_long = sorted((r for r in summaries if not ns["fits_max_length"](r)), key=lambda r: tokens[r["index"]])
    roles = {r["index"]: "trained" for r in shortest}
    roles |= {r["index"]: "too_long" for r in too_long[:PER_KIND]}

    summarization = [r for r in ns["raw_dataset"] if r["category"] == "summarization"]
    by_reason: dict[str, list[dict]] = {}
    for row in summarization:
        reason = ns["drop_reason"](row)
        if reason is not None:
            by_reason.setdefault(reason, []).append(row)
    for reason, rows in by_reason.items():
        role = "exact_copy" if "丸写し" in reason and "ほぼ" not in reason else "near_copy"
        shortest = sorted(rows, key=lambda r: len(r["input"]))[:PER_KIND]
        roles |= {r["index"]: role for r in shortest}
    for category in OTHER_CATEGORIES:
        rows = [r for r in ns["raw_dataset"] if r["category"] == category]
        roles[min(rows, key=lambda r: len(r["instruction"] + r["input"] + r["output"]))["index"]] = "other_category"
    return roles


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--tokenizer", type=Path, default=DEFAULT_TOKENIZER)
    args = parser.parse_args(argv)
    ns, _, _ = run_cells(args.data, args.tokenizer)
    roles = pick(ns)
    rows = [dict(r) for r in ns["raw_dataset"] if r["index"] in roles]
    rows.sort(key=lambda r: int(r["index"]))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "sample.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    ordered = {r["index"]: roles[r["index"]] for r in rows}
    (OUT / "roles.json").write_text(json.dumps(ordered, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    shutil.copyfile(args.data.parent / "LICENSE.txt", OUT / "LICENSE.txt")
    print(f"{len(rows)} rows -> {(OUT / 'sample.json').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
