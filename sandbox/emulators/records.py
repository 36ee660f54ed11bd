"""Reading Zendesk and Stripe records for list responses, fast.

Nested values are stored as JSON text; they go out as `orjson.Fragment`s, embedded as they are,
instead of being parsed and serialised again for every record of every page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from sandbox.schema import BOOLEAN, JSON, ObjectSchema
from sandbox.store import Store


def _columns(obj: ObjectSchema) -> str:
    return ", ".join(f'"{f.name}"' for f in obj.fields)


def to_records(obj: ObjectSchema, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows of all the object's columns, in schema order, as API records."""
    kinds = [(f.name, 1 if f.type == JSON else 2 if f.type == BOOLEAN else 0) for f in obj.fields]
    out = []
    for row in rows:
        rec: dict[str, Any] = {}
        for (name, kind), value in zip(kinds, row, strict=True):
            if value is not None and kind:
                value = orjson.Fragment(value) if kind == 1 else bool(value)
            rec[name] = value
        out.append(rec)
    return out


def select(
    store: Store,
    obj: ObjectSchema,
    where: Sequence[str] = (),
    params: Sequence[Any] = (),
    order: str = "",
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    sql = f'SELECT {_columns(obj)} FROM "{obj.table}"'
    if where:
        sql += " WHERE " + " AND ".join(f"({w})" for w in where)
    if order:
        sql += f" ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return to_records(obj, store.conn.execute(sql, list(params)).fetchall())


def count(store: Store, obj: ObjectSchema, where: Sequence[str] = (), params: Sequence[Any] = ()) -> int:
    sql = f'SELECT count(*) FROM "{obj.table}"'
    if where:
        sql += " WHERE " + " AND ".join(f"({w})" for w in where)
    return store.conn.execute(sql, list(params)).fetchone()[0]
