"""Fields that vanish upstream: a field a record does not carry keeps its stored value.

An API that stops sending a field (renamed, removed, a permission taken away) does not mean the
value became empty. Merging such records as they are would overwrite every stored value with NULL
(`delete-insert` replaces whole rows), and the values would stay NULL after the field came back
for every record that did not change again. So, record by record, a declared field the record
does not carry at all (not one sent as `null`) is filled with the value the raw table holds for
that key before the merge. Records never loaded before have nothing to keep and load without it.

A field missing from every record of a table in one run is reported: one line per table and
field in the run report, and the `fields_present` check of the raw table fails until a run brings
the field again (the observations are kept in `raw_quality.field_presence`).

The step works while a run is open (`collecting`, set by the runner around the extraction): it
needs the warehouse connection to read stored values and somewhere to count what it saw.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb
import orjson

from core.warehouse import columns, ensure_tables, insert_rows, table_exists

PRESENCE_TABLE = "raw_quality.field_presence"
PRESENCE_DDL = f"""CREATE TABLE IF NOT EXISTS {PRESENCE_TABLE} (
    observed_at TIMESTAMPTZ NOT NULL, source VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
    records BIGINT NOT NULL, missing_fields VARCHAR NOT NULL, kept_values BIGINT NOT NULL)"""


@dataclass
class TableDrift:
    """What one run saw of one table's fields."""

    records: int = 0
    seen: set[str] = field(default_factory=set)  # declared fields at least one record carried
    declared: set[str] = field(default_factory=set)
    kept: dict[str, int] = field(default_factory=dict)  # field -> stored values kept

    @property
    def missing(self) -> list[str]:
        """Declared fields no record of the run carried (none when no record came)."""
        return sorted(self.declared - self.seen) if self.records else []


@dataclass
class Collector:
    dataset: str
    con: duckdb.DuckDBPyConnection | None
    tables: dict[str, TableDrift] = field(default_factory=dict)


_current = threading.local()


@contextlib.contextmanager
def collecting(dataset: str, con: duckdb.DuckDBPyConnection | None) -> Iterator[Collector]:
    """Keep stored values and count fields for the loads extracted in this thread meanwhile."""
    collector = Collector(dataset, con.cursor() if con is not None else None)
    previous = getattr(_current, "collector", None)
    _current.collector = collector
    try:
        yield collector
    finally:
        _current.collector = previous
        if collector.con is not None:
            collector.con.close()


def _identifier(name: str) -> str:
    from dlt_pipelines.quality import identifier

    return identifier(name)


def _stored(
    collector: Collector, table: str, key_field: str, keys: list[Any], fields: list[str]
) -> dict[str, dict[str, Any]]:
    """Stored values of `fields` (API names) for `keys`, by key (as text), JSON columns parsed."""
    con = collector.con
    name = f"{collector.dataset}.{table}"
    if con is None or not keys or not table_exists(con, name):
        return {}
    present = set(columns(con, name))
    pk = _identifier(key_field)
    wanted = {f: _identifier(f) for f in fields if _identifier(f) in present}
    if pk not in present or not wanted:
        return {}
    kinds = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            [collector.dataset, table],
        ).fetchall()
    )
    cols = ", ".join(f'"{c}"' for c in wanted.values())
    rows = con.execute(
        f'SELECT CAST("{pk}" AS VARCHAR), {cols} FROM "{collector.dataset}"."{table}" '
        f'WHERE CAST("{pk}" AS VARCHAR) IN (SELECT unnest(?::VARCHAR[]))',
        [[str(k) for k in keys]],
    ).fetchall()
    out: dict[str, dict[str, Any]] = {}
    for key, *values in rows:
        record = {}
        for (api_name, col), value in zip(wanted.items(), values, strict=True):
            if value is not None and kinds.get(col) == "JSON" and isinstance(value, str):
                value = orjson.loads(value)
            record[api_name] = value
        out[key] = record
    return out


def keep_stored(spec: Any, records: list[Any]) -> list[Any]:
    """Fill each record's missing declared fields with their stored values (see the module doc);
    counts what it saw. Outside a run (`collecting`) records pass unchanged."""
    collector: Collector | None = getattr(_current, "collector", None)
    if collector is None or not records:
        return records
    declared = [f for f in spec.fields if f not in spec.optional and f not in spec.envelope]
    seen = collector.tables.setdefault(spec.table, TableDrift())
    seen.records += len(records)
    seen.declared.update(declared)
    lacking: dict[str, list[str]] = {}  # key -> fields it lacks
    for record in records:
        present = [f for f in declared if f in record]
        seen.seen.update(present)
        if len(present) < len(declared):
            lacking[str(record[spec.primary_key])] = [f for f in declared if f not in record]
    if not lacking:
        return records
    fields = sorted({f for fs in lacking.values() for f in fs})
    stored = _stored(collector, spec.table, spec.primary_key, list(lacking), fields)
    for record in records:
        key = str(record[spec.primary_key])
        old = stored.get(key)
        if old is None:
            continue
        for name in lacking.get(key, []):
            if name in old:
                record[name] = old[name]
                seen.kept[name] = seen.kept.get(name, 0) + 1
    return records


def report_lines(collector: Collector) -> dict[str, list[str]]:
    """Per table, one line per field that no record of the run carried."""
    out: dict[str, list[str]] = {}
    for table, seen in sorted(collector.tables.items()):
        for name in seen.missing:
            kept = seen.kept.get(name, 0)
            out.setdefault(table, []).append(
                f"schema drift: field {name} missing from all {seen.records} record(s) fetched (renamed or "
                f"removed upstream?); stored values kept for {kept}, none overwritten with NULL"
            )
    return out


def store(con: duckdb.DuckDBPyConnection, source: str, collector: Collector) -> None:
    """One observation per table that received records in this run."""
    import pandas as pd

    from core.clock import utc_now

    now = pd.Timestamp(utc_now(), tz="UTC")
    rows = [
        (now, source, table, seen.records, ",".join(seen.missing), sum(seen.kept.get(f, 0) for f in seen.missing))
        for table, seen in sorted(collector.tables.items())
        if seen.records
    ]
    if rows:
        ensure_tables(con, [PRESENCE_DDL])
        insert_rows(con, PRESENCE_TABLE, rows)


def latest_missing(con: duckdb.DuckDBPyConnection, source: str, table: str) -> list[str]:
    """The fields missing from the last run that received records of `table` (empty: none, or never observed)."""
    if not table_exists(con, PRESENCE_TABLE):
        return []
    row = con.execute(
        f"SELECT missing_fields FROM {PRESENCE_TABLE} WHERE source = ? AND table_name = ? "
        "ORDER BY observed_at DESC LIMIT 1",
        [source, table],
    ).fetchone()
    return [f for f in row[0].split(",") if f] if row else []
