"""Run one benchmark stage in a fresh process and measure its wall time and peak memory.

A fresh process per stage makes the peak resident memory (ru_maxrss) that stage's own figure
instead of the maximum of everything that ran before it. Processes the stage starts (dlt's normalize
workers on a big load) count too: the peak is the stage process's own plus the largest of theirs, a
bound rather than a coincidence, since the two need not peak at once.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import resource
import time
import traceback
from dataclasses import dataclass
from typing import Any


@dataclass
class StageResult:
    name: str
    seconds: float
    peak_rss_mb: float
    value: Any


def _child(target: str, kwargs: dict[str, Any], queue: mp.Queue) -> None:
    module_name, func_name = target.split(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        start = time.perf_counter()
        value = func(**kwargs)
        seconds = time.perf_counter() - start
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        peak_kb = own + started
        queue.put(("ok", seconds, peak_kb / 1024, value))
    except BaseException:  # report any failure to the parent instead of hanging it
        queue.put(("error", 0.0, 0.0, traceback.format_exc()))


def run_stage(name: str, target: str, **kwargs: Any) -> StageResult:
    """Call `module:function(**kwargs)` in a spawned process; raise if it fails."""
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(target, kwargs, queue), name=f"bench-{name}")
    proc.start()
    status, seconds, peak_mb, value = queue.get()
    proc.join()
    if status != "ok":
        raise RuntimeError(f"benchmark stage {name!r} failed:\n{value}")
    return StageResult(name, seconds, peak_mb, value)
