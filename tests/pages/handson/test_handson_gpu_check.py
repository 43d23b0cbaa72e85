"""docs/handson.md, step 1: the GPU check, rerun with no GPU, a fake GPU of each kind, or the CPU switch.

The cell runs unmodified; only its environment changes.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from handson_checks import run_cell


def fake_gpu(monkeypatch, name: str, memory_gib: float, capability: tuple[int, int]) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(
        torch.cuda, "get_device_properties", lambda index: SimpleNamespace(name=name, total_memory=memory_gib * 1024**3)
    )
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index: capability)
    # Emulated bf16 counts here (torch's own behaviour on Turing and Volta): the check must not ask it.
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: pytest.fail("decide by compute capability"))


def test_no_gpu_stops_with_how_to_get_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("HANDSON_ALLOW_CPU")
    with pytest.raises(RuntimeError, match="GPU が見つかりません") as error:
        run_cell("check_gpu")
    assert "ランタイムのタイプを変更" in str(error.value)


def test_troubleshooting_shows_the_message_the_gpu_check_raises(monkeypatch):
    from project import DOCS

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.delenv("HANDSON_ALLOW_CPU")
    with pytest.raises(RuntimeError) as error:
        run_cell("check_gpu")
    first_line = f"RuntimeError: {str(error.value).splitlines()[0]}"
    page = (DOCS / "concepts" / "troubleshooting.md").read_text(encoding="utf-8")
    assert f"```text\n{first_line}\n```" in page


def test_cpu_runs_only_with_the_documented_switch(monkeypatch, capsys):
    from project import HANDSON_PAGE

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("HANDSON_ALLOW_CPU", "1")
    run_cell("check_gpu")
    assert "HANDSON_ALLOW_CPU=1 なので CPU で続けます" in capsys.readouterr().out
    assert "HANDSON_ALLOW_CPU=1" in HANDSON_PAGE.read_text(encoding="utf-8")  # the page names the switch


@pytest.mark.parametrize(
    ("gpu", "memory_gib", "capability", "tab"),
    [
        ("NVIDIA L4", 22.0, (8, 9), "24 GB 以上（bf16 LoRA）"),  # an L4 reports about 22 GiB
        ("NVIDIA A100-SXM4-40GB", 39.4, (8, 0), "24 GB 以上（bf16 LoRA）"),
        ("Tesla T4", 14.7, (7, 5), "T4 16 GB（4bit QLoRA）"),
        ("Quadro RTX 6000", 23.6, (7, 5), "T4 16 GB（4bit QLoRA）"),  # 24 GB, but Turing: bf16 only emulated
        ("Tesla V100-SXM2-32GB", 31.7, (7, 0), "T4 16 GB（4bit QLoRA）"),  # Volta: no bf16 either
        ("NVIDIA RTX A4000", 15.7, (8, 6), "T4 16 GB（4bit QLoRA）"),  # bf16 but too little memory for bf16 LoRA
    ],
)
def test_gpu_check_points_to_the_right_tab(monkeypatch, capsys, gpu, memory_gib, capability, tab):
    fake_gpu(monkeypatch, gpu, memory_gib, capability)
    run_cell("check_gpu")
    out = capsys.readouterr().out
    assert f"GPU: {gpu}（メモリ {memory_gib:.1f} GiB、Compute Capability {capability[0]}.{capability[1]}）" in out
    assert f"「{tab}」のタブ" in out


def test_too_small_gpu_stops_with_what_to_use(monkeypatch):
    fake_gpu(monkeypatch, "NVIDIA GeForce GTX 1080", 7.9, (6, 1))
    with pytest.raises(RuntimeError, match="メモリが足りません") as error:
        run_cell("check_gpu")
    assert "T4" in str(error.value)


def test_gpu_thresholds_leave_room_for_the_estimates():
    """The check's memory thresholds cover each tab's estimated peak (the memory page's estimator) plus 1 GB."""
    import project

    estimator = project.load_estimator()
    namespace = run_cell("check_gpu")
    arch = project.seven_b_architecture()
    for method, threshold in (("lora", "BF16_TAB_MIN_GIB"), ("qlora", "QLORA_TAB_MIN_GIB")):
        peak_gib = (estimator.estimate(arch, estimator.Setup(method=method)).peak + 1e9) / 1024**3
        assert peak_gib < namespace[threshold]


def test_page_tabs_match_the_gpu_check_advice():
    from project import HANDSON_PAGE

    page = HANDSON_PAGE.read_text(encoding="utf-8")
    for tab in ("24 GB 以上（bf16 LoRA）", "T4 16 GB（4bit QLoRA）"):
        assert page.count(f'=== "{tab}"') == 2  # model loading and training settings
