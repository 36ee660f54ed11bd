"""The serving snapshot: a small read-only DuckDB file holding what the API serves, published by each
successful daily run and swapped atomically, so the API never opens the live warehouse and a run in
progress never blocks a read.

Layout under the serving folder (`api.serving_dir`, default `serving/` beside the warehouse):

    snapshots/serving-<stamp>.duckdb   one file per published run (the last few are kept)
    current.json                       the pointer: which file, which as-of date, when published

A snapshot is written under a temporary name and renamed into place (`os.replace`), then the pointer
is replaced the same way: a reader sees the old snapshot or the new one, never a half-written file.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from core import config
from core.clock import as_of_date, utc_now
from core.warehouse import table_exists, warehouse_path

POINTER = "current.json"
KEEP = 3
# Health trend: one point a week over the last half year, counted back from the as-of date.
TREND_WEEKS = 26
# History: one point a month over the last two years.
HISTORY_MONTHS = 24


def serving_dir(warehouse: Path | None = None) -> Path:
    """Where snapshots are published: `api.serving_dir`, else `serving/` beside the warehouse
    (data/serving for the default warehouse)."""
    configured = config.get("api.serving_dir", str, "")
    if configured:
        return config.resolve_path(configured)
    return Path(warehouse or warehouse_path()).resolve().parent / "serving"


@dataclass(frozen=True)
class Published:
    path: Path
    as_of_date: date
    published_at: datetime
    accounts: int


def _optional(con: duckdb.DuckDBPyConnection, table: str, sql: str, empty: str) -> str:
    return sql if table_exists(con, table) else empty


def _tables(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, str]:
    """The snapshot's tables as SELECTs over the warehouse (a part not built yet gives no rows)."""
    day = f"DATE '{as_of.isoformat()}'"
    scores = _optional(
        con,
        "ml.account_scores_latest",
        "SELECT * FROM ml.account_scores_latest",
        "SELECT NULL::VARCHAR AS account_id, NULL::VARCHAR AS churn_model_id, NULL::DOUBLE AS churn_probability, "
        "NULL::VARCHAR AS churn_risk_tier, NULL::VARCHAR AS expansion_model_id, NULL::DOUBLE AS expansion_propensity, "
        "NULL::VARCHAR AS drivers_json, NULL::DATE AS scored_on WHERE false",
    )
    renewals = _optional(
        con,
        "marts.renewals",
        "SELECT * FROM marts.renewals",
        "SELECT NULL::VARCHAR AS account_id, NULL::DATE AS renewal_date, NULL::BIGINT AS days_to_renewal, "
        "NULL::VARCHAR AS renewal_stage, NULL::DOUBLE AS renewal_amount, NULL::DOUBLE AS arr_at_stake, "
        "NULL::VARCHAR AS renewal_risk, NULL::DOUBLE AS arr_at_risk WHERE false",
    )
    tables = {
        "accounts": f"""
            SELECT c.account_id, c.account_name, c.segment, c.industry, c.employee_count, c.billing_country,
                c.website_domain, c.csm_user_id, c.csm_name, c.account_owner_name, c.plan, c.billing_interval,
                c.contract_term_months, c.subscription_status, c.seats, c.active_users_7d, c.active_users_30d,
                c.seat_utilisation, c.arr, c.arr_change_90d, c.customer_since_date, c.contract_end_date,
                c.next_renewal_date, c.notice_given, c.lifecycle_state, c.notice_given_on, c.notice_ends_on,
                c.open_tickets, c.tickets_90d, c.csat_score_180d,
                c.payment_failures_90d, c.overdue_invoices, c.champion_name, c.champion_email, c.champion_status,
                c.health_score, c.health_tier, c.health_trend, c.health_score_change_30d, c.top_risk_drivers,
                c.expansion_score, c.expansion_reason,
                h.usage_score, h.usage_reason, h.adoption_score, h.adoption_reason, h.support_score,
                h.support_reason, h.billing_score, h.billing_reason, h.relationship_score, h.relationship_reason,
                h.health_score_30d_ago,
                s.churn_model_id, s.churn_probability, s.churn_risk_tier, s.expansion_model_id,
                s.expansion_propensity, s.drivers_json, s.scored_on,
                r.renewal_date, r.days_to_renewal, r.renewal_stage, r.renewal_amount, r.arr_at_stake,
                r.renewal_risk, r.arr_at_risk
            FROM marts.customer_360 AS c
            LEFT JOIN marts.health_scores AS h USING (account_id)
            LEFT JOIN ({scores}) AS s USING (account_id)
            LEFT JOIN ({renewals}) AS r USING (account_id)""",
        "health_trend": f"""
            SELECT account_id, CAST(snapshot_date AS DATE) AS day, health_score, health_tier
            FROM marts.health_score_history
            WHERE snapshot_date > {day} - INTERVAL {7 * TREND_WEEKS} DAY AND snapshot_date <= {day}
              AND (({day} - CAST(snapshot_date AS DATE)) % 7) = 0""",
        "health_history": f"""
            SELECT account_id, CAST(snapshot_date AS DATE) AS day, health_score, health_tier
            FROM marts.health_score_history
            WHERE snapshot_date > {day} - INTERVAL {HISTORY_MONTHS} MONTH AND snapshot_date <= {day}
              AND day(snapshot_date) = 1""",
        "users": """
            SELECT user_id, user_name, email, title, department, is_active, manager_user_id
            FROM staging.stg_crm__users""",
        "contacts": """
            SELECT contact_id, account_id, first_name, last_name, email, title, is_champion, has_left_company
            FROM staging.stg_crm__contacts""",
    }
    if table_exists(con, "alerts.alerts"):
        tables["alerts"] = "SELECT * FROM alerts.alerts"
    if table_exists(con, "ml.model_registry"):
        tables["models"] = "SELECT * FROM ml.model_registry WHERE status = 'champion'"
        for name in ("model_metrics", "feature_drift", "calibration_curve", "feature_importance"):
            if table_exists(con, f"ml.{name}"):
                tables[name] = (
                    f"SELECT * FROM ml.{name} WHERE model_id IN (SELECT model_id FROM ml.model_registry "
                    "WHERE status = 'champion')"
                )
    return {name: sql for name, sql in tables.items() if _sources_exist(con, sql)}


def _sources_exist(con: duckdb.DuckDBPyConnection, sql: str) -> bool:
    for table in (
        "marts.customer_360",
        "marts.health_score_history",
        "staging.stg_crm__users",
        "staging.stg_crm__contacts",
    ):
        if table in sql and not table_exists(con, table):
            return False
    return True


def publish(con: duckdb.DuckDBPyConnection, folder: Path | None = None, run_id: str | None = None) -> Published:
    """Write the snapshot of the warehouse `con` reads, then point `current.json` at it."""
    folder = Path(folder or serving_dir())
    snapshots = folder / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    as_of = as_of_date(con)
    if as_of is None:
        row = con.execute("SELECT max(as_of_date) FROM marts.customer_360").fetchone()
        as_of = row[0] if row else None
    if as_of is None:
        raise ValueError("the warehouse has no as-of date yet: nothing to publish (run the dbt build first)")
    now = utc_now()
    name = f"serving-{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:6]}.duckdb"
    final = snapshots / name
    partial = snapshots / f".{name}.partial"
    con.execute(f"ATTACH '{partial}' AS serving_snapshot (READ_WRITE)")
    try:
        for table, sql in _tables(con, as_of).items():
            con.execute(f"CREATE TABLE serving_snapshot.main.{table} AS {sql}")
        con.execute("CREATE TABLE serving_snapshot.main.run (as_of_date DATE, published_at TIMESTAMP, run_id VARCHAR)")
        con.execute("INSERT INTO serving_snapshot.main.run VALUES (?, ?, ?)", [as_of, now, run_id])
        accounts = con.execute("SELECT count(*) FROM serving_snapshot.main.accounts").fetchone()[0]
    except BaseException:
        con.execute("DETACH serving_snapshot")
        partial.unlink(missing_ok=True)
        partial.with_name(partial.name + ".wal").unlink(missing_ok=True)
        raise
    con.execute("DETACH serving_snapshot")
    os.replace(partial, final)
    write_pointer(
        folder,
        {
            "file": f"snapshots/{name}",
            "as_of_date": as_of.isoformat(),
            "published_at": now.isoformat(),
            "run_id": run_id,
        },
    )
    prune(snapshots, keep=KEEP)
    return Published(final, as_of, now, int(accounts))


def write_pointer(folder: Path, document: dict) -> None:
    """Replace `current.json` atomically: written beside it, then renamed over it."""
    temp = folder / f".{POINTER}.{uuid.uuid4().hex[:8]}"
    temp.write_text(json.dumps(document))
    os.replace(temp, folder / POINTER)


def read_pointer(folder: Path) -> dict | None:
    try:
        return json.loads((folder / POINTER).read_text())
    except FileNotFoundError:
        return None


def prune(snapshots: Path, keep: int) -> None:
    """Delete all but the newest `keep` snapshots (a reader holding an older one keeps its open file)."""
    files = sorted(snapshots.glob("serving-*.duckdb"))
    for old in files[:-keep]:
        old.unlink(missing_ok=True)
