"""The daily incremental build gives the same tables as a full build: a warehouse built up to two days
before the end of the S world, then given the missing days and built incrementally, must equal the
full build over all the data, row for row, in every incremental model and the marts read from them."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.pipeline import DbtRun, LoadedWorld, dbt

CUT = "2026-10-29"  # two days before the world's end: the incremental run brings 2026-10-30 and -31

# raw table, the column that dates a row, and how to read it as a date
HELD_BACK = [
    ("raw_product.events", "cast(event_date as date)"),
    ("raw_zendesk.tickets", "cast(created_at as date)"),
    ("raw_zendesk.ticket_metrics", "cast(created_at as date)"),
    ("raw_zendesk.satisfaction_ratings", "cast(created_at as date)"),
    ("raw_stripe.events", "cast(to_timestamp(created) as date)"),
    ("raw_stripe.invoices", "cast(to_timestamp(created) as date)"),
]

COMPARED = [
    "intermediate.int_account_days",
    "intermediate.int_billing__subscription_versions",
    "intermediate.int_product__users",
    "intermediate.int_product__user_days",
    "intermediate.int_product__event_type_days",
    "intermediate.int_account_health_metrics",
    "intermediate.int_account_running_totals",
    "intermediate.int_account_trends",
    "marts.account_daily_activity",
    "marts.health_score_history",
    "marts.health_scores",
    "marts.customer_360",
    "marts.expansion_signals",
    "marts.renewals",
    "marts.ml_account_snapshots",
]


def _hold_back(warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema held_back")
        for table, day in HELD_BACK:
            name = table.replace(".", "__")
            con.execute(f"create table held_back.{name} as select * from {table} where {day} > date '{CUT}'")
            con.execute(f"delete from {table} where {day} > date '{CUT}'")
    finally:
        con.close()


def _bring_back(warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        for table, _ in HELD_BACK:
            con.execute(f"insert into {table} select * from held_back.{table.replace('.', '__')}")
        con.execute("drop schema held_back cascade")
    finally:
        con.close()


def test_an_incremental_build_equals_a_full_build(
    built_warehouse: tuple[Path, DbtRun], loaded_s_world: LoadedWorld, tmp_path: Path
) -> None:
    full, _ = built_warehouse
    warehouse = loaded_s_world.copy_warehouse(tmp_path / "incremental.duckdb")
    _hold_back(warehouse)
    # the held-back days change subscriptions, so the daily build rebuilds some versions from both
    # the new events and the versions built before them
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        (changed,) = con.execute(
            "select count(distinct json_extract_string(new.data, '$.object.id')) "
            "from held_back.raw_stripe__events as new inner join raw_stripe.events as built "
            "on json_extract_string(new.data, '$.object.id') = json_extract_string(built.data, '$.object.id') "
            "where new.type like 'customer.subscription.%'"
        ).fetchone()
    finally:
        con.close()
    assert changed > 0
    first = dbt(warehouse, "build", "--exclude-resource-type", "unit_test", target_path=tmp_path / "target")
    assert first.returncode == 0, first.output[-3000:]
    # the ML snapshots' open rows as the first build labelled them: the daily build writes again only
    # those whose labels change
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            "create table main.open_snapshot_labels as select snapshot_id, churned_within_horizon, "
            "expanded_within_horizon, label_is_complete, is_open_row "
            "from marts.ml_account_snapshots where not label_is_complete"
        )
    finally:
        con.close()
    _bring_back(warehouse)
    daily = dbt(warehouse, "build", "--exclude-resource-type", "unit_test", target_path=tmp_path / "target")
    assert daily.returncode == 0, daily.output[-3000:]
    # the daily build really merged the new days instead of rebuilding the tables
    run_sql = tmp_path / "target" / "run" / "customer_success_copilot" / "models"
    for model in ("marts/activity/account_daily_activity", "marts/health/health_score_history"):
        assert "delete from" in (run_sql / f"{model}.sql").read_text().lower(), model
    # the daily activity read the user-days and event-type days the recent product days keep
    compiled = tmp_path / "target" / "compiled" / "customer_success_copilot" / "models"
    activity_sql = (compiled / "marts/activity/account_daily_activity.sql").read_text()
    for recent_days in ("int_product__user_days", "int_product__event_type_days"):
        assert f'."{recent_days}"' in activity_sql, recent_days

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        con.execute(f"attach '{full}' as full_build (read_only)")
        (as_of,) = con.execute("select cast(as_of_date as varchar) from intermediate.int_data_clock").fetchone()
        assert as_of == "2026-10-31"
        # the two new days changed the labels of some rows built before them (so the comparison below
        # covers rows written again and rows kept as they were)
        (relabelled,) = con.execute(
            "select count(*) from main.open_snapshot_labels as before "
            "inner join marts.ml_account_snapshots as now on before.snapshot_id = now.snapshot_id "
            "where (before.churned_within_horizon, before.expanded_within_horizon, before.label_is_complete, "
            "before.is_open_row) is distinct from (now.churned_within_horizon, now.expanded_within_horizon, "
            "now.label_is_complete, now.is_open_row)"
        ).fetchone()
        assert relabelled > 0
        differences = {}
        for table in COMPARED:
            rows = con.execute(f"select count(*) from {table}").fetchone()[0]
            only_here = con.execute(
                f"select count(*) from (select * from {table} except all select * from full_build.{table})"
            ).fetchone()[0]
            only_full = con.execute(
                f"select count(*) from (select * from full_build.{table} except all select * from {table})"
            ).fetchone()[0]
            assert rows > 0, table
            if only_here or only_full:
                differences[table] = (rows, only_here, only_full)
    finally:
        con.close()
    assert not differences, f"rows that differ from the full build (rows, only incremental, only full): {differences}"
