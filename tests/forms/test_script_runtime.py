"""The script's runtime (tools/script_runtime.py, copied into the script byte for byte) on small made-up cells:
the chosen tab, the command-line values, a second process, the library put back, bad options."""

from __future__ import annotations


import pytest

import script_runtime


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
