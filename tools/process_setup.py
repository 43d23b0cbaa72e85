"""How every process of the test suite is set up on this CPU: threads, allocator, garbage collector,
16-bit matrix products and priority, in one place.

One entry point, ``prepare()``, called first thing by each process that runs the hands-on's code for the tests:

- the pytest process (tests/conftest.py, before anything imports torch; collection imports the tests'
  modules, so the collector stays off until ``imports_done()`` after collection);
- the notebook's Jupyter kernel and the two ``accelerate launch`` processes (tests/harness/background_runs.py
  and tests/harness/ddp_probe.py), which import the stack at once.

The processes the suite starts get ``ENVIRONMENT`` (the runs' environment in tests/harness/background_runs.py),
and the runs beside the tests get a lower priority (``run_in_the_background()``), which the processes
they start inherit. Nothing here changes what the code under test computes.
"""

from __future__ import annotations

import gc
import os

# glibc gives every allocation above 128 KiB its own mmap and returns it to the kernel when freed.
# The stand-in's 32,000-wide output layer makes tensors of tens of MB at every step, so the test
# processes spent a large part of their time in page faults (sys time). Keeping such blocks in the
# heap instead cut a test run's sys time by about 80 % here. Memory use stays small (tiny model).
ALLOCATOR_ENVIRONMENT = {"MALLOC_MMAP_THRESHOLD_": str(1 << 30), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}
# One thread per process: the runs beside the tests (tests/harness/background_runs.py) use the other core.
THREADS_ENVIRONMENT = {"OMP_NUM_THREADS": "1"}
# For every process the suite starts (notebook kernel, script, mkdocs, textlint) and this one.
ENVIRONMENT = {**THREADS_ENVIRONMENT, **ALLOCATOR_ENVIRONMENT}
# The runs beside the tests: the tests in the main thread, which wait for them only at the end, get the CPU first.
BACKGROUND_NICENESS = 10

# What every process that runs the hands-on imports: about a million objects that live as long as the process.
# Python's garbage collector walks all of them on each full pass and on every gc.collect() (the merge cell
# calls it): here about 1.3 s of CPU while importing, and 0.36 s a gc.collect(). Test processes import with
# the collector off, then leave what they imported out of its passes (gc.freeze) and make the passes rarer.
# What the code under test creates afterwards is collected as usual.
THE_STACK = ("torch", "transformers", "trl", "peft", "datasets")


def prepare(*, imports_follow: bool = False) -> None:
    """Set up this process. ``imports_follow``: the process imports what it needs itself afterwards (pytest
    collecting the tests) and calls ``imports_done()`` then; otherwise THE_STACK is imported here."""
    for name, value in THREADS_ENVIRONMENT.items():
        os.environ.setdefault(name, value)  # a developer's own choice wins
    os.environ.update(ALLOCATOR_ENVIRONMENT)
    _keep_freed_memory_in_the_heap()
    gc.disable()
    if not imports_follow:
        import importlib

        for name in THE_STACK:
            importlib.import_module(name)
        imports_done()
    half_precision_products_in_fp32()


def imports_done() -> None:
    """What is imported now stays out of the collector's passes, and the passes get rarer."""
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)
    gc.enable()


def run_in_the_background() -> None:
    """Lower the calling thread's priority; the processes it starts inherit it."""
    import threading

    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)


def _keep_freed_memory_in_the_heap() -> None:
    """ALLOCATOR_ENVIRONMENT for this (already running) process, through glibc's mallopt."""
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    libc.mallopt(m_mmap_threshold, int(ALLOCATOR_ENVIRONMENT["MALLOC_MMAP_THRESHOLD_"]))
    libc.mallopt(m_trim_threshold, int(ALLOCATOR_ENVIRONMENT["MALLOC_TRIM_THRESHOLD_"]))


# On a CPU without native 16-bit units a bf16 or fp16 torch.mm runs about five times slower than the
# same product in fp32: TRL's loss multiplies every token's hidden state by the 32,000-wide output layer
# that way, and that was a third of each stand-in training. A GPU multiplies 16-bit matrices with fp32
# accumulation and rounds the result once; doing the product in fp32 and rounding once is the same
# arithmetic up to the order of the sums, and it leaves the code under test alone. Which 16-bit types a
# CPU multiplies natively differs (2026-12-02, two 2-core machines: one was slow at both; an AMD EPYC with
# AVX512-BF16 was 4-11 times faster in bf16 than through fp32, and 5 times slower in fp16), so each type
# is rerouted only where a quick measurement finds the product through fp32 faster.
# (Also used on its own by tools/gpu_check.py --rehearse, the hands-on on a CPU outside the tests.)
def half_precision_products_in_fp32() -> None:
    import torch

    original = torch.mm
    if getattr(original, "rerouted", False):
        return
    slow = {dtype for dtype in (torch.bfloat16, torch.float16) if _products_are_faster_in_fp32(torch, dtype)}
    if not slow:
        return

    def mm(a, b, *, out=None):
        if a.dtype in slow and a.device.type == "cpu" and b.dtype == a.dtype:
            result = original(a.float(), b.float()).to(a.dtype)
            return result if out is None else out.copy_(result)
        return original(a, b) if out is None else original(a, b, out=out)

    mm.rerouted = True
    torch.mm = mm


def _products_are_faster_in_fp32(torch, dtype) -> bool:
    """Whether this CPU multiplies ``dtype`` matrices faster through fp32 (milliseconds to find out)."""
    import time

    a = torch.ones(64, 64, dtype=dtype)
    b = torch.ones(64, 2048, dtype=dtype)

    def seconds(product) -> float:
        product()  # the first call pays for setting up the kernel
        start = time.perf_counter()
        for _ in range(3):
            product()
        return time.perf_counter() - start

    return seconds(lambda: torch.mm(a.float(), b.float()).to(dtype)) < seconds(lambda: torch.mm(a, b))
