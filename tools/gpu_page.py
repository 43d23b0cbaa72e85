"""Part 1 of the GPU truth run (tools/gpu_check.py): the hands-on page's cells on the GPU, checked as the CPU tests
check them (each check names the test it mirrors).

Also what both parts use: cells run in page order with hooks before and after named cells (PageRun), named checks
(Checks), a probe of generate() and one of the first training step, a timer of each optimizer update, and what an
H100 can play of a free Colab T4 (t4_emulation).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
import traceback
from pathlib import Path

import project

T4_MEMORY_BYTES = 15 * 10**9  # a free Colab T4 as issue 21 gives it: "15 GB" of its 16 usable
GENERATION_CAP = 16  # new tokens per generate() in the page runs: the random stand-in never says EOS
NOT_EMULATED = [
    "Turing（sm_75）の命令とカーネル（bitsandbytes・PyTorch は H100 用のカーネルで動きます）",
    "T4 の速さ（ピーク 65 TFLOPS、帯域 320 GB/s）: 時間は H100 のものです",
    "本物の重みでの fp16 のあふれ（代役と 7B は乱数の重みです）",
    "GPU の名前と全メモリ（check_gpu のセルは H100 を見て bf16 のタブを勧めます）",
    "Colab の CPU メモリ（約 12.7 GB）: マージのセルは装置のメモリを見ます",
    "bf16 の計算ができないこと（H100 は bf16 のテンソルもそのまま計算します）",
]
NEXT_DAY_PAGE = project.DOCS / "next-day.md"
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")  # "all-linear" on Mistral


def gb(value) -> str:
    return "—" if value is None else f"{value / 1e9:.1f} GB"


# --- running page cells ------------------------------------------------------------------------------------


class Tee(io.TextIOBase):
    """Print as usual (the device's log shows progress) and keep a copy for the checks."""

    def __init__(self, stream):
        self.stream, self.text = stream, io.StringIO()

    def write(self, text):
        self.stream.write(text)
        self.text.write(text)
        return len(text)

    def flush(self):
        self.stream.flush()


class PageRun:
    """Cells run in order in one namespace, with hooks before and after named cells (the environment's side)."""

    def __init__(self, cells, before=None, after=None):
        self.cells, self.before, self.after = list(cells), before or {}, after or {}
        self.namespace: dict = {"__name__": "__main__"}
        self.ran: list[str] = []
        self.out = Tee(sys.stdout)

    def run(self) -> None:
        with contextlib.redirect_stdout(self.out):
            for cell in self.cells:
                if cell.name in self.before:
                    self.before[cell.name](self.namespace)
                cell.run(self.namespace)
                self.ran.append(cell.name)
                if cell.name in self.after:
                    self.after[cell.name](self.namespace)

    @property
    def stdout(self) -> str:
        return self.out.text.getvalue()


class Checks:
    """Named results, each with the CPU test it mirrors; a failed check is recorded and the run goes on."""

    def __init__(self):
        self.results: list[dict] = []

    def __call__(self, name: str, ok, mirrors: str = "", detail="") -> bool:
        self.results.append({"check": name, "ok": bool(ok), "mirrors": mirrors, "detail": str(detail)})
        print(f"  {'OK' if ok else 'NG'}  {name}" + ("" if ok or not detail else f"（{detail}）"), file=sys.__stdout__)
        return bool(ok)

    def observe(self, name: str, value, why: str = "") -> None:
        """A fact reported, not asserted (where the GPU may rightly differ from the CPU)."""
        self.results.append({"check": name, "ok": None, "mirrors": "", "detail": f"{value} {why}".strip()})

    def error(self, part: str, error: BaseException) -> None:
        text = "".join(traceback.format_exception(error))[-3000:]
        self.results.append({"check": f"{part} が最後まで動く", "ok": False, "mirrors": "", "detail": text})
        print(text, file=sys.__stdout__)

    @property
    def ok(self) -> bool:
        return all(r["ok"] is not False for r in self.results)


class GenerationProbe:
    """Caps every generate() at a few new tokens and records where it ran and what it was asked for."""

    def __init__(self, cap: int | None = GENERATION_CAP):
        self.cap, self.calls = cap, []

    def install(self, mp) -> GenerationProbe:
        import transformers

        original = transformers.GenerationMixin.generate
        probe = self

        def generate(model, *args, **kwargs):
            requested = kwargs.get("max_new_tokens")
            if probe.cap:
                kwargs["max_new_tokens"] = min(requested or probe.cap, probe.cap)
            output = original(model, *args, **kwargs)
            prompt = kwargs["input_ids"].shape[1] if "input_ids" in kwargs else 0
            probe.calls.append(
                {"device": model.device.type, "requested": requested, "new_tokens": int(output.shape[1] - prompt)}
            )
            return output

        mp.setattr(transformers.GenerationMixin, "generate", generate)
        return self

    @contextlib.contextmanager
    def uncapped(self):
        cap, self.cap = self.cap, None
        try:
            yield
        finally:
            self.cap = cap


def probe_training(trainer, facts: dict) -> None:
    """Record, at the first training step, what the step runs with: trainable dtypes, GradScaler, autocast, batch."""
    import torch

    original = trainer.training_step

    def training_step(model, inputs, *args, **kwargs):
        if "first_step" in facts:
            return original(model, inputs, *args, **kwargs)
        seen: dict = {}
        q_proj = next(m for n, m in trainer.model.named_modules() if n.endswith("q_proj"))

        def autocast_hook(module, hook_inputs, output):
            if not seen:
                kind = output.device.type
                seen.update(
                    enabled=torch.is_autocast_enabled(kind),
                    dtype=str(torch.get_autocast_dtype(kind)),
                    output_dtype=str(output.dtype),
                )

        trainable = {n: p for n, p in trainer.model.named_parameters() if p.requires_grad}
        labels, ids = inputs["labels"], inputs["input_ids"]
        eos = trainer.processing_class.eos_token_id
        last_trained = [row[row != -100][-1].item() if (row != -100).any() else None for row in labels]
        scaler = trainer.accelerator.scaler
        facts["first_step"] = {
            "trainable_dtypes": sorted({str(p.dtype) for p in trainable.values()}),
            "trainable_devices": sorted({p.device.type for p in trainable.values()}),
            "scaler": None if scaler is None else type(scaler).__module__ + "." + type(scaler).__name__,
            "scaler_enabled": None if scaler is None else scaler.is_enabled(),
            "batch_device": labels.device.type,
            "batch_shape": list(ids.shape),
            "prompt_masked": bool((labels[:, 0] == -100).all()),
            "ends_with_trained_eos": all(token == eos for token in last_trained),
            "trained_tokens": [int((row != -100).sum()) for row in labels],
        }
        facts["trainable_at_start"] = {n: p.detach().clone() for n, p in trainable.items()}
        handle = q_proj.register_forward_hook(autocast_hook)
        try:
            return original(model, inputs, *args, **kwargs)
        finally:
            handle.remove()
            facts["first_step"]["autocast"] = seen

    trainer.training_step = training_step


def update_timer(trainer, cuda: bool):
    """A callback that records each optimizer update: wall seconds, peak memory, whether GradScaler skipped it."""
    import torch
    from transformers import TrainerCallback

    class UpdateTimer(TrainerCallback):
        def __init__(self):
            self.updates: list[dict] = []

        def _now(self) -> float:
            if cuda:
                torch.cuda.synchronize()
            return time.perf_counter()

        def on_train_begin(self, args, state, control, **kwargs):
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            self.last = self._now()

        def on_step_end(self, args, state, control, **kwargs):
            now = self._now()
            scaler = trainer.accelerator.scaler
            self.updates.append(
                {
                    "seconds": now - self.last,
                    "peak_bytes": torch.cuda.max_memory_allocated() if cuda else None,
                    "skipped": bool(trainer.accelerator.optimizer_step_was_skipped),
                    "scale": scaler.get_scale() if scaler is not None and scaler.is_enabled() else None,
                }
            )
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            self.last = self._now()

    timer = UpdateTimer()
    trainer.add_callback(timer)
    return timer


@contextlib.contextmanager
def t4_emulation(mp, cuda: bool):
    """What an H100 can play of a free Colab T4: the memory, the attention kernels, the free memory it reports."""
    if not cuda:
        yield {"applied": False}
        return
    import torch

    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, T4_MEMORY_BYTES / total), 0)
    flash, cudnn = torch.backends.cuda.flash_sdp_enabled(), torch.backends.cuda.cudnn_sdp_enabled()
    torch.backends.cuda.enable_flash_sdp(False)  # PyTorch's flash attention needs sm_80 or newer
    torch.backends.cuda.enable_cudnn_sdp(False)
    real_mem_get_info = torch.cuda.mem_get_info

    def mem_get_info(device=None):  # what accelerate's device_map="auto" and the merge cell plan with
        free, _ = real_mem_get_info(device)
        return min(free, max(0, T4_MEMORY_BYTES - torch.cuda.memory_reserved(device))), T4_MEMORY_BYTES

    mp.setattr(torch.cuda, "mem_get_info", mem_get_info)
    try:
        yield {"applied": True, "memory_cap_bytes": T4_MEMORY_BYTES, "flash_sdp": False, "cudnn_sdp": False}
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, 0)
        torch.backends.cuda.enable_flash_sdp(flash)
        torch.backends.cuda.enable_cudnn_sdp(cudnn)


def method_of(variant: str) -> str:
    """The estimator's method for a tab: the tab whose model cell quantizes is QLoRA."""
    source = project.cell("load_model", variant).source()[1]
    return "qlora" if "load_in_4bit=True" in source else "lora"


# --- part 1: the page on the GPU ---------------------------------------------------------------------------


def trainable(model) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def strip_peft(name: str) -> str:
    return name.removeprefix("base_model.model.").replace(".base_layer", "")


def check_training(check: Checks, ns: dict, facts: dict, cuda: bool, state: dict) -> None:
    """The facts of the training run, checked right before the merge cell deletes the trainer."""
    import torch

    trainer, first = ns["trainer"], facts.get("first_step", {})
    fp16, dtype = ns["training_args"].fp16, ns["DTYPE"]
    check(
        "学習の最初の更新で、学習する重みがすべて float32",
        first.get("trainable_dtypes") == ["torch.float32"],
        "tests/pages/handson/test_handson_training.py::test_adapters_train_in_the_type_the_pages_say、FACTS 3（fp16 と GradScaler）",
        first.get("trainable_dtypes"),
    )
    if cuda:
        check(
            "fp16 なら GradScaler があり、bf16 ならない",
            (first.get("scaler_enabled") is True) if fp16 else first.get("scaler") is None,
            "FACTS 8（accelerate は CUDA の fp16 でだけ GradScaler を作る）",
            first.get("scaler"),
        )
        autocast = first.get("autocast", {})
        check(
            f"学習の順伝播が autocast（{dtype}）の中で動く",
            autocast.get("enabled") is True and autocast.get("dtype") == str(dtype),
            "FACTS 8（CPU では fp16 の autocast は動きません）",
            autocast,
        )
        check(
            "学習のバッチと重みが GPU にある",
            first.get("batch_device") == "cuda" and first.get("trainable_devices") == ["cuda"],
            "",
            first,
        )
    check(
        "GPU に渡ったバッチでも、プロンプトのラベルが -100 で、最後に学習するトークンが EOS",
        first.get("prompt_masked")
        and first.get("ends_with_trained_eos")
        and min(first.get("trained_tokens", [0])) >= 2,
        "tests/pages/handson/test_handson_data.py::test_loss_covers_only_the_summary_and_its_eos",
        first,
    )
    tokenizer = ns["tokenizer"]
    masked = True
    for position in range(len(ns["train_dataset"])):
        example = ns["train_dataset"][position]
        batch = trainer.data_collator([trainer.train_dataset[position]])
        ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
        prompt_length = len(tokenizer(example["prompt"]).input_ids)
        masked &= all(label == -100 for label in labels[:prompt_length])
        masked &= labels[prompt_length:] == ids[prompt_length:] and labels[-1] == tokenizer.eos_token_id
    check(
        "学習用データのすべての例で、損失は要約と EOS だけに掛かる",
        masked,
        "tests/pages/handson/test_handson_data.py::test_loss_covers_only_the_summary_and_its_eos",
    )

    updates = state["timer"].updates
    skipped = sum(u["skipped"] for u in updates)
    check(
        "前の確認が数えた回数だけ更新した",
        ns["preflight"]["steps"] == trainer.state.max_steps == trainer.state.global_step == len(updates),
        "tests/pages/handson/test_handson_preflight.py::test_preflight_reports_what_the_trainer_prepared",
        f"preflight {ns['preflight']['steps']}, global_step {trainer.state.global_step}",
    )
    check.observe(
        "GradScaler が飛ばした更新", f"{skipped} / {len(updates)} 回", "（fp16 であふれた更新は飛ばされます）"
    )
    after = trainable(trainer.model)
    start = facts.get("trainable_at_start", {})
    changed = sum(not torch.equal(after[n], start[n]) for n in start if n in after)
    lora_b = [v for n, v in after.items() if "lora_B" in n]
    check(
        "学習で LoRA の重みが動いた（B はすべて 0 でなくなった）",
        lora_b and all(v.abs().sum() > 0 for v in lora_b) and changed > 0,
        "tests/pages/handson/test_handson_training.py::test_training_changed_only_lora_weights",
        f"{changed} / {len(start)} 個が変化",
    )
    check("学習する重みは LoRA だけ", all("lora_" in n for n in after), "tests/forms/test_notebook_run.py（trainable_all_lora）")
    base_now = {strip_peft(n): v for n, v in trainer.model.state_dict().items() if "lora_" not in n}
    unchanged = base_now.keys() == state["base"].keys() and all(
        torch.equal(v, state["base"][n]) for n, v in base_now.items()
    )
    check(
        "基盤モデルの重みは 1 ビットも変わらない",
        unchanged,
        "tests/pages/handson/test_handson_training.py::test_training_changed_only_lora_weights",
    )
    state["trained"] = {n: v.detach().cpu() for n, v in after.items()}
    state["global_step"] = trainer.state.global_step
    state["trainable_dtypes"] = first.get("trainable_dtypes")

    checkpoint = Path(ns["training_args"].output_dir) / f"checkpoint-{trainer.state.global_step}"
    check(
        "最後のチェックポイントが保存先にある",
        (checkpoint / "trainer_state.json").exists(),
        "tests/pages/handson/test_handson_training.py::test_checkpoints_are_saved_where_the_output_dir_cell_says",
        checkpoint,
    )
    if cuda and fp16:
        check(
            "fp16 のチェックポイントに GradScaler の状態（scaler.pt）がある",
            (checkpoint / "scaler.pt").exists(),
            "GPU だけのこと（再開で読み込まれます）",
            sorted(p.name for p in checkpoint.iterdir()),
        )
    check(
        "学習の記録の診断は問題なし",
        ns["doctor_findings"] == [],
        "tests/pages/handson/test_handson_doctor.py::test_doctor_reads_the_run_and_its_saved_state",
        ns["doctor_findings"],
    )


def check_generation(check: Checks, ns: dict, probe: GenerationProbe, cuda: bool) -> None:
    import inspect

    default = inspect.signature(ns["summarize"]).parameters["max_new_tokens"].default
    check(
        "学習前と学習後の要約が 3 行ずつ",
        len(ns["before"]) == len(ns["after"]) == 3,
        "tests/forms/test_notebook_run.py::test_notebook_runs_top_to_bottom",
    )
    check(
        "ページの生成はすべて GPU で、最大 256 トークンを頼んだ",
        {c["device"] for c in probe.calls} == {"cuda" if cuda else "cpu"}
        and {c["requested"] for c in probe.calls} == {default},
        "tests/forms/test_notebook_run.py::test_notebook_runs_top_to_bottom",
        probe.calls,
    )
    check(
        "LoRA を外したモデルの要約は、学習前の要約と同じ",
        ns["base_summaries"][:3] == ns["before"],
        "tests/pages/handson/test_handson_generation.py::test_rouge_is_scored_before_and_after_training",
        {"before": ns["before"], "base": ns["base_summaries"][:3]},
    )
    check(
        "ROUGE-2 を学習前と学習後で計算した",
        ns["rouge_before"] == ns["rouge2"](ns["base_summaries"], ns["references"])
        and ns["rouge_after"] == ns["rouge2"](ns["tuned_summaries"], ns["references"])
        and 0 <= ns["rouge_before"] <= 100
        and 0 <= ns["rouge_after"] <= 100,
        "tests/pages/handson/test_handson_generation.py::test_rouge_is_scored_before_and_after_training",
    )

    model, tokenizer = ns["trainer"].model, ns["tokenizer"]
    model.train()  # as the trainer leaves it: summarize must switch dropout off itself
    with probe.uncapped():
        ns["summarize"](model, [ns["examples"][0]], max_new_tokens=5)
    check(
        "要約の関数はドロップアウトを止め、max_new_tokens を守る",
        not model.training and 0 < probe.calls[-1]["new_tokens"] <= 5,
        "tests/pages/handson/test_handson_generation.py::test_generation_respects_max_new_tokens",
        probe.calls[-1],
    )

    # EOS ends the generation: the trained model, made to prefer EOS from the third decoding step on.
    eos = tokenizer.eos_token_id
    prompt_length = len(tokenizer(ns["build_prompt"]("要約して", "本文")).input_ids)
    steps = [0]

    def prefer_eos_later(module, inputs, output):
        if output.shape[1] == 1 or output.shape[1] > prompt_length:  # a decoding step
            steps[0] += 1
            if steps[0] >= 3:
                output[..., eos] = 1e4
        return output

    handle = model.get_output_embeddings().register_forward_hook(prefer_eos_later)
    try:
        with probe.uncapped():
            (generated,) = ns["summarize"](model, [{"instruction": "要約して", "input": "本文"}], max_new_tokens=50)
    finally:
        handle.remove()
    new_tokens = probe.calls[-1]["new_tokens"]
    check(
        "EOS が出たら生成が止まる（上限 50 トークンの前に）",
        steps[0] == 3 and new_tokens <= 3 and "</s>" not in generated,
        "tests/pages/handson/test_handson_generation.py::test_generation_stops_at_eos",
        f"{steps[0]} 回、新しいトークン {new_tokens}",
    )


def check_files(check: Checks, ns: dict, hub, state: dict, workdir: Path, stdout: str) -> None:
    import standin
    from handson_checks import saved_adapter_dtypes

    adapter = workdir / ns["ADAPTER_DIR"]
    names = {p.name for p in adapter.iterdir()} if adapter.is_dir() else set()
    config = json.loads((adapter / "adapter_config.json").read_text()) if "adapter_config.json" in names else {}
    check(
        "アダプターを保存した（重みと設定、基盤モデルの名前）",
        {"adapter_model.safetensors", "adapter_config.json"} <= names
        and config.get("base_model_name_or_path") == standin.MODEL_ID,
        "tests/forms/test_notebook_run.py::test_notebook_runs_top_to_bottom",
        sorted(names),
    )
    lora = ns["peft_config"]
    check(
        "アダプターの設定はページの LoRA の設定（r、lora_alpha、7 種類の線形層）",
        (config.get("r"), config.get("lora_alpha")) == (lora.r, lora.lora_alpha)
        and {name.split(".")[-1] for name in config.get("target_modules", [])} == set(LORA_TARGETS),
        "tests/pages/handson/test_handson_saving.py::test_adapter_files_are_written",
        config,
    )
    if "adapter_model.safetensors" in names:
        size = (adapter / "adapter_model.safetensors").stat().st_size / 1e6
        check(
            "表示したアダプターの大きさはファイルの大きさ",
            f"アダプターの重み {size:.0f} MB" in stdout,
            "tests/pages/handson/test_handson_saving.py::test_printed_adapter_size_is_the_file_on_disk",
        )
        saved = sorted(str(d) for d in saved_adapter_dtypes(adapter))
        check(
            "保存したアダプターは学習したときの型",
            saved == state.get("trainable_dtypes"),
            "tests/forms/test_notebook_run.py::test_notebook_saves_a_float32_adapter_and_says_its_size",
            saved,
        )
    kinds = [call[0] for call in hub.calls]
    upload = next((call for call in hub.calls if call[0] == "upload_folder"), None)
    check(
        "Hub には非公開のリポジトリを作り、アダプターを上げる",
        kinds == ["create_repo", "upload_folder"]
        and hub.calls[0][2] == {"private": True, "exist_ok": True}
        and "adapter_model.safetensors" in upload[2]["files"],
        "tests/forms/test_notebook_run.py::test_notebook_runs_top_to_bottom",
        hub.calls,
    )


def check_merge(check: Checks, ns: dict, workdir: Path) -> None:
    import torch
    from handson_checks import check_merged_model

    merged = workdir / ns["MERGED_DIR"]
    names = {p.name for p in merged.iterdir()} if merged.is_dir() else set()
    check(
        "マージしたモデルを保存した（設定、重み、トークナイザー）",
        {"config.json", "tokenizer.json"} <= names and any(n.endswith(".safetensors") for n in names),
        "tests/forms/test_notebook_run.py::test_notebook_runs_top_to_bottom",
        sorted(names),
    )
    try:
        prompt = ns["build_prompt"]("次の文章を要約してください。", "本文です。")
        check_merged_model(merged, workdir / ns["ADAPTER_DIR"], ns["DTYPE"], prompt)
        ok, detail = True, ""
    except (AssertionError, OSError, ValueError) as error:
        ok, detail = False, error
    check(
        "マージした重みは W + (alpha/r)·BA で、基盤 + アダプターと同じ出力",
        ok,
        "tests/forms/test_notebook_run.py::test_notebook_merges_into_a_16_bit_reload",
        detail,
    )
    check.observe(
        "マージの後の GPU メモリ",
        gb(torch.cuda.memory_allocated()) if torch.cuda.is_available() else "—",
        "（マージのセルは学習のモデルを片付けてから読み込みます）",
    )


def page_run(variant: str, workdir: Path, cuda: bool, emulate: bool) -> dict:
    """Part 1 for one tab: the whole page, then the next day's page in the same folder."""
    import pytest
    import standin
    import torch

    check, facts, state = Checks(), {}, {}
    probe, hub = GenerationProbe(), standin.HubRecorder()
    workdir.mkdir(parents=True, exist_ok=True)

    def after_load_model(ns):
        model = ns["model"]
        state["base"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        facts["model"] = {
            "device": str(model.device),
            "dtype": str(model.dtype),
            "load_in_4bit": bool(getattr(model, "is_loaded_in_4bit", False)),
            "q_proj": type(model.model.layers[0].self_attn.q_proj).__name__,
            "attention": model.config._attn_implementation,
            "device_map": getattr(model, "hf_device_map", None),
        }

    def before_train(ns):
        probe_training(ns["trainer"], facts)
        state["timer"] = update_timer(ns["trainer"], cuda)

    def before_merge(ns):
        check_training(check, ns, facts, cuda, state)
        check_generation(check, ns, probe, cuda)
        check_files(check, ns, hub, state, workdir, run.stdout)

    run = PageRun(
        project.cells_for(variant),
        before={"train": before_train, "merge": before_merge},
        after={"load_model": after_load_model},
    )
    started = time.perf_counter()
    torch.manual_seed(0)
    with pytest.MonkeyPatch.context() as mp, t4_emulation(mp, cuda and emulate) as emulation:
        mp.chdir(workdir)
        hub.install(mp)
        probe.install(mp)
        try:
            run.run()
            check(
                "ページのセルがすべて順に動いた",
                run.ran == [c.name for c in run.cells],
                "tests/forms/test_notebook_run.py::test_notebook_runs_top_to_bottom",
            )
            args, is_4bit = run.namespace["training_args"], method_of(variant) == "qlora"
            check(
                "タブの設定: 4bit のタブは fp16、ほかは bf16。勾配チェックポイントあり。GPU があれば use_cpu=False",
                (args.fp16, args.bf16) == (is_4bit, not is_4bit)
                and args.activation_checkpointing
                and args.use_cpu is not cuda,
                "tests/pages/handson/test_handson_training.py::test_variant_settings",
                {"fp16": args.fp16, "bf16": args.bf16, "use_cpu": args.use_cpu},
            )
            model_facts = facts["model"]
            check(
                "モデルは GPU にあり、タブの型（4bit なら bitsandbytes の Linear4bit）",
                (model_facts["device"].startswith("cuda") or not cuda)
                and (model_facts["load_in_4bit"] and model_facts["q_proj"] == "Linear4bit") == is_4bit,
                "tests/forms/test_notebook_run.py::test_notebook_trains_float32_adapters_on_an_unchanged_4bit_base",
                model_facts,
            )
            check_merge(check, run.namespace, workdir)
            next_day(check, variant, workdir, state, probe, cuda)
        except BaseException as error:  # noqa: BLE001 - recorded; the other parts still run
            if isinstance(error, KeyboardInterrupt):
                raise
            check.error(f"{variant} のページ（{len(run.ran)} 個目のセルの後）", error)
        peak = torch.cuda.max_memory_allocated() if cuda else None
    first = facts.get("first_step", {})
    return {
        "seconds": time.perf_counter() - started,
        "cells": run.ran,
        "model": facts.get("model"),
        "first_step": {k: v for k, v in first.items() if k != "trained_tokens"},
        "updates": state["timer"].updates if "timer" in state else [],
        "generate_calls": len(probe.calls),
        "t4_emulation": emulation,
        "peak_bytes": peak,
        "checks": check.results,
        "ok": check.ok,
        "_trained": state.get("trained"),
        "_global_step": state.get("global_step"),
    }


def next_day(check: Checks, variant: str, workdir: Path, state: dict, probe: GenerationProbe, cuda: bool) -> None:
    """The next-day page in a fresh namespace, in the folder the hands-on saved to."""
    import torch

    run = PageRun(project.cells_for(variant, NEXT_DAY_PAGE))
    run.run()
    ns = run.namespace
    check(
        "次の日: 保存したフォルダーからアダプターを読み込んだ",
        ns["adapter_source"] == str(Path("outputs") / "summary-lora-adapter"),
        "tests/pages/test_next_day.py::test_adapter_from_the_output_folder",
        ns["adapter_source"],
    )
    loaded = {
        strip_peft(n).replace(".default", ""): p.detach().cpu()
        for n, p in ns["model"].named_parameters()
        if "lora_" in n
    }
    trained = {strip_peft(n).replace(".default", ""): v for n, v in state.get("trained", {}).items()}
    same = loaded.keys() == trained.keys() and all(
        torch.equal(loaded[n].to(trained[n].dtype), trained[n]) for n in loaded
    )
    check(
        "次の日: 読み込んだ LoRA の重みは学習した重み",
        same,
        "tests/pages/test_next_day.py::test_adapter_from_the_output_folder",
    )
    is_4bit = method_of(variant) == "qlora"
    config = ns["model"].base_model.model.config
    check(
        "次の日: タブと同じ型で読み込み、GPU で要約した",
        bool(getattr(config, "quantization_config", None) and config.quantization_config.load_in_4bit) == is_4bit
        and len(ns["summaries"]) == len(ns["rows"])
        and probe.calls[-1]["device"] == ("cuda" if cuda else "cpu"),
        "tests/pages/test_next_day.py::test_adapter_from_the_output_folder",
    )
    with probe.uncapped():
        together = ns["summarize"](ns["model"], ns["rows"], max_new_tokens=12)
        one_by_one = ns["summarize"](ns["model"], ns["rows"], max_new_tokens=12, batch_size=1)
    check.observe(
        "次の日: まとめて生成した要約と 1 行ずつの要約",
        "同じ" if together == one_by_one else "違う",
        "（GPU では丸めで違うことがあります。FACTS 8。CPU のテスト test_batched_summaries_equal_one_by_one）",
    )


def resume_run(variant: str, workdir: Path, cuda: bool, emulate: bool, reference: dict, steps: int) -> dict:
    """A disconnect right after the first checkpoint, then every cell again: training goes on from there."""
    import pytest
    import standin
    import torch
    import transformers

    check = Checks()
    cells = project.cells_for(variant)
    names = [c.name for c in cells]
    up_to_train = cells[: names.index("train") + 1]
    workdir.mkdir(parents=True, exist_ok=True)

    def save_every_update(ns):
        ns["training_args"].save_steps = 1  # the stand-in data gives 2 updates: a checkpoint after the first

    original_save = transformers.Trainer._save_checkpoint

    def save_then_disconnect(trainer, *args, **kwargs):
        original_save(trainer, *args, **kwargs)
        raise KeyboardInterrupt  # the runtime goes away right after a checkpoint was written

    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as mp, t4_emulation(mp, cuda and emulate):
        mp.chdir(workdir)
        standin.HubRecorder().install(mp)
        GenerationProbe().install(mp)
        try:
            first = PageRun(up_to_train, after={"training_args": save_every_update})
            mp.setattr(transformers.Trainer, "_save_checkpoint", save_then_disconnect)
            torch.manual_seed(0)
            with contextlib.suppress(KeyboardInterrupt):
                first.run()
            check(
                "切断: 最初のチェックポイントの直後に止まった",
                first.namespace["trainer"].state.global_step == 1,
                "tests/pages/handson/test_handson_training.py::test_training_resumes_after_a_disconnect",
            )
            mp.setattr(transformers.Trainer, "_save_checkpoint", original_save)
            again = PageRun(up_to_train, after={"training_args": save_every_update})
            torch.manual_seed(0)
            again.run()
            trainer = again.namespace["trainer"]
            check(
                "再開: 途中経過 checkpoint-1 から続け、同じ回数だけ更新した",
                "checkpoint-1" in again.stdout and trainer.state.global_step == steps,
                "tests/pages/handson/test_handson_training.py::test_training_resumes_after_a_disconnect",
                trainer.state.global_step,
            )
            resumed = {n: v.detach().cpu() for n, v in trainable(trainer.model).items()}
            # Each tensor within 0.1 % of its own largest value: LoRA B holds only one or two updates (about 1e-4).
            off = {
                n: float(
                    (resumed[n].float() - reference[n].float()).abs().max()
                    / reference[n].float().abs().max().clamp(min=1e-12)
                )
                for n in resumed
                if n in reference
            }
            check(
                "再開: 重みは切断しなかった学習と同じ（GPU では計算の順による差まで）",
                resumed.keys() == reference.keys() and max(off.values(), default=1.0) <= 1e-3,
                "tests/pages/handson/test_handson_training.py::test_training_resumes_after_a_disconnect",
                f"最大の相対差 {max(off.values(), default=None)}、再開後の型 {sorted({str(v.dtype) for v in resumed.values()})}",
            )
        except BaseException as error:  # noqa: BLE001
            if isinstance(error, KeyboardInterrupt):
                raise
            check.error(f"{variant} の再開", error)
    return {"seconds": time.perf_counter() - started, "checks": check.results, "ok": check.ok}
