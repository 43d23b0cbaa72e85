"""docs/gguf.md: the page's cells, run top to bottom, and what llama.cpp makes of their files.

The hands-on left an adapter (trained here to answer the page's sample with a short summary and EOS)
and the merged model (the hands-on's own merge cell). The page converts, quantizes, generates, applies
the adapter at load time and writes an Ollama Modelfile; these tests compare llama.cpp's numbers with
transformers'.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import numpy as np
import project
import pytest
from site_build import rendered
import torch
from gguf_page import (
    ADAPTER_ONLY_CELLS,
    ANSWER,
    PAGE,
    build_prompt,
    gguf_module,
    merge_as_the_handson_does,
    sample_constants,
    tab_dtype,
    tensor_types,
)
from project import DATA, ROOT, SNIPPETS, snippet_constant

# llama.cpp keeps bf16 weights as they are but rounds the activations to bf16 before each matrix product
# with them (ggml-cpu: vec_dot_type of BF16 is BF16); transformers here computes in float32. Measured on
# the stand-in (logits up to about 1.2): 0.0010 (bf16 GGUF vs transformers), 0.0014 (LoRA at load time vs
# merged). The tolerance is ten times that, and far below what the adapter changes (about 1.3).
LOGITS_ATOL = 0.01


def llama(path, **kwargs):
    from llama_cpp import Llama

    return Llama(model_path=str(path), n_ctx=512, logits_all=True, verbose=False, **kwargs)


def next_token_logits(llm, prompt: str) -> tuple[list[int], np.ndarray]:
    tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True)
    llm.reset()
    llm.eval(tokens)
    return tokens, np.array(llm.scores[len(tokens) - 1])


def transformers_logits(folder, prompt: str) -> tuple[list[int], np.ndarray]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    ids = tokenizer(prompt).input_ids
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, -1]
    return ids, logits.numpy()


@pytest.fixture(scope="module")
def prompt() -> str:
    constants = sample_constants()
    return build_prompt(constants["INSTRUCTION"], constants["TEXT"])


def test_page_runs_and_the_summary_stops_at_eos(page_run, prompt):
    ns, out = page_run.namespace, page_run.output
    assert [c.name for c in project.page_cells(PAGE)][-1] == "modelfile"
    for name in ("Q4_GGUF", "BASE_Q4_GGUF", "LORA_GGUF", "MODELFILE"):
        assert page_run.path(name).is_file(), name
    assert ns["prompt"] == prompt
    assert (page_run.workdir / ns["GGUF_DIR"] / "prompt.txt").read_text(encoding="utf-8") == prompt
    # The last generation on the page: the 4-bit base model with the adapter applied at load time.
    assert ns["llm"].model_path == str(ns["BASE_Q4_GGUF"])  # 4 bits: Colab's RAM cannot hold 16 (the page)
    assert ns["output"]["choices"][0]["text"] == ANSWER
    assert ns["output"]["choices"][0]["finish_reason"] == "stop"
    assert out.count("止まった理由: stop") == 2  # the merged model's Q4_K_M, then the adapter's


def test_16bit_ggufs_are_deleted_once_quantized(page_run):
    """Disk on Colab: a 16-bit GGUF (14.5 GB for the 7B) is not kept once its 4-bit one exists."""
    ns = page_run.namespace
    left = sorted(p.name for p in (page_run.workdir / ns["GGUF_DIR"]).iterdir())
    assert left == sorted(
        [ns["Q4_GGUF"].name, ns["BASE_Q4_GGUF"].name, ns["LORA_GGUF"].name, "Modelfile", "prompt.txt"]
    )
    for name in ("GGUF_16BIT", "BASE_GGUF"):
        assert not page_run.path(name).exists() and page_run.kept(name).is_file(), name


def handson_max_new_tokens() -> int:
    """The hands-on's summarize() default: how long a summary may get (snippets/handson/generate.py)."""
    import ast

    tree = ast.parse((SNIPPETS / "handson" / "generate.py").read_text(encoding="utf-8"))
    summarize = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "summarize")
    names = [a.arg for a in summarize.args.args][-len(summarize.args.defaults) :]
    return ast.literal_eval(summarize.args.defaults[names.index("max_new_tokens")])


def test_generations_are_greedy_and_as_long_as_the_handson_allows(page_run, adapter_only_run):
    """llama-cpp-python's defaults would sample (temperature 0.8) and stop a summary at 16 tokens."""
    ns = page_run.namespace
    expected = [
        (str(ns["Q4_GGUF"]), None),  # 4. the merged model, 4 bits
        (str(ns["BASE_Q4_GGUF"]), str(ns["LORA_GGUF"])),  # 5. the 4-bit base model with the LoRA
    ]
    assert [(c["model_path"], c["lora_path"]) for c in page_run.generations] == expected
    assert len(adapter_only_run.generations) == 1
    for call in page_run.generations + adapter_only_run.generations:
        assert call["args"] == () and call["temperature"] == 0.0
        assert call["max_tokens"] == handson_max_new_tokens()


def test_context_holds_what_the_model_was_trained_on(page_run, adapter_only_run):
    """llama-cpp-python's default context (512 tokens) would refuse most real prompts (median 631 tokens)."""
    calls = page_run.generations + adapter_only_run.generations
    assert len(calls) == 3 and all(c["n_ctx"] >= snippet_constant("max_length", "MAX_LENGTH") for c in calls)


def test_16bit_gguf_gives_transformers_next_token_logits(page_run, prompt):
    ids, expected = transformers_logits(page_run.workdir / page_run.namespace["MERGED_DIR"], prompt)
    tokens, got = next_token_logits(llama(page_run.kept("GGUF_16BIT")), prompt)
    assert tokens == ids  # same tokenizer, BOS included
    difference = np.abs(got - expected).max()
    assert difference < LOGITS_ATOL, (
        f"max |llama.cpp - transformers| = {difference:.4f} (logits up to {np.abs(expected).max():.2f})"
    )
    assert got.argmax() == expected.argmax()
    print(f"bf16: max |llama.cpp - transformers| = {difference:.5f}, logits up to {np.abs(expected).max():.2f}")


def test_q4_k_m_gguf_loads_and_generates(page_run, prompt):
    path = page_run.path("Q4_GGUF")
    llm = llama(path)
    assert llm.metadata["general.file_type"] == str(page_run.namespace["QUANT_TYPES"]["Q4_K_M"])
    assert path.stat().st_size < page_run.kept("GGUF_16BIT").stat().st_size
    assert set(tensor_types(path, page_run.path("CONVERTER_DIR"))) - {
        "F32",
        "BF16",
    }  # quantized (the stand-in's widths take llama.cpp's fallback types)
    output = llm(prompt, max_tokens=8, temperature=0.0)
    assert output["usage"]["completion_tokens"] > 0


def test_lora_applied_at_load_time_equals_the_merged_model(page_run, prompt):
    _, merged = next_token_logits(llama(page_run.kept("GGUF_16BIT")), prompt)
    _, with_lora = next_token_logits(
        llama(page_run.kept("BASE_GGUF"), lora_path=str(page_run.path("LORA_GGUF"))), prompt
    )
    _, base = next_token_logits(llama(page_run.kept("BASE_GGUF")), prompt)
    difference = np.abs(with_lora - merged).max()
    assert difference < LOGITS_ATOL, f"max |LoRA at load time - merged| = {difference:.4f}"
    assert np.abs(base - merged).max() > 20 * LOGITS_ATOL  # the adapter matters: the test can tell them apart
    print(f"LoRA at load time vs merged: {difference:.5f}; base vs merged: {np.abs(base - merged).max():.2f}")


def test_merged_gguf_generates_the_summary_and_stops_at_eos(page_run, prompt):
    output = llama(page_run.kept("GGUF_16BIT"))(prompt, max_tokens=64, temperature=0.0)
    assert output["choices"][0]["text"] == ANSWER
    assert output["choices"][0]["finish_reason"] == "stop"


# --- 16 bits as the merge saved them: the tab's own type, bit for bit, from one file or several ------------

# Tensors the converter copies as they are (q and k are permuted for llama.cpp's rotary layout).
SAME_TENSORS = {
    "token_embd.weight": "model.embed_tokens.weight",
    "blk.0.ffn_down.weight": "model.layers.0.mlp.down_proj.weight",  # LoRA merged into it
    "blk.1.attn_v.weight": "model.layers.1.self_attn.v_proj.weight",
    "output.weight": "lm_head.weight",
}


def safetensors_bytes(folder: Path, name: str) -> bytes:
    from safetensors import safe_open

    for path in sorted(folder.glob("*.safetensors")):
        with safe_open(path, "pt") as f:
            if name in f.keys():
                tensor = f.get_tensor(name)
                return tensor.view(torch.uint16).numpy().tobytes()
    raise AssertionError(f"{name} is in no shard of {folder}")


def assert_16bit_gguf_is_the_merged_model(gguf_file: Path, merged: Path, converter: Path, gguf_type: str) -> None:
    reader = gguf_module(converter).GGUFReader(gguf_file)
    types = {t.tensor_type.name for t in reader.tensors if len(t.shape) > 1}
    assert types == {gguf_type}, types  # every matrix in the merged model's own 16-bit type: nothing rounded
    tensors = {t.name: t for t in reader.tensors}
    for gguf_name, hf_name in SAME_TENSORS.items():
        assert tensors[gguf_name].data.tobytes() == safetensors_bytes(merged, hf_name), gguf_name


GGUF_TYPE = {torch.bfloat16: "BF16", torch.float16: "F16"}


def test_24gb_tab_merge_becomes_a_bf16_gguf_bit_for_bit(page_run):
    assert tab_dtype("lora_bf16") == torch.bfloat16  # the page: 24 GB 以上のタブでは bf16
    merged = page_run.workdir / page_run.namespace["MERGED_DIR"]
    assert_16bit_gguf_is_the_merged_model(
        page_run.kept("GGUF_16BIT"), merged, page_run.path("CONVERTER_DIR"), GGUF_TYPE[tab_dtype("lora_bf16")]
    )


def reshard(folder: Path, out: Path, max_shard_size: str) -> None:
    """The model saved again in several files, as a 7B is saved (index plus shards); same dtype, same values."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    AutoModelForCausalLM.from_pretrained(folder).save_pretrained(out, max_shard_size=max_shard_size)
    AutoTokenizer.from_pretrained(folder).save_pretrained(out)


def test_t4_tab_merge_becomes_an_f16_gguf_bit_for_bit_from_a_sharded_folder(page_run, prompt, tmp_path):
    """The T4 tab's merge reloads the base in fp16; its GGUF must stay fp16 (bf16 would round every weight)."""
    assert tab_dtype("qlora_t4") == torch.float16  # the page: T4 のタブでは fp16
    assert "24 GB 以上のタブでは bf16、T4 のタブでは fp16 です" in PAGE.read_text(encoding="utf-8")
    adapter = page_run.workdir / "outputs" / "summary-lora-adapter"
    merge_as_the_handson_does(tmp_path, adapter, "qlora_t4")
    sharded = tmp_path / "sharded"
    reshard(tmp_path / "outputs" / "summary-merged", sharded, "150KB")
    assert len(list(sharded.glob("*.safetensors"))) > 1 and (sharded / "model.safetensors.index.json").is_file()
    with contextlib.chdir(page_run.workdir):  # where the page keeps llama.cpp's converter
        gguf_file = page_run.namespace["convert_model"](sharded, tmp_path / "t4-16bit.gguf")
    assert_16bit_gguf_is_the_merged_model(
        gguf_file, sharded, page_run.path("CONVERTER_DIR"), GGUF_TYPE[tab_dtype("qlora_t4")]
    )
    ids, expected = transformers_logits(sharded, prompt)
    tokens, got = next_token_logits(llama(gguf_file), prompt)
    assert tokens == ids
    assert np.abs(got - expected).max() < LOGITS_ATOL


# --- the LoRA path alone: only the saved adapter, no merged model ----------------------------------------

MERGED_ONLY_CELLS = {"convert_merged", "quantize_merged", "run_llama_cpp", "modelfile"}


def test_adapter_alone_in_a_fresh_folder_gets_to_the_summary(adapter_only_run):
    """The page's way without a merged model: 1, the functions of 2 and 3, then 5, in a new folder."""
    cells = [c.name for c in project.page_cells(PAGE)]
    assert [name for name in cells if name not in MERGED_ONLY_CELLS] == ADAPTER_ONLY_CELLS
    text = PAGE.read_text(encoding="utf-8")
    assert "2 と 3 は関数を作る最初のセル（`convert_model` と `quantize`）だけを実行して、5 に進みます" in text
    ns, workdir = adapter_only_run.namespace, adapter_only_run.workdir
    assert not (workdir / "outputs" / "summary-merged").exists()
    assert ns["output"]["choices"][0]["text"] == ANSWER
    assert ns["output"]["choices"][0]["finish_reason"] == "stop"
    left = sorted(p.name for p in (workdir / ns["GGUF_DIR"]).iterdir())
    assert left == sorted([ns["BASE_Q4_GGUF"].name, ns["LORA_GGUF"].name, "prompt.txt"])  # 16 bits deleted


# --- the Modelfile -------------------------------------------------------------------------------------


def parse_modelfile(text: str) -> dict[str, str]:
    found = {}
    for m in re.finditer(r'^(FROM|TEMPLATE|SYSTEM|PARAMETER \w+) (?:"""(.*?)"""|"(.*?)"|(\S+))$', text, re.M | re.S):
        found[m[1]] = next(g for g in m.groups()[1:] if g is not None)
    return found


def render_template(template: str, system: str, prompt: str) -> str:
    """Ollama's Go template, for the only two fields this one uses (anything else fails the test)."""
    values = {"System": system, "Prompt": prompt}
    actions = re.findall(r"\{\{(.*?)\}\}", template)
    assert all(a.strip().lstrip(".") in values for a in actions), actions
    return re.sub(r"\{\{ *\.(\w+) *\}\}", lambda m: values[m[1]], template)


def test_modelfile_template_is_the_handson_prompt_byte_for_byte(page_run, prompt):
    ns = page_run.namespace
    text = page_run.path("MODELFILE").read_text(encoding="utf-8")
    fields = parse_modelfile(text)
    assert fields["FROM"] == f"./{ns['Q4_GGUF'].name}"
    assert (page_run.path("MODELFILE").parent / fields["FROM"]).resolve() == page_run.path("Q4_GGUF").resolve()
    rendered_prompt = render_template(fields["TEMPLATE"], fields["SYSTEM"], sample_constants()["TEXT"])
    assert rendered_prompt.encode("utf-8") == prompt.encode("utf-8")
    assert fields["PARAMETER stop"] == "</s>" == ns["tokenizer"].eos_token
    # llama.cpp, given the rendered prompt, stops at EOS (the GGUF says which token that is).
    llm = llama(page_run.path("Q4_GGUF"))
    assert llm.token_eos() == ns["tokenizer"].eos_token_id
    assert llm.detokenize([llm.token_eos()], special=True) == b"</s>"
    output = llama(page_run.kept("GGUF_16BIT"))(rendered_prompt, max_tokens=64, temperature=0.0)
    assert output["choices"][0]["finish_reason"] == "stop"
    assert output["usage"]["completion_tokens"] < 64


def test_committed_modelfile_is_what_the_page_writes(page_run):
    committed = (DATA / "gguf-modelfile.txt").read_text(encoding="utf-8")
    assert committed == page_run.path("MODELFILE").read_text(encoding="utf-8"), "run: python tools/gguf_report.py"


# --- the page's shell commands and install line ---------------------------------------------------------


def test_shell_commands_name_the_files_the_page_writes(page_run):
    commands = (SNIPPETS / "gguf" / "commands.sh").read_text(encoding="utf-8")
    named = set(re.findall(r"outputs/gguf/[\w.-]+", commands))
    written = {p.relative_to(page_run.workdir).as_posix() for p in (page_run.workdir / "outputs" / "gguf").iterdir()}
    assert named and named <= written, named - written
    assert "-f Modelfile" in commands and "cd outputs/gguf" in commands
    # llama.cpp's -f drops the file's last newline (common/arg.cpp): the prompt would end in "### 応答".
    # -bf reads the file as it is, and --no-escape leaves backslashes in the text alone.
    assert " -f outputs/gguf/prompt.txt" not in commands
    assert commands.count("-bf outputs/gguf/prompt.txt --no-escape") == 2


def readme_gguf_command() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("<!-- gguf-test-command -->", 1)[1].split("```bash\n", 1)[1].split("\n", 1)[0]


def test_install_line_is_the_pinned_llama_cpp_python_built_as_the_tests_build_it():
    import importlib.metadata
    import platform

    import llama_cpp

    line = rendered.gguf_install_command()
    assert all(f'"{n}=={v}"' in line for n, v in project.pins("gguf").items())
    assert project.pins("gguf")["llama-cpp-python"] == importlib.metadata.version("llama_cpp_python")
    assert "gguf-install-command.md" in PAGE.read_text(encoding="utf-8")
    # The learner's build is the tested one: the same CMAKE_ARGS in the page's line and in README's command.
    cmake_args = f'CMAKE_ARGS="{rendered.GGUF_CMAKE_ARGS}"'
    assert cmake_args in line and cmake_args in readme_gguf_command()
    assert "-DGGML_NATIVE=OFF" in rendered.GGUF_CMAKE_ARGS
    if platform.machine() == "x86_64":  # built for any AVX2 CPU, not for this machine's own instructions
        info = llama_cpp.llama_print_system_info().decode()
        assert "AVX2 = 1" in info and "AVX512 = 1" not in info, info


def test_readme_documents_the_gguf_command():
    command = readme_gguf_command()
    assert "tests/pages/gguf" in command and '".[' in command and "gguf" in command
