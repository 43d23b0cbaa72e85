"""Run the hands-on's own cells on the real dataset and tokenizer (for the report and the test sample).

The real files live outside the repository (../shared/data, see each SOURCE.md); CI and public
clones do not have them, so nothing in pytest uses this module.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import standin
from project import ROOT, VARIANTS, cell, cells_with

# huggingface_hub reads these when it is imported: set them before anything imports it.
HF_HOME = Path(tempfile.mkdtemp(prefix="real-data-"))
os.environ.update(standin.offline_environment(HF_HOME))

SHARED = ROOT.parent / "shared" / "data"
DEFAULT_DATA = SHARED / "databricks-dolly-15k-ja" / "databricks-dolly-15k-ja.json"
DEFAULT_TOKENIZER = SHARED / "mistral-7b-v0.1-tokenizer"


def run_cells(data: Path, tokenizer_dir: Path) -> tuple[dict, dict[str, str], dict[str, dict]]:
    """The hands-on cells up to step 3, and each tab's training settings, on the real data.

    The real data and tokenizer are laid out as the tests' stand-in Hub lays out the sample, so the
    cells run unmodified. Returns the cells' namespace, what each cell printed, and per tab the
    settings the report needs.
    """
    standin.install_model(HF_HOME, tokenizer_dir)
    standin.install_dataset(HF_HOME, data)
    namespace: dict = {"__name__": "__main__"}
    printed = {}
    os.chdir(HF_HOME)  # the output_dir cell makes ./outputs
    for name in cells_with(real_data=True):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            cell(name).run(namespace)
        printed[name] = out.getvalue()
        if name == "prepare_dataset":  # step 3 filters splits by length: keep step 2's split too
            namespace["splits_of_step_2"] = namespace["splits"]
    settings = {}
    for variant in VARIANTS:
        tab = dict(namespace)
        cell("training_args", variant).run(tab)
        args = tab["training_args"]
        settings[variant] = {
            "batch_size": args.per_device_train_batch_size,
            "accumulation": args.gradient_accumulation_steps,
            "epochs": args.num_train_epochs,
            "eval_steps": args.eval_steps,
            "max_length": args.max_length,
        }
    return namespace, printed, settings
