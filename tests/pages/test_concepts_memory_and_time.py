"""docs/concepts/memory-and-time.md: the estimator (snippets/concepts/memory-and-time/), its formulas, the page's tables."""

from __future__ import annotations

import contextlib
import io
import re

import pytest
import torch
import project
from project import DOCS, SNIPPETS, page_cells

estimator = project.load_estimator()
Architecture, Setup, estimate = estimator.Architecture, estimator.Setup, estimator.estimate

PAGE = DOCS / "concepts" / "memory-and-time.md"
VALIDATION = DOCS / "data" / "estimator-validation.md"


def mistral_config(*, hidden, intermediate, layers, heads, kv_heads, vocab):
    """A Mistral-architecture shape (the 7B's own: project.seven_b_config())."""
    from transformers import MistralConfig

    return MistralConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
    )


@pytest.fixture(scope="module")
def mistral_7b() -> Architecture:
    return project.seven_b_architecture()  # the shape the page's gpu_fit.py writes


def test_architecture_is_counted_from_the_real_model_shape(mistral_7b):
    assert mistral_7b.params == 7_241_732_096  # Mistral 7B's published size, from a weightless model
    assert (mistral_7b.layers, mistral_7b.hidden, mistral_7b.kv_dim, mistral_7b.vocab) == (32, 4096, 1024, 32000)
    assert mistral_7b.linear_shapes["down_proj"] == (14336, 4096)
    assert estimator.lora_params(mistral_7b, Setup()) == 41_943_040  # what PEFT counts (tuning page)
    assert estimator.lora_params(mistral_7b, Setup(lora_targets=("q_proj", "v_proj"))) == 6_815_744


def test_weights_match_the_arithmetic_on_the_lora_page(mistral_7b):
    assert estimate(mistral_7b, Setup(method="lora")).weights == 2 * mistral_7b.params
    assert estimate(mistral_7b, Setup(method="qlora")).weights / 1e9 == pytest.approx(4.1, abs=0.05)
    lora = estimate(mistral_7b, Setup(method="lora"))
    assert lora.trainable == lora.gradients == 4 * 41_943_040  # float32 adapters
    assert lora.optimizer_states == 8 * 41_943_040  # AdamW: two float32 states
    qlora = estimate(mistral_7b, Setup(method="qlora"))
    # TRL casts QLoRA adapters to bfloat16; the hands-on's trainer cell casts them back to float32 for fp16
    assert qlora.trainable == qlora.gradients == 4 * 41_943_040
    assert qlora.optimizer_states == 8 * 41_943_040  # AdamW keeps its states in the parameters' type


def test_settings_move_the_estimate_the_right_way(mistral_7b):
    def peak(**changes):
        return estimate(mistral_7b, Setup(**changes)).peak

    assert peak(method="qlora") < peak(method="lora") < peak(method="full")
    assert peak(gradient_checkpointing=True) < peak(gradient_checkpointing=False)
    assert peak(batch_size=1) < peak(batch_size=4)
    assert peak(seq_len=512) < peak(seq_len=1024)
    assert peak(method="full", optimizer="sgd") < peak(method="full", optimizer="adamw_8bit") < peak(method="full")
    assert peak(loss_head="trl_fused") < peak(loss_head="full_logits")
    assert peak(lora_dropout=0.0) < peak(lora_dropout=0.05)


def test_full_fine_tuning_counts_gradients_or_activations_whichever_is_larger(mistral_7b):
    small_batch = estimate(mistral_7b, Setup(method="full", batch_size=1, seq_len=16))
    states = small_batch.weights + small_batch.optimizer_states
    assert small_batch.peak == states + small_batch.gradients  # gradients (14.5 GB) exceed 16 tokens of activations
    big_batch = estimate(mistral_7b, Setup(method="full", batch_size=16, seq_len=1024, gradient_checkpointing=False))
    assert big_batch.peak == states + big_batch.activations + big_batch.logits


def test_time_comes_from_flops_and_a_stated_utilization(mistral_7b):
    setup = Setup(method="lora", batch_size=1, seq_len=1024)
    result = estimate(mistral_7b, setup)
    matmul_params = mistral_7b.layer_linear_params + mistral_7b.vocab * mistral_7b.hidden
    forward = 2 * matmul_params * 1024 + 4 * 32 * 4096 * 1024 * 1024
    assert result.flops == 3 * forward  # forward, backward to the activations, recomputation
    assert result.seconds(100, utilization=0.5) == pytest.approx(result.flops / 50e12)
    full = estimate(mistral_7b, Setup(method="full", batch_size=1, seq_len=1024, gradient_checkpointing=False))
    assert full.flops == 3 * forward  # forward and a backward that also computes weight gradients


def saved_activation_bytes(method: str) -> tuple[int, int]:
    """Bytes autograd really saves in the decoder layers of a small model, and what the formula says."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    config = mistral_config(hidden=128, intermediate=448, layers=3, heads=4, kv_heads=2, vocab=1000)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    if method == "lora":
        lora = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
        model = get_peft_model(model, lora)
    model.train()
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved = {}

    def pack(tensor):
        pointer = tensor.untyped_storage().data_ptr()
        if pointer not in weights and tensor.dim() >= 2 and tensor.shape[-1] != config.vocab_size:
            saved[pointer] = tensor.untyped_storage().nbytes()
        return tensor

    batch, seq = 2, 64
    input_ids = torch.randint(3, config.vocab_size, (batch, seq))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), torch.autocast("cpu", dtype=torch.bfloat16):
        model(input_ids=input_ids, labels=input_ids)
    arch = Architecture.from_config(config)
    formula = arch.layers * estimator.layer_activation_bytes(arch, Setup(method=method, device="cpu")) * batch * seq
    return sum(saved.values()), formula


@pytest.mark.parametrize("method", ["lora", "full"])
def test_activation_formula_matches_what_autograd_saves(method):
    measured, formula = saved_activation_bytes(method)
    assert formula == pytest.approx(measured, rel=0.05)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"method": "prefix"}, "method は"),
        ({"optimizer": "adam"}, "optimizer は"),
        ({"loss_head": "chunked"}, "loss_head は"),
        ({"batch_size": 0}, "1 以上"),
    ],
)
def test_bad_settings_get_a_clear_message(mistral_7b, changes, message):
    with pytest.raises(ValueError, match=message):
        estimate(mistral_7b, Setup(**changes))


def run_memory_page() -> tuple[dict, str]:
    """The memory page's cells in page order (the estimator first, as a learner pastes them)."""
    namespace, out = {"__name__": "__main__"}, io.StringIO()
    cells = page_cells(PAGE)
    assert [cell.name for cell in cells] == ["estimator", "gpu_fit"]
    with contextlib.redirect_stdout(out):
        for cell in cells:
            cell.run(namespace)
    return namespace, out.getvalue()


def snippet_value(path: str, name: str, keyword: str | None = None):
    """A constant (``NAME = ...``) or a keyword of the call assigned to NAME, read from a snippet."""
    import ast

    for node in ast.parse((SNIPPETS / path).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]:
            if keyword is None:
                return ast.literal_eval(node.value)
            return next(ast.literal_eval(k.value) for k in node.value.keywords if k.arg == keyword)
    raise AssertionError(f"{path} に {name} がありません")


def test_gpu_fit_rows_use_the_hands_on_settings():
    namespace, _ = run_memory_page()
    max_length = snippet_value("handson/max_length.py", "MAX_LENGTH")
    rows = {"QLoRA（T4 のタブ）": "qlora_t4", "LoRA（24 GB 以上のタブ）": "lora_bf16"}  # the page's rows
    for row, variant in rows.items():
        gpu_name = project.TABS[variant].gpu
        setup = namespace["VARIANTS"][row]
        batch = snippet_value(f"handson/{variant}/training_args.py", "training_args", "per_device_train_batch_size")
        accumulation = snippet_value(
            f"handson/{variant}/training_args.py", "training_args", "gradient_accumulation_steps"
        )
        assert (setup.batch_size, setup.seq_len) == (batch, max_length)
        assert batch * accumulation == namespace["EXAMPLES_PER_UPDATE"]
        # The tab's default fits its GPU with margin: at most 90 % of the memory after the 1 GB reserve.
        peak_gb = estimate(namespace["arch"], setup).peak / 1e9
        assert peak_gb + namespace["RESERVE_GB"] <= 0.9 * estimator.GPUS[gpu_name].memory_gb


def test_gpu_fit_table_on_the_page_is_what_the_snippet_prints():
    _, table = run_memory_page()
    table = table.strip()
    assert table.count("\n") == 7  # header, rule, six settings
    assert "| LoRA（24 GB 以上のタブ） |" in table and "| QLoRA（T4 のタブ） |" in table
    assert PAGE.read_text(encoding="utf-8").count(table) == 1, "run the page's gpu_fit.py and paste its table"


def test_the_recorded_validation_covers_three_sizes_within_15_percent():
    text = VALIDATION.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if re.match(r"\| [SML] \|", line)]
    assert {row.split("|")[1].strip() for row in rows} == {"S", "M", "L"}
    errors = [float(row.rstrip(" |").rsplit("|", 1)[1].strip().rstrip("%")) for row in rows]
    assert errors and all(abs(error) <= 15 for error in errors)
    assert "python tools/bench_estimator.py" in text and "torch " in text
    assert '--8<-- "data/estimator-validation.md"' in PAGE.read_text(encoding="utf-8")


def test_forward_time_and_generation_lower_bound(mistral_7b):
    setup = Setup(method="lora", batch_size=1, seq_len=1024)
    result = estimate(mistral_7b, setup)
    assert result.flops == 3 * result.forward_flops  # forward, backward, recomputation (checkpointing)
    gpu = estimator.GPUS["L4 24 GB"]
    assert result.forward_seconds(gpu.tflops) == pytest.approx(result.seconds(gpu.tflops) / 3)
    # Each new token reads every weight once: 2 bytes x 7.24B over 300 GB/s is about 48 ms.
    assert result.seconds_per_new_token(gpu.bandwidth_gbs) == pytest.approx(2 * mistral_7b.params / 300e9)
    qlora = estimate(mistral_7b, Setup(method="qlora", batch_size=1, seq_len=1))
    assert qlora.seconds_per_new_token(gpu.bandwidth_gbs) < result.seconds_per_new_token(gpu.bandwidth_gbs) / 3
    assert [name for name, g in estimator.GPUS.items() if not g.bf16] == ["T4 16 GB"]


def test_full_fine_tuning_layouts_in_the_prose_are_the_estimators_arithmetic(mistral_7b):
    """The prose's three layouts for full fine-tuning; the first is what the estimator counts (its table's row)."""
    page = PAGE.read_text(encoding="utf-8")
    params = mistral_7b.params
    full = estimate(mistral_7b, Setup(method="full", batch_size=1))
    # bf16 weights and gradients; torch's AdamW makes its two states in the weights' own type (bf16).
    assert full.weights == full.gradients == 2 * params
    assert full.optimizer_states == 4 * params
    assert full.peak == 8 * params  # one 2048-token example: the gradients outgrow the freed activations
    for per_param in (8, 12, 16):
        row = f"| {per_param} バイト | $7.24 \\times 10^9 \\times {per_param}$ | 約 {per_param * params / 1e9:.1f} GB |"
        assert page.count(row) == 1, row
    assert f"の行（{full.peak / 1e9:.1f} GB）は、この構成で計算しています" in page
    assert f"| 全パラメータ（AdamW） | {full.peak / 1e9:.1f} GB |" in page


def test_other_pages_quote_the_hands_on_batch_and_gpu_threshold_as_the_code_has_them():
    """scaling.md, tuning.md and index.md repeat numbers of the hands-on's code: the same numbers, the same unit."""
    batches = set()
    for variant in project.VARIANTS:
        args = f"handson/{variant}/training_args.py"
        batches.add(
            (
                snippet_value(args, "training_args", "per_device_train_batch_size"),
                snippet_value(args, "training_args", "gradient_accumulation_steps"),
            )
        )
    assert len(batches) == 1  # tuning.md says both tabs use the same batch
    ((batch, accumulation),) = batches
    scaling = (DOCS / "scaling.md").read_text(encoding="utf-8")
    assert f"ハンズオンの設定（{batch} × {accumulation}）のまま 2 GPU で動かすと {batch} × {accumulation} × 2 = " in (
        scaling.replace("\n", "")
    )
    assert f"{batch} × {accumulation} × 2 = {batch * accumulation * 2} 例" in scaling
    assert f"`gradient_accumulation_steps` を {accumulation // 2} にします" in scaling  # 16 examples on 2 GPUs
    tuning = (DOCS / "concepts" / "tuning.md").read_text(encoding="utf-8")
    row = f"| `per_device_train_batch_size` × `gradient_accumulation_steps` | {batch} × {accumulation} = {batch * accumulation} |"
    assert row + f" {batch} × {accumulation} = {batch * accumulation} |" in tuning
    assert f"どちらの GPU でも同じ {batch} × {accumulation} で、{batch * accumulation} 例ごとに" in tuning
    # check_gpu.py compares GiB (total_memory / 1024**3): the landing page says GiB, with GB beside it.
    gib = snippet_value("handson/check_gpu.py", "BF16_TAB_MIN_GIB")
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    assert f"メモリが {gib} GiB（約 {gib * 2**30 / 1e9:.1f} GB）未満の GPU" in index
    assert f"{gib} GB 未満" not in index
