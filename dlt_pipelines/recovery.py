"""Quarantined records are fetched again until they load or an operator discards them.

A quarantined record is *open* while no later load brought its key into the raw table and no
operator discarded it: the raw row's `_dlt_load_id` is older than the quarantine row's (or there is
no raw row), and `raw_quality.quarantine_resolutions` holds no discard that covers it.

Every API run re-fetches the open records **by id** from the source, alongside the incremental
load, and merges them into the same raw table through the same contract check:

- Salesforce: one `queryAll` SOQL `WHERE Id IN (...)` per 200 ids, with the fields the incremental
  query selects; Stripe: `GET /v1/<object>/<id>`; Zendesk: `GET /api/v2/<object>/<id>.json`.
- A record still broken goes back to quarantine (a newer quarantine row); one the source no longer
  has stays open and is reported, until an operator discards it.
- A Stripe customer deleted since answers `{"id": ..., "object": "customer", "deleted": true}`:
  nothing is left to load (the deletion itself arrives with its `customer.deleted` event), so the
  stub is not loaded (it would blank the stored customer) and the record is resolved as deleted at
  the source (`quarantine_resolutions.how = 'deleted'`), with a line in the run's report and log.

Why by id rather than holding the incremental cursor back at the oldest quarantined record: a held
cursor re-reads everything changed since that record on every run (one bad record in January makes
every run re-read the year), it stops no other record from loading anyway, and Stripe's objects and
Zendesk's ticket export have no cursor that could be held (events and an opaque export cursor).
By id costs one request per record (per 200 for Salesforce), only while something is quarantined.

A record quarantined *without* its key cannot be asked for by id: the table is read again from the
earliest such record instead (a merge: nothing is duplicated), and the keyless records quarantined
before that run count as resolved by it. Where the quarantined records all carry the table's cursor
and the source's incremental state holds that same value (Salesforce's `SystemModstamp`), the
cursor is moved back to the earliest of them, so only what changed since is read again; otherwise
(a record without its cursor too, Zendesk's opaque export cursor, Stripe's events) the table's
incremental state is reset and the table read in full.

File exports (`mode = "files"`) have no by-id call: a fixed file (new size or time) is read again
and its records resolve the quarantine the same way.

`python -m dlt_pipelines quarantine list|discard` shows and discards open records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dlt
import duckdb
import pandas as pd

from core.clock import utc_now
from core.warehouse import columns, ensure_tables, insert_rows, table_exists
from dlt_pipelines import contracts, settings
from dlt_pipelines.contracts import QUARANTINE_TABLE, TableSpec

log = logging.getLogger("copilot.ingest")

RESOLUTIONS = "raw_quality.quarantine_resolutions"
RESOLUTIONS_DDL = f"""CREATE TABLE IF NOT EXISTS {RESOLUTIONS} (
    resolved_at TIMESTAMPTZ NOT NULL, source VARCHAR NOT NULL, source_table VARCHAR NOT NULL,
    record_key VARCHAR, through_load_id VARCHAR NOT NULL, how VARCHAR NOT NULL, note VARCHAR)"""
SOQL_IDS_PER_QUERY = 200
# Resources whose incremental state feeds a table, when not the table's own resource.
STATE_RESOURCES: dict[tuple[str, str], str] = {
    ("zendesk", "tickets"): "ticket_export",
    ("zendesk", "ticket_metrics"): "ticket_export",
}


# Sources whose incremental state is the cursor field's value as the records carry it.
REWINDABLE = ("salesforce",)


@dataclass(frozen=True)
class OpenRecord:
    table: str
    key: str | None
    reason: str
    quarantined_at: datetime
    load_id: str
    cursor_value: Any = None  # the table's cursor field in the record as received, if it had one


def _specs(source: str) -> dict[str, TableSpec]:
    from dlt_pipelines.runner import TABLE_SPECS

    return {s.table: s for s in TABLE_SPECS.get(source, {}).values()}


def open_records(con: duckdb.DuckDBPyConnection, source: str, table: str | None = None) -> list[OpenRecord]:
    """The source's quarantined records that are neither loaded since nor discarded, oldest first."""
    from dlt_pipelines.quality import identifier

    dataset = settings.DATASETS[source]
    quarantine = f"{dataset}.{QUARANTINE_TABLE}"
    if source == "product_events" or not table_exists(con, quarantine):
        return []
    resolutions = table_exists(con, RESOLUTIONS)
    # dlt creates no column for a value that was always null: a quarantine holding keyless records
    # only has no record_key column.
    no_key = "" if "record_key" in columns(con, quarantine) else ", CAST(NULL AS VARCHAR) AS record_key"
    out: list[OpenRecord] = []
    for name, spec in _specs(source).items():
        if table is not None and name != table:
            continue
        raw = f'"{dataset}"."{name}"'
        conditions = []
        if "_dlt_load_id" in columns(con, f"{dataset}.{name}"):
            conditions.append(
                f"""(q.record_key IS NULL OR NOT EXISTS (SELECT 1 FROM {raw} r
                    WHERE CAST(r."{identifier(spec.primary_key)}" AS VARCHAR) = q.record_key
                    AND CAST(r._dlt_load_id AS DOUBLE) >= CAST(q.load_id AS DOUBLE)))"""
            )
        params: list[Any] = [name, f'$."{spec.cursor}"' if spec.cursor else "$.__no_cursor__"]
        if resolutions:
            conditions.append(
                f"""NOT EXISTS (SELECT 1 FROM {RESOLUTIONS} d WHERE d.source = ? AND d.source_table = ?
                    AND d.record_key IS NOT DISTINCT FROM q.record_key
                    AND CAST(d.through_load_id AS DOUBLE) >= CAST(q.load_id AS DOUBLE))"""
            )
            params += [source, name]
        rows = con.execute(
            f"""WITH k AS (SELECT *{no_key} FROM {quarantine} WHERE source_table = ?), q AS (
                    SELECT record_key, reason, quarantined_at, _dlt_load_id AS load_id,
                           CASE WHEN record_key IS NULL THEN json_extract_string(record, ?) END AS cursor_value,
                           row_number() OVER (PARTITION BY coalesce(record_key, _dlt_id)
                                              ORDER BY CAST(_dlt_load_id AS DOUBLE) DESC, quarantined_at DESC) AS rn
                    FROM k)
                SELECT record_key, reason, quarantined_at, load_id, cursor_value FROM q
                WHERE rn = 1 {"".join(f" AND {c}" for c in conditions)}
                ORDER BY quarantined_at, record_key""",
            params,
        ).fetchall()
        out += [OpenRecord(name, *row) for row in rows]
    return out


def open_counts(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in open_records(con, source):
        counts[record.table] = counts.get(record.table, 0) + 1
    return counts


def _resolve(
    con: duckdb.DuckDBPyConnection, source: str, records: Sequence[OpenRecord], how: str, note: str | None
) -> int:
    ensure_tables(con, [RESOLUTIONS_DDL])
    now = pd.Timestamp(utc_now(), tz="UTC")
    insert_rows(con, RESOLUTIONS, [(now, source, r.table, r.key, r.load_id, how, note) for r in records])
    return len(records)


def discard(
    con: duckdb.DuckDBPyConnection,
    source: str,
    table: str,
    keys: Sequence[str] = (),
    keyless: bool = False,
    everything: bool = False,
    note: str | None = None,
) -> int:
    """Discard open records of `table`: the given keys, the keyless ones, or all of them. Returns
    how many were discarded; they are no longer fetched again nor counted as quarantined."""
    if table not in _specs(source):
        raise ValueError(f"{source} has no table {table!r}; tables: {', '.join(sorted(_specs(source)))}")
    wanted = set(keys)
    chosen = [
        r
        for r in open_records(con, source, table)
        if everything or (r.key is None and keyless) or (r.key is not None and r.key in wanted)
    ]
    unknown = wanted - {r.key for r in chosen}
    if unknown:
        raise ValueError(f"not open in quarantine of {source}.{table}: {', '.join(sorted(unknown))}")
    return _resolve(con, source, chosen, "discarded", note)


# --- fetching open records again ------------------------------------------------------------------


@dataclass
class Plan:
    """What a run re-fetches for one source."""

    source: str
    keys: dict[str, list[str]] = field(default_factory=dict)  # table -> keys fetched by id
    keyless: dict[str, list[OpenRecord]] = field(default_factory=dict)  # table -> read again
    rewound: dict[str, Any] = field(default_factory=dict)  # table -> cursor it was read again from
    not_found: dict[str, int] = field(default_factory=dict)  # table -> keys the source did not return
    deleted: dict[str, list[str]] = field(default_factory=dict)  # table -> keys the source deleted since
    before: dict[str, set[str | None]] = field(default_factory=dict)  # table -> open keys before the run
    drifted: list[str] = field(default_factory=list)  # tables read in full after a field went missing


def plan(con: duckdb.DuckDBPyConnection, source: str, mode: str) -> Plan:
    out = Plan(source)
    for record in open_records(con, source):
        out.before.setdefault(record.table, set()).add(record.key)
        if record.key is None:
            out.keyless.setdefault(record.table, []).append(record)
        elif mode == "api":
            out.keys.setdefault(record.table, []).append(record.key)
    return out


def rewind_for_reread(pipeline: dlt.Pipeline, source: str, todo: Plan) -> list[str]:
    """Move each table's incremental cursor back to its earliest keyless quarantined record, where
    the source allows it; returns the tables that must be read in full instead."""
    specs = _specs(source)
    full: list[str] = []
    with pipeline.managed_state(extract_state=True) as state:
        resources = state.get("sources", {}).get(source, {}).get("resources", {})
        for table, records in todo.keyless.items():
            spec = specs[table]
            values = [r.cursor_value for r in records]
            cursor = resources.get(table, {}).get("incremental", {}).get(spec.cursor or "", {})
            last = cursor.get("last_value")
            usable = source in REWINDABLE and spec.cursor and all(isinstance(v, str) and v for v in values)
            if not usable or not isinstance(last, str) or table in todo.drifted:
                full.append(table)
                continue
            earliest = min(values)
            todo.rewound[table] = min(earliest, last)
            if earliest < last:
                cursor["last_value"] = earliest
                cursor["unique_hashes"] = []
    return full


def reset_for_reread(pipeline: dlt.Pipeline, source: str, tables: Sequence[str]) -> None:
    """Forget the incremental state of the resources that feed `tables`: the next extraction reads
    them in full."""
    names = {STATE_RESOURCES.get((source, t), t) for t in tables}
    with pipeline.managed_state(extract_state=True) as state:
        resources = state.get("sources", {}).get(source, {}).get("resources", {})
        for name in names:
            resources.pop(name, None)


def is_deletion(record: Any) -> bool:
    """Stripe's answer for a deleted object fetched by id: its id, object and `deleted: true` only."""
    return isinstance(record, dict) and record.get("deleted") is True and set(record) <= {"id", "object", "deleted"}


def mark_deleted(con: duckdb.DuckDBPyConnection, source: str, todo: Plan) -> int:
    """Open records the source answered as deleted are resolved: there is nothing left to fetch."""
    done = 0
    for table, keys in todo.deleted.items():
        wanted = set(keys)
        records = [r for r in open_records(con, source, table) if r.key in wanted]
        done += _resolve(con, source, records, "deleted", "deleted at the source")
        log.warning(
            "%s.%s: %d quarantined record(s) deleted at the source since, no longer fetched: %s",
            source, table, len(records), ", ".join(sorted(wanted)),
        )  # fmt: skip
    return done


def mark_reread(con: duckdb.DuckDBPyConnection, source: str, records: Mapping[str, Sequence[OpenRecord]]) -> None:
    """Keyless records quarantined before a full re-read of their table are resolved by it."""
    _resolve(con, source, [r for rs in records.values() for r in rs], "reread", "table read again in full")


Fetch = Callable[[TableSpec, list[str]], Iterator[list[Any]]]


def _soql_text(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def _salesforce(cfg: settings.SourceSettings) -> Fetch:
    from dlt_pipelines import http
    from dlt_pipelines.salesforce import source as sf

    auth = sf.make_auth(cfg)
    endpoint = "queryAll" if cfg.get("include_deleted", bool, True) else "query"

    def fetch(spec: TableSpec, keys: list[str]) -> Iterator[list[Any]]:
        session = http.session()
        fields = spec.fields
        if cfg.get("describe_fields", bool, True):
            fields = sf.describe_fields(cfg, auth, [spec.name])[spec.name].fields
        for i in range(0, len(keys), SOQL_IDS_PER_QUERY):
            ids = ", ".join(_soql_text(k) for k in keys[i : i + SOQL_IDS_PER_QUERY])
            url: str | None = f"{sf.api_base(cfg)}{endpoint}"
            params: dict[str, str] | None = {"q": f"SELECT {', '.join(fields)} FROM {spec.name} WHERE Id IN ({ids})"}
            while url:
                resp = session.get(url, params=params, auth=auth)
                resp.raise_for_status()
                body = resp.json()
                yield body.get("records") or []
                nxt = body.get("nextRecordsUrl")
                url, params = (f"{cfg.get('login_url', str).rstrip('/')}{nxt}", None) if nxt else (None, None)

    return fetch


def _stripe(cfg: settings.SourceSettings) -> Fetch:
    from dlt_pipelines.stripe import source as st

    client = st._client(cfg, True)

    def fetch(spec: TableSpec, keys: list[str]) -> Iterator[list[Any]]:
        for key in keys:
            resp = client.session.get(f"{client.base_url}{spec.name}/{key}", auth=client.auth)
            if resp.status_code == 404:
                continue
            resp.raise_for_status()
            yield [resp.json()]

    return fetch


def _zendesk(cfg: settings.SourceSettings) -> Fetch:
    from dlt.sources.helpers.rest_client.auth import HttpBasicAuth

    from core.auth import zendesk_basic_auth
    from dlt_pipelines import http

    auth = HttpBasicAuth(*zendesk_basic_auth(cfg.get("email", str), cfg.secret("api_token") or ""))
    base = f"{cfg.url('base_url', True)}/api/v2/"

    def fetch(spec: TableSpec, keys: list[str]) -> Iterator[list[Any]]:
        session = http.session()
        for key in keys:
            resp = session.get(f"{base}{spec.name}/{key}.json", auth=auth)
            if resp.status_code == 404:
                continue
            resp.raise_for_status()
            yield [resp.json()[spec.name[:-1]]]  # {"ticket": {...}} for tickets/<id>.json

    return fetch


FETCHERS: dict[str, Callable[[settings.SourceSettings], Fetch]] = {
    "salesforce": _salesforce,
    "zendesk": _zendesk,
    "stripe": _stripe,
}


def resources(cfg: settings.SourceSettings, todo: Plan) -> list[Any]:
    """One resource per table with open keys: fetches them by id into the table (merge, contract
    checked), and counts the keys the source no longer returns."""
    if not todo.keys or cfg.name not in FETCHERS:
        return []
    fetch = FETCHERS[cfg.name](cfg)
    specs = _specs(cfg.name)
    out = []
    for table, keys in todo.keys.items():
        hints = {**specs[table].resource_hints(), "name": f"recover_{table}", "table_name": table}
        out.append(contracts.attach(dlt.resource(_records(fetch, specs[table], keys, todo), **hints), specs[table]))
    return out


def _records(fetch: Fetch, spec: TableSpec, keys: list[str], todo: Plan) -> Iterator[list[Any]]:
    found: set[str] = set()
    for page in fetch(spec, keys):
        found |= {str(r.get(spec.primary_key)) for r in page if isinstance(r, dict)}
        gone = [r for r in page if is_deletion(r)]
        if gone:
            todo.deleted.setdefault(spec.table, []).extend(str(r.get(spec.primary_key)) for r in gone)
            page = [r for r in page if not is_deletion(r)]
        if page:
            yield page
    todo.not_found[spec.table] = len(set(keys) - found)
