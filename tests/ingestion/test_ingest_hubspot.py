"""The HubSpot source against the HubSpot emulator: a first load equals the portal, a rerun adds
nothing, later changes arrive by search (across search windows when one query cannot reach them
all), archived records arrive as deletes, only the configured CRM loads, and the HubSpot staging
models have the Salesforce staging models' columns."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from dlt_pipelines import quality, runner, settings
from sandbox.emulators import hubspot
from sandbox.emulators.credentials import HUBSPOT
from tests.conftest import RunningEmulator, copy_world, start_emulator, stop_emulator
from tests.pipeline import dbt

# A search query reaches 10,000 results in HubSpot; the emulator is told a smaller figure here so the
# fixture world's 2,600 contacts cross it. A multiple of the loader's 200-record pages.
SMALL_SEARCH_CAP = 600


@dataclass
class Portal:
    emulator: RunningEmulator
    warehouse: Path

    def world(self, sql: str, params: tuple = ()) -> list[tuple]:
        con = sqlite3.connect(self.emulator.world, timeout=30)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def touch(self, sql: str, params: tuple = ()) -> None:
        con = sqlite3.connect(self.emulator.world, timeout=30)
        try:
            con.execute(sql, params)
            con.commit()
        finally:
            con.close()

    def warehouse_rows(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def count(self, table: str) -> int:
        if not self.warehouse.exists():
            return 0
        return self.warehouse_rows(f"SELECT count(*) FROM raw_hubspot.{table}")[0][0]


@pytest.fixture(scope="module")
def portal(emulator_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    root = tmp_path_factory.mktemp("hubspot-ingest")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(hubspot.SEARCH_RESULTS_CAP_ENV, str(SMALL_SEARCH_CAP))
        em = start_emulator(copy_world(emulator_world, root / "sandbox"))
        try:
            warehouse = root / "warehouse" / "warehouse.duckdb"
            env = {
                "CRM": "hubspot",
                "SOURCES__HUBSPOT__BASE_URL": em.http,
                "SOURCES__HUBSPOT__CREDENTIALS__ACCESS_TOKEN": HUBSPOT["access_token"],
                "COPILOT_WAREHOUSE": str(warehouse),
                "RUNTIME__REQUEST_MAX_ATTEMPTS": "8",
                "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.1",
                "RUNTIME__REQUEST_MAX_RETRY_DELAY": "2",
                "RUNTIME__REQUEST_TIMEOUT": "20",
            }
            for key, value in env.items():
                mp.setenv(key, value)
            yield Portal(em, warehouse)
        finally:
            stop_emulator(em)


def _expected_associations(p: Portal) -> int:
    contacts = p.world('SELECT count(*) FROM sf_contact WHERE "IsDeleted" = 0 AND "AccountId" IS NOT NULL')[0][0]
    deals = p.world('SELECT count(*) FROM sf_opportunity WHERE "IsDeleted" = 0 AND "AccountId" IS NOT NULL')[0][0]
    tasks = p.world('SELECT count(*) FROM sf_task WHERE "IsDeleted" = 0 AND "WhatId" IS NOT NULL')[0][0]
    # contacts and deals carry the unlabeled and the Primary association to their company; tasks one
    return 2 * contacts + 2 * deals + tasks


def test_a_first_load_equals_the_portal_and_a_rerun_adds_nothing(portal: Portal) -> None:
    report = runner.run_source("hubspot", portal.warehouse)
    assert report.skipped is None
    expected = {
        "companies": portal.world("SELECT count(*) FROM sf_account")[0][0],
        "contacts": portal.world("SELECT count(*) FROM sf_contact")[0][0],
        "deals": portal.world("SELECT count(*) FROM sf_opportunity")[0][0],
        "tasks": portal.world("SELECT count(*) FROM sf_task")[0][0],
        "owners": portal.world('SELECT count(*) FROM sf_user WHERE "Id" != ?', (hubspot.salesforce_id("005", 0),))[0][
            0
        ],
        "associations": _expected_associations(portal),
    }
    assert {t: portal.count(t) for t in expected} == expected
    deleted = portal.world('SELECT count(*) FROM sf_contact WHERE "IsDeleted" = 1')[0][0]
    assert deleted > 0
    assert portal.warehouse_rows("SELECT count(*) FROM raw_hubspot.contacts WHERE archived")[0][0] == deleted
    amounts = dict(portal.world('SELECT "Id", "Amount" FROM sf_opportunity WHERE "Amount" IS NOT NULL'))
    loaded = dict(portal.warehouse_rows("SELECT id, amount FROM raw_hubspot.deals WHERE amount IS NOT NULL"))
    assert loaded == {str(hubspot.hs_id(k)): float(v) for k, v in amounts.items()}

    con = duckdb.connect(str(portal.warehouse))
    try:
        checks = quality.run_and_store(con, "hubspot", run_id="test")
    finally:
        con.close()
    assert {c.table for c in checks} == set(expected)
    assert [(c.table, c.check) for c in checks if not c.success] == []

    runner.run_source("hubspot", portal.warehouse)
    assert {t: portal.count(t) for t in expected} == expected
    dupes = portal.warehouse_rows("SELECT count(*) - count(DISTINCT id) FROM raw_hubspot.contacts")[0][0]
    assert dupes == 0


def test_changes_since_arrive_by_search_across_windows(portal: Portal) -> None:
    if portal.count("contacts") == 0:
        runner.run_source("hubspot", portal.warehouse)
    before = portal.count("contacts")
    # More contacts change than one search query can reach (SMALL_SEARCH_CAP), some in one millisecond.
    changed = portal.world('SELECT "Id" FROM sf_contact WHERE "IsDeleted" = 0 ORDER BY "Id" LIMIT 1500')
    for n, (key,) in enumerate(changed):
        stamp = f"2026-11-01T00:{n // 60 % 60:02d}:{n % 60:02d}.000Z" if n % 3 else "2026-11-01T00:00:00.000Z"
        portal.touch(
            'UPDATE sf_contact SET "Title" = ?, "SystemModstamp" = ? WHERE "Id" = ?', (f"Changed {n}", stamp, key)
        )
    report = runner.run_source("hubspot", portal.warehouse)
    assert report.skipped is None
    assert portal.count("contacts") == before
    titles = dict(portal.warehouse_rows("SELECT id, jobtitle FROM raw_hubspot.contacts"))
    assert all(titles[str(hubspot.hs_id(key))] == f"Changed {n}" for n, (key,) in enumerate(changed))


def test_an_archived_record_arrives_as_a_delete(portal: Portal) -> None:
    if portal.count("deals") == 0:
        runner.run_source("hubspot", portal.warehouse)
    key = portal.world('SELECT "Id" FROM sf_opportunity WHERE "IsDeleted" = 0 ORDER BY "Id" LIMIT 1')[0][0]
    portal.touch(
        'UPDATE sf_opportunity SET "IsDeleted" = 1, "SystemModstamp" = ? WHERE "Id" = ?',
        ("2026-11-02T00:00:00.000Z", key),
    )
    runner.run_source("hubspot", portal.warehouse)
    row = portal.warehouse_rows(
        f"SELECT archived, archived_at FROM raw_hubspot.deals WHERE id = '{hubspot.hs_id(key)}'"
    )
    assert row and row[0][0] is True and row[0][1] is not None


def test_only_the_configured_crm_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM", "hubspot")
    assert "hubspot" in settings.enabled_sources() and "salesforce" not in settings.enabled_sources()
    assert settings.source_settings("salesforce").why_off == 'not the configured CRM (crm = "hubspot")'
    monkeypatch.delenv("CRM")
    assert "salesforce" in settings.enabled_sources() and "hubspot" not in settings.enabled_sources()
    monkeypatch.setenv("CRM", "pipedrive")
    with pytest.raises(settings.ConfigError):
        settings.enabled_sources()


STAGING = ("accounts", "contacts", "opportunities", "tasks", "users")


def test_hubspot_staging_has_the_salesforce_staging_shape(portal: Portal, tmp_path: Path) -> None:
    if portal.count("companies") == 0:
        runner.run_source("hubspot", portal.warehouse)
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(portal.warehouse, warehouse)
    # Each CRM's staging builds only with its own setting; Salesforce's reads no loaded table here.
    for crm in ("hubspot", "salesforce"):
        run = dbt(
            warehouse,
            "run",
            "--select",
            f"path:models/staging/{crm}",
            "--vars",
            f"{{crm: {crm}}}",
            target_path=tmp_path / f"dbt_target_{crm}",
        )
        assert run.returncode == 0, run.output[-3000:]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:

        def columns(model: str) -> list[tuple[str, str]]:
            return con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                "ORDER BY ordinal_position",
                [model],
            ).fetchall()

        for name in STAGING:
            salesforce, hubspot_cols = columns(f"stg_salesforce__{name}"), columns(f"stg_hubspot__{name}")
            assert salesforce and hubspot_cols == salesforce, name
        accounts = con.execute(
            "SELECT count(*), count(account_owner_user_id) FROM staging.stg_hubspot__accounts"
        ).fetchone()
        linked = con.execute("SELECT count(account_id) FROM staging.stg_hubspot__opportunities").fetchone()[0]
    finally:
        con.close()
    live_accounts = portal.world('SELECT count(*) FROM sf_account WHERE "IsDeleted" = 0')[0][0]
    assert accounts == (live_accounts, live_accounts)
    live_deals = portal.world('SELECT count(*) FROM sf_opportunity WHERE "IsDeleted" = 0 AND "AccountId" IS NOT NULL')
    assert linked == live_deals[0][0]


def test_preflight_names_a_refused_hubspot_token(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration import preflight

    for other in ("ZENDESK", "STRIPE"):  # not served here: their checks would only wait for their retries
        monkeypatch.setenv(f"SOURCES__{other}__ENABLED", "false")
    assert [p for p in preflight.source_credentials() if p.startswith("hubspot")] == []
    monkeypatch.setenv("SOURCES__HUBSPOT__CREDENTIALS__ACCESS_TOKEN", "pat-na1-wrong")
    refused = [p for p in preflight.source_credentials() if p.startswith("hubspot")]
    assert refused == ["hubspot: the access token was refused: check SOURCES__HUBSPOT__CREDENTIALS__ACCESS_TOKEN"]
