"""Ingestion under upstream drift, driven through the emulators' fault switches: a renamed or removed
field never overwrites stored values with NULL, a value of the wrong type quarantines only its
record, quarantined records come back once the source is fixed, and too much quarantine fails the
table's check and blocks activation. After each fix the raw tables equal a clean load, row for row."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from core.warehouse import open_for_writing
from dlt_pipelines import quality, recovery, runner
from tests.ingestion.conftest import REPO, Live
from tests.ingestion.ingest_compare import differences

SF_ACCOUNT_QUERY = {"system": "salesforce", "endpoint": "query*", "object": "Account"}


@pytest.fixture(autouse=True)
def no_faults(live: Live) -> None:
    live.emulator.clear_faults()


def fresh(live: Live, tmp_path: Path, name: str = "warehouse") -> Path:
    live.use_warehouse(tmp_path / name / "warehouse.duckdb")
    return live.warehouse


def rows(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def checks(warehouse: Path, source: str) -> dict[tuple[str, str], Any]:
    with open_for_writing(warehouse) as con:
        return {(r.table, r.check): r for r in quality.run_and_store(con, source, run_id="test")}


def still_quarantined(warehouse: Path, source: str) -> list[recovery.OpenRecord]:
    with open_for_writing(warehouse) as con:
        return recovery.open_records(con, source)


def touch_accounts(live: Live, n: int, field: str, value: Any) -> list[str]:
    """Change `n` accounts through the Salesforce API (as a user would): the next incremental load
    fetches them again."""
    from sandbox.emulators.credentials import SALESFORCE

    form = {"grant_type": "client_credentials", **{k: SALESFORCE[k] for k in ("client_id", "client_secret")}}
    token = requests.post(f"{live.emulator.url}/services/oauth2/token", data=form, timeout=10).json()
    ids = [r[0] for r in live.emulator.query("SELECT Id FROM sf_account ORDER BY Id LIMIT ?", (n,))]
    for account in ids:
        resp = requests.patch(
            f"{token['instance_url']}/services/data/v61.0/sobjects/Account/{account}",
            json={field: value(account) if callable(value) else value},
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=10,
        )
        assert resp.status_code == 204, resp.text
    return ids


def test_a_renamed_field_keeps_stored_values_warns_fails_its_check_and_flows_again(live: Live, tmp_path: Path) -> None:
    from tests.pipeline import dbt

    em = live.emulator
    warehouse = fresh(live, tmp_path)
    runner.run_all(warehouse=warehouse)
    stored = dict(rows(warehouse, "SELECT id, arr__c FROM raw_salesforce.account"))
    assert sum(v is not None for v in stored.values()) > 0
    # Some accounts change while the CRM renames ARR__c to ARR_USD__c: they are fetched again without ARR__c.
    changed = touch_accounts(live, 10, "ARR__c", lambda a: round((stored[a] or 1000.0) * 1.5, 2))
    em.fault(**SF_ACCOUNT_QUERY, kind="schema_drift", change="renamed", field="ARR__c", new_name="ARR_USD__c")
    for _ in range(2):  # the drift lasts two runs
        report = runner.run_source("salesforce", warehouse)
        assert dict(rows(warehouse, "SELECT id, arr__c FROM raw_salesforce.account")) == stored
        warnings = [line for line in report.lines() if "ARR__c" in line]
        assert len(warnings) == 1 and "raw_salesforce.account" in warnings[0], report.lines()
        assert "stored values kept" in warnings[0]
        assert report.tables["account"].quarantined_total == 0
        check = checks(warehouse, "salesforce")[("account", "fields_present")]
        assert not check.success and "ARR__c" in check.summary
    # The values the renamed field carried were not lost either: they are in the evolved column.
    renamed = dict(rows(warehouse, "SELECT id, arr_usd__c FROM raw_salesforce.account WHERE arr_usd__c IS NOT NULL"))
    assert set(changed) <= set(renamed)

    em.clear_faults()
    report = runner.run_source("salesforce", warehouse)
    assert not any("ARR__c" in line and "missing" in line for line in report.lines())
    assert checks(warehouse, "salesforce")[("account", "fields_present")].success
    assert differences(warehouse, em.world) == {}
    new_arr = dict(rows(warehouse, "SELECT id, arr__c FROM raw_salesforce.account"))
    assert all(new_arr[a] == round((stored[a] or 1000.0) * 1.5, 2) for a in changed)

    # The mart built on it equals the mart built on a clean load of the same world.
    clean = fresh(live, tmp_path, "clean")
    runner.run_all(warehouse=clean)
    marts = {}
    for name, path in (("recovered", warehouse), ("clean", clean)):
        built = dbt(path, "build", "--select", "+customer_360", "--exclude-resource-type", "test", "unit_test")
        assert built.returncode == 0, built.output[-3000:]
        marts[name] = rows(path, "SELECT account_id, crm_arr FROM marts.customer_360 ORDER BY account_id")
    assert marts["recovered"] == marts["clean"]
    assert sum(arr is not None for _, arr in marts["clean"]) > 0


def test_a_removed_field_keeps_stored_values_until_it_returns(live: Live, tmp_path: Path) -> None:
    em = live.emulator
    warehouse = fresh(live, tmp_path)
    runner.run_source("salesforce", warehouse)
    stored = dict(rows(warehouse, "SELECT id, csm__c FROM raw_salesforce.account"))
    touch_accounts(live, 5, "Industry", "Retail")
    em.fault(**SF_ACCOUNT_QUERY, kind="schema_drift", change="removed", field="CSM__c")
    report = runner.run_source("salesforce", warehouse)
    assert report.tables["account"].rows_loaded == 5
    assert dict(rows(warehouse, "SELECT id, csm__c FROM raw_salesforce.account")) == stored
    assert any("field CSM__c missing from all" in line for line in report.lines()), report.lines()
    em.clear_faults()
    runner.run_source("salesforce", warehouse)
    assert differences(warehouse, em.world, dataset="raw_salesforce") == {}
    assert checks(warehouse, "salesforce")[("account", "fields_present")].success


def test_a_value_of_another_type_quarantines_only_its_record(live: Live, tmp_path: Path) -> None:
    em = live.emulator
    warehouse = fresh(live, tmp_path)
    runner.run_source("salesforce", warehouse)
    touch_accounts(live, 4, "Industry", "Energy")
    # Numbers sent as text load (lenient contract, converted without loss) ...
    em.fault(**SF_ACCOUNT_QUERY, kind="schema_drift", change="type_changed", field="NumberOfEmployees", count=1)
    report = runner.run_source("salesforce", warehouse)
    assert report.tables["account"].rows_loaded == 4 and report.tables["account"].quarantined_total == 0
    assert differences(warehouse, em.world, dataset="raw_salesforce") == {}
    # ... a name sent as a list cannot be text: those records, and only those, are put aside.
    changed = touch_accounts(live, 3, "Industry", "Media")
    em.fault(**SF_ACCOUNT_QUERY, kind="schema_drift", change="type_changed", field="Name", count=1)
    report = runner.run_source("salesforce", warehouse)
    # (the changed accounts, and the ones stamped in the second the last load ended on, which
    # Salesforce's `>=` cursor fetches again)
    accounts = report.tables["account"]
    assert list(accounts.quarantined) == ["`Name`: expected str, got a nested list"]
    held = {r.key for r in still_quarantined(warehouse, "salesforce")}
    assert set(changed) <= held and len(held) == accounts.quarantined_total
    assert rows(warehouse, "SELECT count(*) FROM raw_salesforce.account") == em.query("SELECT count(*) FROM sf_account")
    # The next run fetches them again by id and loads them.
    report = runner.run_source("salesforce", warehouse)
    assert report.tables["account"].recovered == len(held) and report.tables["account"].open_quarantine == 0
    assert still_quarantined(warehouse, "salesforce") == []
    assert differences(warehouse, em.world, dataset="raw_salesforce") == {}


def test_quarantine_then_fix_then_recover_equals_a_clean_load(live: Live, tmp_path: Path) -> None:
    em = live.emulator
    warehouse = fresh(live, tmp_path)
    # Stripe sends every invoice of the first page with a number or flag as text (a frozen contract:
    # quarantined), and Zendesk breaks a tenth of the first ticket page (missing ids among them).
    em.fault(system="stripe", endpoint="invoices", kind="schema_drift", change="type_changed", count=1)
    em.fault(system="zendesk", endpoint="tickets_incremental_cursor", kind="malformed", fraction=0.1, count=1)
    reports = {r.source: r for r in runner.run_all(["zendesk", "stripe"], warehouse)}
    invoices = reports["stripe"].tables["invoices"]
    tickets = reports["zendesk"].tables["tickets"]
    assert invoices.quarantined_total > 0 and tickets.quarantined_total > 0
    held = still_quarantined(warehouse, "stripe") + still_quarantined(warehouse, "zendesk")
    assert any(r.key is None for r in held) and any(r.key is not None for r in held)
    # Too much of the invoices table is in quarantine: its check fails and activation is blocked.
    share = checks(warehouse, "stripe")[("invoices", "quarantine_share")]
    assert not share.success
    with open_for_writing(warehouse) as con:
        from reverse_etl import gate

        blocked = [c for c in gate.ingestion_checks(con) if not c.success]
    assert [c.table for c in blocked] == ["raw_stripe.invoices"]
    assert "in quarantine" in blocked[0].summary
    listed = subprocess.run(
        [sys.executable, "-m", "dlt_pipelines", "quarantine", "list", "stripe", "--warehouse", str(warehouse)],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert len(listed.stdout.splitlines()) == invoices.quarantined_total

    # The sources are fixed (the faults ran out): the next run brings every quarantined record back.
    reports = {r.source: r for r in runner.run_all(["zendesk", "stripe"], warehouse)}
    assert reports["stripe"].tables["invoices"].recovered == invoices.quarantined_total
    assert still_quarantined(warehouse, "stripe") == [] and still_quarantined(warehouse, "zendesk") == []
    assert differences(warehouse, em.world, dataset="raw_zendesk") == {}
    assert differences(warehouse, em.world, dataset="raw_stripe") == {}
    assert checks(warehouse, "stripe")[("invoices", "quarantine_share")].success
    with open_for_writing(warehouse) as con:
        assert all(c.success for c in gate.ingestion_checks(con))
    # Row for row what a clean load holds.
    clean = fresh(live, tmp_path, "clean")
    runner.run_all(["zendesk", "stripe"], clean)
    for table in ("raw_stripe.invoices", "raw_zendesk.tickets", "raw_zendesk.ticket_metrics"):
        columns = "id, * EXCLUDE (id, _dlt_load_id, _dlt_id)"
        got = rows(warehouse, f"SELECT {columns} FROM {table} ORDER BY id")
        want = rows(clean, f"SELECT {columns} FROM {table} ORDER BY id")
        assert got == want, table


def test_records_quarantined_without_their_id_are_read_again_from_the_earliest(live: Live, tmp_path: Path) -> None:
    em = live.emulator
    warehouse = fresh(live, tmp_path)
    runner.run_source("salesforce", warehouse)
    total = em.query("SELECT count(*) FROM sf_account")[0][0]
    # 20 accounts change; the CRM sends half of them without their Id (keyless: no by-id fetch).
    touched = touch_accounts(live, 20, "Copilot_Health_Score__c", 42.0)
    em.fault(**SF_ACCOUNT_QUERY, kind="malformed", fraction=0.5, breakage="missing_id", count=1)
    report = runner.run_source("salesforce", warehouse)
    held = still_quarantined(warehouse, "salesforce")
    assert held and all(r.key is None and r.cursor_value for r in held)
    assert len(held) == report.tables["account"].quarantined_total < len(touched)
    earliest = min(r.cursor_value for r in held)
    # The next run reads the accounts again from the earliest of them, not the whole table.
    report = runner.run_source("salesforce", warehouse)
    account = report.tables["account"]
    since = em.query("SELECT count(*) FROM sf_account WHERE SystemModstamp >= ?", (earliest[:19] + ".000Z",))[0][0]
    assert account.reread and account.reread_from == earliest
    assert len(held) <= account.rows_loaded <= since <= len(touched) < total
    assert any(f"account: quarantine recovery: read again from {earliest}" in line for line in report.lines())
    assert still_quarantined(warehouse, "salesforce") == []
    assert differences(warehouse, em.world, dataset="raw_salesforce") == {}


def test_an_operator_discards_what_the_source_will_never_send_right(live: Live, tmp_path: Path) -> None:
    em = live.emulator
    warehouse = fresh(live, tmp_path)
    # Every Account the CRM sends, by the incremental query or by id, has letters for a number.
    em.fault(**SF_ACCOUNT_QUERY, kind="malformed", fraction=1.0, breakage="bad_number")
    report = runner.run_source("salesforce", warehouse)
    held = still_quarantined(warehouse, "salesforce")
    assert held and len(held) == report.tables["account"].quarantined_total
    assert not checks(warehouse, "salesforce")[("account", "quarantine_share")].success
    report = runner.run_source("salesforce", warehouse)  # fetched again, still broken: still held
    assert report.tables["account"].refetched == len(held) and report.tables["account"].recovered == 0
    assert [r.key for r in still_quarantined(warehouse, "salesforce")] == [r.key for r in held]
    assert any("still quarantined, fetched again next run" in line for line in report.lines())
    cmd = [sys.executable, "-m", "dlt_pipelines", "quarantine", "discard", "salesforce", "account", held[0].key]
    done = subprocess.run([*cmd, "--warehouse", str(warehouse)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 quarantined record(s) discarded" in done.stdout
    assert [r.key for r in still_quarantined(warehouse, "salesforce")] == [r.key for r in held[1:]]
    report = runner.run_source("salesforce", warehouse)
    assert report.tables["account"].refetched == len(held) - 1
    done = subprocess.run([*cmd[:-1], "--all", "--warehouse", str(warehouse)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and "quarantined record(s) discarded" in done.stdout, done.stderr
    assert still_quarantined(warehouse, "salesforce") == []
    assert checks(warehouse, "salesforce")[("account", "quarantine_share")].success


def test_a_quarantined_customer_deleted_at_stripe_is_resolved_not_chased(
    live: Live, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    em = live.emulator
    warehouse = fresh(live, tmp_path)
    # The first page of customers arrives with a flag as text (a frozen contract: quarantined).
    em.fault(system="stripe", endpoint="customers", kind="schema_drift", change="type_changed", count=1)
    first = runner.run_source("stripe", warehouse)
    held = still_quarantined(warehouse, "stripe")
    assert held and len(held) == first.tables["customers"].quarantined_total
    # One of them is deleted at Stripe before the next run, its event long gone: by id, Stripe now
    # answers {"id": ..., "object": "customer", "deleted": true}.
    gone = held[0].key
    world = sqlite3.connect(em.world, timeout=30)
    try:
        (was,) = world.execute("SELECT deleted FROM st_customers WHERE id = ?", (gone,)).fetchone()
        with world:
            world.execute("UPDATE st_customers SET deleted = 1 WHERE id = ?", (gone,))
        with caplog.at_level("WARNING", logger="copilot.ingest"):
            report = runner.run_source("stripe", warehouse)
        again = runner.run_source("stripe", warehouse)
    finally:
        with world:
            world.execute("UPDATE st_customers SET deleted = ? WHERE id = ?", (was, gone))
        world.close()
    customers = report.tables["customers"]
    assert (customers.refetched, customers.recovered, customers.deleted) == (len(held), len(held) - 1, 1)
    assert customers.open_quarantine == 0 and still_quarantined(warehouse, "stripe") == []
    assert any("1 deleted at the source (resolved)" in line for line in report.lines())
    assert any(gone in r.getMessage() and "deleted at the source" in r.getMessage() for r in caplog.records)
    # Resolved as deleted, not loaded as a blank customer, and not fetched again.
    how = rows(warehouse, f"SELECT how FROM {recovery.RESOLUTIONS} WHERE record_key = '{gone}'")  # noqa: S608
    assert how == [("deleted",)]
    assert rows(warehouse, f"SELECT count(*) FROM raw_stripe.customers WHERE id = '{gone}'") == [(0,)]  # noqa: S608
    assert again.table("customers").refetched == 0
    assert checks(warehouse, "stripe")[("customers", "quarantine_share")].success


def test_the_dagster_run_shows_a_vanished_field_as_a_failed_check_and_a_warning(live: Live, tmp_path: Path) -> None:
    import logging

    from dagster import DagsterInstance, materialize

    from orchestration.defs.ingest import ingest_assets
    from orchestration.resources import WarehouseResource

    warehouse = fresh(live, tmp_path)
    runner.run_source("salesforce", warehouse)
    touch_accounts(live, 3, "Industry", "Banking")
    live.emulator.fault(**SF_ACCOUNT_QUERY, kind="schema_drift", change="renamed", field="Segment__c")
    instance = DagsterInstance.ephemeral()
    result = materialize(
        [ingest_assets(["salesforce"])],
        instance=instance,
        resources={"warehouse": WarehouseResource(path=str(warehouse))},
    )
    failed = {
        (e.asset_key.to_user_string(), e.check_name): e.metadata["summary"].value
        for e in result.get_asset_check_evaluations()
        if not e.passed
    }
    assert list(failed) == [("raw_salesforce/account", "fields_present")]
    assert "Segment__c" in failed[("raw_salesforce/account", "fields_present")]
    warnings = [
        r.user_message
        for r in instance.all_logs(result.run_id)
        if r.level >= logging.WARNING and "Segment__c" in (r.user_message or "")
    ]
    assert len(warnings) == 1 and "raw_salesforce.account: schema drift" in warnings[0], warnings
