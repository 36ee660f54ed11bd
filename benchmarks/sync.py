"""Reverse-ETL speed on a built warehouse (targets on M: a from-scratch sync uses at most
ceil(accounts / 200) composite calls or one bulk job per object and takes <= 30 s; a no-change sync
makes no write call).

`run(warehouse, data_dir, work)` copies both into `work` (the warehouse must hold the alert models:
`dbt build --select tag:alerts tag:activation`), forgets earlier deliveries, evaluates the alerts, serves the world's
emulators (HTTPS for simple-salesforce) and times two full syncs (gate included).
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import requests

from alerts import lifecycle
from core.clock import require_as_of_date
from reverse_etl import config, sync
from sandbox.emulators.process import REPO, free_ports, stop_server

TARGET_SECONDS = 30.0


def _serve(data_dir: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    port, tls = free_ports(2)
    cmd = [sys.executable, "-m", "sandbox", "--data-dir", str(data_dir), "serve", "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--tls-port", str(tls)], cwd=REPO, stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout is not None
    if b"ready" not in proc.stdout.readline():
        stop_server(proc)
        raise RuntimeError("emulator did not start")
    return proc, f"http://127.0.0.1:{port}", f"https://127.0.0.1:{tls}"


def run(warehouse: Path, data_dir: Path, work: Path) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    copy = work / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    world = work / "sandbox"
    shutil.rmtree(world, ignore_errors=True)
    world.mkdir()
    shutil.copyfile(data_dir / "world.sqlite", world / "world.sqlite")
    proc, http, https = _serve(world)
    try:
        cfg = replace(
            config.load(), salesforce_login_url=https, ca_bundle=world / "tls" / "ca.pem", slack_base_url=f"{http}/api/"
        )
        with duckdb.connect(str(copy)) as con:
            con.execute("DROP SCHEMA IF EXISTS reverse_etl CASCADE")  # from scratch: nothing delivered yet
            lifecycle.evaluate(con, require_as_of_date(con))
            accounts = con.execute("SELECT count(*) FROM marts.customer_360").fetchone()[0]
            started = time.perf_counter()
            first = {r.destination: r for r in sync.sync_all(con, cfg, echo=lambda _line: None)}
            first_seconds = time.perf_counter() - started
            calls = requests.get(f"{http}/__admin/requests", timeout=10).json()
            requests.delete(f"{http}/__admin/requests", timeout=10)
            started = time.perf_counter()
            sync.sync_all(con, cfg, echo=lambda _line: None)
            second_seconds = time.perf_counter() - started
            second_writes = requests.get(f"{http}/__admin/requests", timeout=10).json()["writes"]
    finally:
        stop_server(proc)
    by_endpoint = {r["endpoint"]: r["count"] for r in calls["requests"]}
    return {
        "accounts": accounts,
        "accounts_sent": first["salesforce_account"].succeeded,
        "tasks_sent": first["salesforce_task"].succeeded,
        "slack_sent": first["slack"].succeeded,
        "composite_calls": by_endpoint.get("composite_upsert", 0),
        "composite_call_limit": math.ceil(accounts / 200) + math.ceil(first["salesforce_task"].changed / 200),
        "bulk_jobs": by_endpoint.get("bulk_create_job", 0),
        "full_sync_seconds": round(first_seconds, 1),
        "full_sync_target_seconds": TARGET_SECONDS,
        "no_change_sync_seconds": round(second_seconds, 1),
        "no_change_write_calls": second_writes,
    }


if __name__ == "__main__":
    print(
        run(
            REPO / "data" / "dev" / "sync" / "warehouse.duckdb",
            REPO / "data" / "sandbox",
            REPO / "data" / "dev" / "sync" / "bench",
        )
    )
