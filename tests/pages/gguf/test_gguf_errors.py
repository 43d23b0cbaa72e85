"""docs/gguf.md on bad input: a message in Japanese that says what to do, never a bare stack trace.

The page's own functions (from the page's run) on an adapter folder, an empty folder, a broken model,
a missing or broken adapter, an unknown quantization name and a file that is not a GGUF.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import pytest
from gguf_page import PAGE, run_cells
from project import page_cells


def test_convert_cell_without_the_merged_model_says_to_merge_first(page_run, tmp_path):
    namespace = dict(page_run.namespace)
    namespace["CONVERTER_DIR"] = page_run.path("CONVERTER_DIR")
    cell = next(c for c in page_cells(PAGE) if c.name == "convert_merged")
    with pytest.raises(RuntimeError) as error:
        run_cells([cell], namespace, tmp_path)  # a new runtime: outputs/ is gone
    message = str(error.value)
    assert "outputs/summary-merged にモデル（config.json と *.safetensors）がありません" in message
    assert "ハンズオン 8 のマージのセルを実行して" in message


def test_an_adapter_folder_is_not_a_model(page_run):
    adapter = page_run.workdir / page_run.namespace["ADAPTER_DIR"]
    with pytest.raises(RuntimeError, match="LoRA のアダプターのフォルダーで、モデル全体ではありません") as error:
        page_run.namespace["convert_model"](adapter, page_run.workdir / "x.gguf")
    assert "アダプターのまま使う方法（このページの 5「アダプターのまま使う」）" in str(error.value)
    assert "\n## 5. アダプターのまま使う（GGUF の LoRA） {#lora}\n" in PAGE.read_text(encoding="utf-8")


def test_an_empty_folder_is_not_a_model(page_run, tmp_path):
    with pytest.raises(RuntimeError, match="モデル（config.json と \\*.safetensors）がありません"):
        page_run.namespace["convert_model"](tmp_path, tmp_path / "x.gguf")


def test_too_little_disk_stops_before_writing(page_run, tmp_path, monkeypatch):
    """The 16-bit GGUF is about as large as all the 16-bit weight files together (a 7B has several)."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    for shard in ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"):
        (model / shard).write_bytes(b"\0" * 1_000_000)  # 2 MB in all
    free = 1_500_000  # more than one shard, less than both
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: real(path)._replace(free=free))
    with pytest.raises(RuntimeError) as error:
        page_run.namespace["convert_model"](model, tmp_path / "x.gguf")
    message = str(error.value)
    assert message.startswith("x.gguf（約 0.0 GB）を書くには、ディスクの空きが足りません（空き 0.0 GB）。"), message
    assert "要らなくなったファイル（前に作った GGUF など）を消してから" in message
    assert not (tmp_path / "x.gguf").exists()


def test_a_model_the_converter_cannot_read_shows_the_converters_last_words(page_run, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(page_run.workdir / page_run.namespace["MERGED_DIR"], broken)
    config = json.loads((broken / "config.json").read_text())
    config["architectures"] = ["NoSuchModelForCausalLM"]
    (broken / "config.json").write_text(json.dumps(config))
    with contextlib.chdir(page_run.workdir), pytest.raises(RuntimeError) as error:
        page_run.namespace["convert_model"](broken, tmp_path / "x.gguf")
    message = str(error.value)
    assert message.startswith(f"{broken} を GGUF に変換できませんでした。変換スクリプトの出力の最後:")
    assert "NoSuchModelForCausalLM" in message
    assert not (tmp_path / "x.gguf").exists()


def test_a_missing_adapter_says_where_it_should_be(page_run, tmp_path):
    ns = page_run.namespace
    with pytest.raises(RuntimeError) as error:
        ns["convert_adapter"](tmp_path / "summary-lora-adapter", ns["BASE_DIR"], tmp_path / "x.gguf")
    message = str(error.value)
    assert "LoRA のアダプター（adapter_config.json）がありません" in message
    assert "ハンズオン 8 でアダプターを保存したフォルダー（Colab では Google ドライブ）" in message


def test_a_broken_adapter_shows_the_converters_last_words(page_run, tmp_path):
    ns = page_run.namespace
    broken = tmp_path / "broken-adapter"
    broken.mkdir()
    (broken / "adapter_config.json").write_text("{}")
    with contextlib.chdir(page_run.workdir), pytest.raises(RuntimeError) as error:
        ns["convert_adapter"](broken, ns["BASE_DIR"], tmp_path / "x.gguf")
    assert str(error.value).startswith(f"{broken} を GGUF に変換できませんでした。変換スクリプトの出力の最後:")


def test_an_unknown_quantization_lists_the_ones_to_choose(page_run, tmp_path):
    ns = page_run.namespace
    with pytest.raises(ValueError) as error:
        ns["quantize"](page_run.kept("GGUF_16BIT"), tmp_path / "x.gguf", "Q4_K_X")
    assert str(error.value) == (
        "量子化の種類 'Q4_K_X' には対応していません。Q4_K_M, Q5_K_M, Q8_0 のどれかを指定してください。"
    )
    assert not (tmp_path / "x.gguf").exists()


def test_quantizing_a_file_that_is_not_a_gguf_says_which_file_to_give(page_run, tmp_path):
    not_gguf = tmp_path / "summary-merged.safetensors"
    not_gguf.write_bytes(b"not a gguf file")
    with contextlib.redirect_stderr(io.StringIO()), pytest.raises(RuntimeError) as error:
        page_run.namespace["quantize"](not_gguf, tmp_path / "x.gguf")
    assert str(error.value) == (
        f"{not_gguf} を量子化できませんでした。このページの 2「16 ビットの GGUF にする」で作ったファイルを指定してください。"
    )
    assert "\n## 2. 16 ビットの GGUF にする {#convert}\n" in PAGE.read_text(encoding="utf-8")
