"""Run one benchmark stage in a fresh process and measure its wall time and peak memory.

A fresh process per stage makes the peak resident memory (VmHWM, its high-water mark) that stage's
own figure instead of the maximum of everything that ran before it. Processes the stage starts
(dlt's normalize workers on a big load) count too: a thread sums the resident memory of the stage
process and all its descendants at the same moment, twice a second, and the peak is the larger of
that sum and the stage process's own high-water mark. (ru_maxrss would not do: a process started from a 7 GB parent
reports the parent's 7 GB as its own peak, since Linux keeps that figure across the fork and exec.
The sum counts the libraries the processes share once per process, tens of MB; the proportional
set size, which would not, costs ~70 ms a reading on a 6 GB process.)
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class StageResult:
    name: str
    seconds: float
    peak_rss_mb: float
    value: Any


def descendants(pid: int) -> set[int]:
    """The processes `pid` started, and theirs, from the parent ids in /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    family, grew = {pid}, True
    while grew:
        new = {child for child, parent in parents.items() if parent in family} - family
        family |= new
        grew = bool(new)
    return family - {pid}


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    """A process's resident memory in kB (/proc/<pid>/status; VmHWM for its peak); 0 once it has exited."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class PeakSampler:
    """The largest value `reading()` returned, called twice a second on a thread while the `with`
    block runs."""

    def __init__(self, reading: Callable[[], float]) -> None:
        self.peak = 0.0
        self._reading = reading
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.peak = max(self.peak, self._reading())


def family_rss_kb() -> float:
    """The resident memory of this process and its descendants together, in kB."""
    me = os.getpid()
    return sum(rss_kb(pid) for pid in {me} | descendants(me))


def _child(target: str, kwargs: dict[str, Any], queue: mp.Queue) -> None:
    module_name, func_name = target.split(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        with PeakSampler(family_rss_kb) as family:
            start = time.perf_counter()
            value = func(**kwargs)
            seconds = time.perf_counter() - start
        peak_kb = max(rss_kb(os.getpid(), "VmHWM"), family.peak)
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
