"""docs/handson.md's numbers from the real data (docs/data/, written by tools/dataset_report.py) and its
settings tables are what the code has: they cannot be regenerated here (no real data in CI), so a test fails
when the code moved on without them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from handson_checks import REASON_OF_ROLE, tab_settings
from project import DATA, DOCS, HANDSON_PAGE, VARIANTS, tab_labels


REPORT = json.loads((DATA / "dataset-report.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("variant", VARIANTS)
def test_real_data_report_was_made_with_these_settings(handson, variant):
    """The report cannot be regenerated here (no real data in CI): fail when the code moved on without it."""
    import inspect

    ns, args = handson.namespace, tab_settings(handson.namespace, variant)
    assert REPORT["max_length"] == ns["MAX_LENGTH"] == args.max_length
    assert REPORT["near_copy"]["threshold"] == ns["NEAR_COPY_RATIO"]
    assert REPORT["settings"][variant] == {
        "batch_size": args.per_device_train_batch_size,
        "accumulation": args.gradient_accumulation_steps,
        "epochs": args.num_train_epochs,
        "eval_steps": args.eval_steps,
        "max_length": args.max_length,
    }
    assert REPORT["eval_rows"] == ns["EVAL_ROWS"]
    assert REPORT["max_new_tokens"] == inspect.signature(ns["summarize"]).parameters["max_new_tokens"].default
    assert set(REPORT["rows"]["dropped"]) >= set(REASON_OF_ROLE.values())


def shape(line: str) -> str:
    return re.sub(r"\d[\d,]*", "N", line.rstrip())


@pytest.mark.parametrize("name", ["dataset-step2-output.txt", "dataset-step3-output.txt"])
def test_real_data_outputs_on_the_page_are_what_the_code_prints(handson, name):
    printed = {shape(line) for line in handson.stdout.splitlines()}
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    assert lines and all(shape(line) in printed for line in lines), "rerun tools/dataset_report.py"


def table_row(page: Path, first_cell: str) -> list[str]:
    for line in page.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == first_cell:
            return cells
    raise AssertionError(f"{page.name} に「{first_cell}」の行がありません")


@pytest.mark.parametrize("variant", VARIANTS)
def test_settings_tables_show_the_code_values(handson, variant):
    ns, args = handson.namespace, tab_settings(handson.namespace, variant)
    column = 2 + list(tab_labels()).index(variant)  # | param | meaning | one column per tab, in the page's order |
    page = HANDSON_PAGE
    assert table_row(page, "`max_length`")[column] == str(ns["MAX_LENGTH"])
    batch = table_row(page, "`per_device_train_batch_size` × `gradient_accumulation_steps`")[column]
    effective = args.per_device_train_batch_size * args.gradient_accumulation_steps
    assert batch == f"{args.per_device_train_batch_size} × {args.gradient_accumulation_steps} = {effective}"
    assert float(table_row(page, "`learning_rate`")[column]) == args.learning_rate
    assert table_row(page, "`num_train_epochs`")[column] == str(args.num_train_epochs)
    config = ns["peft_config"]
    assert table_row(page, "`r`, `lora_alpha`")[column] == f"{config.r}, {config.lora_alpha}"

    tuning = DOCS / "concepts" / "tuning.md"
    column = column - 1  # | setting | 24 GB | T4 |
    assert table_row(tuning, "`max_length`")[column].startswith(str(ns["MAX_LENGTH"]))
    assert float(table_row(tuning, "`learning_rate`")[column]) == args.learning_rate
    assert table_row(tuning, "`r` / `lora_alpha`")[column] == f"{config.r} / {config.lora_alpha}"
