"""The standalone script (docs/downloads/train_sft_lora.py): its inline metadata, the page's cells byte for byte,
its defaults and command line, and the runtime it carries. (Its runtime on its own: test_script_runtime.py.)"""

from __future__ import annotations

import re
import runpy
import tomllib
from pathlib import Path

import pytest

import project
import script_runtime
import standin
from project import SCRIPT, cells_for


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
    assert (args.variant, args.max_steps, args.push, args.output_dir) == (project.SCRIPT_DEFAULT_VARIANT, -1, False, Path("."))
    with pytest.raises(SystemExit):
        script_module()["parse_args"](["--max-steps", "0"])
    assert "--max-steps には 1 以上の数か" in capsys.readouterr().err


def test_script_command_line_values_win_over_the_cells_constants():

    namespace = script_runtime.Namespace({"MODEL_ID": "someone/another-model"})
    namespace.run("test", 'MODEL_ID = "stabilityai/japanese-stablelm-base-gamma-7b"\nloaded = MODEL_ID\nother = 1\n')
    assert namespace["loaded"] == "someone/another-model" and namespace["other"] == 1
    namespace.run("test", "def f():\n    return other + 1\nresult = f()\ndel other\n")
    assert namespace["result"] == 2 and "other" not in namespace  # functions see the cells' names
    assert len(namespace) == len(list(namespace)) and "loaded" in list(namespace)


def test_the_script_carries_the_runtime_byte_for_byte():
    import script

    assert script.runtime_code() in SCRIPT.read_text(encoding="utf-8")
