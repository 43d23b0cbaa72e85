"""The two runs that need processes of their own, started as soon as pytest knows it needs them.

- the committed notebook, top to bottom in a Jupyter kernel (nbclient, driven from a thread);
- the standalone script under ``accelerate launch`` with two processes (CPU, gloo).

Each takes tens of seconds of CPU. ``tests/conftest.py`` starts the ones whose fixtures a selected
test uses right after collection, so that they run while the in-process tests run; the fixtures in
tests/test_forms.py wait for them. Both get the stand-in environment explicitly (tools/standin.py):
the tests that meanwhile change os.environ cannot reach them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import project

# Cells added around the notebook's own (the notebook's cells run unchanged): the stand-in's Hub fake
# and short generation (tools/standin.py), a snapshot of the base weights right after loading, and
# what the tests need to know from inside the kernel.
PREAMBLE = """
import json as _json
import standin as _standin
_hub = _standin.HubRecorder().install()
_generation = _standin.ShortGeneration().install()
_standin.bitsandbytes_as_on_a_gpu()
"""

AFTER_LOAD_MODEL = """
_base_state = {name: value.detach().clone() for name, value in model.state_dict().items()}
"""

BEFORE_MERGE = """
import torch as _torch
_trained = trainer.model.state_dict()
_base_now = {
    name.removeprefix("base_model.model.").replace(".base_layer", ""): value
    for name, value in _trained.items() if "lora_" not in name
}
_facts = {
    "trainable_dtypes": sorted({str(p.dtype) for p in trainer.model.parameters() if p.requires_grad}),
    "trainable_all_lora": all("lora_" in n for n, p in trainer.model.named_parameters() if p.requires_grad),
    "base_names_equal": sorted(_base_now) == sorted(_base_state),
    "base_unchanged": all(_torch.equal(_base_now[n], _base_state[n]) for n in _base_state if n in _base_now),
    "lora_b_moved": all(v.abs().sum().item() > 0 for n, v in _trained.items() if "lora_B" in n),
    "load_in_4bit": bool(trainer.model.base_model.model.config.quantization_config.load_in_4bit),
    "global_step": trainer.state.global_step,
}
"""

REPORT = """
print(_json.dumps({
    **_facts,
    "hub_calls": [[kind, repo, details] for kind, repo, details in _hub.calls],
    "fp16": training_args.fp16,
    "dtype": str(DTYPE),
    "adapter_dir": str(ADAPTER_DIR),
    "merged_dir": str(MERGED_DIR),
    "before": len(before),
    "after": len(after),
    "requested_max_new_tokens": sorted(set(_generation.requested)),
    "generate_calls": len(_generation.requested),
}))
"""

_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notebook")
_started: dict[str, object] = {}


def kernel_environment(hf_home: Path) -> dict[str, str]:
    import standin

    return {
        **os.environ,
        **standin.offline_environment(hf_home),
        # pip must not reach an index: the install cell passes only if this environment already has
        # exactly the pinned versions.
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "OMP_NUM_THREADS": "1",  # shares the CPU with the other tests
        "PYTHONPATH": str(project.ROOT / "tools"),  # the kernel imports the stand-in
    }


def _execute_notebook(hf_home: Path, workdir: Path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.reads(project.NOTEBOOK.read_text(encoding="utf-8"), as_version=4)
    new = nbformat.v4.new_code_cell
    cells = [new(PREAMBLE)]
    for cell in nb.cells:
        if cell.get("id") == "merge":
            cells.append(new(BEFORE_MERGE))
        cells.append(cell)
        if cell.get("id") == f"{project.NOTEBOOK_VARIANT}-load_model":
            cells.append(new(AFTER_LOAD_MODEL))
    report = new(REPORT)
    nb.cells = [*cells, report]
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    client.execute(env=kernel_environment(hf_home))
    return nb, report


def start_notebook(hf_home: Path) -> Future:
    """The notebook's run: a Future of (notebook with outputs, report cell, working folder)."""
    if "notebook" not in _started:
        workdir = Path(tempfile.mkdtemp(prefix="notebook-run-"))
        future = _pool.submit(_execute_notebook, hf_home, workdir)
        _started["notebook"] = (future, workdir)
    return _started["notebook"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ddp(hf_home: Path) -> tuple[subprocess.Popen, Path]:
    """``accelerate launch`` with the site's config: two processes, CPU only (gloo), two steps."""
    if "ddp" not in _started:
        workdir = Path(tempfile.mkdtemp(prefix="ddp-run-"))
        command = [
            sys.executable, "-m", "accelerate.commands.launch",
            "--config_file", str(project.ACCELERATE_CONFIG),
            "--num_processes", "2",
            "--main_process_port", str(free_port()),
            str(project.TESTS / "ddp_probe.py"), str(project.SCRIPT), str(workdir / "probe"),
            "--max-steps", "2", "--output-dir", str(workdir / "run"), "--variant", "lora_bf16",
        ]  # fmt: skip
        env = {**kernel_environment(hf_home), "CUDA_VISIBLE_DEVICES": ""}
        with (workdir / "log.txt").open("w") as stderr:
            process = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
        _started["ddp"] = (process, workdir)
    return _started["ddp"]


def stop_all() -> None:
    if "ddp" in _started:
        process, _ = _started["ddp"]
        if process.poll() is None:
            process.kill()
            process.wait()
    _pool.shutdown(wait=False, cancel_futures=True)
