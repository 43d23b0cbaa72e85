"""The other forms of the hands-on: notebook, standalone script, multi-GPU run, rendered versions.

The notebook and the script are written by tools/build_forms.py (committed: GitHub and Colab serve
them); the versions page and the includes are rendered when the site is built (tools/site_build/rendered.py).
These tests check that the committed files are fresh, that they carry the page's code byte for
byte, and that they run: the notebook in a Jupyter kernel, the script under ``accelerate launch``
with two processes (CPU, gloo). Both runs use the stand-in Hub, like tests/test_handson.py.
"""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

import background_runs
import build_forms
import notebook as notebook_form
import project
import standin
from learner_files import DEPLOYED, secrets_in
from project import DOCS, HANDSON_PAGE, ROOT, cells_for
from site_build import notebook_page, rendered

NOTEBOOK, SCRIPT, CONFIG = project.NOTEBOOK, project.SCRIPT, project.ACCELERATE_CONFIG
REPO_ID = f"standin-user/{project.snippet_constant('output_dir', 'HUB_REPO_NAME')}"


# --- generated files are fresh ------------------------------------------------------------------


@pytest.fixture
def unknown_urls(monkeypatch):
    """As on a developer's machine: no REPO_URL, no SITE_URL (the committed files are made so)."""
    monkeypatch.delenv("REPO_URL", raising=False)
    monkeypatch.delenv("SITE_URL", raising=False)


@pytest.fixture
def known_urls(monkeypatch):
    for name, value in DEPLOYED.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("path", list(build_forms.outputs()), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_generated_file_is_fresh(path, unknown_urls):
    expected = build_forms.outputs()[path]
    assert path.exists() and path.read_text(encoding="utf-8") == expected, (
        f"{path.relative_to(ROOT)} が古くなっています。`python tools/build_forms.py` で生成し直してください。"
    )


# --- the notebook -------------------------------------------------------------------------------


def notebook() -> dict:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    return "".join(cell["source"])


def requirements(command: str) -> dict[str, str]:
    return dict(re.findall(r'"([\w.-]+)==([\w.+-]+)"', command))


def test_notebook_is_committed_without_outputs_and_with_stable_ids():
    import nbformat

    nb = nbformat.reads(NOTEBOOK.read_text(encoding="utf-8"), as_version=4)
    nbformat.validate(nb)  # ids present, unique, well formed
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids)
    assert "install" in ids and f"{project.NOTEBOOK_VARIANT}-load_model" in ids


def test_notebook_code_is_the_page_code_in_page_order():
    code = [c for c in notebook()["cells"] if c["cell_type"] == "code"]
    page = cells_for(project.NOTEBOOK_VARIANT)
    assert [source(c) for c in code[1:]] == [cell.path.read_text(encoding="utf-8") for cell in page]


def test_notebook_first_cell_installs_the_pins_but_keeps_colabs_torch():
    first = next(c for c in notebook()["cells"] if c["cell_type"] == "code")
    assert source(first).startswith("%pip install ")
    pins = project.pins()
    assert requirements(source(first)) == {name: v for name, v in pins.items() if name != "torch"}
    assert "torch" in pins  # the tests' torch is shown on the versions page instead
    assert f"| torch | {pins['torch']} |" in rendered.versions_page()


def test_notebook_headings_keep_the_pages_anchors():
    markdown = "\n".join(source(c) for c in notebook()["cells"] if c["cell_type"] == "markdown")
    markdown = re.sub(r"^```.*?^```", "", markdown, flags=re.M | re.S)  # code blocks may hold "### 指示"
    assert not re.search(r"^#{1,6} ", markdown, re.M), "Markdown headings get id='' from mkdocs-jupyter"
    notebook_ids = re.findall(r'<h[2-6] id="([\w-]+)">', markdown)
    page_ids = re.findall(r"^#{2,6} .*\{#([\w-]+)\}\s*$", HANDSON_PAGE.read_text(encoding="utf-8"), re.M)
    assert notebook_ids == page_ids


def test_site_renders_the_notebook_with_the_pages_anchors_and_no_offsite_image(local_site):
    site, _ = local_site  # the page mkdocs-jupyter made of the committed notebook
    html = (site / project.url_path(NOTEBOOK) / "index.html").read_text(encoding="utf-8")
    html = html[html.index('<article class="md-content__inner') :]  # the notebook, without the site's navigation
    ids = re.findall(r'<h[2-6][^>]* id="([^"]*)"', html)
    page_ids = re.findall(r"^#{2,6} .*\{#([\w-]+)\}\s*$", HANDSON_PAGE.read_text(encoding="utf-8"), re.M)
    assert ids == page_ids  # no id="" (it breaks Material's search for the whole page)
    assert "colab-badge.svg" not in html


def test_hands_on_page_shows_the_tested_versions_in_setup():
    page = HANDSON_PAGE.read_text(encoding="utf-8")
    setup = page.split("## 0. 準備 {#setup}", 1)[1].split("\n## ", 1)[0]
    assert f'--8<-- "{rendered.TESTED_VERSIONS}"' in setup
    include = rendered.tested_versions_include()
    assert all(f"{name} {version}" in include for name, version in project.pins().items())


def markdown_of(notebook_text: str) -> str:
    cells = json.loads(notebook_text)["cells"]
    return "\n".join(source(c) for c in cells if c["cell_type"] == "markdown")


def relative_page_links() -> list[str]:
    """The hands-on page's links to other pages of the site (relative .md links)."""
    return re.findall(r"\]\(([\w/.-]+\.md(?:#[\w-]+)?)\)", HANDSON_PAGE.read_text(encoding="utf-8"))


def test_known_urls_give_a_colab_badge_and_absolute_links_to_the_site(known_urls):
    """The deployed copy: the badge opens the notebook that the deployed site itself serves."""
    colab = (
        "https://colab.research.google.com/github/handson-ci/sft-lora-handson-ja/blob/gh-pages"
        "/notebooks/handson/handson.ipynb"  # mkdocs gh-deploy's branch; the site keeps the .ipynb next to its page
    )
    assert project.colab_url() == colab
    text = notebook_form.notebook_json()
    first = json.loads(text)["cells"][0]
    assert source(first) == f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab})"
    # The badge image is on another host: the site drops the cell and shows its own button (same address).
    assert first["metadata"]["tags"] == ["colab-badge"]
    assert "remove_cell_tags: [colab-badge]" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")

    markdown = markdown_of(text)
    site = DEPLOYED["SITE_URL"]
    pages = relative_page_links()
    addresses = [re.sub(r"\.md\b", "/", re.sub(r"(^|/)index\.md", r"\1", path)) for path in pages]
    assert pages and all(f"]({site}{address})" in markdown for address in addresses), "links to pages become absolute"
    assert f"]({site}handson/)" in markdown and f"]({site}versions/)" in markdown
    assert "サイトの「" not in markdown and "ノートブックをアップロード" not in markdown
    assert f"[Colab で開く]({colab})" in rendered.tested_versions_include()


def test_unknown_urls_give_no_colab_link_and_no_site_address(unknown_urls):
    """The committed copy and a local build: nothing to link to, so say how to upload to Colab."""
    assert project.colab_url() is None and project.site_url() is None
    text = notebook_form.notebook_json()
    cells = json.loads(text)["cells"]
    assert all("colab-badge" not in c["metadata"].get("tags", []) for c in cells)
    markdown = markdown_of(text)
    assert "colab.research.google.com" not in markdown and "http://" not in markdown
    assert "「ファイル」→「ノートブックをアップロード」" in markdown
    targets = re.findall(r"\]\(([^)\s]+)\)", markdown)
    assert all(t.startswith(("https://", "#")) for t in targets), targets  # no relative link: Colab can't follow it
    named = re.findall(r"サイトの「([^」]+)」のページ", markdown)
    assert len(named) >= len(relative_page_links())  # each link to a page became the page's name
    include = rendered.tested_versions_include()
    assert "colab.research.google.com" not in include and "「ファイル」→「ノートブックをアップロード」" in include


def test_a_repository_off_github_is_refused_in_japanese(monkeypatch):
    monkeypatch.setenv("REPO_URL", "https://gitlab.com/someone/sft-lora-handson-ja")
    with pytest.raises(SystemExit, match="Colab は GitHub にあるノートブックしか開けません"):
        project.colab_url()


def test_site_colab_button_is_the_badges_address(monkeypatch):
    """The notebook page's button (docs/overrides/main.html) shows the address that the build takes from
    project.colab_url(), as the badge does, and no button where the repository is unknown
    (tests/browser/test_browser_notebook.py follows the button on the deployed build)."""
    page = SimpleNamespace(file=SimpleNamespace(src_uri="notebooks/handson.ipynb"), meta={}, toc=None)
    for name, value in DEPLOYED.items():
        monkeypatch.setenv(name, value)
    notebook_page.on_page_content('<h1 id="title">ノートブック</h1>', page=page, config={}, files=None)
    assert page.meta["colab_url"] == project.colab_url(NOTEBOOK) is not None
    monkeypatch.delenv("REPO_URL")
    notebook_page.on_page_content('<h1 id="title">ノートブック</h1>', page=page, config={}, files=None)
    assert page.meta["colab_url"] is None
    template = (DOCS / "overrides" / "main.html").read_text(encoding="utf-8")
    assert "{% if page.meta.colab_url %}" in template
    assert '<a href="{{ page.meta.colab_url }}"' in template


@pytest.fixture(scope="module")
def notebook_run():
    """The committed notebook, run top to bottom in a fresh Jupyter kernel against the stand-in.

    Started right after collection (tests/background_runs.py); this waits for it.
    """
    import nbformat

    out = background_runs.wait("notebook")
    nb = nbformat.reads((out / "executed.ipynb").read_text(encoding="utf-8"), as_version=4)
    facts = json.loads(nb.cells[-1].outputs[0]["text"])
    added = (background_runs.PREAMBLE, background_runs.AFTER_LOAD_MODEL, background_runs.BEFORE_MERGE, background_runs.REPORT)
    page_cells = [c for c in nb.cells if c.source not in added]
    return page_cells, out / "work", facts


def outputs_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")


def test_notebook_runs_top_to_bottom(notebook_run):
    cells, workdir, facts = notebook_run
    by_id = {c.id: c for c in cells}
    code = [c for c in cells if c.cell_type == "code"]
    assert all(o["output_type"] != "error" for c in code for o in c.outputs)
    counts = [c.execution_count for c in code]
    assert None not in counts and counts == sorted(counts) and len(set(counts)) == len(counts)  # every cell ran, in order

    # The install cell ran pip for real (no index): every pinned version was already satisfied.
    install = outputs_text(by_id["install"])
    for name, version in requirements(source(by_id["install"])).items():
        assert re.search(rf"Requirement already satisfied: {re.escape(name)}=={re.escape(version)}", install, re.I), (
            install
        )

    # The T4 (QLoRA) settings: 4-bit base model, fp16 training; two steps on the stand-in data.
    assert facts["fp16"] is True
    assert "学習するパラメータ: " in outputs_text(by_id["preflight"])  # the pre-flight check ran before training
    assert "学習用" in outputs_text(by_id["prepare_dataset"])
    assert facts["before"] == facts["after"] == 3
    # One batched call each: before and after training, then ROUGE before and after (3 rows fit one batch).
    assert facts["requested_max_new_tokens"] == [256] and facts["generate_calls"] == 4
    assert facts["adapters_at_generation"] == ["none", "on", "off", "on"]  # ROUGE "before" without the adapter

    adapter = workdir / facts["adapter_dir"]
    merged = workdir / facts["merged_dir"]
    assert {"adapter_model.safetensors", "adapter_config.json"} <= {p.name for p in adapter.iterdir()}
    assert {"model.safetensors", "config.json"} <= {p.name for p in merged.iterdir()}
    assert json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"] == standin.MODEL_ID

    create, upload = facts["hub_calls"]
    assert create == ["create_repo", REPO_ID, {"private": True, "exist_ok": True}]
    assert upload[:2] == ["upload_folder", REPO_ID] and "adapter_model.safetensors" in upload[2]["files"]

    # The kernel had a token (HF_TOKEN, as a Colab secret gives it): no cell shows it.
    assert secrets_in(json.dumps([c.outputs for c in code], ensure_ascii=False)) == []


# The T4 tab's facts, from its run in the notebook (the in-process page run takes the bf16 tab).


def test_notebook_trains_float32_adapters_on_an_unchanged_4bit_base(notebook_run):
    _, _, facts = notebook_run
    assert facts["fp16"] is True and facts["dtype"] == "torch.float16" and facts["load_in_4bit"] is True
    # TRL casts QLoRA adapters to bf16; the trainer cell casts them to float32 for CUDA's GradScaler (lora.md#qlora-dtypes)
    assert facts["trainable_dtypes"] == ["torch.float32"]
    # ... and trained with a GradScaler that refuses what CUDA's refuses (standin.fp16_as_on_a_gpu)
    assert facts["grad_scaler"] == "GradScalerWithCudaRules" and facts["grad_scaler_used"]
    assert facts["trainable_all_lora"] and facts["lora_b_moved"] and facts["global_step"] == 2
    assert facts["base_names_equal"] and facts["base_unchanged"]  # 4-bit packed weights and scales, bit for bit


def test_notebook_saves_a_float32_adapter_and_says_its_size(notebook_run):
    import torch
    from handson_checks import saved_adapter_dtypes

    cells, workdir, facts = notebook_run
    adapter = workdir / facts["adapter_dir"]
    assert saved_adapter_dtypes(adapter) == {torch.float32}
    size = (adapter / "adapter_model.safetensors").stat().st_size / 1e6
    save = next(c for c in cells if c.get("id") == "save_adapter")
    assert f"アダプターの重み {size:.0f} MB" in outputs_text(save)


def test_notebook_merges_into_a_16_bit_reload(notebook_run):
    import torch
    from handson_checks import check_merged_model

    _, workdir, facts = notebook_run
    prompt = "### 指示\n次の文章を要約してください。\n\n### 入力\n本文です。\n\n### 応答\n"
    check_merged_model(workdir / facts["merged_dir"], workdir / facts["adapter_dir"], torch.float16, prompt)


# --- the standalone script ----------------------------------------------------------------------


def pep723(path: Path) -> dict:
    """The inline script metadata block, read with the regex given in PEP 723."""
    regex = r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$"
    (match,) = [m for m in re.finditer(regex, path.read_text(encoding="utf-8")) if m["type"] == "script"]
    content = "".join(line[2:] if line.startswith("# ") else line[1:] for line in match["content"].splitlines(True))
    return tomllib.loads(content)


def test_script_declares_the_pinned_versions_inline():
    metadata = pep723(SCRIPT)
    assert metadata["dependencies"] == [f"{name}=={version}" for name, version in project.pins().items()]
    assert metadata["requires-python"] == project.requires_python()


def script_module() -> dict:
    return runpy.run_path(str(SCRIPT), run_name="imported_by_tests")


def test_script_cells_are_the_page_cells_byte_for_byte():
    module = script_module()
    for variant in module["VARIANTS"]:
        page = [(c.name, c.path.read_text(encoding="utf-8")) for c in cells_for(variant)]
        script = [(name, code) for name, v, *_, code in module["CELLS"] if v in (None, variant)]
        assert script == page


def test_script_defaults_are_the_hands_on_values(capsys):
    args = script_module()["parse_args"]([])
    assert (args.model, args.dataset) == (standin.MODEL_ID, standin.DATASET_ID)
    assert (args.variant, args.max_steps, args.push, args.output_dir) == ("lora_bf16", -1, False, Path("."))
    with pytest.raises(SystemExit):
        script_module()["parse_args"](["--max-steps", "0"])
    assert "--max-steps には 1 以上の数か" in capsys.readouterr().err


def test_script_command_line_values_win_over_the_cells_constants():
    import script_runtime

    namespace = script_runtime.Namespace({"MODEL_ID": "someone/another-model"})
    namespace.run("test", 'MODEL_ID = "stabilityai/japanese-stablelm-base-gamma-7b"\nloaded = MODEL_ID\nother = 1\n')
    assert namespace["loaded"] == "someone/another-model" and namespace["other"] == 1
    namespace.run("test", "def f():\n    return other + 1\nresult = f()\ndel other\n")
    assert namespace["result"] == 2 and "other" not in namespace  # functions see the cells' names
    assert len(namespace) == len(list(namespace)) and "loaded" in list(namespace)


@pytest.fixture(scope="module")
def ddp_run():
    """The two-process run, started right after collection (tests/background_runs.py)."""
    out = background_runs.wait("ddp")
    return out, (out / "stdout.txt").read_text(encoding="utf-8")


def adapter_weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "adapter_model.safetensors")


def test_two_processes_train_one_model(ddp_run):
    import torch

    workdir, stdout = ddp_run
    facts = [json.loads((workdir / "probe" / f"rank{r}" / "facts.json").read_text()) for r in (0, 1)]
    for rank, fact in enumerate(facts):
        assert (fact["rank"], fact["world_size"], fact["backend"], fact["global_step"]) == (rank, 2, "gloo", 2)
        assert fact["cwd"] == str(workdir / "run") and fact["model_id"] == standin.MODEL_ID
        assert fact["wrapped_in"] == "DistributedDataParallel"  # not two independent runs that happen to agree
    assert [f["has_merged_model"] for f in facts] == [True, False]  # merging runs on the main process only

    rank0, rank1 = (adapter_weights(workdir / "probe" / f"rank{r}") for r in (0, 1))
    assert rank0.keys() == rank1.keys() and rank0
    assert all(torch.equal(rank0[name], rank1[name]) for name in rank0), "the processes ended with different weights"
    assert all(value.abs().sum() > 0 for name, value in rank0.items() if "lora_B" in name)  # trained, not initial

    saved = adapter_weights(workdir / "run" / "outputs" / "summary-lora-adapter")  # what the script itself saved
    assert all(torch.equal(saved[name], rank0[name]) for name in rank0)
    assert (workdir / "run" / "outputs" / "summary-merged" / "model.safetensors").exists()
    assert (workdir / "run" / "outputs" / "loss.png").stat().st_size > 0  # the loss graph, kept as a file
    assert stdout.count(f"設定: 24 GB 以上（bf16 LoRA） / モデル {standin.MODEL_ID}") == 1
    assert "分散学習: このプロセスは cpu にモデル全体を読み込みます。" in stdout
    assert stdout.count("学習するパラメータ: ") == 1  # the other process's cell output is kept quiet
    assert secrets_in(stdout + (workdir / "stderr.txt").read_text()) == []  # HF_TOKEN was set: never printed


# --- the script's runtime (tools/script_runtime.py, copied into the script byte for byte) ---------------

import script_runtime  # noqa: E402


def test_the_script_carries_the_runtime_byte_for_byte():
    import script

    assert script.runtime_code() in SCRIPT.read_text(encoding="utf-8")


@pytest.fixture
def fake_cells(monkeypatch, tmp_path):
    """A runtime with small made-up cells: what each cell saw and did is left in the namespace."""
    monkeypatch.chdir(tmp_path)  # main() changes into --output-dir; put the test's cwd back afterwards
    monkeypatch.setattr(script_runtime, "VARIANTS", {"a": "タブ A", "b": "タブ B"})
    monkeypatch.setattr(script_runtime, "DEFAULT_VARIANT", "a")
    monkeypatch.setattr(script_runtime, "DEFAULTS", {"MODEL_ID": "hub/model", "DATASET_ID": "hub/data"})
    cells = [
        ("first", None, False, None, "ran = ['first']\nMODEL_ID = 'the cell says this'\nprint('hello')\n"),
        (
            "load_model",
            None,
            False,
            None,
            "from transformers import AutoModelForCausalLM as M\nran.append(M.__name__)\n",
        ),
        (
            "training_args",
            "a",
            False,
            None,
            "from types import SimpleNamespace\ntraining_args = SimpleNamespace(max_steps=None)\n",
        ),
        ("tab_b", "b", False, None, "ran.append('b')\n"),
        (
            "plot_loss",
            None,
            True,
            None,
            "class Fig:\n    def savefig(self, path):\n        open(path, 'w').write('png')\nfig = Fig()\n",
        ),
        ("push_to_hub", None, True, "push", "ran.append('push')\n"),
    ]
    monkeypatch.setattr(script_runtime, "CELLS", cells)
    return tmp_path


def test_runtime_runs_the_chosen_tab_with_the_command_line_values(fake_cells, capsys):
    ns = script_runtime.main(["--output-dir", str(fake_cells / "run"), "--max-steps", "3"])
    assert ns["ran"] == ["first", "AutoModelForCausalLM"]  # no other tab, no opt-in cell
    assert ns["MODEL_ID"] == "hub/model"  # the command line's value wins over the cell's own
    assert ns["training_args"].max_steps == 3
    assert (fake_cells / "run" / "outputs" / "loss.png").read_text() == "png"
    out = capsys.readouterr().out
    assert "設定: タブ A / モデル hub/model / データセット hub/data" in out and "hello" in out
    ns = script_runtime.main(["--output-dir", str(fake_cells / "run2"), "--variant", "b", "--push"])
    assert ns["ran"] == ["first", "AutoModelForCausalLM", "b", "push"] and "training_args" not in ns


def test_runtime_in_a_second_process_is_quiet_and_loads_one_model_per_device(fake_cells, monkeypatch, capsys):
    import accelerate
    from transformers import AutoModelForCausalLM

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setattr(accelerate, "PartialState", lambda: type("State", (), {"device": "cpu:1"})())
    seen = []
    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", classmethod(lambda cls, *a, **k: seen.append(k)))
    script_runtime.main(["--output-dir", str(fake_cells)])
    assert capsys.readouterr().out == ""  # only the main process prints
    AutoModelForCausalLM.from_pretrained("x", device_map="auto")  # put back after the cell
    assert seen == [{"device_map": "auto"}]
    with script_runtime.one_model_per_process(True):
        AutoModelForCausalLM.from_pretrained("x", device_map="auto")
    assert seen[-1] == {"device_map": {"": "cpu:1"}}  # the whole model on this process's device


def test_runtime_puts_the_library_back_as_it_was(monkeypatch):
    import accelerate
    from transformers import AutoModelForCausalLM

    monkeypatch.setattr(accelerate, "PartialState", lambda: type("State", (), {"device": "cpu:1"})())
    own = vars(AutoModelForCausalLM)["from_pretrained"]
    with script_runtime.one_model_per_process(True):
        assert vars(AutoModelForCausalLM)["from_pretrained"] is not own
    assert vars(AutoModelForCausalLM)["from_pretrained"] is own
    monkeypatch.delattr(AutoModelForCausalLM, "from_pretrained")  # a version where it is only inherited
    with script_runtime.one_model_per_process(True):
        assert "from_pretrained" in vars(AutoModelForCausalLM)
    assert "from_pretrained" not in vars(AutoModelForCausalLM)


def test_runtime_refuses_bad_steps_and_several_processes_without_a_login(fake_cells, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        script_runtime.parse_args(["--max-steps", "-2"])
    assert "--max-steps には 1 以上の数か" in capsys.readouterr().err
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("HF_TOKEN")
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    with pytest.raises(SystemExit, match="先に Hugging Face にログインしておいてください"):
        script_runtime.main(["--output-dir", str(fake_cells)])


def test_the_runtime_and_the_house_code_pass_the_linter():
    """tools/ is real code: pyflakes, pycodestyle and bugbear rules (long Japanese strings are left long)."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,B", "--ignore", "E501", "tools"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
