"""`make demo`: run the product on the sandbox company and leave it up to look at.

1. Serve the sandbox's Salesforce, Zendesk, Stripe and Slack emulators (or reuse the ones already up).
2. Run the daily job through the local Dagster instance, so the run appears in the UI: load every
   source, build the models, score, raise alerts, check them, sync to Salesforce and Slack, build the
   reports. Steps run in separate processes (two at a time on two cores) and each finished step is
   printed as it ends.
3. Print a summary (accounts scored, alerts raised, records synced, time per stage), then serve the
   reports and the Dagster UI next to the emulators until Ctrl-C.

Run it again, or after `python -m sandbox advance`, and the run is incremental.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
DAILY_JOB = "daily_run"
# Step key -> the stage the summary reports it under (first match wins).
STAGES = (
    ("ingest", re.compile(r"^ingest_")),
    ("sync", re.compile(r"^reverse_etl")),
    ("alerts", re.compile(r"alert")),
    ("dbt", re.compile(r"dbt")),
    ("train", re.compile(r"_model$")),
    ("score", re.compile(r"score")),
    ("reports", re.compile(r"^reports")),
)
STEP_EVENT = re.compile(r" - (?P<step>[\w.\[\]]+) - (?P<event>STEP_START|STEP_SUCCESS|STEP_FAILURE|STEP_SKIPPED) - ")
STEP_SECONDS = re.compile(r" in (?:(?P<m>\d+)m)?(?P<s>[\d.]+)s\b|in (?P<ms>[\d.]+)ms")
RUN_ID = re.compile(r" - (?P<run_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) - ")
CHECK_FAILED = re.compile(r"Asset check '(?P<check>[^']+)' on '(?P<asset>[^']+)' failed")


def stage_of(step: str) -> str:
    return next((name for name, pattern in STAGES if pattern.search(step)), "other")


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
    cmd = [sys.executable, "-m", "sandbox", "--data-dir", str(data_dir), "serve"]
    proc = subprocess.Popen(
        [*cmd, "--port", str(port), "--tls-port", str(tls_port)],
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


def _seconds(text: str) -> float:
    m = STEP_SECONDS.search(text)
    if not m:
        return 0.0
    if m.group("ms"):
        return float(m.group("ms")) / 1000
    return 60 * int(m.group("m") or 0) + float(m.group("s"))


def run_daily_job(log_file: Path) -> tuple[bool, dict[str, float], float]:
    """`dagster job execute` of the daily job (multiprocess, recorded in the instance). Prints one
    line per finished step; the full Dagster log goes to `log_file`. Returns success, seconds per
    stage and the wall time."""
    cmd = ["dagster", "job", "execute", "-m", "orchestration.definitions", "-j", DAILY_JOB]
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    started = time.perf_counter()
    per_stage: dict[str, float] = defaultdict(float)
    running: set[str] = set()
    done = 0
    run_id = None
    log_file.parent.mkdir(parents=True, exist_ok=True)
    print(f"running {DAILY_JOB} (full log: {log_file})", flush=True)
    with log_file.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if run_id is None and (m := RUN_ID.search(line)):
                run_id = m.group("run_id")
            if m := CHECK_FAILED.search(line):
                print(f"  ! check {m.group('check')} on {m.group('asset')} failed", flush=True)
            m = STEP_EVENT.search(line)
            if not m:
                continue
            step, event = m.group("step"), m.group("event")
            elapsed = time.perf_counter() - started
            if event == "STEP_START":
                running.add(step)
                print(f"  [{elapsed:5.0f} s] {step} started ({len(running)} running, {done} done)", flush=True)
                continue
            running.discard(step)
            done += 1
            status = {"STEP_SUCCESS": "ok", "STEP_FAILURE": "FAILED", "STEP_SKIPPED": "skipped"}[event]
            print(f"  [{elapsed:5.0f} s] {step}: {status} in {_seconds(line):.1f} s ({done} done)", flush=True)
        code = proc.wait()
    wall = time.perf_counter() - started
    failed: list[str] = []
    if run_id is not None:
        # The run's own record (not the log lines) says how long each step took and which failed.
        from dagster import DagsterInstance

        for stat in DagsterInstance.get().get_run_step_stats(run_id):
            if stat.start_time and stat.end_time:
                per_stage[stage_of(stat.step_key)] += stat.end_time - stat.start_time
            if stat.status is not None and stat.status.value == "FAILURE":
                failed.append(stat.step_key)
    if code != 0 or failed:
        print(f"{DAILY_JOB} FAILED ({', '.join(failed) or f'exit {code}'}); see {log_file}", flush=True)
    return code == 0 and not failed, dict(per_stage), wall


def warehouse_summary() -> tuple[list[str], str | None]:
    """What the run produced, read from the warehouse; and one account to look at in Salesforce."""
    import duckdb

    from dlt_pipelines.settings import connect_warehouse, warehouse_path

    path = warehouse_path()
    if not path.exists():
        return [], None
    lines: list[str] = []
    sample = None
    queries = {
        "accounts in customer 360": "select count(*) from marts.customer_360",
        "accounts scored": "select count(*) from ml.account_scores_latest",
        "high churn risk": "select count(*) from ml.account_scores_latest where churn_risk_tier = 'High'",
        "alerts open or sent": "select count(*) from alerts.alerts where status in ('open', 'sent', 'acknowledged')",
        "alerts raised today": "select count(*) from alerts.alerts where opened_on = (select max(last_fired_on) "
        "from alerts.alerts)",
    }
    with connect_warehouse(path, read_only=True) as con:
        for label, sql in queries.items():
            try:
                (n,) = con.execute(sql).fetchone()
                lines.append(f"  {label}: {n:,}")
            except duckdb.Error:
                lines.append(f"  {label}: (not built)")
        try:
            rows = con.execute(
                "select destination, rows_sent, rows_succeeded, rows_failed from reverse_etl.sync_runs as r "
                "where started_at = (select max(started_at) from reverse_etl.sync_runs "
                "where destination = r.destination) order by 1"
            ).fetchall()
            for destination, sent, ok, failed in rows:
                lines.append(f"  synced to {destination}: {ok or 0:,} of {sent or 0:,} sent ({failed or 0} failed)")
        except duckdb.Error:
            lines.append("  sync: (not run)")
        try:
            row = con.execute(
                "select account_id from ml.account_scores_latest order by churn_probability desc limit 1"
            ).fetchone()
            sample = row[0] if row else None
        except duckdb.Error:
            pass
    return lines, sample


def serve(cmd: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd, cwd=REPO, env=os.environ.copy(), preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.demo", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data/sandbox"))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--tls-port", type=int, default=8766)
    parser.add_argument("--ui-port", type=int, default=3000)
    parser.add_argument("--reports-port", type=int, default=3001)
    parser.add_argument("--no-ui", action="store_true", help="stop after the run instead of serving the UI")
    args = parser.parse_args()

    emulators = start_emulators(args.data_dir, args.port, args.tls_port)
    try:
        # Configuration problems (a wrong credential, a weight that is not a number) stop here, one
        # line each, before anything is loaded.
        if subprocess.run([sys.executable, "-m", "orchestration.preflight"], cwd=REPO).returncode != 0:
            return 2
        ok, per_stage, wall = run_daily_job(REPO / "data" / "dagster" / "demo-last-run.log")
        print(f"\nsummary: {DAILY_JOB} {'ok' if ok else 'FAILED'} in {wall:.0f} s")
        print("  time per stage (step seconds): " + ", ".join(f"{k} {v:.0f} s" for k, v in per_stage.items()))
        lines, sample = warehouse_summary()
        for line in lines:
            print(line)
        if not ok:
            return 1
        if args.no_ui:
            return 0
        base = f"http://127.0.0.1:{args.port}"
        ui = serve(["dagster", "dev", "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(args.ui_port)])
        site = serve(["reports/scripts/serve.sh", str(args.reports_port)])
        print(
            f"\nReports:      http://127.0.0.1:{args.reports_port}\n"
            f"Dagster UI:   http://127.0.0.1:{args.ui_port}\n"
            + (
                f"Salesforce:   {base}/__admin/salesforce/Account/{sample}  (riskiest account, as the CRM holds it)\n"
                if sample
                else ""
            )
            + f"APIs:         {base}/services/data/v61.0/ (Zendesk {base}/api/v2/, Stripe {base}/v1/, Slack "
            f"{base}/__admin/slack/messages)\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        try:
            ui.wait()
        except KeyboardInterrupt:
            for proc in (ui, site):
                proc.send_signal(signal.SIGINT)
            for proc in (ui, site):
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        return 0
    finally:
        if emulators is not None:
            emulators.send_signal(signal.SIGINT)
            emulators.wait(timeout=30)


if __name__ == "__main__":
    raise SystemExit(main())
