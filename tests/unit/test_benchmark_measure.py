"""A benchmark stage's peak memory: the stage process and the processes it starts, at the same moment."""

from __future__ import annotations

import multiprocessing as mp
import time

from benchmarks.measure import run_stage

MB = 1024 * 1024


def hold(megabytes: int, seconds: float) -> None:
    block = bytearray(megabytes * MB)
    for i in range(0, len(block), 4096):  # touch every page: resident, not only reserved
        block[i] = 1
    time.sleep(seconds)


def stage_with_workers(own_mb: int, worker_mb: int, workers: int) -> int:
    """Holds `own_mb` itself while `workers` spawned processes hold `worker_mb` each (as dlt's
    normalize workers do beside the run process)."""
    block = bytearray(own_mb * MB)
    for i in range(0, len(block), 4096):
        block[i] = 1
    ctx = mp.get_context("spawn")
    started = [ctx.Process(target=hold, args=(worker_mb, 1.5)) for _ in range(workers)]
    for process in started:
        process.start()
    for process in started:
        process.join()
    return len(block) // MB


def test_the_peak_adds_the_workers_holding_memory_beside_the_stage() -> None:
    measured = run_stage(
        "workers", "tests.unit.test_benchmark_measure:stage_with_workers", own_mb=200, worker_mb=250, workers=2
    )
    assert measured.value == 200
    # 200 MB in the stage and 2 x 250 MB in its workers at once, plus three interpreters
    assert 700 <= measured.peak_rss_mb < 1000


def test_the_peak_of_a_stage_is_its_own_not_the_process_that_started_it() -> None:
    # Linux keeps a parent's resident peak in the ru_maxrss of every process it starts: a stage
    # started from this 1 GB process must still report its own 300 MB.
    parent = bytearray(1024 * MB)
    for i in range(0, len(parent), 4096):
        parent[i] = 1
    measured = run_stage(
        "alone", "tests.unit.test_benchmark_measure:stage_with_workers", own_mb=300, worker_mb=0, workers=0
    )
    del parent
    assert 300 <= measured.peak_rss_mb < 450
