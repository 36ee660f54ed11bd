"""`make demo`: run the product on the sandbox company and leave it up to look at.

1. Serve the sandbox's Salesforce, Zendesk, Stripe and Slack emulators (or reuse the ones already up).
2. Run the daily jobs through the local Dagster instance (so the runs appear in the UI): load every
   source, then build the dbt models.
3. Print a short summary, then serve the Dagster UI next to the emulators until Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
DAILY_JOBS = ("daily_ingest", "daily_transform")


def emulators_up(base: str) -> bool:
    try:
        return requests.get(f"{base}/__admin/health", timeout=2).ok
    except requests.RequestException:
        return False


def start_emulators(data_dir: Path, port: int, tls_port: int) -> subprocess.Popen[str] | None:
    base = f"http://127.0.0.1:{port}"
    if emulators_up(base):
        print(f"emulators already serving at {base}", flush=True)
        return None
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--data-dir",
            str(data_dir),
            "serve",
            "--port",
            str(port),
            "--tls-port",
            str(tls_port),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        # Restore default SIGINT handling so Ctrl-C and our own stop reach the server.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if proc.poll() is not None or not emulators_up(base):
        raise SystemExit(f"demo: the emulators did not start: {line or 'see the error above'}")
    print(line, flush=True)
    return proc


def run_daily_jobs() -> list[tuple[str, float, bool]]:
    from dagster import DagsterInstance

    from orchestration.definitions import defs

    instance = DagsterInstance.get()
    timings = []
    for name in DAILY_JOBS:
        try:
            job = defs.get_job_def(name)
        except Exception:  # a job from a later stage of the product that is not defined yet
            continue
        print(f"running {name}...", flush=True)
        start = time.perf_counter()
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        seconds = time.perf_counter() - start
        timings.append((name, seconds, result.success))
        print(f"  {name}: {'ok' if result.success else 'FAILED'} in {seconds:.1f} s", flush=True)
        if not result.success:
            break
    return timings


def warehouse_summary() -> list[str]:
    import duckdb

    from dlt_pipelines.settings import warehouse_path

    path = warehouse_path()
    if not path.exists():
        return []
    lines = []
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, count(*) from information_schema.tables "
            "where table_schema like 'raw_%' or table_schema in ('staging', 'intermediate', 'marts') "
            "group by 1 order by 1"
        ).fetchall()
        lines += [f"  {schema}: {n} tables" for schema, n in tables]
        try:
            (accounts,) = con.execute("select count(*) from marts.customer_360").fetchone()
            lines.append(f"  customer 360: {accounts:,} accounts")
        except duckdb.Error:
            pass
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.demo", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data/sandbox"))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--tls-port", type=int, default=8766)
    parser.add_argument("--ui-port", type=int, default=3000)
    parser.add_argument("--no-ui", action="store_true", help="stop after the run instead of serving the UI")
    args = parser.parse_args()

    emulators = start_emulators(args.data_dir, args.port, args.tls_port)
    try:
        timings = run_daily_jobs()
        print("\nsummary")
        for name, seconds, ok in timings:
            print(f"  {name}: {'ok' if ok else 'FAILED'}, {seconds:.1f} s")
        for line in warehouse_summary():
            print(line)
        if not all(ok for _, _, ok in timings):
            return 1
        if args.no_ui:
            return 0
        base = f"http://127.0.0.1:{args.port}"
        print(
            f"\nDagster UI:   http://127.0.0.1:{args.ui_port}\n"
            f"Salesforce:   {base}/services/data/v61.0/  (Zendesk {base}/api/v2/, Stripe {base}/v1/)\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        ui = subprocess.Popen(
            ["dagster", "dev", "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(args.ui_port)],
            cwd=REPO,
            env=os.environ.copy(),
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            ui.wait()
        except KeyboardInterrupt:
            ui.send_signal(signal.SIGINT)
            ui.wait(timeout=30)
        return 0
    finally:
        if emulators is not None:
            emulators.send_signal(signal.SIGINT)
            emulators.wait(timeout=30)


if __name__ == "__main__":
    raise SystemExit(main())
