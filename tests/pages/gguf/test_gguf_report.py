"""tools/gguf_report.py: the 7B sizes and the Modelfile the GGUF page shows are what its code gives now."""

from __future__ import annotations

import shutil

import gguf_report
import project
from gguf_page import PAGE
from project import DATA


def test_committed_sizes_and_modelfile_are_current(page_run, tmp_path):
    # The converter the page run fetched, where the page keeps it (its cell then skips the download).
    shutil.copytree(page_run.path("CONVERTER_DIR"), tmp_path / page_run.namespace["CONVERTER_DIR"])
    result = gguf_report.compute(tmp_path)
    assert (DATA / "gguf-sizes.md").read_text(encoding="utf-8") == gguf_report.render(result), (
        "run: python tools/gguf_report.py"
    )
    assert (DATA / "gguf-modelfile.txt").read_text(encoding="utf-8") == result["modelfile"]
    assert (DATA / "gguf-disk.md").read_text(encoding="utf-8") == gguf_report.render_disk(result)
    page = PAGE.read_text(encoding="utf-8")
    assert '--8<-- "data/gguf-sizes.md"' in page and '--8<-- "data/gguf-disk.md"' in page

    # The twin's widths let llama.cpp use its k-quants (no fallback types): the mix is Q4_K_M's own.
    _, q4_types = result["Q4_K_M"]
    assert {"Q4_K", "Q6_K"} <= set(q4_types) <= {"Q4_K", "Q6_K", "F32"}
    # 16 bits: two bytes per parameter of the 7B, plus the header, as the memory page counts parameters.
    bf16_bytes, bf16_types = result["bf16"]
    params = project.seven_b_architecture().params
    norms = bf16_types["F32"]  # 1-D tensors stay float32: 2 more bytes per element
    assert 0 < bf16_bytes - 2 * params < 2 * norms * project.seven_b_config().hidden_size + 2_000_000
