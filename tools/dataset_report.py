"""The dataset report: every number the pages give about the real data, computed from the real data.

Run from the repository root (not collected by pytest; CI and public clones have no ../shared):

    python tools/dataset_report.py

It runs the hands-on's own cells, unmodified (load_tokenizer, prepare_dataset, prompt_format and the
two tabs' training_args), on the real dataset file and the model's real tokenizer, laid out as the
stand-in Hub does for the tests, and captures what they print: that is what a learner sees at steps 2
and 3. Then it measures the token lengths, the share kept at other MAX_LENGTH values, the optimizer
steps, and the time per GPU from the project's estimator (snippets/concepts/memory-and-time/estimator.py) on the
real micro-batch lengths. Everything lands in docs/data/ (see write()); the pages include those files.

The jobs are apart: tools/dataset_numbers.py computes the report, tools/dataset_tables.py renders the
pages' tables and sentences, tools/dataset_plot.py draws the histogram; this file is the command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import dataset_numbers
import dataset_plot
import dataset_tables
from real_data import DEFAULT_DATA, DEFAULT_TOKENIZER, ROOT, run_cells

OUT = ROOT / "docs" / "data"
FIGURES = ROOT / "docs" / "assets" / "figures"  # docs/data is not copied to the site; pictures must be


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the dataset as a JSON list of rows")
    parser.add_argument("--tokenizer", type=Path, default=DEFAULT_TOKENIZER, help="folder with tokenizer.json")
    parser.add_argument("--out", type=Path, default=OUT)
    return parser.parse_args(argv)


def write(report: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "dataset-report.json": json.dumps(
            {k: v for k, v in report.items() if k not in ("printed", "lengths")}, ensure_ascii=False, indent=1
        )
        + "\n",
        **dataset_tables.includes(report),
    }
    FIGURES.mkdir(parents=True, exist_ok=True)
    written = []
    for path, text in [
        *((out / name, text) for name, text in files.items()),
        *((FIGURES / name, svg) for name, svg in dataset_plot.histogram_svgs(report).items()),
    ]:
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv=None) -> int:
    args = parse_args(argv)
    for path in (args.data, args.tokenizer / "tokenizer.json"):
        if not path.exists():
            raise SystemExit(
                f"{path} がありません。--data と --tokenizer で実データとトークナイザーの場所を指定してください。"
            )
    ns, printed, settings = run_cells(args.data, args.tokenizer)
    report = dataset_numbers.compute(ns, printed, settings, args.data, args.tokenizer)
    for path in write(report, args.out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
