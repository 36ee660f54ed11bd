"""Runs the real daily job (`dagster job execute` over `orchestration.definitions`) against a private
sandbox deployment, and reads back what users see: the warehouse and the CRM."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from benchmarks.first_run import storage_config
from tests.conftest import RunningEmulator, copy_world, start_emulator, stop_emulator
from tests.ml.conftest import S_SETTINGS
from tests.reports.reports_testlib import copy_reports_project

REPO = Path(__file__).resolve().parents[2]
DAILY_JOB = "daily_run"
# Everything the sync needs, i.e. the whole daily job but the report site (its build takes a minute;
# the clean run and the next day build it, the other scenarios stop at the sync).
UP_TO_THE_SYNC = "*reverse_etl__salesforce_accounts,*reverse_etl__salesforce_tasks,*reverse_etl__slack_alerts"
# The same with HubSpot as the CRM, and both alert channels.
UP_TO_THE_HUBSPOT_SYNC = (
    "*reverse_etl__hubspot_companies,*reverse_etl__hubspot_tasks,*reverse_etl__slack_alerts,*reverse_etl__teams_alerts"
)
RUN_TIMEOUT = 900

# What the CSM sees in Salesforce. Copilot_Scored_At__c is the scoring run's wall clock: it says *when*
# a record was sent, not *what*, so it is compared apart.
ACCOUNT_FIELDS = (
    "Copilot_Health_Score__c",
    "Copilot_Health_Tier__c",
    "Copilot_Churn_Risk__c",
    "Copilot_Risk_Drivers__c",
    "Copilot_Expansion_Score__c",
)
TASK_FIELDS = ("WhatId", "OwnerId", "Subject", "Description", "Status", "Priority", "ActivityDate")

# Columns that differ between two runs over the same input by design: dlt's load and row ids, and
# wall-clock stamps of when something ran.
VOLATILE_COLUMNS = ("_dlt_load_id", "_dlt_id", "_dlt_parent_id", "_dlt_root_id")
COMPARED_SCHEMAS = ("raw_salesforce", "raw_zendesk", "raw_stripe", "raw_product", "marts")


def dagster_yaml(home: Path) -> str:
    return yaml.safe_dump(
        {
            "telemetry": {"enabled": False},
            # As the project's dagster.yaml: Dagster's SQLite storages, the event log's kept open.
            **storage_config(home),
            "local_artifact_storage": {
                "module": "dagster._core.storage.root",
                "class": "LocalArtifactStorage",
                "config": {"base_dir": str(home)},
            },
            # As the project's dagster.yaml: one writer of the warehouse at a time.
            "concurrency": {"pools": {"default_limit": 1, "granularity": "op"}},
        }
    )


@dataclass
class JobRun:
    returncode: int | None  # None when killed
    output: str
    seconds: float

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and 'RUN_SUCCESS - Finished execution of run for "daily_run"' in self.output

    @property
    def run_id(self) -> str:
        found = re.search(rf" - {DAILY_JOB} - ([0-9a-f-]{{36}}) - ", self.output)
        assert found, "no run id in the job's output"
        return found.group(1)

    def started(self, step: str) -> bool:
        return f"{step} - STEP_START" in self.output

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


@dataclass
class Deployment:
    """A private copy of a sandbox world behind its own emulator, with its own warehouse, model folder
    and Dagster instance: everything the daily job touches, pointed at through its settings."""

    root: Path
    emulator: RunningEmulator
    extra_env: dict[str, str] = field(default_factory=dict)
    code: Path = REPO  # the product's code the job runs from (its dbt manifest parsed for `crm`)
    crm_setting: str = "salesforce"  # the `crm` setting the code was prepared for

    @classmethod
    def create(cls, world: Path, root: Path, code: Path = REPO, crm_setting: str = "salesforce") -> Deployment:
        root.mkdir(parents=True, exist_ok=True)
        data_dir = copy_world(world, root / "sandbox")
        home = root / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(dagster_yaml(home))
        ml_config = yaml.safe_load((REPO / "ml" / "config.yml").read_text()) | S_SETTINGS
        (root / "ml_config.yml").write_text(yaml.safe_dump(ml_config))
        copy_reports_project(root / "reports")
        return cls(root, start_emulator(data_dir), code=code, crm_setting=crm_setting)

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse" / "warehouse.duckdb"

    @property
    def site(self) -> Path:
        """The report site the daily job built (when the run included it)."""
        return self.root / "reports" / "build"

    @property
    def world(self) -> Path:
        return self.emulator.data_dir

    def env(self) -> dict[str, str]:
        em = self.emulator
        return {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(self.code),
            "DAGSTER_HOME": str(self.root / "dagster_home"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "COPILOT_WAREHOUSE": str(self.warehouse),
            "COPILOT_MODELS_DIR": str(self.root / "models"),
            "COPILOT_ML_CONFIG": str(self.root / "ml_config.yml"),
            "COPILOT_REPORTS_DIR": str(self.root / "reports"),
            "SOURCES__SALESFORCE__LOGIN_URL": em.http,
            "SOURCES__ZENDESK__BASE_URL": em.http,
            "SOURCES__STRIPE__BASE_URL": em.http,
            "SOURCES__PRODUCT_EVENTS__FILES_URL": str(self.world / "exports" / "events"),
            "REVERSE_ETL__SALESFORCE__LOGIN_URL": em.https,
            "REVERSE_ETL__SALESFORCE__CA_BUNDLE": str(em.ca),
            "REVERSE_ETL__SLACK__BASE_URL": f"{em.http}/api/",
            # Retries back off quickly here; the behaviour (retry, then succeed) is what is tested.
            "REVERSE_ETL__BACKOFF_FACTOR": "0.05",
            "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.05",
            **self.extra_env,
        }

    def run(
        self,
        kill_when: Callable[[str], bool] | None = None,
        env: dict[str, str] | None = None,
        with_reports: bool = False,
        tags: dict[str, str] | None = None,
    ) -> JobRun:
        """The daily job (up to the sync, or whole with `with_reports`) in a subprocess; with
        `kill_when`, SIGKILL the job's whole process group (dbt included) as soon as it returns True
        for the output so far."""
        cmd = ["dagster", "job", "execute", "-m", "orchestration.definitions", "-j", DAILY_JOB]
        if not with_reports:
            cmd += ["-o", UP_TO_THE_HUBSPOT_SYNC if self.crm_setting == "hubspot" else UP_TO_THE_SYNC]
        if tags:
            cmd += ["--tags", json.dumps(tags)]
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd,
            cwd=self.code,
            env=env or self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_pump, args=(proc, lines), daemon=True).start()
        output: list[str] = []
        killed = False
        while True:
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                line = ""
            if line is None:
                break
            output.append(line)
            if kill_when is not None and not killed and kill_when("".join(output)):
                os.killpg(proc.pid, signal.SIGKILL)
                killed = True
            if time.monotonic() - started > RUN_TIMEOUT:
                os.killpg(proc.pid, signal.SIGKILL)
                raise TimeoutError(f"the daily job ran over {RUN_TIMEOUT} s:\n{''.join(output)[-5000:]}")
        code = proc.wait()
        return JobRun(None if killed else code, "".join(output), time.monotonic() - started)

    def requests(self) -> dict[str, Any]:
        return self.emulator.admin_call("GET", "requests")

    def reset_requests(self) -> None:
        self.emulator.admin_call("DELETE", "requests")

    def add_faults(self, faults: list[dict[str, Any]]) -> None:
        self.emulator.admin_call("POST", "faults", json=faults)

    def faults(self) -> list[dict[str, Any]]:
        """The faults with their counters: `seen` matching requests, `fired` of them."""
        return self.emulator.admin_call("GET", "faults")["faults"]

    def clear_faults(self) -> list[dict[str, Any]]:
        """Remove every fault; the faults as they were (with how often each fired)."""
        spent = self.faults()
        self.emulator.admin_call("DELETE", "faults")
        return spent

    def advance(self, days: int = 1) -> None:
        """Move the world on, as `python -m sandbox advance` does (server stopped meanwhile)."""
        stop_emulator(self.emulator)
        cmd = [sys.executable, "-m", "sandbox", "--data-dir", str(self.world), "advance", "--days", str(days)]
        subprocess.run(cmd, cwd=REPO, env=self.env(), check=True, capture_output=True, timeout=300)
        started = start_emulator(self.world, ports=self.emulator.ports)
        self.emulator.process, self.emulator.log = started.process, started.log

    def crm(self) -> Crm:
        return Crm.read(self.world / "world.sqlite")

    def materialized(self, run: JobRun) -> list[str]:
        """The assets `run` materialized, in the order it did, as its Dagster instance recorded them."""
        from dagster import DagsterEventType, DagsterInstance

        instance = DagsterInstance.from_config(str(self.root / "dagster_home"))
        try:
            events = instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
        finally:
            instance.dispose()
        return [event.get_dagster_event().asset_key.to_user_string() for event in events]

    def step_results(self, run: JobRun, step: str) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], bool]]:
        """What one step of `run` recorded: its materializations (asset -> metadata values) and its
        asset check results ((asset, check) -> passed)."""
        from dagster import DagsterEventType, DagsterInstance

        instance = DagsterInstance.from_config(str(self.root / "dagster_home"))
        try:
            records = instance.all_logs(
                run.run_id, of_type={DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_CHECK_EVALUATION}
            )
        finally:
            instance.dispose()
        materialized: dict[str, dict[str, Any]] = {}
        checks: dict[tuple[str, str], bool] = {}
        for record in records:
            event = record.get_dagster_event()
            if event.step_key != step:
                continue
            if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                materialization = event.step_materialization_data.materialization
                materialized[materialization.asset_key.to_user_string()] = {
                    k: v.value for k, v in materialization.metadata.items()
                }
            else:
                evaluation = event.event_specific_data
                checks[(evaluation.asset_key.to_user_string(), evaluation.check_name)] = evaluation.passed
        return materialized, checks

    def stop(self) -> None:
        stop_emulator(self.emulator)


def _pump(proc: subprocess.Popen[str], into: queue.Queue[str | None]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        into.put(line)
    into.put(None)


@dataclass(frozen=True)
class Crm:
    """What CSMs see in Salesforce: every Account's Copilot fields, every Copilot Task."""

    accounts: dict[str, tuple[Any, ...]]  # Id -> ACCOUNT_FIELDS
    scored_at: dict[str, str | None]  # Id -> Copilot_Scored_At__c
    tasks: dict[str, tuple[Any, ...]]  # Copilot_Alert_Id__c -> TASK_FIELDS
    tasks_per_alert: dict[str, int]

    @classmethod
    def read(cls, world: Path) -> Crm:
        con = sqlite3.connect(f"file:{world}?mode=ro", uri=True)
        try:
            accounts, scored_at = {}, {}
            for row in con.execute(f"SELECT Id, Copilot_Scored_At__c, {', '.join(ACCOUNT_FIELDS)} FROM sf_account"):
                accounts[row[0]] = tuple(row[2:])
                scored_at[row[0]] = row[1]
            tasks, per_alert = {}, {}
            query = f"SELECT Copilot_Alert_Id__c, {', '.join(TASK_FIELDS)} FROM sf_task "
            for row in con.execute(query + "WHERE Copilot_Alert_Id__c IS NOT NULL AND NOT IsDeleted"):
                tasks[row[0]] = tuple(row[1:])
                per_alert[row[0]] = per_alert.get(row[0], 0) + 1
        finally:
            con.close()
        return cls(accounts, scored_at, tasks, per_alert)

    def scored_accounts(self) -> int:
        return sum(1 for values in self.accounts.values() if values[0] is not None)


# --- the warehouse ----------------------------------------------------------------------------------


def table_checksums(warehouse: Path, schemas: tuple[str, ...] = COMPARED_SCHEMAS) -> dict[str, tuple[int, int]]:
    """`schema.table` -> (rows, checksum over the rows' values, order-free, duplicates counted), for
    every table and view in `schemas` but dlt's bookkeeping; volatile columns left out."""
    out = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            f"WHERE table_schema IN ({', '.join('?' for _ in schemas)}) AND NOT starts_with(table_name, '_dlt_') "
            "ORDER BY 1, 2",
            list(schemas),
        ).fetchall()
        for schema, table in tables:
            columns = [
                name
                for (name,) in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
                    "ORDER BY column_name",
                    [schema, table],
                ).fetchall()
                if name not in VOLATILE_COLUMNS
            ]
            row = ", ".join(f'"{c}"' for c in columns)
            rows, checksum = con.execute(
                f'SELECT count(*), coalesce(sum(hash(row({row}))::HUGEINT), 0) FROM "{schema}"."{table}"'
            ).fetchone()
            out[f"{schema}.{table}"] = (int(rows), int(checksum))
    return out


def differing_tables(expected: dict[str, tuple[int, int]], actual: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """The tables whose rows differ: name -> (expected rows, actual rows) (None for a missing table)."""
    names = sorted(set(expected) | set(actual))
    return {
        n: ((expected.get(n) or (None,))[0], (actual.get(n) or (None,))[0])
        for n in names
        if expected.get(n) != actual.get(n)
    }


def query(warehouse: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()
