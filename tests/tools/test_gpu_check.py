"""tools/gpu_check.py and tools/gpu_wheels.py: the GPU truth run, kept ready on a machine without a GPU.

The GPU part itself runs only on a GPU (.github/CONTRIBUTING.md: 「GPU での確認」). Here: its dry mode end to end (everything before
the GPU work, in this process, on the session's stand-in Hub), its messages without CUDA and without the wheels,
the stand-in for MeCab's dictionary, that each check still names a CPU test that exists, and the wheels' repacking
and the device call.
"""

from __future__ import annotations

import ast
import json
import math
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import gpu_check
import gpu_measure
import gpu_page
import gpu_wheels
import project

REPORT = json.loads((project.DATA / "dataset-report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dry(hub, tmp_path_factory):
    """``python tools/gpu_check.py --dry``, in this process: the same environment as the other tests."""
    workdir = tmp_path_factory.mktemp("gpu-check")

    def no_gpu_work():
        raise AssertionError("--dry must stop before the GPU work")

    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(gpu_check, "require_cuda", no_gpu_work)
        monkeypatch.setattr(gpu_check, "require_bitsandbytes_cuda", no_gpu_work)
        data = gpu_check.main(["--dry", "--workdir", str(workdir), "--hf-home", str(hub)])
    return data, workdir / "record"


def test_dry_run_plans_every_cell_of_both_tabs(dry):
    data, _ = dry
    plan = data["plan"]
    assert data["mode"] == "dry" and plan["variants"] == list(project.VARIANTS)
    for variant in project.VARIANTS:
        assert plan["cells"][variant] == [cell.name for cell in project.cells_for(variant)]  # read from the page
        next_day = plan["next_day_cells"][variant]
        assert next_day == [c.name for c in project.cells_for(variant, gpu_page.NEXT_DAY_PAGE)]
        assert next_day[-1] == "load_adapter"
    assert plan["methods"] == {variant: project.TABS[variant].method for variant in project.VARIANTS}  # read from the cells
    assert data["t4_emulation"]["tab"] == project.NOTEBOOK_VARIANT == "qlora_t4"


def test_dry_run_measures_at_the_real_datas_lengths(dry):
    """The 7B runs use the real data's mean padded micro-batch and MAX_LENGTH, and the estimator agrees with the
    figures the real-data report printed for the same settings."""
    data, _ = dry
    plan = data["plan"]
    mean = math.ceil(REPORT["padding"]["hands_on"] / REPORT["rows"]["train_within_max_length"])
    assert plan["phases"] == {"mean": mean, "max": REPORT["max_length"]}
    assert plan["lengths"]["mean_padded"] == mean and 110 <= mean <= REPORT["max_length"]
    at_max = next(choice for choice in REPORT["choices"] if choice["max_length"] == REPORT["max_length"])
    for variant in project.VARIANTS:
        estimate = plan["estimates"][variant]["max"]
        assert estimate["peak_bytes"] == pytest.approx(at_max["tabs"][variant]["peak_gb"] * 1e9)
        tab = plan["settings"][variant]
        examples = data["dry_data"][variant]
        assert examples["train_lengths"] == sorted({mean, REPORT["max_length"]})
        per_update = tab["batch_size"] * tab["accumulation"]
        assert examples["train_examples"] == per_update * gpu_measure.UPDATES_PER_PHASE * 2
        assert examples["eval_examples"] == tab["eval_batch_size"]


def test_synthetic_examples_have_the_length_eos_and_loss_share():
    examples = gpu_measure.synthetic_examples(3, 100, 0.27, eos=2, vocab=32000, seed=0)
    for example in examples:
        ids, labels = example["input_ids"], example["labels"]
        assert len(ids) == len(labels) == 100 and ids[-1] == 2 and labels[-1] == 2
        trained = [label for label in labels if label != -100]
        assert len(trained) == 27 and trained == ids[-27:] and labels[0] == -100


def test_dry_run_writes_its_record_outside_docs_data(dry):
    data, record = dry
    saved = json.loads((record / "gpu-check.json").read_text(encoding="utf-8"))
    assert saved["mode"] == "dry" and saved["plan"]["phases"] == data["plan"]["phases"]
    table = (record / "gpu-check.md").read_text(encoding="utf-8")
    assert "GPU では測っていないので、ページには使いません" in table
    assert all(label in table for label in project.tab_labels().values())
    assert "| — | 17.7 GB | — |" in table  # the estimate beside an empty measurement: nothing measured here
    with pytest.raises(SystemExit, match="docs/data に書きません"):
        gpu_check.main(["--dry", "--output", str(project.DATA)])


def test_without_cuda_the_run_stops_and_names_the_dry_mode(hub, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="--dry") as stopped:
        gpu_check.main(["--workdir", str(tmp_path), "--hf-home", str(hub), "--output", str(tmp_path / "out")])
    assert "CUDA の GPU が見つかりません" in str(stopped.value)
    assert not (tmp_path / "out").exists()


def test_missing_or_other_wheels_are_named(monkeypatch):
    from importlib import metadata

    real = metadata.version

    def device_versions(name):
        if name == "trl":
            raise metadata.PackageNotFoundError(name)
        return "5.17.0" if name == "transformers" else real(name)

    monkeypatch.setattr(gpu_check.metadata, "version", device_versions)
    with pytest.raises(SystemExit) as stopped:
        gpu_check.check_packages()
    message = str(stopped.value)
    pins = project.pins()
    assert f"transformers=={pins['transformers']}（この環境: 5.17.0）" in message
    assert f"trl=={pins['trl']}（この環境: なし）" in message and "peft" not in message
    assert "python tools/gpu_wheels.py" in message


def test_rouge_splits_into_characters_where_mecabs_dictionary_is_missing(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "unidic_lite" else real_find_spec(name, *a)
    )
    monkeypatch.setitem(sys.modules, "fugashi", sys.modules.get("fugashi"))  # put back after the test
    assert gpu_check.japanese_words_stand_in() and "unidic-lite" in gpu_check.japanese_words_stand_in()[0]
    from fugashi import Tagger

    assert [word.surface for word in Tagger()("開館 時間")] == ["開", "館", "時", "間"]


def mirrored_tests() -> set[str]:
    return set(re.findall(r"tests/[\w/]+\.py::\w+", Path(gpu_page.__file__).read_text(encoding="utf-8")))


def test_each_check_names_a_cpu_test_that_exists():
    """The review of the GPU checks against the CPU tests stays true when a test is renamed or removed."""
    named = mirrored_tests()
    assert len(named) >= 15
    for reference in named:
        path, name = reference.split("::")
        tree = ast.parse((project.ROOT / path).read_text(encoding="utf-8"))
        assert name in {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}, reference


# --- tools/gpu_wheels.py ---------------------------------------------------------------------------------------


def fake_bitsandbytes_wheel(folder: Path) -> Path:
    wheel = folder / "bitsandbytes-0.50.2-py3-none-manylinux_2_24_x86_64.whl"
    libraries = ["cpu", "cuda118", "cuda130", "cuda132", "rocm64"]
    files = {
        "bitsandbytes/__init__.py": b"",
        **{f"bitsandbytes/libbitsandbytes_{n}.so": b"x" * 5000 for n in libraries},
    }
    files["bitsandbytes-0.50.2.dist-info/METADATA"] = b"Name: bitsandbytes\n"
    record = "".join(f"{name},sha256=abc,{len(data)}\n" for name, data in files.items())
    files["bitsandbytes-0.50.2.dist-info/RECORD"] = (record + "bitsandbytes-0.50.2.dist-info/RECORD,,\n").encode()
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as out:
        for name, data in files.items():
            out.writestr(name, data)
    return wheel


def test_bitsandbytes_keeps_only_the_devices_cuda_library(tmp_path):
    wheel = fake_bitsandbytes_wheel(tmp_path)
    assert gpu_wheels.repack_bitsandbytes(wheel, "130") > 0
    with zipfile.ZipFile(wheel) as repacked:
        names = set(repacked.namelist())
        record = repacked.read("bitsandbytes-0.50.2.dist-info/RECORD").decode()
    libraries = {Path(n).name for n in names if n.endswith(".so")}
    assert libraries == {"libbitsandbytes_cpu.so", "libbitsandbytes_cuda130.so"}
    assert {line.split(",")[0] for line in record.splitlines()} == names  # RECORD lists exactly what is there
    with pytest.raises(SystemExit, match="libbitsandbytes_cuda126.so"):
        gpu_wheels.repack_bitsandbytes(wheel, "126")


def test_the_carried_wheels_are_the_pinned_versions():
    wanted = gpu_wheels.wanted()
    pins = project.pins()
    assert {name: wanted[name] for name in gpu_wheels.PINNED} == {name: pins[name] for name in gpu_wheels.PINNED}
    assert set(wanted) == {*gpu_wheels.PINNED, *gpu_wheels.DEPENDENCIES}
    assert gpu_wheels.wheel_name_matches(Path("rouge_score-0.1.2-py3-none-any.whl"), "rouge-score", "0.1.2")


def test_the_device_call_installs_the_wheels_then_runs_the_check():
    call = gpu_wheels.run_call()
    assert call["carry"] == [".whl"] and len(call["command"]) <= 2000 and call["timeout_s"] <= 600
    assert call["timeout_s"] >= gpu_check.BUDGET_S + 60  # installing and starting up come on top of the parts
    install, check = call["command"].split("; ", 1)
    assert install.startswith("python3 -m pip install -q --no-index --no-deps") and "--target /tmp/site" in install
    assert 'tools/gpu_check.py --output "$OUT"' in check and "set -o pipefail" in check
    ignored = subprocess.run(["git", "check-ignore", "-q", ".whl/x.whl"], cwd=project.ROOT)
    assert ignored.returncode == 0, ".whl/ must stay out of git (.gitignore)"


def test_the_t4_tab_runs_first_and_a_rerun_can_pick_parts():
    emulated = {"lora_bf16": False, "qlora_t4": True}
    names = gpu_check.part_names(["lora_bf16", "qlora_t4"], emulated)
    assert names == ["page:qlora_t4", "7b:qlora_t4", "page:lora_bf16", "7b:lora_bf16"]
    (chosen,) = gpu_check.selected_parts(["lora_bf16", "qlora_t4"], emulated, "7b:lora_bf16")
    assert chosen[0] == "7b:lora_bf16" and chosen[2] == ["7b", "lora_bf16"]
    with pytest.raises(SystemExit, match="使える名前: page:qlora_t4"):
        gpu_check.selected_parts(["lora_bf16", "qlora_t4"], emulated, "7b:t4")
