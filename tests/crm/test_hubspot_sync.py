"""Write-back to HubSpot against the emulator: exact company properties, one task per live alert
owned by the alert's owner and associated with its company, nothing sent again on a rerun, no
second task after a run that crashed before it saved what it delivered, and the CSM's outcome on a
task coming back through ingestion to close the alert and feed the models."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from alerts import lifecycle
from ml.train import load_feedback
from reverse_etl import records, sync
from reverse_etl.config import SyncConfig
from sandbox.emulators.credentials import HUBSPOT
from sandbox.world.crm_shop import hubspot_id
from tests.conftest import RunningEmulator, copy_world, start_emulator, stop_emulator
from tests.crm.conftest import HubSpotBuild, load_hubspot
from tests.end_to_end.hubspot import record_outcome
from tests.sync.conftest import sync_config


@pytest.fixture(scope="session")
def hubspot_alerts_warehouse(hubspot_build: HubSpotBuild, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The daily job's HubSpot warehouse as it stood before its sync: scores, evaluated alerts and the
    outbound views, with nothing recorded as sent (its sync went to another copy of the portal)."""
    path = tmp_path_factory.mktemp("hubspot-alerts") / "warehouse.duckdb"
    shutil.copyfile(hubspot_build.warehouse, path)
    with duckdb.connect(str(path)) as con:
        for table in ("sync_state", "sync_pending", "sync_errors", "sync_runs"):
            con.execute(f"DELETE FROM reverse_etl.{table}")
        con.execute(
            "UPDATE alerts.alerts SET status = 'open', sent_at = NULL, salesforce_task_id = NULL WHERE status = 'sent'"
        )
    return path


@dataclass
class Portal:
    warehouse: Path
    emulator: RunningEmulator
    cfg: SyncConfig

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse))

    def runs(self) -> dict[str, sync.state.SyncRun]:
        with self.connect() as con:
            return {r.destination: r for r in sync.sync_all(con, self.cfg, echo=lambda _line: None)}

    def world(self, sql: str) -> list[tuple]:
        store = self.emulator.store()
        try:
            return store.conn.execute(sql).fetchall()
        finally:
            store.conn.close()

    def copilot_tasks(self) -> list[tuple]:
        rows = self.world(
            'SELECT "Copilot_Alert_Id__c", "WhatId", "OwnerId", "Subject", "Priority", "ActivityDate" FROM sf_task '
            'WHERE "Copilot_Alert_Id__c" IS NOT NULL AND COALESCE("IsDeleted", 0) = 0'
        )
        return [tuple(r) for r in rows]


@pytest.fixture
def portal(hubspot_alerts_warehouse: Path, hubspot_build: HubSpotBuild, tmp_path: Path) -> Iterator[Portal]:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(hubspot_alerts_warehouse, warehouse)
    em = start_emulator(copy_world(hubspot_build.data_dir, tmp_path / "sandbox"))
    cfg = sync_config(
        em, crm="hubspot", salesforce_enabled=False, hubspot_base_url=em.http, hubspot_token=HUBSPOT["access_token"]
    )
    try:
        yield Portal(warehouse, em, cfg)
    finally:
        stop_emulator(em)


def test_scores_reach_the_companies_and_each_alert_one_owned_associated_task(portal: Portal) -> None:
    runs = portal.runs()
    assert set(runs) == {"hubspot_company", "hubspot_task", "slack"}
    with portal.connect() as con:
        companies = records.hubspot_companies(con)
        tasks = {
            r["alert_id"]: r for r in con.execute("SELECT * FROM activation.crm_alert_tasks").df().to_dict("records")
        }
        customers = con.execute("SELECT count(*) FROM marts.customer_360").fetchone()[0]
    assert runs["hubspot_company"].status == "ok" and runs["hubspot_company"].api == "hubspot_batch"
    assert runs["hubspot_company"].succeeded == len(companies) == customers > 100  # more than one batch
    stored = {
        hubspot_id(r[0]): r[1:]
        for r in portal.world(
            'SELECT "Id", "Copilot_Health_Score__c", "Copilot_Health_Tier__c", "Copilot_Churn_Risk__c", '
            '"Copilot_Risk_Drivers__c", "Copilot_Expansion_Score__c", "Copilot_Scored_At__c" FROM sf_account'
        )
    }
    for record in companies:
        sent = record.values["properties"]
        score, tier, churn, drivers, expansion, scored_at = stored[record.key]
        assert math.isclose(score, float(sent["copilot_health_score"]))
        assert tier == sent["copilot_health_tier"]
        if sent["copilot_churn_risk"] == "":  # an account that gave notice: no churn prediction, cleared
            assert churn is None and drivers.startswith("Notice given on ")
        else:
            assert math.isclose(churn, float(sent["copilot_churn_risk"]))
        assert drivers == (sent["copilot_risk_drivers"] or None)
        assert math.isclose(expansion, float(sent["copilot_expansion_score"]))
        assert scored_at == sent["copilot_scored_at"]

    made = portal.copilot_tasks()
    assert runs["hubspot_task"].status == "ok" and runs["hubspot_task"].succeeded == len(tasks) == len(made) > 0
    priorities = {"High": "High", "Normal": "Normal", "Low": "Low"}
    for alert_id, company, owner, subject, priority, due in made:
        task = tasks[alert_id]
        assert hubspot_id(company) == task["account_id"]
        assert hubspot_id(owner) == task["owner_user_id"]
        assert subject == task["subject"] and priority == priorities[task["priority"]]
        assert due == task["due_date"].date().isoformat()
    with portal.connect() as con:
        assert con.execute("SELECT count(*) FROM alerts.alerts WHERE status = 'open'").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM alerts.alerts WHERE salesforce_task_id IS NULL").fetchone()[0] == 0

    portal.emulator.admin_call("DELETE", "requests")
    again = portal.runs()
    assert all(r.changed == 0 and r.sent == 0 for r in again.values())
    assert int(portal.emulator.admin_call("GET", "requests")["writes"]) == 0


def test_a_run_that_crashed_before_saving_makes_no_second_task(portal: Portal) -> None:
    first = portal.runs()["hubspot_task"]
    made = sorted(portal.copilot_tasks())
    with portal.connect() as con:
        # HubSpot has every task; the warehouse lost the record of having sent them.
        con.execute("DELETE FROM reverse_etl.sync_state WHERE destination = 'hubspot_task'")
    resent = portal.runs()["hubspot_task"]
    assert resent.status == "ok" and resent.succeeded == first.succeeded > 0
    assert sorted(portal.copilot_tasks()) == made


def test_a_bad_record_fails_alone_and_is_retried(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    # A priority HubSpot does not offer: HubSpot refuses the whole batch, so each input goes alone.
    monkeypatch.setitem(records.HUBSPOT_TASK_PRIORITY, "High", "URGENT")
    with portal.connect() as con:
        bad = {r.key for r in records.hubspot_tasks(con) if r.values["properties"]["hs_task_priority"] == "URGENT"}
    run = portal.runs()["hubspot_task"]
    assert 0 < len(bad) < run.sent and run.failed == len(bad) and run.succeeded == run.sent - len(bad)
    assert run.status == "partial"
    with portal.connect() as con:
        errors = con.execute(
            "SELECT record_key, error FROM reverse_etl.sync_errors WHERE run_id = ? AND destination = 'hubspot_task'",
            [run.run_id],
        ).fetchall()
    assert {k for k, _ in errors} == bad and all("URGENT" in e for _, e in errors)
    assert {t[0] for t in portal.copilot_tasks()} == {r for r in _alert_ids(portal)} - bad
    monkeypatch.undo()
    retried = portal.runs()["hubspot_task"]
    assert retried.changed == len(bad) == retried.succeeded and retried.failed == 0
    assert {t[0] for t in portal.copilot_tasks()} == _alert_ids(portal)


def _alert_ids(portal: Portal) -> set[str]:
    with portal.connect() as con:
        return {r[0] for r in con.execute("SELECT alert_id FROM activation.crm_alert_tasks").fetchall()}


def test_an_outcome_recorded_in_hubspot_comes_back_and_closes_the_alert(portal: Portal) -> None:
    portal.runs()
    with portal.connect() as con:
        alert_id, company = con.execute(
            "SELECT alert_id, account_id FROM activation.crm_alert_tasks ORDER BY alert_id LIMIT 1"
        ).fetchone()
    record_outcome(portal.emulator.http, alert_id, "Confirmed risk")
    load_hubspot(portal.emulator.http, portal.warehouse)
    with portal.connect() as con:
        closed = lifecycle.apply_feedback(con)
        alert = con.execute("SELECT status, outcome FROM alerts.alerts WHERE alert_id = ?", [alert_id]).fetchone()
        feedback = load_feedback(con)
    assert closed >= 1 and alert == ("closed", "Confirmed risk")
    assert ((feedback["account_id"] == company) & (feedback["outcome"] == "Confirmed risk")).any()
