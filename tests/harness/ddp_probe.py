"""Run the generated script in one process of ``accelerate launch``, then keep what this process trained.

    PYTHONPATH=tools accelerate launch ... tests/harness/ddp_probe.py SCRIPT PROBE_DIR [script options...]

Data parallel training keeps one copy of the LoRA weights in every process; tests/forms/test_ddp.py
checks that the copies agree. The script itself saves only the main process's copy, so this
wrapper remembers each process's trainer and saves its adapter to PROBE_DIR/rank<N>/.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from pathlib import Path

import process_setup
import standin


def main() -> None:
    process_setup.prepare()  # as every test process (tools/process_setup.py), before the script imports the stack
    from trl import SFTTrainer

    script, probe_dir, *options = sys.argv[1:]
    trainers = []
    original_train = SFTTrainer.train

    def train(self, *args, **kwargs):
        trainers.append(self)
        return original_train(self, *args, **kwargs)

    SFTTrainer.train = train

    # The random stand-in never says EOS: let each generate() call stop after a few tokens
    # (tests/pages/handson/test_handson_generation.py tests the generation length; this run is about data parallel training).
    standin.ShortGeneration().install()
    namespace = runpy.run_path(script, run_name="ddp_probe")["main"](options)

    (trainer,) = trainers
    rank = int(os.environ["RANK"])
    out = Path(probe_dir) / f"rank{rank}"
    trainer.model.save_pretrained(out)
    facts = {
        "rank": rank,
        "world_size": trainer.args.world_size,
        "backend": trainer.accelerator.state.backend,
        "distributed_type": str(trainer.accelerator.distributed_type),
        "global_step": trainer.state.global_step,
        "wrapped_in": type(trainer.model_wrapped).__name__,  # DistributedDataParallel: gradients are averaged
        "model_id": namespace["MODEL_ID"],
        "cwd": os.getcwd(),
        "has_merged_model": "merged_model" in namespace,
    }
    (out / "facts.json").write_text(json.dumps(facts), encoding="utf-8")


if __name__ == "__main__":
    main()
