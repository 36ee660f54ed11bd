"""Compare raw warehouse tables with the sandbox world, record for record."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

# raw table -> (world table, key, compared fields (API names), world filter)
TABLES: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "raw_salesforce.user": ("sf_user", "Id", ("Name", "IsActive", "SystemModstamp"), ""),
    "raw_salesforce.account": (
        "sf_account",
        "Id",
        ("Name", "CSM__c", "Product_Account_Id__c", "ARR__c", "Contract_End_Date__c", "IsDeleted", "SystemModstamp"),
        "",
    ),
    "raw_salesforce.contact": ("sf_contact", "Id", ("AccountId", "Is_Champion__c", "IsDeleted", "SystemModstamp"), ""),
    "raw_salesforce.opportunity": ("sf_opportunity", "Id", ("StageName", "Amount", "CloseDate", "SystemModstamp"), ""),
    "raw_salesforce.task": ("sf_task", "Id", ("Status", "Copilot_Outcome__c", "SystemModstamp"), ""),
    "raw_zendesk.organizations": ("zd_organizations", "id", ("name", "external_id", "updated_at"), ""),
    "raw_zendesk.users": ("zd_users", "id", ("organization_id", "role", "updated_at"), ""),
    "raw_zendesk.tickets": ("zd_tickets", "id", ("status", "priority", "organization_id", "updated_at"), ""),
    "raw_zendesk.ticket_metrics": ("zd_ticket_metrics", "id", ("ticket_id", "reopens", "updated_at"), ""),
    "raw_zendesk.satisfaction_ratings": ("zd_satisfaction_ratings", "id", ("score", "ticket_id", "updated_at"), ""),
    "raw_stripe.subscriptions": (
        "st_subscriptions",
        "id",
        ("status", "customer", "canceled_at", "current_period_end"),
        "",
    ),
    "raw_stripe.invoices": ("st_invoices", "id", ("status", "amount_due", "amount_paid", "attempt_count"), ""),
    "raw_stripe.events": ("st_events", "id", ("type", "created"), ""),
}


SF_CHECKBOXES = {"IsActive", "IsDeleted", "Is_Champion__c", "Left_Company__c", "IsClosed", "IsWon"}


def snake(name: str) -> str:
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    return NamingConvention().normalize_path(name)


def norm(value: Any) -> Any:
    """One comparable form for values from SQLite (API text) and DuckDB (typed)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        return value[:19]
    return value


def raw_rows(con: duckdb.DuckDBPyConnection, table: str, key: str, fields: tuple[str, ...]) -> dict[Any, tuple]:
    cols = ", ".join(f'"{snake(c)}"' for c in (key, *fields))
    schema, name = table.split(".")
    rows = con.execute(f'SELECT {cols} FROM "{schema}"."{name}"').fetchall()
    return {r[0]: tuple(norm(v) for v in r[1:]) for r in rows}


def world_rows(world: Path, table: str, key: str, fields: tuple[str, ...], where: str = "") -> dict[Any, tuple]:
    import sqlite3

    con = sqlite3.connect(f"file:{world}?mode=ro", uri=True)
    try:
        # The Salesforce API answers false for a checkbox the store holds as NULL.
        cols = ", ".join(
            f'COALESCE("{c}", 0)' if table.startswith("sf_") and c in SF_CHECKBOXES else f'"{c}"'
            for c in (key, *fields)
        )
        rows = con.execute(f'SELECT {cols} FROM "{table}"' + (f" WHERE {where}" if where else "")).fetchall()
    finally:
        con.close()
    return {r[0]: tuple(norm(v) for v in r[1:]) for r in rows}


def differences(warehouse: Path, world: Path, events: bool = True, dataset: str | None = None) -> dict[str, str]:
    """Per raw table, what differs from the world (empty when every record matches), duplicates
    included; `dataset` (e.g. "raw_stripe") compares that source's tables only."""
    out: dict[str, str] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for raw, (table, key, fields, where) in TABLES.items():
            if dataset is not None and not raw.startswith(f"{dataset}."):
                continue
            n, distinct = con.execute(f'SELECT count(*), count(DISTINCT "{snake(key)}") FROM {raw}').fetchone()
            if n != distinct:
                out[raw] = f"{n - distinct} duplicate rows"
                continue
            got = raw_rows(con, raw, key, fields)
            want = world_rows(world, table, key, fields, where)
            if got != want:
                missing = sorted(set(want) - set(got))[:3]
                extra = sorted(set(got) - set(want))[:3]
                changed = [k for k in want if k in got and got[k] != want[k]][:3]
                out[raw] = (
                    f"{len(got)} rows vs {len(want)}; missing {missing}; extra {extra}; "
                    f"differing {[(k, got[k], want[k]) for k in changed]}"
                )
        if dataset not in (None, "raw_stripe"):
            return out
        # Customers: Stripe never lists deleted customers, so one deleted before the first load
        # never arrives; every customer that did arrive matches, deleted flag included.
        got = raw_rows(con, "raw_stripe.customers", "id", ("email", "deleted"))
        want = world_rows(world, "st_customers", "id", ("email", "deleted"))
        live = {k for k, v in want.items() if not v[1]}
        if not live <= set(got) or any(got[k][0] != want[k][0] or bool(got[k][1]) != bool(want[k][1]) for k in got):
            out["raw_stripe.customers"] = f"{len(got)} rows vs {len(live)} live customers"
        if not events or dataset is not None:
            return out
        events = con.execute(
            f"""SELECT count(*) FILTER (WHERE e.event_id IS NULL OR e.account_id IS DISTINCT FROM p.account_id
                                        OR e.event_timestamp IS DISTINCT FROM p.event_timestamp),
                       (SELECT count(*) FROM raw_product.events), count(*)
                FROM read_parquet('{world.parent}/exports/events/*/*.parquet') p
                LEFT JOIN raw_product.events e USING (event_id)"""
        ).fetchone()
        if events is None or events[0] != 0 or events[1] != events[2]:  # rows vs files: duplicates too
            out["raw_product.events"] = f"mismatched {events[0]}, rows {events[1]} vs files {events[2]}"
    return out


def counts(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [*TABLES, "raw_stripe.customers", "raw_product.events"]
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
