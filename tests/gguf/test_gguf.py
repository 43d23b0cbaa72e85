"""docs/gguf.md: the page's cells, run top to bottom, and what llama.cpp makes of their files.

The hands-on left an adapter (trained here to answer the page's sample with a short summary and EOS)
and the merged model (the hands-on's own merge cell). The page converts, quantizes, generates, applies
the adapter at load time and writes an Ollama Modelfile; these tests compare llama.cpp's numbers with
transformers'.
"""

from __future__ import annotations

import re

import numpy as np
import project
import pytest
from site_build import rendered
import torch
from gguf_page import ANSWER, PAGE, build_prompt, sample_constants, tensor_types
from project import DATA, ROOT, SNIPPETS

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
    for name in ("BF16_GGUF", "Q4_GGUF", "BASE_GGUF", "BASE_Q4_GGUF", "LORA_GGUF", "MODELFILE"):
        assert page_run.path(name).is_file(), name
    assert ns["prompt"] == prompt
    assert (page_run.workdir / ns["GGUF_DIR"] / "prompt.txt").read_text(encoding="utf-8") == prompt
    # The last generation on the page: the 4-bit base model with the adapter applied at load time.
    assert ns["output"]["choices"][0]["text"] == ANSWER
    assert ns["output"]["choices"][0]["finish_reason"] == "stop"
    assert "止まった理由: stop" in out


def test_bf16_gguf_gives_transformers_next_token_logits(page_run, prompt):
    ids, expected = transformers_logits(page_run.workdir / page_run.namespace["MERGED_DIR"], prompt)
    tokens, got = next_token_logits(llama(page_run.path("BF16_GGUF")), prompt)
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
    assert path.stat().st_size < page_run.path("BF16_GGUF").stat().st_size
    assert set(tensor_types(path, page_run.path("CONVERTER_DIR"))) - {
        "F32",
        "BF16",
    }  # quantized (the stand-in's widths take llama.cpp's fallback types)
    output = llm(prompt, max_tokens=8, temperature=0.0)
    assert output["usage"]["completion_tokens"] > 0


def test_lora_applied_at_load_time_equals_the_merged_model(page_run, prompt):
    _, merged = next_token_logits(llama(page_run.path("BF16_GGUF")), prompt)
    _, with_lora = next_token_logits(
        llama(page_run.path("BASE_GGUF"), lora_path=str(page_run.path("LORA_GGUF"))), prompt
    )
    _, base = next_token_logits(llama(page_run.path("BASE_GGUF")), prompt)
    difference = np.abs(with_lora - merged).max()
    assert difference < LOGITS_ATOL, f"max |LoRA at load time - merged| = {difference:.4f}"
    assert np.abs(base - merged).max() > 20 * LOGITS_ATOL  # the adapter matters: the test can tell them apart
    print(f"LoRA at load time vs merged: {difference:.5f}; base vs merged: {np.abs(base - merged).max():.2f}")


def test_merged_gguf_generates_the_summary_and_stops_at_eos(page_run, prompt):
    output = llama(page_run.path("BF16_GGUF"))(prompt, max_tokens=64, temperature=0.0)
    assert output["choices"][0]["text"] == ANSWER
    assert output["choices"][0]["finish_reason"] == "stop"


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
    output = llama(page_run.path("BF16_GGUF"))(rendered_prompt, max_tokens=64, temperature=0.0)
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


def test_install_line_is_the_pinned_llama_cpp_python():
    import importlib.metadata

    assert all(f'"{n}=={v}"' in rendered.gguf_install_command() for n, v in project.pins("gguf").items())
    assert project.pins("gguf")["llama-cpp-python"] == importlib.metadata.version("llama_cpp_python")
    assert "gguf-install-command.md" in PAGE.read_text(encoding="utf-8")


def test_readme_documents_the_gguf_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = readme.split("<!-- gguf-test-command -->", 1)[1].split("```bash\n", 1)[1].split("\n", 1)[0]
    assert "tests/gguf" in command and '".[' in command and "gguf" in command
