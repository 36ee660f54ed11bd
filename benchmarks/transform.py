"""dbt build speed on a loaded warehouse: a full build, then an incremental build after the sandbox
moved on by a day (targets on M: full <= 60 s, incremental <= 20 % of full).

`run(warehouse)` times `dbt build --full-refresh` and then a plain `dbt build`. Given the world's
`data_dir`, the second build follows one `advance --days 1` of the world and a dlt load of what
changed (neither timed), which is the daily run; without it the incremental build sees no new data.

Both builds are the production build: without unit tests (they check logic on fixed inputs, which the
test suite's build covers; dbt recommends leaving them out of production runs) and without the
alerts models (the daily job builds them in a later step, after the ML scores they read). Both use
one target folder beside the warehouse, so the daily build finds the parse the full build left.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.sandbox_stages import source_env
from sandbox.emulators.process import start_server, stop_server

REPO = Path(__file__).resolve().parent.parent
DBT_DIR = REPO / "dbt_project"
FULL_TARGET_SECONDS = 60.0
INCREMENTAL_TARGET_SHARE = 0.20
PRODUCTION_BUILD_ARGS = ("--exclude-resource-type", "unit_test", "--exclude", "tag:alerts", "tag:activation")


def _env(warehouse: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "COPILOT_WAREHOUSE": str(warehouse),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        **extra,
    }


def dbt_build(warehouse: Path, *extra: str) -> float:
    """Seconds for one production `dbt build` (raises with dbt's output if it fails)."""
    cmd = [
        sys.executable,
        "-m",
        "dbt.cli.main",
        "build",
        *PRODUCTION_BUILD_ARGS,
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(_target_path(warehouse)),
    ]
    start = time.perf_counter()
    proc = subprocess.run([*cmd, *extra], cwd=REPO, env=_env(warehouse), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{proc.stdout[-4000:]}{proc.stderr[-2000:]}")
    return seconds


def _target_path(warehouse: Path) -> Path:
    # Absolute: dbt resolves a relative --target-path against the project folder, not the caller's.
    return warehouse.resolve().parent / "dbt_target"


def slowest_nodes(warehouse: Path, count: int = 5) -> dict[str, float]:
    """The last build's slowest models and tests (seconds each), from dbt's run_results.json."""
    results = json.loads((_target_path(warehouse) / "run_results.json").read_text())["results"]
    ranked = sorted(results, key=lambda r: r["execution_time"], reverse=True)[:count]
    return {r["unique_id"].split(".", 1)[1]: round(r["execution_time"], 2) for r in ranked}


def advance_and_load(data_dir: Path, warehouse: Path, days: int = 1) -> None:
    """Move the world on, serve it, and load what changed with the project's dlt pipelines."""
    sandbox = [sys.executable, "-m", "sandbox", "--data-dir", str(data_dir)]
    subprocess.run([*sandbox, "advance", "--days", str(days)], cwd=REPO, env=_env(warehouse), check=True)
    server, url = start_server(data_dir, env=_env(warehouse))
    try:
        env = _env(warehouse, **source_env(url, data_dir))
        load = [sys.executable, "-m", "dlt_pipelines", "run", "--warehouse", str(warehouse)]
        subprocess.run(load, cwd=REPO, env=env, check=True, capture_output=True)
    finally:
        stop_server(server)


def run(warehouse: str | Path, data_dir: str | Path | None = None) -> dict[str, Any]:
    warehouse = Path(warehouse).resolve()
    full = dbt_build(warehouse, "--full-refresh")
    if data_dir is not None:
        advance_and_load(Path(data_dir), warehouse)
    incremental = dbt_build(warehouse)
    share = incremental / full
    return {
        "full_build_seconds": round(full, 1),
        "incremental_build_seconds": round(incremental, 1),
        "incremental_share_of_full": round(share, 3),
        "incremental_after": "advance --days 1 and a dlt load" if data_dir is not None else "no new data",
        "full_target_seconds": FULL_TARGET_SECONDS,
        "incremental_target_share": INCREMENTAL_TARGET_SHARE,
        "met": full <= FULL_TARGET_SECONDS and share <= INCREMENTAL_TARGET_SHARE,
        "incremental_slowest_nodes": slowest_nodes(warehouse),
    }


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None), indent=2))
