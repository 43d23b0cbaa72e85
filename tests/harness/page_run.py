"""The hands-on page, run once in this process: every cell of one GPU tab, unmodified and in page order.

``run_page`` is what the ``handson`` fixture (tests/pages/handson/conftest.py) returns: the namespace the
cells left, what they printed, and the snapshots the tests compare with (the points are named in
``project.CELL_ROLES``). The T4 tab runs as the notebook, in a Jupyter kernel (tests/forms/test_notebook_run.py).
"""

from __future__ import annotations

import contextlib
import copy
import io
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

import project
import standin

# The in-process run takes the tab the notebook does not (the bf16 tab); the notebook's tab (T4, 4-bit QLoRA)
# runs in a Jupyter kernel (tests/forms/test_notebook_run.py checks the same facts there). One training per tab.
(IN_PROCESS_VARIANT,) = [variant for variant in project.VARIANTS if variant != project.NOTEBOOK_VARIANT]


@dataclass
class HandsonRun:
    variant: str
    workdir: Path
    namespace: dict
    stdout: str
    base_state: dict
    trainer: object
    hub: standin.HubRecorder
    generation: standin.ShortGeneration
    before_train: dict  # the namespace right before the trainer is built, with its own copy of the model
    rng_before_train: torch.Tensor


def run_page(variant: str, workdir: Path) -> HandsonRun:
    """Run the tab's cells in ``workdir`` with the stand-in Hub (installed by the ``hub`` fixture)."""
    namespace: dict = {"__name__": "__main__"}
    captured: dict = {}
    recorder = standin.HubRecorder()
    generation = standin.ShortGeneration()
    out = io.StringIO()
    torch.manual_seed(0)  # LoRA's random init happens inside SFTTrainer: fix it for repeatable runs
    with pytest.MonkeyPatch.context() as monkeypatch, contextlib.redirect_stdout(out):
        monkeypatch.chdir(workdir)
        recorder.install(monkeypatch)
        generation.install(monkeypatch)
        for cell in project.cells_for(variant):
            if cell.name == project.snapshot_cell("trained"):  # the merge cell lets the trainer go
                captured["trainer"] = namespace["trainer"]
            if cell.name == project.snapshot_cell("training-inputs"):  # a rerun starts here (the resume test)
                captured["before_train"] = {
                    **namespace,
                    "model": copy.deepcopy(namespace["model"]),
                    "training_args": copy.deepcopy(namespace["training_args"]),
                }
                captured["rng"] = torch.get_rng_state()
            cell.run(namespace)
            if cell.name == project.snapshot_cell("base-weights"):
                captured["base_state"] = {k: v.detach().clone() for k, v in namespace["model"].state_dict().items()}
    return HandsonRun(
        variant,
        workdir,
        namespace,
        out.getvalue(),
        captured["base_state"],
        captured["trainer"],
        recorder,
        generation,
        captured["before_train"],
        captured["rng"],
    )
