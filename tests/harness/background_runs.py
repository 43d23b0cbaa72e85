"""The runs that need processes of their own, started once per test session as soon as it is known
that a selected test needs them, and left on disk for whichever process runs that test.

- ``notebook``: the committed notebook, top to bottom in a Jupyter kernel (nbclient, driven from a thread);
- ``ddp``: the standalone script under ``accelerate launch`` with two processes (CPU, gloo);
- ``textlint``: the Japanese writing checks over docs/ (node);
- ``local_site``: ``mkdocs build --strict`` as on a developer's machine, without REPO_URL and SITE_URL;
- ``deployed_site``: ``mkdocs build`` as the deployment builds it, with its URLs (for tests/site/browser/).

Each takes seconds to tens of seconds of CPU. tests/conftest.py starts the ones the selected tests
need right after collection (see there why not earlier), so that they use the second core while the
other tests run, at a lower priority than those (tools/process_setup.py sets up every process here). The runs write their results under the session folder
(``SFT_HANDSON_TEST_HOME``); the fixtures wait for them.
Each run gets the stand-in environment explicitly (tools/standin.py): tests that meanwhile change
os.environ cannot reach them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from urllib.parse import urlsplit

import process_setup
import project
from learner_files import DEPLOYED  # what the deployment sets

SESSION = Path(os.environ["SFT_HANDSON_TEST_HOME"])  # set by tests/conftest.py before anything else
HF_HOME = SESSION / "hf"
TEXTLINT_DIR = project.TESTS / "site" / "textlint"
TEXTLINT = TEXTLINT_DIR / "node_modules" / ".bin" / "textlint"
# Checked in the same run, so that a config that silently checks nothing fails the test.
TEXTLINT_SAMPLE = TEXTLINT_DIR / "samples" / "breaks-the-rules.md"
TEXTLINT_COMMAND = [
    str(TEXTLINT),
    "--config", str(TEXTLINT_DIR / ".textlintrc.json"),
    "--ignore-path", str(TEXTLINT_DIR / ".textlintignore"),
    "--format", "unix",
    f"{project.DOCS}/**/*.md",
    str(TEXTLINT_SAMPLE),
]  # fmt: skip

# Which fixture waits for which run: a selected test that uses the fixture (itself or through another
# fixture) starts the run right after collection, and runs last (tests/conftest.py), when the run is done
# or nearly so. Renaming a test changes nothing here; renaming a fixture fails loudly
# (tests/harness/test_background_runs.py checks the fixtures exist).
NEEDED_BY = {
    "notebook": "notebook_run",
    "ddp": "ddp_run",
    "textlint": "textlint_problems",
    "local_site": "local_site",
    "deployed_site": "deployed_build",
}
# The site's address and repository (mkdocs.yml reads them from these variables; see README).
URL_VARIABLES = ("REPO_URL", "SITE_URL")

# Cells added around the notebook's own (the notebook's cells run unchanged): the process set up as every
# test process (tools/process_setup.py), the stand-in's Hub fake, short generation and GPU rules
# (tools/standin.py), a snapshot of the base weights right after loading, and what the tests need to know
# from inside the kernel.
PREAMBLE = """
import process_setup as _process_setup
_process_setup.prepare()
import json as _json
import standin as _standin
_hub = _standin.HubRecorder().install()
_generation = _standin.ShortGeneration().install()
_standin.bitsandbytes_as_on_a_gpu()
_standin.fp16_as_on_a_gpu()  # the T4 tab's fp16: a GradScaler with CUDA's rules, and fp16 autocast
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
    "grad_scaler": type(trainer.accelerator.scaler).__name__,
    "grad_scaler_used": trainer.accelerator.scaler._scale is not None,  # set at the first scaled backward
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
    "adapters_at_generation": _generation.adapters,
}))
"""

_processes: list[subprocess.Popen] = []


def folder(name: str) -> Path:
    return SESSION / name


def _claim(name: str) -> bool:
    """True for the first caller in the session (the run's folder did not exist yet)."""
    try:
        folder(name).mkdir()
    except FileExistsError:
        return False
    return True


def _finish(name: str, ok: bool, detail: str = "") -> None:
    (folder(name) / "status.json").write_text(json.dumps({"ok": ok, "detail": detail}), encoding="utf-8")


def wait(name: str, timeout: float = 600) -> Path:
    """The run's folder once it has finished; fails with what went wrong if it did not succeed."""
    status = folder(name) / "status.json"
    deadline = time.monotonic() + timeout
    while not status.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the background run {name!r} did not finish in {timeout} s")
        time.sleep(0.2)
    result = json.loads(status.read_text(encoding="utf-8"))
    assert result["ok"], f"the background run {name!r} failed:\n{result['detail'][-6000:]}"
    return folder(name)


def environment() -> dict[str, str]:
    import standin

    return {
        **os.environ,
        **process_setup.ENVIRONMENT,  # one thread, the allocator's thresholds: shares the CPU with the other tests
        **standin.offline_environment(HF_HOME),
        # pip must not reach an index: the install cell passes only if this environment already has
        # exactly the pinned versions.
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PYTHONPATH": str(project.TOOLS),  # the kernel and the probe import process_setup and the stand-in
    }


def _run_in_order(runs: list[tuple[str, object]]) -> None:
    """One run after the other on a thread of their own, beside the tests."""

    def run_all():
        # No coverage in this thread: it runs no measured code, and the trace function costs CPU on every call
        sys.settrace(None)
        process_setup.run_in_the_background()  # this thread and the processes it starts
        for name, work in runs:
            try:
                work(folder(name))
            except BaseException:  # noqa: BLE001 - whatever happened, the waiting test reports it
                _finish(name, False, traceback.format_exc())

    threading.Thread(target=run_all, name="background-runs", daemon=True).start()


# --- the runs -----------------------------------------------------------------------------------------


def _notebook(out: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.reads(project.NOTEBOOK.read_text(encoding="utf-8"), as_version=4)
    new = nbformat.v4.new_code_cell
    cells = [new(PREAMBLE)]
    for cell in nb.cells:
        if cell.get("id") == project.snapshot_cell("trained"):
            cells.append(new(BEFORE_MERGE))
        cells.append(cell)
        if cell.get("id") == f"{project.NOTEBOOK_VARIANT}-{project.snapshot_cell('base-weights')}":
            cells.append(new(AFTER_LOAD_MODEL))
    nb.cells = [*cells, new(REPORT)]
    workdir = out / "work"
    workdir.mkdir()
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    client.execute(env=environment())
    (out / "executed.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    _finish("notebook", True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_process(name: str, command: list[str], cwd: Path, env: dict, ok_codes=(0,)) -> None:
    out = folder(name)
    with (out / "stdout.txt").open("w") as stdout, (out / "stderr.txt").open("w") as stderr:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=stdout, stderr=stderr, text=True)
    _processes.append(process)
    returncode = process.wait()
    ok = returncode in ok_codes
    _finish(name, ok, "" if ok else (out / "stdout.txt").read_text() + (out / "stderr.txt").read_text())


def _ddp(out: Path) -> None:
    command = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(project.ACCELERATE_CONFIG),
        "--num_processes", "2",
        "--main_process_port", str(free_port()),
        str(Path(__file__).with_name("ddp_probe.py")), str(project.SCRIPT), str(out / "probe"),
        "--max-steps", "2", "--output-dir", str(out / "run"), "--variant", project.SCRIPT_DEFAULT_VARIANT,
    ]  # fmt: skip
    _run_process("ddp", command, out, {**environment(), "CUDA_VISIBLE_DEVICES": ""})


def _textlint(out: Path) -> None:
    # textlint exits with 1 when it finds problems (it always does: the sample breaks the rules).
    _run_process("textlint", TEXTLINT_COMMAND, TEXTLINT_DIR, {**os.environ, "NO_COLOR": "1"}, ok_codes=(0, 1))


def _local_site(out: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key not in URL_VARIABLES}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out / "site")]
    _run_process("local_site", command, project.ROOT, {**env, "NO_MKDOCS_2_WARNING": "1"})


def deployed_site(out: Path) -> tuple[Path, Path]:
    """Where the deployed build puts the site (under the site's path, as GitHub Pages serves it from
    ``out/served``) and the diagrams and formulas it met (tools/site_build/prerendered.py)."""
    return out / "served" / urlsplit(DEPLOYED["SITE_URL"]).path.strip("/"), out / "prerender-sources.json"


def _deployed_site(out: Path) -> None:
    site, sources = deployed_site(out)
    # --no-strict: tests/site/browser/test_deployed_site.py checks the warnings; they must not hide the browser checks.
    command = [sys.executable, "-m", "mkdocs", "build", "--no-strict", "--site-dir", str(site)]
    env = {**os.environ, **DEPLOYED, "NO_MKDOCS_2_WARNING": "1", "PRERENDER_SOURCES": str(sources)}
    _run_process("deployed_site", command, project.ROOT, env)


# The runs that train, in the order the one background thread runs them (each keeps about one core busy).
RUNS = {"notebook": _notebook, "ddp": _ddp}
# These need no stand-in: each starts at once on a thread of its own (that waits for its process).
ON_THEIR_OWN = {"textlint": _textlint, "local_site": _local_site, "deployed_site": _deployed_site}


def start_for(items: list) -> None:
    """Start every run that one of these pytest items needs (once per session)."""
    start([name for name, fixture in NEEDED_BY.items() if any(fixture in fixtures(item) for item in items)])


def fixtures(item) -> tuple[str, ...]:
    return tuple(getattr(item, "fixturenames", ()))


def start(needed: list[str]) -> None:
    """Start these runs, those not started yet in this session."""
    if "textlint" in needed and not TEXTLINT.exists():
        needed.remove("textlint")  # not installed: tests/site/textlint says how to install it
    for name, work in ON_THEIR_OWN.items():
        if name in needed and _claim(name):
            _run_in_order([(name, work)])
    runs = [(name, work) for name, work in RUNS.items() if name in needed and _claim(name)]
    if runs:
        # Here, not in the thread: importing transformers on two threads at once is not safe.
        import nbclient  # noqa: F401 - the notebook's driver, imported before the thread needs it
        import standin

        standin.install_hub(HF_HOME)
        _run_in_order(runs)


def waits_for_a_run(item) -> bool:
    return any(fixture in fixtures(item) for fixture in NEEDED_BY.values())


def stop_all() -> None:
    for process in _processes:
        if process.poll() is None:
            process.kill()
            process.wait()
