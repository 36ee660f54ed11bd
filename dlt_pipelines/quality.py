"""Data checks on the raw tables, run after each load; results kept in the warehouse.

Per table, up to four checks (each one Dagster asset check):

- `keys_present_and_unique`: the primary key is never null and never repeated.
- `timestamps_valid`: timestamp columns hold real times (2000 to 2100), the modification field is set.
- `amounts_in_range`: amounts and counts are not negative.
- `row_count_not_shrinking`: raw tables only grow (deletes are flags), so fewer rows than at the last
  check means rows were lost.
- `fields_present` (API tables): every declared field came in the last run that brought records; a
  field missing from all of them was renamed or removed upstream (its stored values were kept, see
  `drift.py`). Passes again once a run brings the field.
- `quarantine_share` (API tables): the records in quarantine and still open (`recovery.py`) are at
  most `quarantine_max_share` of the table's records (open quarantined + loaded rows); config
  `sources.<source>.quarantine_max_share`, else `sources.quarantine_max_share`, default 0.05.
  A failed check blocks the reverse-ETL gate.

The expectations (Great Expectations' names and arguments, `core/checks.py`) run as SQL in DuckDB,
all of a table's in one query over the table itself: no frame is read out of the warehouse. The
product events' suite runs on a per-day summary (rows, distinct ids, nulls, time range per day).
After a load, only the days that load touched are summarised (the latest day when it brought no
events): the other days were checked when they were loaded and raw events are never rewritten, so a
daily load does not re-read years of events.

Every expectation's outcome is appended to `raw_quality.check_results` for the data-quality report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import duckdb
import pandas as pd

from core.checks import (
    CheckResult,
    Expectation,
    ExpectColumnMaxToBeBetween,
    ExpectColumnPairValuesToBeEqual,
    ExpectColumnValuesToBeBetween,
    ExpectColumnValuesToBeNull,
    ExpectColumnValuesToBeUnique,
    ExpectColumnValuesToNotBeNull,
    ExpectTableRowCountToBeBetween,
    expectation_rows,
    literal_relation,
    run_suites,
)
from core.clock import utc_now
from core.warehouse import INGESTION_CHECK_RESULTS, columns, ensure_tables, insert_rows, table_exists
from dlt_pipelines import settings
from dlt_pipelines.contracts import TableSpec

RESULTS_TABLE = INGESTION_CHECK_RESULTS
RESULTS_SCHEMA = RESULTS_TABLE.split(".")[0]
CHECKS = (
    "keys_present_and_unique",
    "timestamps_valid",
    "amounts_in_range",
    "row_count_not_shrinking",
    "fields_present",
    "quarantine_share",
)
# Checks of the API tables only (product events have a file contract instead).
RECORD_CHECKS = ("fields_present", "quarantine_share")
DEFAULT_QUARANTINE_MAX_SHARE = 0.05
MIN_TIME = pd.Timestamp("2000-01-01", tz="UTC")
MAX_TIME = pd.Timestamp("2100-01-01", tz="UTC")
MIN_UNIX, MAX_UNIX = int(MIN_TIME.timestamp()), int(MAX_TIME.timestamp())


def identifier(name: str) -> str:
    """The column name dlt gives an API field (snake_case naming convention)."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    return NamingConvention().normalize_path(name)


def _columns(con: duckdb.DuckDBPyConnection, dataset: str, table: str) -> set[str]:
    return set(columns(con, f"{dataset}.{table}"))


def _previous_count(
    con: duckdb.DuckDBPyConnection, source: str, table: str, expectation: str = "expect_table_row_count_to_be_between"
) -> int:
    """The row count the last check of this table observed (0 before the first check)."""
    if not table_exists(con, RESULTS_TABLE):
        return 0
    row = con.execute(
        f"SELECT observed FROM {RESULTS_TABLE} WHERE source = ? AND table_name = ? "
        "AND expectation = ? ORDER BY checked_at DESC LIMIT 1",
        [source, table, expectation],
    ).fetchone()
    return int(row[0]) if row and row[0] not in (None, "None") else 0


def _plans(
    con: duckdb.DuckDBPyConnection, source: str, dataset: str, spec: TableSpec
) -> tuple[str, dict[str, list[Expectation]]] | None:
    """The relation to check and the expectations of each check, for one table."""
    present = _columns(con, dataset, spec.table)
    if not present:
        return None
    pk = identifier(spec.primary_key)
    times = [identifier(f) for f in spec.timestamp_fields if identifier(f) in present]
    amounts = [identifier(f) for f in spec.non_negative if identifier(f) in present]
    plans: dict[str, list[Expectation]] = {
        "keys_present_and_unique": [
            ExpectColumnValuesToNotBeNull(column=pk),
            ExpectColumnValuesToBeUnique(column=pk),
        ],
        "row_count_not_shrinking": [ExpectTableRowCountToBeBetween(min_value=_previous_count(con, source, spec.table))],
    }
    if times:
        checks: list[Expectation] = []
        for col in times:
            unix = spec.fields.get(next(f for f in spec.fields if identifier(f) == col)) == "unix"
            low, high = (MIN_UNIX, MAX_UNIX) if unix else (MIN_TIME, MAX_TIME)
            checks.append(ExpectColumnValuesToBeBetween(column=col, min_value=low, max_value=high))
        if spec.cursor and identifier(spec.cursor) in present:
            checks.append(ExpectColumnValuesToNotBeNull(column=identifier(spec.cursor)))
        plans["timestamps_valid"] = checks
    if amounts:
        plans["amounts_in_range"] = [ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in amounts]
    return f'"{dataset}"."{spec.table}"', plans


def _touched_days(con: duckdb.DuckDBPyConnection, table: str, load_ids: list[str]) -> str:
    """A WHERE clause for the days from the first to the last day the loads brought events for (the
    latest day when they brought none), plus any rows without a time. The bounds are literals on the
    raw timestamp, so DuckDB skips the other row groups; casting every timestamp to a date would
    read them all (a second per 15 M events)."""
    low, high = con.execute(
        f"""SELECT date_trunc('day', coalesce(min(event_timestamp), (SELECT max(event_timestamp) FROM {table}))),
                   date_trunc('day', coalesce(max(event_timestamp), (SELECT max(event_timestamp) FROM {table})))
                   + INTERVAL 1 DAY
            FROM {table} WHERE _dlt_load_id IN (SELECT unnest(?::VARCHAR[]))""",
        [load_ids],
    ).fetchone()
    if low is None:
        return ""
    return (
        f"WHERE (event_timestamp >= TIMESTAMPTZ '{low.isoformat()}'"
        f" AND event_timestamp < TIMESTAMPTZ '{high.isoformat()}') OR event_timestamp IS NULL"
    )


def _event_plans(
    con: duckdb.DuckDBPyConnection, source: str, dataset: str, load_ids: list[str] | None = None
) -> tuple[str, dict[str, list[Expectation]]] | None:
    present = _columns(con, dataset, "events")
    if not present:
        return None
    table = f'"{dataset}"."events"'
    days = ""
    if load_ids is not None and "_dlt_load_id" in present:
        days = _touched_days(con, table, load_ids)
    sql = f"""(
        SELECT CAST(event_timestamp AS DATE) AS event_date,
               count(*) AS n_rows,
               count(DISTINCT event_id) AS n_ids,
               count(*) - count(event_id) AS null_ids,
               count(*) - count(account_id) AS null_accounts,
               count(*) - count(event_timestamp) AS null_times,
               min(event_timestamp) AS first_time,
               max(event_timestamp) AS last_time,
               (SELECT count(*) FROM {table}) AS table_rows
        FROM {table} {days} GROUP BY 1)"""
    previous = _previous_count(con, source, "events", "expect_column_max_to_be_between")
    plans: dict[str, list[Expectation]] = {
        "keys_present_and_unique": [
            ExpectColumnPairValuesToBeEqual(column_A="n_rows", column_B="n_ids"),
            ExpectColumnValuesToBeBetween(column="null_ids", min_value=0, max_value=0),
            ExpectColumnValuesToBeBetween(column="null_accounts", min_value=0, max_value=0),
        ],
        "timestamps_valid": [
            ExpectColumnValuesToBeBetween(column="null_times", min_value=0, max_value=0),
            ExpectColumnValuesToBeBetween(column="first_time", min_value=MIN_TIME, max_value=MAX_TIME),
            ExpectColumnValuesToBeBetween(column="last_time", min_value=MIN_TIME, max_value=MAX_TIME),
        ],
        # Every row carries the table's total: its max is the row count, compared with the last check's.
        "row_count_not_shrinking": [ExpectColumnMaxToBeBetween(column="table_rows", min_value=previous)],
    }
    return sql, plans


def run_checks(
    con: duckdb.DuckDBPyConnection, source: str, specs: Iterable[TableSpec], load_ids: list[str] | None = None
) -> list[CheckResult]:
    """Every check of a source's tables; `load_ids` (the loads just made) narrows the event summary."""
    dataset = settings.DATASETS[source]
    out: list[CheckResult] = []
    targets: list[tuple[str, tuple[str, dict[str, list[Expectation]]] | None]] = (
        [("events", _event_plans(con, source, dataset, load_ids))]
        if source == "product_events"
        else [(s.table, _plans(con, source, dataset, s)) for s in specs]
    )
    for table, plan in targets:
        if plan is None:
            continue
        relation, checks = plan
        out += run_suites(con, relation, source, table, checks)
    if source != "product_events":
        out += record_checks(con, source, dataset, specs)
    return out


def quarantine_max_share(source: str) -> float:
    from core import config

    default = config.get("sources.quarantine_max_share", float, DEFAULT_QUARANTINE_MAX_SHARE)
    return config.get(f"sources.{source}.quarantine_max_share", float, default)


def record_checks(
    con: duckdb.DuckDBPyConnection, source: str, dataset: str, specs: Iterable[TableSpec]
) -> list[CheckResult]:
    """`fields_present` and `quarantine_share` of each API table that exists."""
    from dlt_pipelines import drift, recovery

    limit = quarantine_max_share(source)
    quarantined = recovery.open_counts(con, source)
    out: list[CheckResult] = []
    for spec in specs:
        if not table_exists(con, f"{dataset}.{spec.table}"):
            continue
        missing = drift.latest_missing(con, source, spec.table)
        fields = literal_relation("missing_field", missing or [None], "VARCHAR")
        present = [ExpectColumnValuesToBeNull(column="missing_field")]
        out += run_suites(con, fields, source, spec.table, {"fields_present": present})
        rows = con.execute(f'SELECT count(*) FROM "{dataset}"."{spec.table}"').fetchone()[0]
        held = quarantined.get(spec.table, 0)
        share = literal_relation("quarantined_share", [held / (rows + held) if rows + held else 0.0], "DOUBLE")
        within = [ExpectColumnMaxToBeBetween(column="quarantined_share", min_value=0, max_value=limit)]
        out += run_suites(con, share, source, spec.table, {"quarantine_share": within})
    return out


RESULTS_DDL = f"""CREATE TABLE IF NOT EXISTS {RESULTS_TABLE} (
    checked_at TIMESTAMPTZ NOT NULL, run_id VARCHAR, source VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL, check_name VARCHAR NOT NULL, expectation VARCHAR NOT NULL,
    column_name VARCHAR, success BOOLEAN NOT NULL, observed VARCHAR, details VARCHAR)"""


def store(con: duckdb.DuckDBPyConnection, results: Iterable[CheckResult], run_id: str) -> None:
    ensure_tables(con, [RESULTS_DDL])
    # TIMESTAMPTZ: a UTC instant, stored with its zone.
    now = pd.Timestamp(utc_now(), tz="UTC")
    rows = [
        (
            now,
            run_id,
            r.source,
            r.table,
            r.check,
            o["expectation"],
            o["column"],
            o["success"],
            o["observed"],
            json.dumps({"error": o["error"]}) if o["error"] else None,
        )
        for r, o in expectation_rows(results)
    ]
    insert_rows(con, RESULTS_TABLE, rows)


def run_and_store(
    con: duckdb.DuckDBPyConnection,
    source: str,
    run_id: str,
    specs: Iterable[TableSpec] | None = None,
    load_ids: list[str] | None = None,
) -> list[CheckResult]:
    """Check what a source loaded, through the warehouse its loader holds (`core.warehouse.open_for_writing`)."""
    from dlt_pipelines import runner

    specs = specs if specs is not None else runner.table_specs(source)
    results = run_checks(con, source, specs, load_ids)
    store(con, results, run_id)
    return results
