"""Loading from APIs that behave as the published ones: objects with many more fields than the
contracts name, a Stripe API version change, a Salesforce session that ends mid-run, Salesforce's
rate-limit answer, and a refused OAuth login."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from dlt_pipelines import runner
from dlt_pipelines.contracts import EXTRA_COLUMN
from dlt_pipelines.http import SourceFailure
from sandbox.emulators.process import stop_server
from tests.ingestion.conftest import Emulator, Live, start_emulator
from tests.ingestion.ingest_compare import TABLES, raw_rows, world_rows
from tests.pipeline import dbt


@pytest.fixture(autouse=True)
def no_faults(live: Live) -> None:
    live.emulator.clear_faults()


def fresh(live: Live, tmp_path: Path) -> Path:
    live.use_warehouse(tmp_path / "warehouse" / "warehouse.duckdb")
    return live.warehouse


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def salesforce_matches_the_world(warehouse: Path, em: Emulator) -> None:
    """Every Salesforce record loaded once, with the world's values."""
    total = 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for raw, (table, key, fields, where) in TABLES.items():
            if raw.startswith("raw_salesforce."):
                want = world_rows(em.world, table, key, fields, where)
                n = con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]  # noqa: S608
                assert raw_rows(con, raw, key, fields) == want and n == len(want), raw
                total += n
    assert total > 1000


def test_fields_the_contract_does_not_know_load_are_kept_and_reported(live: Live, tmp_path: Path) -> None:
    warehouse = fresh(live, tmp_path)
    report = runner.run_source("stripe", warehouse)
    customers = report.tables["customers"]
    assert report.quarantined_total == 0
    loaded = rows(warehouse, "SELECT count(*) FROM raw_stripe.customers")[0][0]
    assert customers.rows_loaded == loaded > 0
    # every customer carries Stripe's other fields; each is kept whole, per record
    for name in ("address", "balance", "invoice_settings", "preferred_locales", "tax_exempt"):
        assert customers.extra_fields[name] == loaded, name
    kept = [json.loads(r[0]) for r in rows(warehouse, f"SELECT {EXTRA_COLUMN} FROM raw_stripe.customers")]
    assert all(k["balance"] == 0 and "default_payment_method" in k["invoice_settings"] for k in kept)
    assert any("invoice_settings" in line and EXTRA_COLUMN in line for line in report.lines())
    # the declared columns stay as they were: no column per new field
    columns = {r[0] for r in rows(warehouse, "DESCRIBE raw_stripe.customers")}
    assert "balance" not in columns and "invoice_settings__footer" not in columns


def test_salesforces_standard_fields_load_as_columns_without_quarantine(live: Live, tmp_path: Path) -> None:
    """The emulator serves every documented standard field, as a real org does; describe lists them,
    the loader selects them all, and they arrive as columns (compound addresses as one JSON column)."""
    warehouse = fresh(live, tmp_path)
    report = runner.run_source("salesforce", warehouse)
    assert report.quarantined_total == 0
    salesforce_matches_the_world(warehouse, live.emulator)
    columns = {r[0]: r[1] for r in rows(warehouse, "DESCRIBE raw_salesforce.account")}
    for name in ("phone", "parent_id", "created_by_id", "account_source", "billing_city"):
        assert name in columns, name
    assert columns["billing_address"] == "JSON" and not any(c.startswith("billing_address__") for c in columns)
    addresses = rows(warehouse, "SELECT billing_address ->> 'country', billing_country FROM raw_salesforce.account")
    assert addresses and all(a == b for a, b in addresses)
    contact_columns = {r[0] for r in rows(warehouse, "DESCRIBE raw_salesforce.contact")}
    assert {"owner_id", "is_email_bounced", "photo_url", "has_opted_out_of_email"} <= contact_columns
    stages = rows(warehouse, "SELECT DISTINCT stage_name, probability FROM raw_salesforce.opportunity")
    assert ("Closed Won", 100.0) in stages and ("Closed Lost", 0.0) in stages


def test_a_salesforce_session_that_ends_mid_run_does_not_stop_the_load(live: Live, tmp_path: Path) -> None:
    warehouse = fresh(live, tmp_path)
    live.emulator.fault(system="salesforce", endpoint="query*", kind="session_expired", skip=2, count=1)
    runner.run_source("salesforce", warehouse)
    (fault,) = live.emulator.admin("GET", "faults")["faults"]
    assert fault["fired"] == 1
    salesforce_matches_the_world(warehouse, live.emulator)


def test_salesforces_request_limit_answer_is_waited_out(live: Live, tmp_path: Path) -> None:
    warehouse = fresh(live, tmp_path)
    live.emulator.fault(system="salesforce", endpoint="query*", kind="rate_limit", count=2)
    runner.run_source("salesforce", warehouse)
    (fault,) = live.emulator.admin("GET", "faults")["faults"]
    assert fault["fired"] == 2
    salesforce_matches_the_world(warehouse, live.emulator)


def test_a_limit_that_stays_spent_fails_naming_salesforces_error_code(live: Live, tmp_path: Path) -> None:
    warehouse = fresh(live, tmp_path)
    live.emulator.fault(system="salesforce", endpoint="describe", kind="rate_limit")
    with pytest.raises(SourceFailure) as info:
        runner.run_source("salesforce", warehouse)
    assert "HTTP 403" in str(info.value) and "REQUEST_LIMIT_EXCEEDED" in str(info.value)


def test_a_refused_login_names_oauths_error(live: Live, tmp_path: Path) -> None:
    warehouse = fresh(live, tmp_path)
    live.monkeypatch.setenv("SOURCES__SALESFORCE__CREDENTIALS__CLIENT_SECRET", "not-the-secret")
    try:
        with pytest.raises(SourceFailure) as info:
            runner.run_source("salesforce", warehouse)
    finally:
        live.monkeypatch.delenv("SOURCES__SALESFORCE__CREDENTIALS__CLIENT_SECRET")
    message = str(info.value)
    assert "\n" not in message and "invalid_client" in message, message


# --- a Stripe API version change -----------------------------------------------------------------


@pytest.fixture(scope="module")
def basil_account(live: Live, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The same world served by a Stripe account whose default version is 2025-03-31 (its events
    carry that shape)."""
    data_dir = tmp_path_factory.mktemp("basil") / "sandbox"
    shutil.copytree(live.data_dir, data_dir, ignore=shutil.ignore_patterns("*.log"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SANDBOX_STRIPE_API_VERSION", "2025-03-31.basil")
        em = start_emulator(data_dir)
    try:
        yield em
    finally:
        stop_server(em.process)


MART_SQL = """
    SELECT account_id, arr, next_renewal_date, notice_given, notice_ends_on, lifecycle_state
    FROM marts.customer_360 ORDER BY account_id
"""


def build_marts(live: Live, warehouse: Path, stripe_url: str, version: str) -> list[tuple]:
    live.use_warehouse(warehouse)
    live.monkeypatch.setenv("SOURCES__STRIPE__BASE_URL", stripe_url)
    live.monkeypatch.setenv("SOURCES__STRIPE__API_VERSION", version)
    try:
        runner.run_all(["salesforce", "stripe"], warehouse)
    finally:
        live.monkeypatch.setenv("SOURCES__STRIPE__BASE_URL", live.emulator.url)
        live.monkeypatch.delenv("SOURCES__STRIPE__API_VERSION")
    kinds = ["--resource-type", "model", "--resource-type", "snapshot", "--resource-type", "seed"]
    run = dbt(warehouse, "build", "--select", "+customer_360", *kinds)
    assert run.returncode == 0, run.output[-3000:]
    return rows(warehouse, MART_SQL)


def test_both_stripe_versions_give_the_same_billing_periods(
    live: Live, basil_account: Emulator, tmp_path: Path
) -> None:
    old = build_marts(live, tmp_path / "v2024" / "warehouse.duckdb", live.emulator.url, "2024-06-20")
    new = build_marts(live, tmp_path / "v2025" / "warehouse.duckdb", basil_account.url, "2025-03-31.basil")
    # the 2025 load really has the new shape: no period on the subscription, one on its items
    on_subscription = rows(
        tmp_path / "v2025" / "warehouse.duckdb", "SELECT count(current_period_end) FROM raw_stripe.subscriptions"
    )[0][0]
    on_items = rows(
        tmp_path / "v2025" / "warehouse.duckdb",
        "SELECT count(current_period_end) FROM raw_stripe.subscriptions__items__data",
    )[0][0]
    assert on_subscription == 0 and on_items > 0
    assert old == new
    assert sum(1 for r in old if r[2] is not None) > 0.5 * len(old)
    for table in (
        "staging.stg_stripe__subscriptions",
        "intermediate.int_billing__subscription_versions",
        "intermediate.int_accounts__subscriptions",
    ):
        sql = f"SELECT subscription_id, current_period_end_at FROM {table} ORDER BY ALL"  # noqa: S608
        got_old = rows(tmp_path / "v2024" / "warehouse.duckdb", sql)
        assert got_old == rows(tmp_path / "v2025" / "warehouse.duckdb", sql) and got_old, table
        assert sum(1 for r in got_old if r[1] is not None) > 0.5 * len(got_old), table
    invoices = "SELECT invoice_id, subscription_id, is_paid FROM staging.stg_stripe__invoices ORDER BY 1"
    assert rows(tmp_path / "v2024" / "warehouse.duckdb", invoices) == rows(
        tmp_path / "v2025" / "warehouse.duckdb", invoices
    )
