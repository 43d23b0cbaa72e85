"""Time the whole test suite the way tools/measurements.md records it (not collected by pytest).

    .venv/bin/python tools/time_suite.py [--runs N] [--log] [pytest arguments...]

Each run first measures how fast the machine is right now, with a "speed probe": one thread, the mean of
5 bf16 ``torch.mm`` of 4096x64 by 64x32000 (the shape of the stand-in's output layer over a batch;
smaller is faster). The speed of the VM this project is developed on drifts by 20 % and more within an
hour, so a suite time means little without it. Then it runs ``python -m pytest`` (with the arguments
given) and prints one line a run: time, commit, probe, wall time, the CPU time of pytest and everything
it waited for (user + sys), and pytest's last line. The machine should be otherwise idle.
With ``--log``, each line is also appended to the last section of tools/measurements.md, the log of
measurements (.github/CONTRIBUTING.md, 「時間の予算」).
"""

from __future__ import annotations

import argparse
import datetime
import resource
import subprocess
import sys
import time
from pathlib import Path

import project

LOG = project.TOOLS / "measurements.md"
LOG_HEADING = "## time_suite.py の記録"  # the log's last section: --log appends there

PROBE = """
import time, torch
torch.set_num_threads(1)
a = torch.randn(4096, 64, dtype=torch.bfloat16)
b = torch.randn(64, 32000, dtype=torch.bfloat16)
torch.mm(a, b)
start = time.perf_counter()
for _ in range(5):
    torch.mm(a, b)
print((time.perf_counter() - start) / 5)
"""


def speed_probe() -> float:
    """Seconds for one bf16 product of the probe's shape on one thread (in a fresh interpreter)."""
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    return float(result.stdout.split()[-1])


def commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=project.ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=project.ROOT, capture_output=True, text=True).stdout
    return result.stdout.strip() + ("+changes" if dirty.strip() else "")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(pytest_args: list[str]) -> str:
    probe = speed_probe()
    cpu_before = children_cpu()
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args],
        cwd=project.ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    cpu = children_cpu() - cpu_before
    lines = result.stdout.strip().splitlines()
    summary = lines[-1] if lines else f"(no output; exit {result.returncode})"
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return f"{when} {commit()} probe {probe:.3f} s  wall {wall:.1f} s  cpu {cpu:.1f} s  | {summary}"


def log_problem(log: Path) -> str | None:
    """Why --log cannot append to this file, in Japanese; None when its last section is the time_suite one."""
    headings = [row for row in log.read_text(encoding="utf-8").splitlines() if row.startswith("## ")]
    if headings and headings[-1] == LOG_HEADING:
        return None
    return f"{log} の最後の節が「{LOG_HEADING[3:]}」ではないので、追記しません。その節を最後に戻してください。"


def append_to_log(line: str, log: Path | None = None) -> None:
    """Add one run's line as a list item at the end of the log (checked by log_problem first)."""
    log = log or LOG
    if problem := log_problem(log):
        raise SystemExit(problem)
    text = log.read_text(encoding="utf-8").rstrip("\n")
    blank = "" if text.splitlines()[-1].startswith("- ") else "\n"  # a list starts after a blank line
    log.write_text(f"{text}\n{blank}- `{line}`\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="how many runs, one after the other (default 1)")
    parser.add_argument("--log", action="store_true", help="also append each line to tools/measurements.md")
    args, pytest_args = parser.parse_known_args(argv)
    if args.log and (problem := log_problem(LOG)):  # before the runs, not after minutes of them
        print(problem, file=sys.stderr)
        return 1
    for _ in range(args.runs):
        line = time_once(pytest_args)
        print(line, flush=True)
        if args.log:
            append_to_log(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
