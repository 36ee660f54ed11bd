"""Ingestion when things go wrong: rate limits and 5xx, a source that stays down, malformed records,
schema drift, a killed run, the failure sensor, and loading from file exports instead of the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from dlt_pipelines import runner
from dlt_pipelines.http import SourceFailure
from tests.ingestion.conftest import REPO, Live
from tests.ingestion.ingest_compare import differences
from tests.pipeline import export_world


@pytest.fixture(autouse=True)
def no_faults(live: Live) -> None:
    live.emulator.clear_faults()


def fresh(live: Live, tmp_path: Path) -> Path:
    live.use_warehouse(tmp_path / "warehouse.duckdb")
    return live.warehouse


def quarantine(warehouse: Path, dataset: str) -> list[tuple[str, str, str]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"SELECT source_table, reason, record FROM {dataset}.quarantine").fetchall()


def count(warehouse: Path, table: str) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_rate_limits_and_server_errors_are_retried(live: Live, tmp_path: Path) -> None:
    warehouse = fresh(live, tmp_path)
    em = live.emulator
    em.fault(system="stripe", endpoint="invoices", kind="rate_limit", count=2, retry_after=1)
    em.fault(system="zendesk", endpoint="*", kind="server_error", status=503, count=2)
    em.fault(system="salesforce", endpoint="query*", kind="server_error", status=500, count=1)
    em.fault(system="stripe", endpoint="customers", kind="slow", delay_ms=300, count=1)
    runner.run_all(["salesforce", "zendesk", "stripe"], warehouse)
    assert all(f["fired"] == f["count"] for f in em.admin("GET", "faults")["faults"])
    assert differences(warehouse, em.world, events=False) == {}


def test_a_source_that_stays_down_fails_in_one_line_naming_source_and_endpoint(live: Live, tmp_path: Path) -> None:
    warehouse = fresh(live, tmp_path)
    live.emulator.fault(system="stripe", endpoint="customers", kind="server_error", status=503)
    with pytest.raises(SourceFailure) as info:
        runner.run_source("stripe", warehouse)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("stripe: GET /v1/customers failed: HTTP 503"), message


def test_malformed_records_are_quarantined_with_their_reason(live: Live, tmp_path: Path) -> None:
    warehouse = fresh(live, tmp_path)
    em = live.emulator
    em.fault(system="salesforce", endpoint="query*", object="Account", kind="malformed", fraction=0.05, count=1)
    em.fault(system="stripe", endpoint="invoices", kind="malformed", fraction=0.05, count=1)
    reports = {r.source: r for r in runner.run_all(["salesforce", "stripe"], warehouse)}
    accounts = reports["salesforce"].tables["account"]
    invoices = reports["stripe"].tables["invoices"]
    assert accounts.quarantined_total > 0 and invoices.quarantined_total > 0
    reasons = " ".join([*accounts.quarantined, *invoices.quarantined])
    assert "missing primary key" in reasons and "expected" in reasons
    assert any("quarantined" in line for line in reports["salesforce"].lines())
    # Nothing dropped: every record is either loaded or in quarantine with the record as received.
    for dataset, table, world_table in (
        ("raw_salesforce", "account", "sf_account"),
        ("raw_stripe", "invoices", "st_invoices"),
    ):
        rows = [r for r in quarantine(warehouse, dataset) if r[0] == table]
        assert all(json.loads(r[2]) and r[1] for r in rows)
        assert (
            count(warehouse, f"{dataset}.{table}") + len(rows) == em.query(f"SELECT count(*) FROM {world_table}")[0][0]
        )


def test_schema_drift_evolves_or_keeps_unknown_fields_per_table_setting(live: Live, tmp_path: Path) -> None:
    warehouse = fresh(live, tmp_path)
    em = live.emulator
    # Salesforce Account evolves: a new field becomes a column.
    em.fault(system="salesforce", endpoint="query*", object="Account", kind="schema_drift", change="added", count=1)
    # Stripe invoices keep their declared columns: a renamed amount loads, the new name is kept in
    # `_extra_fields` and reported; nothing is put aside for a field the contract does not know.
    em.fault(system="stripe", endpoint="invoices", kind="schema_drift", change="renamed", field="amount_due", count=1)
    reports = {r.source: r for r in runner.run_all(["salesforce", "stripe"], warehouse)}
    assert reports["salesforce"].tables["account"].quarantined_total == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        drift = con.execute("SELECT count(drift_field__c) FROM raw_salesforce.account").fetchone()[0]
        kept = con.execute(
            "SELECT count(*) FROM raw_stripe.invoices WHERE json_extract(_extra_fields, '$.amount_due_v2') IS NOT NULL"
        ).fetchone()[0]
    assert drift == em.query("SELECT count(*) FROM sf_account")[0][0]
    invoices = reports["stripe"].tables["invoices"]
    assert invoices.quarantined_total == 0
    world_invoices = em.query("SELECT count(*) FROM st_invoices")[0][0]
    assert count(warehouse, "raw_stripe.invoices") == world_invoices
    assert kept == invoices.extra_fields["amount_due_v2"] > 0
    assert any("amount_due_v2" in line for line in reports["stripe"].lines())


def test_a_killed_run_rerun_leaves_no_duplicates_and_loses_nothing(live: Live, tmp_path: Path) -> None:
    warehouse = fresh(live, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "dlt_pipelines", "run", "--warehouse", str(warehouse)]
    for delay in (3.0, 6.0, 9.0):  # during Salesforce/Zendesk, Stripe, the events
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.kill()
        proc.wait()
    runner.run_all(warehouse=warehouse)
    assert differences(warehouse, live.emulator.world) == {}


def test_failure_sensor_posts_the_failure_line_to_slack(live: Live, tmp_path: Path) -> None:
    from dagster import DagsterInstance, build_run_status_sensor_context, materialize

    from orchestration.defs.ingest import ingest_assets
    from orchestration.defs.sensors import notify_slack_on_failure
    from orchestration.resources import WarehouseResource

    warehouse = fresh(live, tmp_path)
    live.emulator.fault(system="stripe", endpoint="customers", kind="server_error", status=503)
    instance = DagsterInstance.ephemeral()
    result = materialize(
        [ingest_assets(["stripe"])],
        instance=instance,
        resources={"warehouse": WarehouseResource(path=str(warehouse))},
        raise_on_error=False,
    )
    assert not result.success
    context = build_run_status_sensor_context(
        sensor_name="notify_slack_on_failure",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()
    notify_slack_on_failure(context)
    text = live.emulator.admin("GET", "slack/messages")["messages"][-1]["text"]
    assert "stripe: GET /v1/customers failed: HTTP 503" in text


def test_file_exports_load_into_the_same_raw_tables(live: Live, tmp_path: Path) -> None:
    warehouse = fresh(live, tmp_path)
    export_world(live.emulator.world, tmp_path / "exports")
    for source in ("salesforce", "zendesk", "stripe"):
        live.monkeypatch.setenv(f"SOURCES__{source.upper()}__MODE", "files")
        live.monkeypatch.setenv(f"SOURCES__{source.upper()}__FILES_URL", str(tmp_path / "exports" / source))
    try:
        runner.run_all(["salesforce", "zendesk", "stripe"], warehouse)
        assert differences(warehouse, live.emulator.world, events=False) == {}
        # A second run reads no file again.
        assert sum(r.rows_loaded for r in runner.run_all(["salesforce", "zendesk", "stripe"], warehouse)) == 0
    finally:
        for source in ("salesforce", "zendesk", "stripe"):
            live.monkeypatch.delenv(f"SOURCES__{source.upper()}__MODE")
            live.monkeypatch.delenv(f"SOURCES__{source.upper()}__FILES_URL")


def test_the_first_tasks_load_into_the_table_created_while_there_were_none(live: Live, tmp_path: Path) -> None:
    """A company's first Tasks (the ones the product's sync creates) arrive after the raw table was
    created empty: they must load into it."""
    import requests

    from sandbox.emulators.credentials import SALESFORCE

    assert live.emulator.query("SELECT count(*) FROM sf_task")[0][0] == 0, "the S world starts with no Tasks"
    warehouse = fresh(live, tmp_path)
    runner.run_source("salesforce", warehouse)
    assert count(warehouse, "raw_salesforce.task") == 0
    form = {"grant_type": "client_credentials", **{k: SALESFORCE[k] for k in ("client_id", "client_secret")}}
    token = requests.post(f"{live.emulator.url}/services/oauth2/token", data=form, timeout=10).json()
    (account,) = live.emulator.query("SELECT Id FROM sf_account LIMIT 1")[0]
    created = requests.post(
        f"{token['instance_url']}/services/data/v61.0/sobjects/Task",
        json={"Subject": "Usage down 40 %", "WhatId": account, "Copilot_Alert_Id__c": "alert-1"},
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    runner.run_source("salesforce", warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("SELECT what_id, copilot_alert_id__c FROM raw_salesforce.task").fetchall()
    assert rows == [(account, "alert-1")]
