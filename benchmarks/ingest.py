"""Ingestion benchmark: full load, product events against DuckDB's own Parquet read, and the
incremental run after the world advances one day.

`run(data_dir, warehouse)` works on a copy of the world in `data_dir` (advancing it must not change
the caller's world), serves it with the emulators on a free port, and returns the figures:

- `events_ctas_s`: DuckDB `CREATE TABLE AS SELECT * FROM read_parquet(...)` over the event files
- `events_load_s`: the dlt product-events load of the same files (target: at most 2x the above)
- `full_load_s`: every source, from an empty warehouse (per source in `full_by_source_s`)
- `incremental_s`: every source again after `advance --days 1` (target: at most 10 % of full)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.sandbox_stages import source_env
from sandbox.emulators.process import start_server, stop_server

REPO = Path(__file__).resolve().parent.parent


def _sandbox(data_dir: Path, *args: str, wait: bool = True) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "sandbox", "--data-dir", str(data_dir), *args]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if wait:
        proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"`sandbox {' '.join(args)}` failed with exit code {proc.returncode}")
    return proc


def events_ctas_seconds(files_glob: str, scratch: Path) -> tuple[float, int]:
    scratch.unlink(missing_ok=True)
    start = time.perf_counter()
    with duckdb.connect(str(scratch)) as con:
        con.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{files_glob}')")
        rows = con.execute("SELECT count(*) FROM events").fetchone()[0]
    seconds = time.perf_counter() - start
    scratch.unlink(missing_ok=True)
    return seconds, rows


def events_side_by_side(data_dir: Path | str, warehouse: Path | str) -> dict[str, Any]:
    """Only the product events: dlt's load of the world's event files between two timings of DuckDB's
    direct read of the same files (the scale run, where loading every API source would take long)."""
    data_dir, warehouse = Path(data_dir), Path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    warehouse.unlink(missing_ok=True)
    shutil.rmtree(warehouse.parent / f".{warehouse.stem}.dlt", ignore_errors=True)
    events = data_dir / "exports" / "events"
    os.environ.update({"SOURCES__PRODUCT_EVENTS__FILES_URL": str(events), "COPILOT_WAREHOUSE": str(warehouse)})
    from dlt_pipelines import runner

    files = str(events / "*" / "*.parquet")
    scratch = warehouse.parent / "ctas-scratch.duckdb"
    ctas_before, event_rows = events_ctas_seconds(files, scratch)
    loaded = runner.run_source("product_events", warehouse)
    ctas_after, _ = events_ctas_seconds(files, scratch)
    ctas_s = (ctas_before + ctas_after) / 2
    return {
        "event_rows": event_rows,
        "rows_loaded": loaded.rows_loaded,
        "events_ctas_s": round(ctas_s, 2),
        "events_load_s": round(loaded.seconds, 2),
        "events_ratio": round(loaded.seconds / ctas_s, 2),
    }


def run(data_dir: Path | str, warehouse: Path | str) -> dict[str, Any]:
    data_dir, warehouse = Path(data_dir), Path(warehouse)
    work = warehouse.parent / "ingest-bench-world"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(data_dir, work, ignore=shutil.ignore_patterns("truth", "*.log"))
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    warehouse.unlink(missing_ok=True)
    shutil.rmtree(warehouse.parent / f".{warehouse.stem}.dlt", ignore_errors=True)
    server, url = start_server(work)
    try:
        os.environ.update({**source_env(url, work), "COPILOT_WAREHOUSE": str(warehouse)})
        from dlt_pipelines import runner, settings

        # Side by side: DuckDB's direct read is timed right before and right after dlt loads the same
        # files (the mean is the baseline), so both see the same machine, whatever else runs on it.
        files = str(work / "exports" / "events" / "*" / "*.parquet")
        scratch = warehouse.parent / "ctas-scratch.duckdb"
        ctas_before, event_rows = events_ctas_seconds(files, scratch)
        start = time.perf_counter()
        full = {"product_events": runner.run_source("product_events", warehouse)}
        ctas_after, _ = events_ctas_seconds(files, scratch)
        ctas_s = (ctas_before + ctas_after) / 2
        others = [name for name in settings.SOURCES if name != "product_events"]
        full.update({r.source: r for r in runner.run_all(others, warehouse=warehouse)})
        full_s = time.perf_counter() - start - ctas_after
        _sandbox(work, "advance", "--days", "1")
        start = time.perf_counter()
        incremental = {r.source: r for r in runner.run_all(warehouse=warehouse)}
        incremental_s = time.perf_counter() - start
    finally:
        stop_server(server)
    events_s = full["product_events"].seconds
    return {
        "event_rows": event_rows,
        "events_ctas_s": round(ctas_s, 2),
        "events_load_s": round(events_s, 2),
        "events_ratio": round(events_s / ctas_s, 2),
        "full_load_s": round(full_s, 2),
        "full_by_source_s": {k: round(r.seconds, 2) for k, r in full.items()},
        "full_rows": {k: r.rows_loaded for k, r in full.items()},
        "incremental_s": round(incremental_s, 2),
        "incremental_by_source_s": {k: round(r.seconds, 2) for k, r in incremental.items()},
        "incremental_rows": {k: r.rows_loaded for k, r in incremental.items()},
        "incremental_ratio": round(incremental_s / full_s, 3),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(Path(sys.argv[1]), Path(sys.argv[2])), indent=2))
