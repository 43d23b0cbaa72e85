"""A stand-in for the Hugging Face Hub, built in seconds for offline tests.

It makes the hands-on's unmodified loading calls resolve on this machine:

- ``from_pretrained("stabilityai/japanese-stablelm-base-gamma-7b")`` finds a tiny
  Mistral-architecture model and a Japanese BPE tokenizer (laid out like the real
  Mistral tokenizer) in the hub cache under ``$HF_HOME/hub``;
- ``load_dataset("kunishou/databricks-dolly-15k-ja", split="train")`` finds the
  project's own sample rows (``tests/data``) prepared in the datasets cache.

Nothing here touches the code under test: only the environment it runs in.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

MODEL_ID = "stabilityai/japanese-stablelm-base-gamma-7b"
DATASET_ID = "kunishou/databricks-dolly-15k-ja"
DATA_FILE = Path(__file__).parent / "data" / "databricks-dolly-15k-ja.json"

# Mistral's tokenizer: <unk>=0, <s>=1, </s>=2, then the 256 byte-fallback tokens.
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>"]
BYTE_TOKENS = [f"<0x{i:02X}>" for i in range(256)]
TRAINED_VOCAB_SIZE = 1200

# A tiny MistralForCausalLM: same architecture as Mistral-7B-v0.1, about 0.2M parameters.
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


def _training_text(rows: list[dict]) -> list[str]:
    """Sentences to train the stand-in tokenizer on: the sample data and the prompt format."""
    texts = ["### 指示\n", "### 入力\n", "### 応答\n"]
    for row in rows:
        for column in ("instruction", "input", "output"):
            texts.extend(part for part in str(row.get(column, "")).split("。") if part.strip())
    return texts


def build_tokenizer_json(rows: list[dict]) -> str:
    """A BPE tokenizer with byte fallback, laid out like Mistral's tokenizer.json."""
    from tokenizers import Tokenizer, decoders, models, normalizers, processors, trainers

    def configure(tokenizer: Tokenizer) -> Tokenizer:
        tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tokenizer.decoder = decoders.Sequence(
            [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
        )
        return tokenizer

    draft = configure(Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True)))
    trainer = trainers.BpeTrainer(
        vocab_size=TRAINED_VOCAB_SIZE, special_tokens=SPECIAL_TOKENS, show_progress=False, limit_alphabet=400
    )
    draft.train_from_iterator(_training_text(rows), trainer=trainer)
    trained = json.loads(draft.to_str())["model"]

    # Re-number so that the byte tokens sit at 3..258, exactly as in Mistral's vocabulary.
    learned = [t for t, _ in sorted(trained["vocab"].items(), key=lambda kv: kv[1]) if t not in SPECIAL_TOKENS]
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + BYTE_TOKENS + learned)}
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in trained["merges"]]
    tokenizer = configure(
        Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    )
    tokenizer.add_special_tokens(SPECIAL_TOKENS)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", 1)]
    )
    return tokenizer.to_str()


def write_model_snapshot(snapshot: Path, rows: list[dict]) -> None:
    """Write config, weights and tokenizer files like the real repository has."""
    import torch
    from transformers import GenerationConfig, MistralConfig, MistralForCausalLM

    snapshot.mkdir(parents=True, exist_ok=True)
    tokenizer_json = build_tokenizer_json(rows)
    (snapshot / "tokenizer.json").write_text(tokenizer_json, encoding="utf-8")
    vocab_size = len(json.loads(tokenizer_json)["model"]["vocab"])
    (snapshot / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "bos_token": "<s>",
                "eos_token": "</s>",
                "unk_token": "<unk>",
                "model_max_length": 1000000000000000019884624838656,
                "clean_up_tokenization_spaces": False,
            }
        ),
        encoding="utf-8",
    )
    (snapshot / "special_tokens_map.json").write_text(
        json.dumps({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}), encoding="utf-8"
    )

    torch.manual_seed(0)
    config = MistralConfig(vocab_size=vocab_size, **TINY_MISTRAL)
    model = MistralForCausalLM(config).to(torch.bfloat16)  # the real checkpoint is stored in bfloat16
    model.save_pretrained(snapshot)
    GenerationConfig(bos_token_id=1, eos_token_id=2).save_pretrained(snapshot)


def install_model(hf_home: Path, rows: list[dict]) -> Path:
    """Lay the stand-in out as hub cache: refs/main names the snapshot folder."""
    repo = hf_home / "hub" / ("models--" + MODEL_ID.replace("/", "--"))
    commit = hashlib.sha1(MODEL_ID.encode()).hexdigest()
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    write_model_snapshot(snapshot, rows)
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
    rows = sample_rows()
    install_model(hf_home, rows)
    install_dataset(hf_home)
