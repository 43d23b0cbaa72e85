#!/usr/bin/env python3
# /// script
# requires-python = ">=3.11"
# dependencies = [
#     "torch==2.13.0",
#     "transformers==5.24.0",
#     "trl==1.16.0",
#     "peft==0.21.2",
#     "datasets==5.2.0",
#     "accelerate==1.15.0",
#     "huggingface_hub==2.4.0",
#     "bitsandbytes==0.50.2",
#     "psutil==7.2.2",
#     "matplotlib==3.11.2",
#     "fugashi==1.5.2",
#     "unidic-lite==1.0.8",
#     "neologdn==0.5.6",
#     "rouge-score==0.1.2",
# ]
# ///
"""ハンズオン「LoRA で要約モデルを作る」を 1 本で実行するスクリプトです。

python tools/build_forms.py が生成したファイルです。直接編集せず、元のファイルを直して生成し直してください。
セル（CELLS）はハンズオンのページに埋め込まれているファイルそのもので、ページの順番に並んでいます。

使い方（GPU のあるマシンで）:

    uv run train_sft_lora.py                       # 依存ライブラリは上の script ブロックから入ります
    pip install "torch==2.13.0" "transformers==5.24.0" "trl==1.16.0" "peft==0.21.2" "datasets==5.2.0" "accelerate==1.15.0" "huggingface_hub==2.4.0" "bitsandbytes==0.50.2" "psutil==7.2.2" "matplotlib==3.11.2" "fugashi==1.5.2" "unidic-lite==1.0.8" "neologdn==0.5.6" "rouge-score==0.1.2"
    python train_sft_lora.py --variant qlora_t4   # 16 GB の GPU（T4 など）
    accelerate launch --config_file accelerate_multi_gpu.yaml train_sft_lora.py   # 複数 GPU

オプションは python train_sft_lora.py --help で確かめられます。
"""

import argparse
import contextlib
import io
import linecache
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

# Set below this code in the generated script (tools/script.py): the page's cells and settings.
VARIANTS: dict = {}  # {variant: tab label}
DEFAULT_VARIANT = ""
DEFAULTS: dict = {}  # {"MODEL_ID": ..., "DATASET_ID": ...} as the cells define them
CELLS: list = []  # (name, variant or None, main process only, required option or None, source)

CommandLine = argparse.Namespace


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="ハンズオン「LoRA で要約モデルを作る」を最初から最後まで実行します（既定値はハンズオンと同じです）。",
    )
    parser.add_argument("--model", default=DEFAULTS["MODEL_ID"], help="基盤モデルの Hub の ID（既定: %(default)s）")
    parser.add_argument(
        "--dataset", default=DEFAULTS["DATASET_ID"], help="データセットの Hub の ID（既定: %(default)s）"
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("."),
        help="このフォルダの下の outputs/ に、ハンズオンと同じ名前でアダプターとマージ済みモデルを保存します（既定: 今のフォルダ）",
    )
    parser.add_argument(
        "--variant",
        choices=list(VARIANTS),
        default=DEFAULT_VARIANT,
        help="GPU に合わせた設定: "
        + " / ".join(f"{key} = {label}" for key, label in VARIANTS.items())
        + "（既定: %(default)s）",
    )
    parser.add_argument(
        "--max-steps",
        type=int,
        default=-1,
        help="学習するステップ数。-1 ならハンズオンと同じく 1 エポック（既定: %(default)s）",
    )
    parser.add_argument(
        "--push", action="store_true", help="最後にアダプターを自分の Hub のリポジトリ（非公開）に上げます"
    )
    return parser


def parse_args(argv=None) -> CommandLine:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.max_steps == 0 or args.max_steps < -1:
        parser.error("--max-steps には 1 以上の数か、1 エポック学習する -1 を指定してください。")
    return args


class Namespace(MutableMapping):
    """One namespace for all cells, like a notebook's; the command line's values win.

    A cell's own ``MODEL_ID = "..."`` (or DATASET_ID) is ignored when the command line gave
    that name, so the cell's code, unchanged, loads what you asked for.
    """

    def __init__(self, fixed: dict):
        self.globals = {"__name__": "__main__", "__builtins__": __builtins__, **fixed}
        self.fixed = set(fixed)

    def __getitem__(self, key):
        return self.globals[key]

    def __setitem__(self, key, value):
        if key not in self.fixed:
            self.globals[key] = value

    def __delitem__(self, key):
        del self.globals[key]

    def __iter__(self):
        return iter(self.globals)

    def __len__(self):
        return len(self.globals)

    def run(self, name: str, source: str) -> None:
        filename = f"<ハンズオンのセル {name}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)  # for tracebacks
        exec(compile(source, filename, "exec"), self.globals, self)


@contextlib.contextmanager
def one_model_per_process(distributed: bool):
    """With several processes, each loads the whole model onto its own device.

    The cells load with device_map="auto", which spreads one model over all GPUs: right for one
    process, wrong for data parallel training (accelerate refuses to train such a model).
    """
    if not distributed:
        yield
        return
    from accelerate import PartialState
    from transformers import AutoModelForCausalLM

    device = PartialState().device
    original = AutoModelForCausalLM.from_pretrained
    own = vars(AutoModelForCausalLM).get("from_pretrained")  # put back exactly what was there

    def from_pretrained(*args, **kwargs):
        if kwargs.get("device_map") == "auto":
            kwargs["device_map"] = {"": device}
        return original(*args, **kwargs)

    AutoModelForCausalLM.from_pretrained = from_pretrained
    print(f"分散学習: このプロセスは {device} にモデル全体を読み込みます。")
    try:
        yield
    finally:
        if own is None:
            del AutoModelForCausalLM.from_pretrained
        else:
            AutoModelForCausalLM.from_pretrained = own


def main(argv=None) -> dict:
    args = parse_args(argv)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    is_main = int(os.environ.get("RANK", "0")) == 0
    if world_size > 1:
        from huggingface_hub import get_token

        if get_token() is None:
            sys.exit(
                "複数のプロセスで実行するときは、先に Hugging Face にログインしておいてください"
                "（`hf auth login` を実行するか、環境変数 HF_TOKEN にトークンを設定します）。"
            )
    args.output_dir.mkdir(parents=True, exist_ok=True)
    os.chdir(args.output_dir)  # the cells write to ./outputs/..., as in the hands-on
    namespace = Namespace({"MODEL_ID": args.model, "DATASET_ID": args.dataset})
    if is_main:
        print(f"設定: {VARIANTS[args.variant]} / モデル {args.model} / データセット {args.dataset} / 出力 {Path.cwd()}")

    for name, variant, main_only, flag, source in CELLS:
        if variant not in (None, args.variant) or (flag and not getattr(args, flag)) or (main_only and not is_main):
            continue
        quiet = contextlib.redirect_stdout(io.StringIO()) if not is_main else contextlib.nullcontext()
        with quiet, one_model_per_process(world_size > 1 and name == "load_model"):
            namespace.run(name, source)
        if name == "training_args":
            namespace["training_args"].max_steps = args.max_steps
        if name == "plot_loss" and "fig" in namespace:  # no window on a server: keep the graph as a file
            Path("outputs").mkdir(exist_ok=True)
            namespace["fig"].savefig("outputs/loss.png")
            print(f"損失のグラフを {Path('outputs/loss.png').resolve()} に保存しました。")
    return namespace.globals


# --- ハンズオンのセルと設定（tools/script.py が書き込みます）
VARIANTS = {"lora_bf16": "24 GB 以上（bf16 LoRA）", "qlora_t4": "T4 16 GB（4bit QLoRA）"}
DEFAULT_VARIANT = "lora_bf16"
DEFAULTS = {"MODEL_ID": "stabilityai/japanese-stablelm-base-gamma-7b", "DATASET_ID": "kunishou/databricks-dolly-15k-ja"}
# (名前, GPU の設定（None はどちらでも）, メインのプロセスだけで実行するか, 実行に必要なオプション, コード)
CELLS = [
    # --- handson/check_gpu.py
    (
        'check_gpu',
        None,
        True,
        None,
        r'''import os

import torch

BF16_TAB_MIN_GIB = 20  # bf16 LoRA の見積もり（約 18 GB）に余裕を見た値
QLORA_TAB_MIN_GIB = 12  # 4bit QLoRA の見積もり（約 7 GB）に、評価や生成の分の余裕を見た値
# テストのときだけ 1 にします。GPU なしでも最後まで動かしますが、7B モデルの学習には使えません。
ALLOW_CPU = os.environ.get("HANDSON_ALLOW_CPU") == "1"

if torch.cuda.is_available():
    gpu = torch.cuda.get_device_properties(0)
    gpu_memory_gib = gpu.total_memory / 1024**3
    major, minor = torch.cuda.get_device_capability(0)
    # bf16 の計算回路は Compute Capability 8.0（Ampere）以降にあります。
    # torch.cuda.is_bf16_supported() はソフトウェアでのエミュレーションでも True を返すので使いません。
    has_bf16 = (major, minor) >= (8, 0)
    print(f"GPU: {gpu.name}（メモリ {gpu_memory_gib:.1f} GiB、Compute Capability {major}.{minor}）")
    if has_bf16 and gpu_memory_gib >= BF16_TAB_MIN_GIB:
        print("→ 設定は「24 GB 以上（bf16 LoRA）」のタブを選んでください。")
    elif gpu_memory_gib >= QLORA_TAB_MIN_GIB:
        print("→ 設定は「T4 16 GB（4bit QLoRA）」のタブを選んでください。")
    else:
        raise RuntimeError(
            f"この GPU（{gpu.name}、{gpu_memory_gib:.1f} GiB）では、7B モデルの学習にメモリが足りません。"
            f"{QLORA_TAB_MIN_GIB} GiB 以上の GPU（Colab なら T4）に切り替えてから、最初のセルからやり直してください。"
        )
elif ALLOW_CPU:
    print("GPU がありません。HANDSON_ALLOW_CPU=1 なので CPU で続けます（テスト用です。7B モデルでは終わりません）。")
else:
    raise RuntimeError(
        "GPU が見つかりません。このまま 7B モデルを CPU で学習すると、現実的な時間では終わりません。\n"
        "Colab なら「ランタイム」→「ランタイムのタイプを変更」で T4 GPU などを選び、最初のセルからやり直してください。"
    )
''',
    ),
    # --- handson/login.py
    (
        'login',
        None,
        False,
        None,
        r'''from huggingface_hub import HfApi, get_token, login

# Colab のシークレット HF_TOKEN や、以前のログインがあればそのまま使います。
if get_token() is None:
    login()

# 8 でアダプターを Hub に上げるには、書き込み（write）権限のトークンが要ります。学習の前に確かめておきます。
try:
    token_role = HfApi().whoami()["auth"]["accessToken"]["role"]
except Exception:  # オフラインなどで確かめられないときは、そのまま進みます（アップロードのときにわかります）
    token_role = None
if token_role == "read":
    print(
        "このトークンは読み取り専用（read）です。学習はできますが、8 の Hub へのアップロードは権限がなく失敗します。\n"
        "アップロードするなら、Hugging Face の設定で write 権限のトークンを作り、"
        "login(new_session=True) でログインし直してください。"
    )
''',
    ),
    # --- handson/output_dir.py
    (
        'output_dir',
        None,
        False,
        None,
        r'''from pathlib import Path

DRIVE_FOLDER = Path("/content/drive/MyDrive/sft-lora-handson")
HUB_REPO_NAME = "japanese-stablelm-gamma-7b-summary-lora"  # Hub に上げるときのリポジトリ名（8 で使います）


def choose_output_dir():
    """Colab なら Google ドライブのフォルダー（切断されても消えません）、それ以外なら outputs/ を保存先にします。"""
    try:
        from google.colab import drive
    except ImportError:
        return Path("outputs")  # Colab ではない（GPU サーバーや手元の Jupyter）
    try:
        drive.mount("/content/drive")
    except Exception as error:  # アクセスを許可しなかった、時間切れになった、など: ドライブなしで続けます
        print(
            f"Google ドライブをマウントできませんでした（{error}）。代わりに outputs/ に保存します。\n"
            "ランタイムが切断されると消えるので、学習が終わったらアダプターを Hub に上げるかダウンロードしてください。"
        )
        return Path("outputs")
    return DRIVE_FOLDER


OUTPUT_DIR = choose_output_dir()
OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
print(f"保存先: {OUTPUT_DIR.resolve()}")
''',
    ),
    # --- handson/load_tokenizer.py
    (
        'load_tokenizer',
        None,
        False,
        None,
        r'''from transformers import AutoTokenizer

MODEL_ID = "stabilityai/japanese-stablelm-base-gamma-7b"

try:
    tokenizer = AutoTokenizer.from_pretrained(MODEL_ID)
except OSError as error:
    raise RuntimeError(
        f"{MODEL_ID} を読み込めませんでした。次を確かめてから、もう一度実行してください。\n"
        f"1. https://huggingface.co/{MODEL_ID} で利用条件に同意したか（ゲート付きモデルです）\n"
        "2. 同じアカウントのトークンでログインしたか（前のセルの login()）\n"
        "3. インターネットにつながっているか"
    ) from error
''',
    ),
    # --- handson/lora_bf16/load_model.py （24 GB 以上（bf16 LoRA））
    (
        'load_model',
        'lora_bf16',
        False,
        None,
        r'''import torch
from transformers import AutoModelForCausalLM

DTYPE = torch.bfloat16  # L4・A100 などは bf16 が使えます

model = AutoModelForCausalLM.from_pretrained(MODEL_ID, dtype=DTYPE, device_map="auto")
''',
    ),
    # --- handson/qlora_t4/load_model.py （T4 16 GB（4bit QLoRA））
    (
        'load_model',
        'qlora_t4',
        False,
        None,
        r'''import torch
from transformers import AutoModelForCausalLM, BitsAndBytesConfig

DTYPE = torch.float16  # T4 は bf16 に対応していないので fp16 で計算します

quantization_config = BitsAndBytesConfig(
    load_in_4bit=True,  # 重みを 4bit で持ち、メモリを約 1/4 にします
    bnb_4bit_quant_type="nf4",
    bnb_4bit_use_double_quant=True,
    bnb_4bit_compute_dtype=DTYPE,
)
model = AutoModelForCausalLM.from_pretrained(
    MODEL_ID, dtype=DTYPE, quantization_config=quantization_config, device_map="auto"
)
''',
    ),
    # --- handson/prepare_dataset.py
    (
        'prepare_dataset',
        None,
        False,
        None,
        r'''from collections import Counter
from difflib import SequenceMatcher

from datasets import Dataset, load_dataset

DATASET_ID = "kunishou/databricks-dolly-15k-ja"
REQUIRED_COLUMNS = ["instruction", "input", "output", "category"]
NEAR_COPY_RATIO = 0.9  # 出力と入力の文字の一致率がこれ以上なら「ほぼ丸写し」として除きます


def check_row(row):
    """列が欠けていたり文字列でなかったりする行を、分かる言葉で知らせます。"""
    for column in REQUIRED_COLUMNS:
        if not isinstance(row.get(column), str):
            raise ValueError(
                f"index={row.get('index')} の行の「{column}」が文字列ではありません（値: {row.get(column)!r}）。"
                f"{DATASET_ID} を読み込んでいるか、列 {REQUIRED_COLUMNS} がそろっているかを確かめてください。"
            )


def is_near_copy(text, summary):
    """要約が元の文章の書き写しに近いか（difflib の一致率 ratio が NEAR_COPY_RATIO 以上か）。"""
    matcher = SequenceMatcher(None, text, summary, autojunk=False)
    # quick_ratio() は ratio() の上限で、すぐ計算できます。明らかに違う組は ratio() を計算せずに済ませます
    return matcher.quick_ratio() >= NEAR_COPY_RATIO and matcher.ratio() >= NEAR_COPY_RATIO


def drop_reason(row):
    """学習に使えない行ならその理由を、使える行なら None を返します。"""
    text, summary = row["input"].strip(), row["output"].strip()
    if not text or not summary:
        return "入力か出力が空"
    if summary == text:
        return "出力が入力と同じ（丸写し）"
    if is_near_copy(text, summary):
        return f"出力が入力とほぼ同じ（一致率 {NEAR_COPY_RATIO} 以上）"
    return None


def select_summaries(rows):
    """要約（summarization）の行だけを残し、使えない行を理由ごとに数えて除きます。"""
    kept, dropped = [], Counter()
    for row in rows:
        check_row(row)
        if row["category"] != "summarization":
            continue
        reason = drop_reason(row)
        if reason is None:
            kept.append(row)
        else:
            dropped[reason] += 1
    if not kept:
        raise ValueError(
            '使える要約の行が 1 件もありません。category が "summarization" の行があるか、'
            "読み込んだデータセットが正しいかを確かめてください。"
        )
    return kept, dropped


raw_dataset = load_dataset(DATASET_ID, split="train")
summaries, dropped = select_summaries(raw_dataset)
print(f"全 {len(raw_dataset)} 行のうち、要約の行は {len(summaries) + dropped.total()} 行です。")
for reason, count in dropped.items():
    print(f"  除いた行: {reason} … {count} 行")
print(f"残りの {len(summaries)} 行を使います。")

splits = Dataset.from_list(summaries).train_test_split(test_size=0.1, seed=42)
print(f"学習用 {len(splits['train'])} 行 / 評価用 {len(splits['test'])} 行")
''',
    ),
    # --- handson/prompt_format.py
    (
        'prompt_format',
        None,
        False,
        None,
        r'''def build_prompt(instruction, text):
    """学習でも推論でも、プロンプトはこの関数だけで組み立てます。"""
    return f"### 指示\n{instruction.strip()}\n\n### 入力\n{text.strip()}\n\n### 応答\n"


def to_prompt_completion(row):
    return {
        "prompt": build_prompt(row["instruction"], row["input"]),
        "completion": row["output"].strip(),  # TRL が末尾に EOS を足します
    }
''',
    ),
    # --- handson/max_length.py
    (
        'max_length',
        None,
        False,
        None,
        r'''MAX_LENGTH = 2048  # 1 例あたりの最大トークン数（SFTConfig にも渡します）


def fits_max_length(row):
    # 長すぎる例は末尾（＝要約）が切り捨てられるので、学習に使いません。+1 は EOS の分です。
    example = to_prompt_completion(row)
    return len(tokenizer(example["prompt"] + example["completion"]).input_ids) + 1 <= MAX_LENGTH


rows_before = {name: len(split) for name, split in splits.items()}
splits = splits.filter(fits_max_length)  # 評価や生成で使う splits["test"] からも除きます
print(f"{MAX_LENGTH} トークン以内: 学習用 {len(splits['train'])} 行 / 評価用 {len(splits['test'])} 行")
too_long = {name: rows_before[name] - len(split) for name, split in splits.items()}
print(f"  長すぎて除いた行: 学習用 {too_long['train']} 行 / 評価用 {too_long['test']} 行")

train_dataset = splits["train"].map(to_prompt_completion, remove_columns=splits["train"].column_names)
eval_dataset = splits["test"].map(to_prompt_completion, remove_columns=splits["test"].column_names)
print(train_dataset[0]["prompt"] + train_dataset[0]["completion"])
''',
    ),
    # --- handson/loss_mask.py
    (
        'loss_mask',
        None,
        False,
        None,
        r'''import html

from trl.data_utils import common_prefix_length  # TRL がプロンプトの終わりを決めるのに使う関数


def tokens_and_labels(example):
    """SFTTrainer と同じ手順で 1 例をトークンにし、ラベルを付けます（損失を計算しない位置は -100）。"""
    prompt_ids = tokenizer(text=example["prompt"]).input_ids
    # TRL は completion（要約）の末尾に EOS を足してから、プロンプトと続けてトークンにします
    ids = tokenizer(text=example["prompt"] + example["completion"] + tokenizer.eos_token).input_ids
    # プロンプトだけのトークン列と先頭から一致する部分が「プロンプト」です。そこはラベルを -100 にします
    prompt_length = common_prefix_length(prompt_ids, ids)
    labels = [-100] * prompt_length + ids[prompt_length:]
    return ids[:MAX_LENGTH], labels[:MAX_LENGTH]  # 長すぎる例は末尾が切れます（上のセルで除いたので切れません）


def token_pieces(ids):
    """トークンごとの文字列。1 文字が複数のトークン（バイト）に分かれるときは、最後のトークンに文字を入れます。"""
    pieces, shown = [], ""
    for end in range(1, len(ids) + 1):
        text = tokenizer.decode(ids[:end])
        complete = not text.endswith("\ufffd")  # 文字の途中のバイトまでだと、最後が「�」になります
        pieces.append(text[len(shown) :] if complete else "")
        shown = text if complete else shown
    return pieces


def in_notebook():
    """Jupyter や Colab のノートブックで動いているか。"""
    try:
        from IPython import get_ipython
    except ImportError:  # IPython がなければノートブックではありません
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def as_text(boxes):
    """端末向け: 損失を計算するトークンを [[ ]] で囲み、トークンの区切りを | で、改行を ↵ で示します。"""
    text, inside = "", False
    for piece, trained in boxes:
        if trained != inside:
            text += "[[" if trained else "]]"
            inside = trained
        elif text and not text.endswith("\n"):
            text += "|"
        text += piece.replace("\n", "↵\n")
    return text + ("]]" if inside else "")


def as_html(boxes):
    """ノートブック向け: 損失を計算するトークンを緑に、それ以外を灰色にして、トークンごとに枠で囲みます。"""
    trained_style = "background:#c8e6c9;color:#1b5e20;font-weight:bold"
    spans = [
        f'<span style="{trained_style if trained else "color:#757575"};border:1px solid #bdbdbd;margin:1px">'
        + html.escape(piece).replace("\n", "↵<br>")
        + "</span>"
        for piece, trained in boxes
    ]
    legend = f'<p><span style="{trained_style}">緑</span>: 損失を計算するトークン　灰色: ラベルが -100 のトークン</p>'
    return legend + '<div style="font-family:monospace;line-height:2">' + "".join(spans) + "</div>"


def show_loss_mask(example):
    """1 例を、モデルが読むトークンの単位で表示し、損失を計算するトークン（ラベルが -100 でない）を目立たせます。"""
    ids, labels = tokens_and_labels(example)
    boxes, waiting = [], []
    for piece, label in zip(token_pieces(ids), labels):
        waiting.append(label != -100)
        if piece:  # 文字の途中のバイトのトークンは、文字ができあがるトークンと 1 つの枠にまとめます
            boxes.append((piece, all(waiting)))
            waiting = []
    trained = sum(label != -100 for label in labels)
    print(f"全 {len(ids)} トークン: 損失を計算する {trained} トークン、ラベルが -100 の {len(ids) - trained} トークン")
    if in_notebook():
        from IPython.display import HTML, display

        display(HTML(as_html(boxes)))
    else:
        print("[[ ]] の中が損失を計算するトークン、| がトークンの区切り、↵ が改行です。")
        print(as_text(boxes))
    return ids, labels


loss_mask_ids, loss_mask_labels = show_loss_mask(train_dataset[0])
''',
    ),
    # --- handson/generate.py
    (
        'generate',
        None,
        False,
        None,
        r'''import torch

GENERATION_BATCH_SIZE = 8  # 何行ずつまとめて生成するか。GPU のメモリが足りなければ減らします

if tokenizer.pad_token is None:
    tokenizer.pad_token = tokenizer.eos_token  # このモデルには pad トークンがないので、EOS で詰めます


def summarize(model, rows, max_new_tokens=256, batch_size=GENERATION_BATCH_SIZE):
    """rows（instruction と input を持つ行）の要約を、batch_size 行ずつまとめて生成して返します。"""
    model.eval()  # 学習直後は学習モードのままです。ドロップアウトを止め、KV キャッシュを使って生成します
    rows = list(rows)
    summaries = []
    for start in range(0, len(rows), batch_size):
        prompts = [build_prompt(row["instruction"], row["input"]) for row in rows[start : start + batch_size]]
        # 長さの違うプロンプトは左に詰めます。右に詰めると、詰め物の後ろに続きを書くことになります
        inputs = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left").to(model.device)
        with torch.no_grad():
            output_ids = model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,  # 止まらないときの上限
                do_sample=False,  # 毎回同じ結果になるよう、最も確からしいトークンを選びます
                eos_token_id=tokenizer.eos_token_id,  # EOS が出たら止まります
                pad_token_id=tokenizer.pad_token_id,
            )
        new_tokens = output_ids[:, inputs["input_ids"].shape[1] :]
        summaries += tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
    return summaries
''',
    ),
    # --- handson/before_training.py
    (
        'before_training',
        None,
        True,
        None,
        r'''import time

examples = splits["test"].select(range(3))
started = time.perf_counter()
before = summarize(model, examples)  # 3 行をまとめて 1 回で生成します
seconds_per_batch = time.perf_counter() - started  # 7 の評価にかかる時間の見積もりに使います

for row, generated in zip(examples, before):
    print("【入力】", row["input"][:80], "…")
    print("【正解の要約】", row["output"])
    print("【学習前のモデル】", generated)
    print("-" * 40)
print(f"生成にかかった時間: {seconds_per_batch:.0f} 秒（{len(examples)} 行をまとめて）")
''',
    ),
    # --- handson/lora_config.py
    (
        'lora_config',
        None,
        False,
        None,
        r'''from peft import LoraConfig

peft_config = LoraConfig(
    r=16,  # 追加する行列の「幅」（ランク）。大きいほど表現力もメモリも増えます
    lora_alpha=32,  # LoRA の出力に掛ける倍率は lora_alpha / r = 2
    lora_dropout=0.05,  # 過学習を抑えるためのドロップアウト
    target_modules="all-linear",  # 各層の q,k,v,o,gate,up,down に LoRA を付けます
    task_type="CAUSAL_LM",
)
''',
    ),
    # --- handson/lora_bf16/training_args.py （24 GB 以上（bf16 LoRA））
    (
        'training_args',
        'lora_bf16',
        False,
        None,
        r'''import torch
from trl import SFTConfig

training_args = SFTConfig(
    output_dir=str(OUTPUT_DIR / "checkpoints"),  # 途中経過（チェックポイント）の保存先
    num_train_epochs=1,
    per_device_train_batch_size=2,
    gradient_accumulation_steps=8,  # 2 × 8 = 16 例ごとに重みを更新します
    learning_rate=1e-4,
    lr_scheduler_type="cosine",
    warmup_steps=0.03,  # 1 未満は全ステップに対する割合です
    max_length=MAX_LENGTH,
    bf16=True,
    activation_checkpointing=True,  # 計算を少し増やして、メモリを大きく減らします（勾配チェックポイント）
    logging_steps=5,
    eval_strategy="steps",
    eval_steps=20,
    save_strategy="steps",
    save_steps=20,  # 20 回の更新ごとに途中経過を保存します。切断されても、そこから再開できます
    save_total_limit=2,  # 古いものから消して、最新の 2 つだけ残します
    report_to="none",
    use_cpu=not torch.cuda.is_available(),
)
''',
    ),
    # --- handson/qlora_t4/training_args.py （T4 16 GB（4bit QLoRA））
    (
        'training_args',
        'qlora_t4',
        False,
        None,
        r'''import torch
from trl import SFTConfig

training_args = SFTConfig(
    output_dir=str(OUTPUT_DIR / "checkpoints"),  # 途中経過（チェックポイント）の保存先
    num_train_epochs=1,
    per_device_train_batch_size=2,
    gradient_accumulation_steps=8,  # 2 × 8 = 16 例ごとに重みを更新します
    learning_rate=2e-4,  # QLoRA では少し大きめが目安です
    lr_scheduler_type="cosine",
    warmup_steps=0.03,  # 1 未満は全ステップに対する割合です
    max_length=MAX_LENGTH,
    fp16=True,  # T4 は bf16 の計算ができないので fp16 で計算します（学習する重みは float32 のまま持ちます）
    activation_checkpointing=True,  # 計算を少し増やして、メモリを大きく減らします（勾配チェックポイント）
    logging_steps=5,
    eval_strategy="steps",
    eval_steps=20,
    save_strategy="steps",
    save_steps=20,  # 20 回の更新ごとに途中経過を保存します。切断されても、そこから再開できます
    save_total_limit=2,  # 古いものから消して、最新の 2 つだけ残します
    report_to="none",
    use_cpu=not torch.cuda.is_available(),
)
''',
    ),
    # --- handson/live_metrics.py
    (
        'live_metrics',
        None,
        False,
        None,
        r'''import resource
import time

import torch
from transformers import TrainerCallback


def peak_memory_gib():
    """GPU なら PyTorch が確保したメモリの最大値、GPU がなければこのプロセスの最大使用メモリ（GiB）。"""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 1024**3
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux では KiB 単位です


class SpeedAndMemoryCallback(TrainerCallback):
    """損失を表示するたびに、1 秒あたりのトークン数・ピークメモリ・残り時間の目安を 1 行で表示します。"""

    def on_train_begin(self, args, state, control, **kwargs):
        self.start = self.last_time = time.perf_counter()
        self.start_step = state.global_step  # 途中経過から再開したときは、その回数から数えます
        self.last_tokens = 0  # TRL の num_tokens は、train() を呼ぶたびに 0 から数え直します

    def on_log(self, args, state, control, logs=None, optimizer=None, **kwargs):
        if "num_tokens" not in (logs or {}) or "loss" not in logs:
            return  # 評価のときや学習の終わりのまとめは飛ばします
        now = time.perf_counter()
        tokens_per_second = (logs["num_tokens"] - self.last_tokens) / (now - self.last_time)
        steps_done = state.global_step - self.start_step
        seconds_left = (now - self.start) / steps_done * (state.max_steps - state.global_step)
        self.last_time, self.last_tokens = now, logs["num_tokens"]
        record = dict(tokens_per_second=tokens_per_second, peak_memory_gib=peak_memory_gib())
        extra = f"ピークメモリ {record['peak_memory_gib']:.1f} GiB、残り約 {seconds_left / 60:.0f} 分"
        # fp16 では GradScaler が勾配の倍率を調整します。あふれた回は更新を飛ばし、倍率を半分にします
        scaler = getattr(optimizer, "scaler", None)
        if scaler is not None:
            record["grad_scale"] = scaler.get_scale()
            extra += f"、勾配の倍率 {record['grad_scale']:g}"
        state.log_history[-1].update(record)
        print(f"ステップ {state.global_step}/{state.max_steps}: {tokens_per_second:,.0f} トークン/秒、{extra}")
''',
    ),
    # --- handson/trainer.py
    (
        'trainer',
        None,
        False,
        None,
        r'''from trl import SFTTrainer

# SFTTrainer はここで学習用データを準備します（要約の末尾に EOS を足してトークンにし、プロンプトのラベルを -100 にします）
trainer = SFTTrainer(
    model=model,
    args=training_args,
    train_dataset=train_dataset,
    eval_dataset=eval_dataset,
    processing_class=tokenizer,
    peft_config=peft_config,
    callbacks=[SpeedAndMemoryCallback()],  # 前のセルのコールバック
)
# fp16 の学習では、学習する重みを float32 にします。TRL は QLoRA の重みを bf16 にしますが、GPU の GradScaler は
# bf16 の勾配を扱えず、最初の更新で止まるためです（「困ったときは」の「T4 で学習が最初の更新で止まる」）。
for parameter in trainer.model.parameters():
    if training_args.fp16 and parameter.requires_grad:
        parameter.data = parameter.data.float()
''',
    ),
    # --- handson/preflight.py
    (
        'preflight',
        None,
        False,
        None,
        r'''import math
import re
from collections import Counter
from statistics import median

import torch

# 時間の目安に使う値。「メモリと学習時間」のページの見積もり（estimator.py）と同じ値・同じ式です。
GPU_TFLOPS = {"T4": 65, "L4": 121, "A100": 312}  # 16 ビットの行列計算のピーク性能（TFLOPS、NVIDIA の仕様書）
UTILIZATION = 0.3  # そのうち 3 割の速さで計算が進むという仮定（測った値ではありません）


def training_flops(config, batch_size, seq_len, checkpointing):
    """LoRA の学習 1 回分（batch_size 例 × seq_len トークン）の計算量。"""
    hidden, layers = config.hidden_size, config.num_hidden_layers
    head_dim = getattr(config, "head_dim", None) or hidden // config.num_attention_heads
    q_dim, kv_dim = config.num_attention_heads * head_dim, config.num_key_value_heads * head_dim
    linear = layers * (2 * hidden * q_dim + 2 * hidden * kv_dim + 3 * hidden * config.intermediate_size)
    tokens = batch_size * seq_len
    forward = 2 * (linear + config.vocab_size * hidden) * tokens + 4 * layers * hidden * seq_len * tokens
    return forward * (2 + checkpointing)  # 順伝播と逆伝播、勾配チェックポイントなら順伝播をもう 1 回


def training_seconds(config, lengths, args, epochs, tflops):
    """例の長さ lengths から、学習全体の時間の目安（秒）。ランダムに並べてバッチに分け、バッチ内の最長で数えます。"""
    order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(args.seed)).tolist()
    batch = args.per_device_train_batch_size
    flops = 0
    for start in range(0, len(order), batch):
        seq_lens = [lengths[i] for i in order[start : start + batch]]
        flops += training_flops(config, len(seq_lens), max(seq_lens), args.activation_checkpointing)
    return flops * epochs / (tflops * 1e12 * UTILIZATION) / args.world_size


def check_before_training(trainer, given):
    """SFTTrainer が準備した学習用データを調べます。学習を台無しにする問題があれば、学習の前に止めます。"""
    data, args = trainer.train_dataset, trainer.args
    eos = trainer.processing_class.eos_token_id
    examples = list(zip(data["input_ids"], data["labels"]))
    trained = [sum(label != -100 for label in labels) for _, labels in examples]
    cut = [ids for ids, _ in examples if args.max_length and len(ids) >= args.max_length and ids[-1] != eos]
    no_eos = [ids for ids, labels in examples if ids[-1] != eos or labels[-1] == -100]
    problems = []
    if len(data) < len(given):
        problems.append(
            f"- 渡した {len(given)} 行のうち {len(given) - len(data)} 行を、損失を計算するトークンが 1 つも残らないため、"
            f"SFTTrainer が外しました（プロンプトだけで max_length の {args.max_length} トークンを超えている、"
            "またはラベルがすべて -100）。3 の「長すぎる行を除く」のセルで、max_length と同じ MAX_LENGTH で除いてください。"
        )
    if 0 in trained:
        problems.append(
            f"- {trained.count(0)} 行は、ラベルがすべて -100 で、損失を計算するトークンがありません（損失が 0 になります）。"
            "データを prompt と completion の 2 列にして SFTTrainer に渡してください（ラベルは TRL が作ります）。"
        )
    if cut:
        problems.append(
            f"- {len(cut)} 行は、max_length（{args.max_length} トークン）で末尾が切られ、要約と EOS が途中で切れています。"
            "3 で使った MAX_LENGTH と、SFTConfig の max_length が同じかを確かめてください。"
        )
    if len(no_eos) > len(cut):
        problems.append(
            f"- {len(no_eos) - len(cut)} 行は、最後のトークンが EOS（{trainer.processing_class.eos_token}）でないか、"
            "EOS のラベルが -100 です。EOS を学習しないと、生成が止まらなくなります。"
            "データを prompt と completion の 2 列にすれば、TRL が末尾に EOS を足して学習します。"
        )
    prompt_trained = sum(labels[0] != -100 for _, labels in examples)
    if prompt_trained:
        problems.append(
            f"- {prompt_trained} 行は、プロンプトの先頭から損失を計算します（プロンプトまで学習してしまいます）。"
            "SFTConfig で completion_only_loss=False にしていないか、データが prompt と completion の 2 列かを確かめてください。"
        )
    not_fp32 = Counter(str(p.dtype) for p in trainer.model.parameters() if p.requires_grad and p.dtype != torch.float32)
    if args.fp16 and not_fp32:
        kinds = "、".join(f"{dtype} が {count} 個" for dtype, count in sorted(not_fp32.items()))
        problems.append(
            f"- fp16=True なのに、学習する重みが float32 ではありません（{kinds}）。GPU の GradScaler は float32 の勾配しか"
            "扱えないので、最初の更新で止まります（bfloat16 なら「NotImplementedError: "
            "\"_amp_foreach_non_finite_check_and_unscale_cuda\" not implemented for 'BFloat16'」、"
            "float16 なら「ValueError: Attempting to unscale FP16 gradients.」）。"
            "SFTTrainer を作るセルの、学習する重みを float32 にする行が抜けていないか確かめてください。"
        )
    if problems:
        raise ValueError(
            "学習を始める前の確認で問題が見つかりました。直してから、SFTTrainer を作るセルからやり直してください。\n"
            + "\n".join(problems)
        )

    batches = math.ceil(len(data) / (args.per_device_train_batch_size * args.world_size))
    steps_per_epoch = max(math.ceil(batches / args.gradient_accumulation_steps), 1)
    steps = args.max_steps if args.max_steps > 0 else math.ceil(args.num_train_epochs * steps_per_epoch)
    trainable, total = trainer.model.get_nb_trainable_parameters()
    per_update = args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
    print("学習前の確認（SFTTrainer が準備した学習用データ）:")
    print(f"  例の数: {len(data)} 行")
    print(f"  1 例で損失を計算するトークン（要約と EOS）: 最小 {min(trained)}、中央値 {median(trained):g}")
    print(f"  要約が途中で切れた例: 0 行、EOS で終わり EOS も学習する例: {len(data)} 行（すべて）")
    print(f"  学習するパラメータ: {trainable:,} / 全体 {total:,}（{100 * trainable / total:.2f} %）")
    print(f"  更新の回数: {steps} 回（{per_update} 例ごとに 1 回）")
    seconds = None
    if not torch.cuda.is_available():
        print("  学習時間の目安: GPU がないので出しません。")
    else:
        gpu = torch.cuda.get_device_name(0)
        tflops = next((value for name, value in GPU_TFLOPS.items() if re.search(rf"\b{name}\b", gpu)), None)
        if tflops is None:
            print(f"  学習時間の目安: {gpu} の目安はありません（{'・'.join(GPU_TFLOPS)} だけ出します）。")
        else:
            lengths = [len(ids) for ids, _ in examples]
            seconds = training_seconds(trainer.model.config, lengths, args, steps / steps_per_epoch, tflops)
            print(
                f"  学習時間の目安（{gpu}）: 約 {max(1, round(seconds / 60))} 分。計算量からの目安で、測った値ではありません"
                "（評価の時間を含みません。QLoRA では 4 ビットの重みを戻す分、これより遅くなります）。"
            )
    return {"examples": len(data), "trained": trained, "steps": steps, "trainable": trainable, "seconds": seconds}


preflight = check_before_training(trainer, train_dataset)
''',
    ),
    # --- handson/train.py
    (
        'train',
        None,
        False,
        None,
        r'''from pathlib import Path

# 再開に必要なファイル。Trainer は trainer_state.json を最後に書くので、これがなければ保存の途中で切れています
CHECKPOINT_FILES = ("adapter_model.safetensors", "optimizer.pt", "scheduler.pt", "trainer_state.json")


def last_complete_checkpoint(checkpoint_dir):
    """番号が最も大きい、ファイルのそろったチェックポイント。保存の途中で切れたものは理由を表示して飛ばします。"""
    folders = [path for path in Path(checkpoint_dir).glob("checkpoint-*") if path.name.split("-")[-1].isdigit()]
    for folder in sorted(folders, key=lambda path: int(path.name.split("-")[-1]), reverse=True):
        missing = [name for name in CHECKPOINT_FILES if not (folder / name).is_file()]
        if not missing:
            return str(folder)
        reason = f"{', '.join(missing)} がありません。消さずに残します"
        print(f"途中経過 {folder} は保存の途中で切れているので使いません（{reason}）。")
    if folders:
        print("使える途中経過がないので、最初から学習します。")
    return None


# 途中経過が保存されていれば、その続きから学習します（切断された後に、最初のセルから順にもう一度実行したとき）
last_checkpoint = last_complete_checkpoint(training_args.output_dir)
if last_checkpoint:
    print(f"途中経過 {last_checkpoint} から再開します。")
trainer.train(resume_from_checkpoint=last_checkpoint)
''',
    ),
    # --- handson/plot_loss.py
    (
        'plot_loss',
        None,
        True,
        None,
        r'''import matplotlib.pyplot as plt

history = trainer.state.log_history
train_points = [(log["step"], log["loss"]) for log in history if "loss" in log]
eval_points = [(log["step"], log["eval_loss"]) for log in history if "eval_loss" in log]

fig, ax = plt.subplots()
for points, label in [(train_points, "loss (train)"), (eval_points, "eval_loss")]:
    if points:
        ax.plot(*zip(*points), marker="o", label=label)
ax.set_xlabel("step")
ax.set_ylabel("loss")
if train_points or eval_points:
    ax.legend()
else:
    print(f"損失はまだ記録されていません（{training_args.logging_steps} ステップごとに記録されます）。")
plt.show()
''',
    ),
    # --- handson/doctor.py
    (
        'doctor',
        None,
        False,
        None,
        r'''import math
from pathlib import Path
from statistics import median

import torch
from transformers import SchedulerType, TrainerState, get_scheduler

# 見つけた問題ごとに、「困ったときは」のページのどの節を見ればよいか
TROUBLESHOOTING = {
    "loss-zero-nan": "損失が 0 や NaN になる",
    "fp16-skipped": "fp16 で更新が飛ばされ続ける",
    "loss-not-falling": "損失が下がらない",
    "overfitting": "評価用データの損失だけが上がる（過学習）",
    "grad-norm-spikes": "勾配ノルムが跳ね上がる",
    "lr-schedule": "学習率が設定どおりに変わらない",
}


def scheduled_rates(args, max_steps):
    """設定どおりなら、1 回目から max_steps 回目までの更新で使われる学習率。"""
    optimizer = torch.optim.SGD([torch.zeros(1)], lr=args.learning_rate)
    scheduler = get_scheduler(
        args.lr_scheduler_type,
        optimizer,
        num_warmup_steps=args.get_warmup_steps(max_steps),
        num_training_steps=max_steps,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )
    # cosine などステップ数で決まるスケジュールだけを比べます（評価の結果で変わるものは比べません）
    rates = getattr(scheduler, "lr_lambdas", [])[:1]
    return [args.learning_rate * rate(step) for rate in rates for step in range(max_steps)]


def diagnose_training(state, args=None):
    """学習の記録（trainer.state、または保存された trainer_state.json のパス）を調べて、見つけた問題を表示します。"""
    if isinstance(state, (str, Path)):
        state = TrainerState.load_from_json(str(state))

    def points(key):
        return [(log["step"], log[key]) for log in state.log_history if key in log]

    losses, eval_losses, grad_norms = points("loss"), points("eval_loss"), points("grad_norm")
    scales = points("grad_scale")  # fp16 の GradScaler の倍率（ハンズオンのコールバックが記録します）
    findings = []

    # fp16 では、勾配があふれた回の更新を GradScaler が飛ばし、その回の勾配ノルムは inf や NaN になります。
    # 最初の数回は倍率を合わせるためで普通のことです。問題は、倍率が下がり続けて更新が進まないときです。
    fp16 = bool(scales) or (args is not None and args.fp16)
    skipped = [(step, value) for step, value in grad_norms if fp16 and not math.isfinite(value)]
    last_three_skipped = len(skipped) >= 3 and not any(math.isfinite(value) for _, value in grad_norms[-3:])
    collapsed = bool(scales) and scales[-1][1] < 1  # 倍率は 65536 から始まり、あふれるたびに半分になります
    if collapsed or last_three_skipped:
        scale_note = f"、勾配の倍率は最後に {scales[-1][1]:g}" if scales else ""
        findings.append(
            (
                "fp16-skipped",
                f"fp16 の GradScaler が更新を飛ばし続けています（勾配ノルムが inf・NaN の記録 {len(skipped)} 個"
                f"{scale_note}）。損失の記録が普通に見えても、重みはほとんど更新されていません。",
            )
        )

    checked_norms = [(step, value) for step, value in grad_norms if not fp16 or math.isfinite(value)]  # 飛ばした更新は除きます
    broken = [(step, value) for step, value in losses + eval_losses + checked_norms if not 0 < abs(value) < math.inf]
    if broken:
        step, value = min(broken)
        findings.append(
            (
                "loss-zero-nan",
                f"損失か勾配ノルムが 0 か NaN・inf になった記録が {len(broken)} 個あります"
                f"（最初はステップ {step} の {value}）。",
            )
        )

    finite = [(step, value) for step, value in losses if math.isfinite(value)]
    if len(finite) >= 4:
        k = len(finite) // 3
        first, last = (sum(value for _, value in part) / k for part in (finite[:k], finite[-k:]))
        if last > first * 0.98:
            findings.append(
                (
                    "loss-not-falling",
                    f"学習用データの損失が下がっていません（最初の {k} 回の記録の平均 {first:.3f} → "
                    f"最後の {k} 回の平均 {last:.3f}）。",
                )
            )

    evals = [(step, value) for step, value in eval_losses if math.isfinite(value)]
    if len(evals) >= 3:
        best_step, best = min(evals, key=lambda point: point[1])
        last_step, last = evals[-1]
        after = [value for step, value in finite if step >= best_step]
        if last > best * 1.02 and len(after) >= 2 and after[-1] < after[0]:
            findings.append(
                (
                    "overfitting",
                    f"評価用データの損失が、ステップ {best_step} の {best:.3f} を底に、"
                    f"ステップ {last_step} では {last:.3f} に上がっています。その間も学習用データの損失は "
                    f"{after[0]:.3f} → {after[-1]:.3f} と下がっていて、過学習の兆候です。",
                )
            )

    norms = [(step, value) for step, value in grad_norms if math.isfinite(value) and value > 0]
    if len(norms) >= 5:
        typical = median(value for _, value in norms)
        spikes = [(step, value) for step, value in norms if value > 10 * typical]
        if spikes:
            step, value = max(spikes, key=lambda point: point[1])
            findings.append(
                (
                    "grad-norm-spikes",
                    f"勾配ノルムが {len(spikes)} 回、ふだん（中央値 {typical:.3g}）の 10 倍を超えました"
                    f"（最大はステップ {step} の {value:.3g}）。",
                )
            )

    rates = points("learning_rate")
    expected = scheduled_rates(args, state.max_steps) if args is not None and rates and state.max_steps > 0 else []
    lag = max(2, state.max_steps // 20)  # fp16 で更新が飛ばされた回は、学習率も進みません。少しの遅れは許します
    wrong = [
        (step, value)
        for step, value in rates
        if not any(math.isclose(value, rate, rel_tol=1e-3) for rate in expected[max(0, step - 1 - lag) : step])
    ]
    if expected and wrong:
        step, value = wrong[0]
        findings.append(
            (
                "lr-schedule",
                f"記録された学習率が {len(wrong)} か所で設定（{SchedulerType(args.lr_scheduler_type).value}、最大 {args.learning_rate:g}、"
                f"全 {state.max_steps} 回）と違います（最初はステップ {step} の {value:.3g}、"
                f"設定どおりなら {expected[min(step, len(expected)) - 1]:.3g}）。",
            )
        )

    print(f"学習の記録（全 {state.global_step} 回の更新）: ", end="")
    print(f"学習用データの損失 {len(losses)} 個、評価用データの損失 {len(eval_losses)} 個")
    if skipped and not (collapsed or last_three_skipped):
        print(
            f"  fp16 で勾配があふれて飛ばした更新の記録が {len(skipped)} 個あります（最初はステップ {skipped[0][0]}）。"
            "GradScaler が倍率を合わせる間に起きるもので、続かなければ問題ありません。"
        )
    if len(finite) < 4:
        print("  学習用データの損失の記録が 4 個より少ないので、下がっているかは判断しません。")
    if evals:
        best_step, best = min(evals, key=lambda point: point[1])
        print(f"  評価用データの損失が最も低かったのは、ステップ {best_step} の {best:.3f} です。")
    for anchor, message in findings:
        print(f"・{message}\n  →「困ったときは」のページの「{TROUBLESHOOTING[anchor]}」を見てください。")
    if not findings:
        print("問題は見つかりませんでした。")
    return findings


doctor_findings = diagnose_training(trainer.state, training_args)
''',
    ),
    # --- handson/doctor_saved.py
    (
        'doctor_saved',
        None,
        True,
        None,
        r'''# 保存された最後の途中経過の記録を調べます（last_complete_checkpoint は「学習を始める」のセルの関数です）
saved_state = Path(last_complete_checkpoint(training_args.output_dir)) / "trainer_state.json"
saved_findings = diagnose_training(saved_state, training_args)
''',
    ),
    # --- handson/after_training.py
    (
        'after_training',
        None,
        True,
        None,
        r'''after = summarize(trainer.model, examples)

for row, old, new in zip(examples, before, after):
    print("【正解の要約】", row["output"])
    print("【学習前】", old)
    print("【学習後】", new)
    print("-" * 40)
''',
    ),
    # --- handson/rouge.py
    (
        'rouge',
        None,
        True,
        None,
        r'''import neologdn
from fugashi import Tagger
from rouge_score import rouge_scorer


class MecabTokenizer:
    """neologdn で表記を正規化し、MeCab（fugashi + unidic-lite）で単語に分けます。"""

    def __init__(self):
        self.tagger = Tagger()

    def tokenize(self, text):
        return [word.surface for word in self.tagger(neologdn.normalize(text))]


# rouge-score の既定のトークナイザーは日本語の文字を捨ててしまうので、MeCab を渡します。
scorer = rouge_scorer.RougeScorer(["rouge2"], tokenizer=MecabTokenizer())


def rouge2(predictions, references):
    """ROUGE-2 の F 値の平均を 100 倍した値（XL-Sum ja の公開スコアと同じ尺度）。"""
    scores = [scorer.score(ref, pred)["rouge2"].fmeasure for pred, ref in zip(predictions, references)]
    return 100 * sum(scores) / len(scores)
''',
    ),
    # --- handson/evaluate.py
    (
        'evaluate',
        None,
        True,
        None,
        r'''import math

EVAL_ROWS = 30  # 生成には時間がかかるので、評価用データの先頭から最大 30 行で比べます

eval_rows = splits["test"].select(range(min(EVAL_ROWS, len(splits["test"]))))
references = [row["output"] for row in eval_rows]
# 学習前と学習後で 1 回ずつ、GENERATION_BATCH_SIZE 行ずつまとめて生成します。時間は 4 で測った速さからの目安です。
batches = 2 * math.ceil(len(eval_rows) / GENERATION_BATCH_SIZE)
print(f"{len(eval_rows)} 行を学習前と学習後で要約します。約 {batches * seconds_per_batch / 60:.0f} 分かかる見込みです。")

with trainer.model.disable_adapter():  # LoRA を外す＝学習前の基盤モデル（基盤の重みは学習で変わりません）
    base_summaries = summarize(trainer.model, eval_rows)
tuned_summaries = summarize(trainer.model, eval_rows)

rouge_before, rouge_after = rouge2(base_summaries, references), rouge2(tuned_summaries, references)
print(f"評価用データ {len(eval_rows)} 行の ROUGE-2（F 値 × 100）: 学習前 {rouge_before:.2f} → 学習後 {rouge_after:.2f}")
''',
    ),
    # --- handson/save_adapter.py
    (
        'save_adapter',
        None,
        True,
        None,
        r'''ADAPTER_DIR = OUTPUT_DIR / "summary-lora-adapter"

trainer.save_model(ADAPTER_DIR)  # LoRA の重み（アダプター）とトークナイザーを保存します。基盤モデルの重みは含みません
adapter_mb = (ADAPTER_DIR / "adapter_model.safetensors").stat().st_size / 1e6
print(f"保存しました: {ADAPTER_DIR}（アダプターの重み {adapter_mb:.0f} MB）")
print(sorted(path.name for path in ADAPTER_DIR.iterdir()))
''',
    ),
    # --- handson/push_to_hub.py
    (
        'push_to_hub',
        None,
        True,
        'push',
        r'''from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import HfHubHTTPError

if get_token() is None:
    raise RuntimeError(
        "Hugging Face にログインしていないのでアップロードできません。"
        "書き込み（write）権限のあるトークンで login() を実行してから、このセルをもう一度実行してください。"
    )

api = HfApi()
repo_id = f"{api.whoami()['name']}/{HUB_REPO_NAME}"
try:
    api.create_repo(repo_id, private=True, exist_ok=True)  # まずは自分だけが見られる非公開のリポジトリにします
    api.upload_folder(repo_id=repo_id, folder_path=ADAPTER_DIR)
except HfHubHTTPError as error:
    if error.response is None or error.response.status_code != 403:
        raise
    raise RuntimeError(
        f"{repo_id} に書き込む権限がありません（403）。トークンが読み取り専用（read）の可能性があります。\n"
        "Hugging Face の設定で write 権限のトークンを作り、login(new_session=True) でログインし直してから、"
        f"このセルをもう一度実行してください。アダプターは {ADAPTER_DIR} に保存してあるので失われません。"
    ) from error
print(f"非公開のリポジトリにアップロードしました: https://huggingface.co/{repo_id}")
''',
    ),
    # --- handson/merge.py
    (
        'merge',
        None,
        True,
        None,
        r'''import gc
import shutil
from pathlib import Path

import psutil
import torch
from accelerate import init_empty_weights
from peft import AutoPeftModelForCausalLM
from transformers import AutoConfig, AutoModelForCausalLM

MERGED_DIR = Path("outputs/summary-merged")  # 16 ビットで約 14.5 GB あるので、Google ドライブには置きません
SHARD_GB = 1  # 1 GB ずつのファイルに分けて保存します（1 ファイル分を CPU のメモリに集めてから書くため）
GPU_SHARE = 0.9  # device_map="auto" は GPU の空きの 9 割まで層を載せ、残りを CPU のメモリに置きます

# 学習に使ったモデルを手放して、GPU メモリを空けます（アダプターは保存済みです。このセルは何度実行しても同じです）。
model = trainer = None
gc.collect()
torch.cuda.empty_cache()

# 16 ビットの基盤モデルが載るかを、読み込む前に確かめます（重みを読み込まずに数えます）。
with init_empty_weights():
    empty_model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(MODEL_ID))
needed_gb = sum(p.numel() for p in empty_model.parameters()) * 2 / 1e9  # 16 ビットは 1 パラメータ 2 バイト
gpu_free_gb = torch.cuda.mem_get_info()[0] / 1e9 if torch.cuda.is_available() else 0.0
ram_free_gb = psutil.virtual_memory().available / 1e9
# CPU のメモリには、GPU に載らない層と、保存のときの 1 ファイル分と、余裕の 1 GB が要ります
ram_needed_gb = max(needed_gb - GPU_SHARE * gpu_free_gb, 0) + SHARD_GB + 1
MERGED_DIR.parent.mkdir(parents=True, exist_ok=True)
disk_free_gb = shutil.disk_usage(MERGED_DIR.parent).free / 1e9
if ram_free_gb < ram_needed_gb or disk_free_gb < 1.1 * needed_gb:
    raise RuntimeError(
        f"マージには 16 ビットの基盤モデル（約 {needed_gb:.1f} GB）を読み込みますが、空きが足りません"
        f"（GPU {gpu_free_gb:.1f} GB のとき CPU のメモリが {ram_needed_gb:.1f} GB 要るのに {ram_free_gb:.1f} GB、"
        f"ディスク {disk_free_gb:.1f} GB）。\n"
        f"学習したアダプターは {ADAPTER_DIR} に保存してあるので、マージしなくてもそのまま使えます"
        "（「次の日に使う」のページ）。マージしたモデルが必要なら、メモリの大きいマシンでこのセルを実行してください。"
    )

# 4bit の重みには足し込めないので、基盤モデルを 16 ビットで読み直してからマージします。
adapter_model = AutoPeftModelForCausalLM.from_pretrained(ADAPTER_DIR, dtype=DTYPE, device_map="auto")
merged_model = adapter_model.merge_and_unload()
merged_model.save_pretrained(MERGED_DIR, max_shard_size=f"{SHARD_GB}GB")
tokenizer.save_pretrained(MERGED_DIR)
print(sorted(path.name for path in MERGED_DIR.iterdir()))
''',
    ),
]


if __name__ == "__main__":
    main()
