"""The sandbox company's systems of record: one SQLite file the generator writes and the emulators serve.

SQLite (WAL mode) lets the emulator server keep serving while `advance` writes from another process,
and keeps what API clients write (Account fields, Tasks, Slack messages) across restarts.

Writes go through `Store.write`, which stamps the modification fields the way each real system does
(Salesforce SystemModstamp, Zendesk updated_at) and records a Stripe Event for every Stripe change.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from sandbox.schema import (
    ALL_OBJECTS,
    BOOLEAN,
    DATE,
    DATETIME,
    JSON,
    UNIX,
    ObjectSchema,
)

STRIPE_API_VERSION = "2024-06-20"

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SF_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


class StoreError(Exception):
    """A problem with the sandbox data folder, phrased for the person running the command."""


# --- timestamp forms -------------------------------------------------------------------------


def sf_datetime(ts: datetime) -> str:
    ts = ts.astimezone(UTC)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def sf_date(d: date | datetime) -> str:
    return d.strftime("%Y-%m-%d")


def zd_datetime(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix(ts: datetime) -> int:
    return int(ts.timestamp())


def parse_sf_datetime(value: str) -> datetime:
    """Parse the stored or served Salesforce form (Z or +0000 offsets)."""
    v = value.replace("Z", "+00:00")
    if v.endswith("+0000"):
        v = v[:-5] + "+00:00"
    return datetime.fromisoformat(v).astimezone(UTC)


def stamp_for(obj: ObjectSchema, ts: datetime) -> Any:
    if obj.system == "salesforce":
        return sf_datetime(ts)
    if obj.system == "zendesk":
        return zd_datetime(ts)
    return unix(ts)


# --- ids --------------------------------------------------------------------------------------


def base62(n: int, width: int) -> str:
    chars = []
    while n:
        n, r = divmod(n, 62)
        chars.append(_BASE62[r])
    return "".join(reversed(chars)).rjust(width, "0")


def salesforce_id(prefix: str, n: int) -> str:
    """An 18-character Salesforce id: key prefix, pod, counter, and the case-safe checksum suffix."""
    short = prefix + "5g" + base62(n, 10)
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(short[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix += _SF_SUFFIX[bits]
    return short + suffix


# --- the store --------------------------------------------------------------------------------


LOOKUP_INDEXES = """
CREATE INDEX IF NOT EXISTS st_events_type ON st_events (type, created);
CREATE INDEX IF NOT EXISTS sf_task_alert ON sf_task ("Copilot_Alert_Id__c");
CREATE INDEX IF NOT EXISTS zd_tickets_org ON zd_tickets (organization_id);
CREATE INDEX IF NOT EXISTS zd_ticket_metrics_ticket ON zd_ticket_metrics (ticket_id);
"""


class Store:
    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn

    # Opening -------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: Path) -> Store:
        """A new, empty store at `path` (which must not exist yet)."""
        if path.exists():
            raise StoreError(f"{path} already exists; remove it or choose another data folder")
        path.parent.mkdir(parents=True, exist_ok=True)
        store = cls(path, _connect(path))
        store._create_tables()
        return store

    @classmethod
    def open(cls, path: Path) -> Store:
        if not path.exists():
            raise StoreError(f"no sandbox world at {path}: run `python -m sandbox generate` first (or pass --data-dir)")
        return cls(path, _connect(path))

    def close(self) -> None:
        self.conn.close()

    def _create_tables(self) -> None:
        c = self.conn
        for obj in ALL_OBJECTS.values():
            cols = ", ".join(f'"{f.name}"' + (" PRIMARY KEY" if f.name == obj.key else "") for f in obj.fields)
            c.execute(f'CREATE TABLE "{obj.table}" ({cols})')
            if obj.modified_field:
                c.execute(f'CREATE INDEX "{obj.table}_modified" ON "{obj.table}" ("{obj.modified_field}", "{obj.key}")')
            else:
                c.execute(f'CREATE INDEX "{obj.table}_created" ON "{obj.table}" ("created", "{obj.key}")')
        c.executescript(
            """
            CREATE TABLE _meta (key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE _sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
            CREATE TABLE slack_messages (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                via TEXT NOT NULL,            -- chat.postMessage | webhook
                channel TEXT,
                hook TEXT,
                text TEXT,
                payload TEXT NOT NULL,        -- the JSON body as received
                ts TEXT NOT NULL,
                received_at TEXT NOT NULL
            );
            CREATE TABLE sf_bulk_jobs (
                id TEXT PRIMARY KEY,
                object TEXT NOT NULL,
                operation TEXT NOT NULL,
                external_id_field TEXT,
                state TEXT NOT NULL,
                line_ending TEXT,
                column_delimiter TEXT,
                content TEXT,                 -- the uploaded CSV
                results TEXT,                 -- JSON list of per-row results once processed
                error_message TEXT,
                created_date TEXT NOT NULL,
                system_modstamp TEXT NOT NULL
            );
            """
        )
        c.commit()
        self.create_lookup_indexes()

    def create_lookup_indexes(self) -> None:
        """Indexes of the lookups the emulators make besides paging. The server makes them too when it
        starts, for a world generated before one of them was added (without, the ticket export's
        metric sets scanned every ticket's metrics for each page: most of the Zendesk load's CPU at L)."""
        with self.conn:
            self.conn.executescript(LOOKUP_INDEXES)

    # Metadata and the sandbox clock -----------------------------------------------------------

    def meta(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM _meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else orjson.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        self.conn.execute(
            "INSERT INTO _meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, orjson.dumps(value).decode()),
        )
        self.conn.commit()

    def now(self) -> datetime:
        """The sandbox clock: the end of the last simulated day. Client writes are stamped after it."""
        value = self.meta("now")
        if value is None:
            raise StoreError(f"{self.path} has no clock: the world was not fully generated; generate it again")
        return datetime.fromisoformat(value)

    def set_now(self, ts: datetime) -> None:
        self.set_meta("now", ts.astimezone(UTC).isoformat())
        self.set_meta("last_write", None)

    def next_write_time(self) -> datetime:
        """A stamp for a write made by an API client: after everything simulated so far, and strictly
        increasing, so a loader's modification cursor never skips a client's write."""
        last = self.meta("last_write")
        ts = self.now() if last is None else datetime.fromisoformat(last) + timedelta(milliseconds=1)
        self.set_meta("last_write", ts.isoformat())
        return ts

    # Ids ---------------------------------------------------------------------------------------

    def next_numbers(self, name: str, n: int, start: int = 1) -> range:
        """Reserve n consecutive numbers of the named sequence (deterministic across runs)."""
        row = self.conn.execute("SELECT value FROM _sequences WHERE name = ?", (name,)).fetchone()
        first = start if row is None else row[0] + 1
        last = first + n - 1
        self.conn.execute(
            "INSERT INTO _sequences (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, last),
        )
        return range(first, last + 1)

    def new_ids(self, obj: ObjectSchema, n: int) -> list[Any]:
        """Ids in each system's own form: Salesforce 18-char, Stripe prefixed, Zendesk integers."""
        numbers = self.next_numbers(obj.table, n)
        if obj.system == "salesforce":
            return [salesforce_id(obj.id_prefix, i) for i in numbers]
        if obj.system == "stripe":
            return [obj.id_prefix + base62(i * 7919 + 104729, 14) for i in numbers]
        return list(numbers)

    # Writing -------------------------------------------------------------------------------------

    def write(
        self,
        obj: ObjectSchema,
        records: Sequence[dict[str, Any]],
        at: datetime | Sequence[datetime],
        event_type: str | Sequence[str] | None = None,
        commit: bool = True,
        returning: bool = True,
    ) -> list[dict[str, Any]]:
        """Insert or update records (partial dicts keyed by the object's primary key) at time(s) `at`.

        Returns the full records after the write, in API form (decoded JSON, booleans as bool), or
        nothing with `returning=False` (bulk writers that do not need them skip reading them back).
        For Stripe objects an Event of `event_type` (default `<object>.created` / `.updated`) is
        recorded with the object as it is after the write.
        """
        if not records:
            return []
        ats = [at] * len(records) if isinstance(at, datetime) else list(at)
        key = obj.key
        keys = [r[key] for r in records]
        existing = self._existing_keys(obj, keys)
        inserted_keys: set[Any] = set()
        inserts: list[dict[str, Any]] = []
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for rec, ts in zip(records, ats, strict=True):
            rec = dict(rec)
            stamp = stamp_for(obj, ts)
            if obj.system == "salesforce":
                rec["LastModifiedDate"] = stamp
                rec["SystemModstamp"] = stamp
            elif obj.system == "zendesk":
                rec["updated_at"] = stamp
            if rec[key] in existing:
                updates.setdefault(tuple(sorted(rec)), []).append(rec)
            else:
                if obj.system == "salesforce":
                    rec.setdefault("CreatedDate", stamp)
                    rec.setdefault("IsDeleted", False)
                elif obj.system == "zendesk":
                    rec.setdefault("created_at", stamp)
                else:
                    rec.setdefault("created", stamp)
                    rec.setdefault("object", _stripe_object_name(obj))
                    rec.setdefault("livemode", False)
                _fill_name(obj, rec)
                inserts.append(rec)
                existing.add(rec[key])
                inserted_keys.add(rec[key])
        cols = obj.field_names
        if inserts:
            sql = (
                f'INSERT INTO "{obj.table}" ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in cols)}) '
                f"VALUES ({', '.join('?' for _ in cols)})"
            )
            self.conn.executemany(sql, [[_encode(obj, c, r.get(c)) for c in cols] for r in inserts])
        for colset, recs in updates.items():
            settable = [c for c in colset if c != key]
            if any(c in ("FirstName", "LastName") for c in settable) and obj.has_field("Name"):
                for r in recs:
                    self._refresh_name(obj, r)
                settable = [c for c in sorted(recs[0]) if c != key]
            sql = (
                f'UPDATE "{obj.table}" SET {", ".join(f"{chr(34)}{c}{chr(34)} = ?" for c in settable)} '
                f'WHERE "{key}" = ?'
            )
            self.conn.executemany(sql, [[_encode(obj, c, r.get(c)) for c in settable] + [r[key]] for r in recs])
        stripe_events = obj.system == "stripe" and obj.name != "events"
        written = self.get(obj, keys) if returning or stripe_events else []
        if stripe_events:
            types = list(event_type) if isinstance(event_type, (list, tuple)) else [event_type] * len(records)
            self._record_stripe_events(obj, records, written, ats, types, inserted_keys)
        if commit:
            self.conn.commit()
        return written if returning else []

    def soft_delete(self, obj: ObjectSchema, keys: Iterable[Any], at: datetime) -> None:
        """Delete as each system does: Salesforce keeps the row with IsDeleted (queryAll sees it),
        Zendesk marks tickets deleted, Stripe marks customers deleted."""
        keys = list(keys)
        if obj.system == "salesforce":
            self.write(obj, [{obj.key: k, "IsDeleted": True} for k in keys], at)
        elif obj.system == "zendesk":
            self.write(obj, [{obj.key: k, "status": "deleted"} for k in keys], at)
        else:
            self.write(obj, [{obj.key: k, "deleted": True} for k in keys], at, event_type="customer.deleted")

    def _record_stripe_events(self, obj, records, written, ats, types, inserted_keys) -> None:
        by_key = {w[obj.key]: w for w in written}
        events = []
        ids = self.new_ids(ALL_OBJECTS["st_events"], len(records))
        for rec, ts, etype, evt_id in zip(records, ats, types, ids, strict=True):
            full = by_key[rec[obj.key]]
            if etype is None:
                verb = "created" if rec[obj.key] in inserted_keys else "updated"
                etype = f"{_stripe_event_prefix(obj)}.{verb}"
            previous = {k: None for k in rec if k != obj.key}
            events.append(
                {
                    "id": evt_id,
                    "object": "event",
                    "type": etype,
                    "data": {"object": full, "previous_attributes": previous},
                    "api_version": STRIPE_API_VERSION,
                    "livemode": False,
                    "created": unix(ts),
                }
            )
        ev = ALL_OBJECTS["st_events"]
        cols = ev.field_names
        self.conn.executemany(
            f"INSERT INTO st_events ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [[_encode(ev, c, e.get(c)) for c in cols] for e in events],
        )

    def _existing_keys(self, obj: ObjectSchema, keys: list[Any]) -> set[Any]:
        found: set[Any] = set()
        for i in range(0, len(keys), 900):
            chunk = keys[i : i + 900]
            rows = self.conn.execute(
                f'SELECT "{obj.key}" FROM "{obj.table}" WHERE "{obj.key}" IN ({", ".join("?" for _ in chunk)})',
                chunk,
            ).fetchall()
            found.update(r[0] for r in rows)
        return found

    def _refresh_name(self, obj: ObjectSchema, rec: dict[str, Any]) -> None:
        if "FirstName" not in rec or "LastName" not in rec:
            current = self.get(obj, [rec[obj.key]])
            if current:
                rec.setdefault("FirstName", current[0].get("FirstName"))
                rec.setdefault("LastName", current[0].get("LastName"))
        _fill_name(obj, rec, force=True)

    # Reading -------------------------------------------------------------------------------------

    def get(self, obj: ObjectSchema, keys: Iterable[Any]) -> list[dict[str, Any]]:
        keys = list(keys)
        out: list[dict[str, Any]] = []
        for i in range(0, len(keys), 900):
            chunk = keys[i : i + 900]
            rows = self.conn.execute(
                f'SELECT * FROM "{obj.table}" WHERE "{obj.key}" IN ({", ".join("?" for _ in chunk)})', chunk
            ).fetchall()
            out.extend(decode_row(obj, r) for r in rows)
        return out

    def select(self, obj: ObjectSchema, where: str = "", params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of an object in API form; `where` is SQL over the API field names."""
        sql = f'SELECT * FROM "{obj.table}"' + (f" WHERE {where}" if where else "")
        return [decode_row(obj, r) for r in self.conn.execute(sql, params).fetchall()]

    def count(self, obj: ObjectSchema, where: str = "", params: Sequence[Any] = ()) -> int:
        sql = f'SELECT count(*) FROM "{obj.table}"' + (f" WHERE {where}" if where else "")
        return self.conn.execute(sql, params).fetchone()[0]


def decode_row(obj: ObjectSchema, row: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in obj.fields:
        v = row[f.name]
        if v is not None:
            if f.type == JSON:
                v = orjson.loads(v)
            elif f.type == BOOLEAN:
                v = bool(v)
        elif f.type == BOOLEAN and obj.system == "salesforce":
            v = False
        out[f.name] = v
    return out


# Field types by table and lower-cased name: `_encode` runs once per column of every written record,
# and `ObjectSchema.field` is a linear scan, which made it the bulk of a write's cost.
_FIELD_TYPES: dict[str, dict[str, str]] = {
    o.table: {f.name.lower(): f.type for f in o.fields} for o in ALL_OBJECTS.values()
}


def _encode(obj: ObjectSchema, column: str, value: Any) -> Any:
    if value is None:
        return None
    types = _FIELD_TYPES.get(obj.table)
    ftype = types[column.lower()] if types is not None and column.lower() in types else obj.field(column).type
    if ftype == JSON:
        return orjson.dumps(value).decode()
    if ftype == BOOLEAN:
        return 1 if value else 0
    if ftype == DATETIME and isinstance(value, datetime):
        return stamp_for(obj, value)
    if ftype == DATE and isinstance(value, (date, datetime)):
        return sf_date(value)
    if ftype == UNIX and isinstance(value, datetime):
        return unix(value)
    return value


def _fill_name(obj: ObjectSchema, rec: dict[str, Any], force: bool = False) -> None:
    if obj.system == "salesforce" and obj.has_field("FirstName") and (force or "Name" not in rec):
        rec["Name"] = " ".join(p for p in (rec.get("FirstName"), rec.get("LastName")) if p)


def _stripe_object_name(obj: ObjectSchema) -> str:
    return {"customers": "customer", "subscriptions": "subscription", "invoices": "invoice"}[obj.name]


def _stripe_event_prefix(obj: ObjectSchema) -> str:
    return {"customers": "customer", "subscriptions": "customer.subscription", "invoices": "invoice"}[obj.name]


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn
