"""SOQL query execution: query cursors, 2,000-record pages, records in the REST API's JSON form.

A query's matching rowids are fixed when it runs (the cursor), as Salesforce fixes a query's result
set, so a loader paging through `nextRecordsUrl` neither skips nor repeats records while the world
or other clients write. Each page then reads its rows by rowid in one statement.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from sandbox.emulators import salesforce_fields
from sandbox.emulators.soql import COMPOUND_TYPES, Query
from sandbox.schema import BOOLEAN, CURRENCY, DATETIME, DOUBLE, INT, PERCENT, ObjectSchema
from sandbox.store import Store, salesforce_id

DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_CURSORS = 200  # oldest cursors are dropped beyond this, as Salesforce expires idle ones


def _column(obj: ObjectSchema, name: str, columns: frozenset[str]) -> str:
    """The SQL for one field in its API form; conversions run in SQLite, far faster than per value
    in Python. Booleans are the exception: SQLite has none, so they become bool in Python; so are
    compound addresses, built as JSON text and parsed. A documented field the world does not store
    is what Salesforce fills in (salesforce_fields)."""
    f = obj.field(name)
    col = salesforce_fields.value_sql(obj, f, columns)
    if col == "NULL":
        return col
    if f.type == DATETIME:
        # Stored 2025-01-31T14:05:09.000Z, served 2025-01-31T14:05:09.000+0000.
        return f"CASE WHEN substr({col}, -1) = 'Z' THEN substr({col}, 1, length({col}) - 1) || '+0000' ELSE {col} END"
    if f.type in (DOUBLE, CURRENCY, PERCENT):
        return f"CASE WHEN typeof({col}) = 'integer' THEN CAST({col} AS REAL) ELSE {col} END"
    if f.type == INT:
        whole = f"typeof({col}) = 'real' AND {col} = CAST({col} AS INTEGER)"
        return f"CASE WHEN {whole} THEN CAST({col} AS INTEGER) ELSE {col} END"
    if f.type == BOOLEAN:
        return f"COALESCE({col}, 0) != 0"
    return col


def _records(obj: ObjectSchema, fields: list[str], rows: list[tuple[Any, ...]], version: str) -> list[dict[str, Any]]:
    """Rows of (Id, *fields) as API records: attributes first, then the fields in SELECT order."""
    booleans = [n for n in fields if obj.field(n).type == BOOLEAN]
    compounds = [n for n in fields if obj.field(n).type in COMPOUND_TYPES]
    url = f"/services/data/v{version}/sobjects/{obj.name}/"
    otype = obj.name
    out = []
    for row in rows:
        rec: dict[str, Any] = {"attributes": {"type": otype, "url": url + row[0]}}
        rec.update(zip(fields, row[1:], strict=True))
        for name in booleans:
            rec[name] = bool(rec[name])
        for name in compounds:
            if rec[name] is not None:
                rec[name] = orjson.loads(rec[name])
        out.append(rec)
    return out


def _select(store: Store, obj: ObjectSchema, fields: list[str], tail: str, params: tuple[Any, ...]) -> list[tuple]:
    columns = salesforce_fields.stored_columns(store, obj)
    cols = ", ".join(['t."Id"', *(_column(obj, name, columns) for name in fields)])
    cursor = store.conn.cursor()
    cursor.row_factory = None  # plain tuples: sqlite3.Row costs more than the rest of a page
    return cursor.execute(f'SELECT {cols} FROM "{obj.table}" AS t {tail}', params).fetchall()


def fetch_records(
    store: Store, obj: ObjectSchema, fields: list[str], rowids: list[int], version: str
) -> list[dict[str, Any]]:
    """The records with these rowids, in this order."""
    rows = _select(
        store,
        obj,
        fields,
        "JOIN json_each(?) AS j ON t.rowid = j.value ORDER BY j.key",
        (orjson.dumps(rowids).decode(),),
    )
    return _records(obj, fields, rows, version)


def fetch_where(
    store: Store, obj: ObjectSchema, fields: list[str], where: str, params: tuple[Any, ...], version: str
) -> list[dict[str, Any]]:
    """The records matching a SQL condition over `t`, in rowid order."""
    return _records(obj, fields, _select(store, obj, fields, f"WHERE {where} ORDER BY t.rowid", params), version)


@dataclass
class Cursor:
    locator: str
    obj: ObjectSchema
    fields: list[str]
    rowids: list[int]
    version: str
    endpoint: str  # query | queryAll: nextRecordsUrl keeps the caller's resource
    batch: int


class Cursors:
    """Open query cursors of this server process, by locator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._counter = int(time.time()) % 10**6 * 1000  # distinct locators across restarts

    def open(self, query: Query, rowids: list[int], version: str, endpoint: str, batch: int) -> Cursor:
        with self._lock:
            self._counter += 1
            locator = salesforce_id("01g", self._counter)
            cursor = Cursor(locator, query.obj, query.fields, rowids, version, endpoint, batch)
            self._cursors[locator] = cursor
            while len(self._cursors) > MAX_CURSORS:
                self._cursors.popitem(last=False)
            return cursor

    def get(self, locator: str) -> Cursor | None:
        with self._lock:
            cursor = self._cursors.get(locator)
            if cursor:
                self._cursors.move_to_end(locator)
            return cursor

    def close(self, locator: str) -> None:
        with self._lock:
            self._cursors.pop(locator, None)


def batch_size(header: str | None) -> int:
    """`Sforce-Query-Options: batchSize=N` (200..2,000), else 2,000 as Salesforce does."""
    if header:
        for part in header.split(","):
            key, _, value = part.partition("=")
            if key.strip().lower() == "batchsize" and value.strip().isdigit():
                return max(MIN_BATCH, min(DEFAULT_BATCH, int(value)))
    return DEFAULT_BATCH


def run(store: Store, query: Query, include_deleted: bool) -> list[int] | int:
    """The cursor's rowids, or the count for COUNT() / COUNT(field) queries."""
    source = salesforce_fields.source_sql(query.obj, query.filtered, salesforce_fields.stored_columns(store, query.obj))
    sql, params = query.rowid_sql(include_deleted, source)
    if query.count == "rows":
        return store.conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
    if query.count == "aggregate":
        return store.conn.execute(
            f'SELECT count("{query.count_field}") FROM {source} WHERE rowid IN ({sql})', params
        ).fetchone()[0]
    return [r[0] for r in store.conn.execute(sql, params)]
