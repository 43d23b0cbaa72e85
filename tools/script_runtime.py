"""The standalone script's runtime: command line, one namespace for the cells, the cell loop.

tools/script.py writes docs/downloads/train_sft_lora.py as: a PEP 723 header and a docstring, then
this file's code (everything below this docstring, byte for byte), then the page's cells (CELLS),
the tab labels and defaults, and ``main()``. Here, that data is empty: tests fill it in.
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
