"""`make demo`: run the product on the sandbox company and leave it up to look at.

1. Serve the sandbox's Salesforce, Zendesk, Stripe and Slack emulators (or reuse the ones already up).
2. Check the configuration (one line per problem), parse the dbt project when it changed since the
   last parse (devtools/prepare_dbt.py), then run the daily job through the local Dagster instance,
   so the run appears in the UI: load every source, build the models, score, raise alerts, check
   them, sync to Salesforce and Slack, build the reports. Steps run in separate processes (two at a
   time on two cores) and each finished step is printed as it ends.
3. Print a summary (accounts scored, alerts raised, records synced, time per stage, what failed),
   then serve the Dagster UI and the Copilot API next to the emulators until Ctrl-C, a failed run too
   (the UI is where it is read; its failure notice is in Slack). The reports are served by the API,
   behind the sign-in, to the roles that may see the whole portfolio; nothing serves them without it.

Run it again, or after `python -m sandbox advance`, and the run is incremental. A developer command
(`python -m devtools.demo`), not part of the code location: it drives the product from outside, as
an operator would, through `dagster job execute` and the Dagster instance.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
from dagster import DagsterEvent, DagsterEventType, DagsterInstance, EventLogEntry, RunsFilter

from core.clock import AS_OF_DATE_TAG
from core.crm import crm
from devtools import prepare_dbt
from orchestration.progress import progress_text

REPO = Path(__file__).resolve().parent.parent
DAILY_JOB = "daily_run"
DAGSTER_LOGS = REPO / "data" / "dagster"
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
POLL_SECONDS = 0.5


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


@dataclass
class StepResult:
    step: str
    status: str  # ok | FAILED | skipped
    seconds: float
    reason: str = ""
    log_file: Path | None = None


@dataclass
class RunOutcome:
    ok: bool
    wall_seconds: float
    steps: dict[str, StepResult] = field(default_factory=dict)
    problem: str = ""  # why the run did not even start, when it did not
    run_id: str = ""

    def seconds_per_stage(self) -> dict[str, float]:
        per_stage: dict[str, float] = defaultdict(float)
        for result in self.steps.values():
            per_stage[stage_of(result.step)] += result.seconds
        return dict(per_stage)

    def failures(self) -> list[StepResult]:
        return [r for r in self.steps.values() if r.status == "FAILED"]


class RunWatcher:
    """Follows one run through the Dagster instance's event log (not its console text): prints each
    step as it starts and ends with its real duration, the progress lines steps log, and failed checks."""

    def __init__(self, instance: DagsterInstance, run_id: str, started: float):
        self.instance = instance
        self.run_id = run_id
        self.started = started
        self.cursor: str | None = None
        self.step_started: dict[str, float] = {}
        self.log_keys: dict[str, list[str]] = {}
        self.outcome = RunOutcome(ok=False, wall_seconds=0.0, run_id=run_id)

    def poll(self) -> None:
        while True:
            page = self.instance.get_records_for_run(self.run_id, cursor=self.cursor, limit=500)
            for record in page.records:
                self._show(record.event_log_entry)
            self.cursor = page.cursor
            if not page.has_more:
                return

    def _say(self, at: float, text: str) -> None:
        print(f"  [{at - self.started:5.0f} s] {text}", flush=True)

    def _show(self, entry: EventLogEntry) -> None:
        event = entry.dagster_event
        step = entry.step_key or ""
        if event is None:
            text = progress_text(entry.user_message)
            if text is not None:
                self._say(entry.timestamp, f"{step}: {text}")
            return
        kind = event.event_type
        if kind == DagsterEventType.STEP_START:
            self.step_started[step] = entry.timestamp
            self._say(entry.timestamp, f"{step} started")
        elif kind == DagsterEventType.LOGS_CAPTURED:
            for key in event.logs_captured_data.step_keys or []:
                self.log_keys[key] = [self.run_id, "compute_logs", event.logs_captured_data.file_key]
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE, DagsterEventType.STEP_SKIPPED):
            seconds = entry.timestamp - self.step_started.get(step, entry.timestamp)
            status = {"STEP_SUCCESS": "ok", "STEP_FAILURE": "FAILED", "STEP_SKIPPED": "skipped"}[kind.value]
            result = StepResult(step, status, seconds)
            if kind == DagsterEventType.STEP_FAILURE:
                result.reason = failure_reason(event)
                result.log_file = self._log_file(step)
            self.outcome.steps[step] = result
            done = len(self.outcome.steps)
            line = f"{step}: {status} in {seconds:.1f} s ({done} done)"
            self._say(entry.timestamp, line + (f": {result.reason}" if result.reason else ""))
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                key = evaluation.asset_check_key
                self._say(entry.timestamp, f"! check {key.name} on {key.asset_key.to_user_string()} failed")
        elif kind == DagsterEventType.RUN_SUCCESS:
            self.outcome.ok = True
        elif kind == DagsterEventType.RUN_FAILURE and not self.outcome.failures():
            self.outcome.problem = first_line(entry.message or "the run failed")

    def _log_file(self, step: str) -> Path | None:
        key = self.log_keys.get(step)
        manager = self.instance.compute_log_manager
        if key is None or not hasattr(manager, "get_captured_local_path"):
            return None
        return Path(manager.get_captured_local_path(key, "err"))


def failure_reason(event: DagsterEvent) -> str:
    """The first line of what the step said went wrong: its Failure description, else its error."""
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return first_line(data.user_failure_data.description)
    error = data.error
    while error is not None and error.cause is not None and error.cls_name == "DagsterExecutionStepExecutionError":
        error = error.cause
    return first_line(error.message if error is not None else "unknown error")


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text.strip())[:400]


def daily_job_command(as_of_date: str | None = None) -> list[str]:
    """`dagster job execute` of the daily job; with `as_of_date` (YYYY-MM-DD) the run rebuilds that
    day (the run tag `copilot/as_of_date`, checked by the run's preflight)."""
    cmd = ["dagster", "job", "execute", "-m", "orchestration.definitions", "-j", DAILY_JOB]
    return cmd + (["--tags", json.dumps({AS_OF_DATE_TAG: as_of_date})] if as_of_date else [])


def run_daily_job(log_file: Path, as_of_date: str | None = None, ui_url: str | None = None) -> RunOutcome:
    """The daily job (multiprocess, recorded in the instance), followed through the instance's event
    log. Dagster's own console output goes to `log_file`. A failure notice links to the run in the UI
    at `ui_url` (unless COPILOT__DAGSTER_UI_URL says otherwise)."""
    cmd = daily_job_command(as_of_date)
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    if ui_url:
        env.setdefault("COPILOT__DAGSTER_UI_URL", ui_url)
    instance = DagsterInstance.get()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    print(f"running {DAILY_JOB} (Dagster's console log: {log_file})", flush=True)
    started = time.time()
    with log_file.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        watcher: RunWatcher | None = None
        while True:
            exited = proc.poll() is not None
            if watcher is None:
                since = datetime.fromtimestamp(started - 1, tz=UTC)
                runs = instance.get_runs(RunsFilter(job_name=DAILY_JOB, created_after=since), limit=1)
                if runs:
                    watcher = RunWatcher(instance, runs[0].run_id, started)
                    print(f"  run {runs[0].run_id} (Dagster UI: runs/{runs[0].run_id})", flush=True)
            if watcher is not None:
                watcher.poll()
            if exited:
                break
            time.sleep(POLL_SECONDS)
    wall = time.time() - started
    if watcher is None:
        reason = first_error_in(log_file) or f"dagster job execute exited with {proc.returncode}"
        return RunOutcome(ok=False, wall_seconds=wall, problem=f"the run did not start: {reason}")
    outcome = watcher.outcome
    outcome.wall_seconds = wall
    outcome.ok = outcome.ok and proc.returncode == 0 and not outcome.failures()
    return outcome


def first_error_in(log_file: Path) -> str | None:
    lines = [line.strip() for line in log_file.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if re.search(r"(Error|Exception)\b", line)]
    return (errors[-1:] or lines[-1:] or [None])[0]


def warehouse_summary() -> tuple[list[str], str | None]:
    """What the run produced, read from the warehouse; and one account to look at in Salesforce.
    Never raises: a warehouse that cannot be read is one line of the summary."""
    import duckdb

    from core.config import ConfigError
    from core.warehouse import connect as connect_warehouse
    from core.warehouse import warehouse_path

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
    try:
        path = warehouse_path()
        if not path.exists():
            return ["  warehouse: not created yet"], None
        con = connect_warehouse(path, read_only=True)
    except (ConfigError, duckdb.Error) as exc:
        return [f"  warehouse: cannot be read ({first_line(str(exc))})"], None
    with con:
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


def serve(cmd: list[str], log_file: Path) -> subprocess.Popen[bytes]:
    """A server in the background, its output in `log_file` (the console stays quiet while serving)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w") as log:
        return subprocess.Popen(
            cmd,
            cwd=REPO,
            env=os.environ.copy(),
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )


def wait_until_up(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if requests.get(url, timeout=2).ok:
                return True
        except requests.RequestException:
            pass
        time.sleep(1)
    print(f"demo: the {what} did not come up within {timeout:.0f} s", flush=True)
    return False


def print_summary(outcome: RunOutcome, log_file: Path) -> None:
    print(f"\nsummary: {DAILY_JOB} {'ok' if outcome.ok else 'FAILED'} in {outcome.wall_seconds:.0f} s")
    per_stage = outcome.seconds_per_stage()
    if per_stage:
        print("  time per stage (step seconds): " + ", ".join(f"{k} {v:.0f} s" for k, v in per_stage.items()))
    if outcome.problem:
        print(f"  {outcome.problem}")
    for failure in outcome.failures():
        print(f"  {failure.step} FAILED: {failure.reason}")
        if failure.log_file is not None:
            print(f"    the step's full output: {failure.log_file}")
    if not outcome.ok:
        print(f"  Dagster's console log of the run: {log_file}")
    lines, _ = warehouse_summary()
    for line in lines:
        print(line)


def failed_run_line(outcome: RunOutcome, ui_url: str, emulators: str) -> str:
    """What failed, in one line, and where to look."""
    failed = outcome.failures()
    what = f"at {failed[0].step}: {failed[0].reason}" if failed else (outcome.problem or "")
    where = f"{ui_url}/runs/{outcome.run_id}" if outcome.run_id else ui_url
    return (
        f"\nTHE RUN FAILED {what}\n  open it in the Dagster UI: {where}\n"
        f"  the failure notice posted to Slack: {emulators}/__admin/slack/messages"
    )


def crm_mismatch(data_dir: Path) -> str | None:
    """Why the sandbox company and the configuration disagree on the CRM, or None: a HubSpot shop's
    Stripe and Zendesk records keep HubSpot ids, which a Salesforce build would not match."""
    from sandbox.store import Store
    from sandbox.world.crm_shop import world_crm

    world_file = data_dir / "world.sqlite"
    if not world_file.exists():
        return None
    store = Store.open(world_file)
    try:
        world = world_crm(store)
    finally:
        store.close()
    configured = crm()
    if world == configured:
        return None
    return (
        f'the sandbox company in {data_dir} runs on {world}, the configuration says crm = "{configured}": '
        f"run `make demo CRM={world}`, or `make clean` then `make demo CRM={configured}` for a new company"
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=Path("data/sandbox"))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--tls-port", type=int, default=8766)
    parser.add_argument("--ui-port", type=int, default=3000)
    parser.add_argument("--api-port", type=int, default=8770)
    parser.add_argument("--no-ui", action="store_true", help="stop after the run instead of serving the UI")
    parser.add_argument("--as-of-date", default=None, help="rebuild this past day (YYYY-MM-DD) instead of the latest")
    args = parser.parse_args()

    if problem := crm_mismatch(args.data_dir):
        print(f"demo: {problem}", flush=True)
        return 2
    emulators = start_emulators(args.data_dir, args.port, args.tls_port)
    try:
        # Configuration problems (a wrong credential, a weight that is not a number, a memory limit
        # DuckDB does not understand) stop here, one line each, before anything is loaded.
        if subprocess.run([sys.executable, "-m", "orchestration.preflight"], cwd=REPO).returncode != 0:
            return 2
        # The dbt manifest the definitions read (devtools/prepare_dbt.py), once after each change.
        try:
            prepare_dbt.prepare()
        except Exception as exc:  # noqa: BLE001 - dbt's error, in one line, before anything runs
            print(f"demo: dbt parse failed: {prepare_dbt.failure_line(exc)}", flush=True)
            return 2
        log_file = DAGSTER_LOGS / "demo-last-run.log"
        ui_url = f"http://127.0.0.1:{args.ui_port}"
        outcome = run_daily_job(log_file, args.as_of_date, ui_url)
        print_summary(outcome, log_file)
        status = 0 if outcome.ok else 1
        if args.no_ui:
            return status
        # A failed run is shown too: the UI is where its steps, logs and errors are read.
        _, sample = warehouse_summary()
        base = f"http://127.0.0.1:{args.port}"
        print("\nstarting the Dagster UI and the Copilot API (which serves the reports behind sign-in)...", flush=True)
        ui_cmd = ["dagster", "dev", "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(args.ui_port)]
        ui = serve(ui_cmd, DAGSTER_LOGS / "ui.log")
        api_cmd = [sys.executable, "-m", "api", "serve", "--port", str(args.api_port)]
        api = serve(api_cmd, DAGSTER_LOGS / "api-server.log")
        wait_until_up(f"{ui_url}/server_info", ui, "Dagster UI")
        api_url = f"http://127.0.0.1:{args.api_port}"
        print(
            f"\nReports:      {api_url}/  (sign in through the sandbox's sign-in page as admin@copilot.sandbox,\n"
            "              ops@copilot.sandbox or analyst@copilot.sandbox: the roles that see the whole portfolio;\n"
            "              a CSM or a manager is refused)\n"
            f"Dagster UI:   {ui_url}\n"
            f"Copilot API:  {api_url}/docs  (a token: python -m api token --user "
            "edward.morgan@copilot.sandbox)\n"
            + (
                f"Salesforce:   {base}/__admin/salesforce/Account/{sample}  (riskiest account, as the CRM holds it)\n"
                if sample and crm() == "salesforce"
                else f"HubSpot:      {base}/crm/v3/objects/companies/{sample}?properties=copilot_health_score,"
                "copilot_churn_risk  (riskiest company; bearer token in .dlt/sandbox.toml)\n"
                if sample
                else ""
            )
            + f"APIs:         {base}/services/data/v61.0/ (Zendesk {base}/api/v2/, Stripe {base}/v1/, Slack "
            f"{base}/__admin/slack/messages)\n"
            f"Server logs:  {DAGSTER_LOGS / 'ui.log'}, {DAGSTER_LOGS / 'api-server.log'}\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        if not outcome.ok:
            print(failed_run_line(outcome, ui_url, base), flush=True)
        try:
            ui.wait()
        except KeyboardInterrupt:
            for proc in (ui, api):
                proc.send_signal(signal.SIGINT)
            for proc in (ui, api):
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        return status
    finally:
        if emulators is not None:
            emulators.send_signal(signal.SIGINT)
            emulators.wait(timeout=30)


if __name__ == "__main__":
    raise SystemExit(main())
