"""A stand-in for the Hugging Face Hub, built in seconds for offline tests (and the benchmarks).

It makes the hands-on's unmodified loading calls resolve on this machine:

- ``from_pretrained("stabilityai/japanese-stablelm-base-gamma-7b")`` finds a tiny
  Mistral-architecture model with the model's real 32,000-token tokenizer
  (``tests/data/mistral-7b-v0.1-tokenizer``) in the hub cache under ``$HF_HOME/hub``;
- ``load_dataset("kunishou/databricks-dolly-15k-ja", split="train")`` finds a
  committed sample of real rows (``tests/data/databricks-dolly-15k-ja``) prepared in the datasets cache.

Nothing here touches the code under test: only the environment it runs in. The same pieces serve
the test process (tests/conftest.py), the notebook's kernel and the two-process run
(tests/harness/background_runs.py, tests/harness/ddp_probe.py) and the benchmarks (tools/real_data.py).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import project

MODEL_ID = project.model_id()  # what the hands-on loads: the stand-in answers to the same name
DATASET_ID = project.dataset_id()


def offline_environment(hf_home: Path) -> dict[str, str]:
    """Environment for any process that runs the page's code against the stand-in.

    huggingface_hub reads HF_HOME and HF_HUB_OFFLINE once, when it is imported: set them first.
    """
    return {
        "HF_HOME": str(hf_home),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_TOKEN": "hf_standin_token_for_tests",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
        "HANDSON_ALLOW_CPU": "1",  # the page's documented switch: run every cell on a machine without a GPU
    }


TEST_DATA = project.TESTS / "data"
DATA_FILE = TEST_DATA / "databricks-dolly-15k-ja" / "sample.json"
DATA_ROLES = DATA_FILE.with_name("roles.json")  # why each sample row is there (tools/pick_sample.py)

# The model's real tokenizer (Mistral-7B-v0.1's, Apache-2.0), committed with its license.
TOKENIZER_DIR = TEST_DATA / "mistral-7b-v0.1-tokenizer"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")

# A tiny MistralForCausalLM: same architecture as Mistral-7B-v0.1, about 4.3M parameters, nearly all of them
# the embedding and output layers of the real 32,000-token vocabulary.
TINY_MISTRAL = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=4096,
    sliding_window=4096,
    rope_theta=10000.0,
    bos_token_id=1,
    eos_token_id=2,
    tie_word_embeddings=False,
)


def sample_rows() -> list[dict]:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def sample_roles() -> dict[str, str]:
    """``{index: role}``: trained, too_long, exact_copy, near_copy or other_category."""
    return json.loads(DATA_ROLES.read_text(encoding="utf-8"))


def write_model_snapshot(snapshot: Path, tokenizer_dir: Path = TOKENIZER_DIR) -> None:
    """Write config, weights and tokenizer files like the real repository has."""
    import torch
    from transformers import GenerationConfig, MistralConfig, MistralForCausalLM

    snapshot.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        shutil.copyfile(tokenizer_dir / name, snapshot / name)
    vocab_size = len(json.loads((tokenizer_dir / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"])

    torch.manual_seed(0)
    config = MistralConfig(vocab_size=vocab_size, **TINY_MISTRAL)
    model = MistralForCausalLM(config).to(torch.bfloat16)  # the real checkpoint is stored in bfloat16
    model.save_pretrained(snapshot)
    GenerationConfig(bos_token_id=1, eos_token_id=2).save_pretrained(snapshot)


def install_model(hf_home: Path, tokenizer_dir: Path = TOKENIZER_DIR) -> Path:
    """Lay the stand-in out as hub cache: refs/main names the snapshot folder."""
    repo = hf_home / "hub" / ("models--" + MODEL_ID.replace("/", "--"))
    commit = hashlib.sha1(MODEL_ID.encode()).hexdigest()
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    write_model_snapshot(snapshot, tokenizer_dir)
    return snapshot


def install_dataset(hf_home: Path, data_file: Path = DATA_FILE) -> Path:
    """Prepare the dataset's Arrow cache so that an offline ``load_dataset`` finds it."""
    from datasets.packaged_modules.json.json import Json

    builder = Json(
        cache_dir=str(hf_home / "datasets"),
        dataset_name=DATASET_ID.split("/")[-1],
        config_name="default",
        config_id="default",
        data_files={"train": str(data_file)},
        hash=hashlib.sha1(data_file.read_bytes()).hexdigest()[:16],
    )
    # The namespace folder ("kunishou___...") comes from repo_id, which __init__ does not take.
    builder.repo_id = DATASET_ID
    builder._cache_dir = builder._build_cache_dir()
    builder.download_and_prepare()
    return Path(builder.cache_dir)


def install_hub(hf_home: Path) -> None:
    """The stand-in model and dataset under ``hf_home`` (once: later calls find them there)."""
    import fcntl

    hf_home.mkdir(parents=True, exist_ok=True)
    with open(hf_home / ".standin-lock", "w") as lock:  # test processes running side by side install it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = hf_home / ".standin-installed"
        if not done.exists():
            install_model(hf_home)
            install_dataset(hf_home)
            done.touch()


def setattr_(monkeypatch):
    return setattr if monkeypatch is None else monkeypatch.setattr


class ShortGeneration:
    """Caps every ``generate()`` at a few new tokens and records what the code asked for.

    The random stand-in never says EOS, so each call would run to its full ``max_new_tokens``
    (256 on the page) over a 32,000-token vocabulary: seconds per call on a CPU. How the length
    limit itself works is tested separately, with the real ``generate``.
    """

    def __init__(self, cap: int = 4):
        self.cap = cap
        self.requested: list = []
        self.adapters: list = []  # per call: "none" (no LoRA yet), "on", or "off" (inside disable_adapter())

    def install(self, monkeypatch=None) -> ShortGeneration:
        """Patch through ``monkeypatch`` (undone after the test), or for the whole process without one."""
        import transformers

        original = transformers.GenerationMixin.generate
        recorder = self

        def short_generate(model, *args, **kwargs):
            recorder.requested.append(kwargs.get("max_new_tokens"))
            lora = [module for module in model.modules() if hasattr(module, "lora_A")]
            recorder.adapters.append("none" if not lora else "off" if lora[0].disable_adapters else "on")
            kwargs["max_new_tokens"] = min(kwargs.get("max_new_tokens") or recorder.cap, recorder.cap)
            return original(model, *args, **kwargs)

        setattr_(monkeypatch)(transformers.GenerationMixin, "generate", short_generate)
        return self


HUB_USER = "standin-user"  # who the stand-in Hub says is logged in


@dataclass
class HubRecorder:
    """Stands in for the Hub's write API: records what would have been sent."""

    calls: list = field(default_factory=list)

    def install(self, monkeypatch=None) -> HubRecorder:
        from huggingface_hub import HfApi

        recorder = self

        def whoami(self, *args, **kwargs):
            return {"name": HUB_USER}

        def create_repo(self, repo_id, **kwargs):
            recorder.calls.append(("create_repo", repo_id, kwargs))

        def upload_folder(self, *, repo_id, folder_path, **kwargs):
            files = sorted(p.name for p in Path(folder_path).iterdir())
            recorder.calls.append(("upload_folder", repo_id, {"files": files, **kwargs}))

        patch = setattr_(monkeypatch)
        patch(HfApi, "whoami", whoami)
        patch(HfApi, "create_repo", create_repo)
        patch(HfApi, "upload_folder", upload_folder)
        return self


def bitsandbytes_as_on_a_gpu(monkeypatch=None) -> None:
    """Keep bitsandbytes on the code path a learner's GPU mirrors.

    bitsandbytes has a CPU-only fast path (AVX512-BF16) that re-encodes the 4-bit scales when
    generating; GPUs never take it. Turned off, whatever CPU the tests run on, "the base weights
    did not change" can be checked bit for bit.
    """
    import bitsandbytes.nn.modules

    setattr_(monkeypatch)(bitsandbytes.nn.modules, "has_avx512bf16", lambda: False)


# CUDA's unscale kernel takes these gradient types only; the CPU's takes bf16 too (FACTS section 8).
CUDA_UNSCALE_DTYPES = ("float32", "float64", "float16")


def fp16_as_on_a_gpu(monkeypatch=None) -> None:
    """fp16 training on the CPU the way accelerate runs it on a CUDA GPU: a GradScaler and fp16 autocast.

    accelerate makes both only for a GPU (on a CPU, ``fp16=True`` trains in fp32 without a scaler), so a
    CPU test would never meet the T4's first-update crash. Here every fp16 Accelerator gets them on the
    CPU too, and its scaler unscales only what CUDA's kernel can: bf16 gradients fail with CUDA's
    NotImplementedError, fp16 ones with GradScaler's own ValueError, as on the T4.
    """
    import accelerate
    import torch

    class GradScalerWithCudaRules(torch.amp.GradScaler):
        def _unscale_grads_(self, optimizer, inv_scale, found_inf, allow_fp16):
            grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
            if allow_fp16 or all(grad.dtype != torch.float16 for grad in grads):  # else GradScaler raises itself
                for grad in grads:
                    if str(grad.dtype).removeprefix("torch.") not in CUDA_UNSCALE_DTYPES:
                        name = {torch.bfloat16: "BFloat16"}.get(grad.dtype, str(grad.dtype))
                        raise NotImplementedError(
                            f'"_amp_foreach_non_finite_check_and_unscale_cuda" not implemented for \'{name}\''
                        )
            return super()._unscale_grads_(optimizer, inv_scale, found_inf, allow_fp16)

    original_init = accelerate.Accelerator.__init__
    if getattr(original_init, "standin", False):
        return

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if self.state.mixed_precision == "fp16" and self.device.type == "cpu" and self.scaler is None:
            self.native_amp = True  # fp16 autocast around the model's forward (Accelerator.prepare_model)
            self.scaler = GradScalerWithCudaRules("cpu")

    init.standin = True
    setattr_(monkeypatch)(accelerate.Accelerator, "__init__", init)
