"""Faults switched on per system and endpoint: rate limits, 5xx, slow answers, broken records,
schema drift and per-record write errors.

Active faults live in the world's SQLite file (table `_faults`) rather than in the server's memory,
so the server, the admin API and any CLI see one set, and a fault counts its matches atomically
even when two requests race. Randomness is seeded from (seed, the fault's content, match number), so
a given fault list fires on the same requests in every run, whatever faults came and went before.
"""

from __future__ import annotations

import fnmatch
import hashlib
import random
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import yaml

from sandbox.emulators.routing import FaultHit, write_lock
from sandbox.schema import BOOLEAN, DATETIME, NUMERIC_TYPES, UNIX, ObjectSchema
from sandbox.store import Store, StoreError

KINDS = ("rate_limit", "server_error", "slow", "malformed", "schema_drift", "write_error", "session_expired")
# Kinds that answer instead of the handler; the others change what the handler returns.
RESPONSE_KINDS = ("rate_limit", "server_error", "session_expired")
RECORD_KINDS = ("malformed", "schema_drift", "write_error")
SYSTEMS = ("salesforce", "zendesk", "stripe", "slack", "teams", "hubspot", "*")
DRIFT_CHANGES = ("added", "removed", "renamed", "type_changed")
BREAKAGES = ("missing_id", "bad_timestamp", "bad_number")

_KEYS = {
    "system",
    "endpoint",
    "object",
    "method",
    "kind",
    "rate",
    "count",
    "skip",
    "seed",
    "status",
    "retry_after",
    "delay_ms",
    "phase",
    "fraction",
    "breakage",
    "change",
    "field",
    "new_name",
    "status_code",
    "message",
}

_DEFAULTS: dict[str, dict[str, Any]] = {
    "rate_limit": {"status": 429, "retry_after": 1},
    "server_error": {"status": 500, "retry_after": 1},
    "slow": {"delay_ms": 1000, "phase": "before"},
    "malformed": {"fraction": 0.1},
    "schema_drift": {"change": "added"},
    "session_expired": {"status": 401, "retry_after": 0},
    "write_error": {
        "fraction": 0.2,
        "status_code": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "message": "Sandbox validation rule rejected this record",
    },
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS _faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    spec TEXT NOT NULL,               -- the fault as given, with defaults filled in (JSON)
    seen INTEGER NOT NULL DEFAULT 0,  -- matching requests so far
    fired INTEGER NOT NULL DEFAULT 0  -- of which the fault fired on
)
"""


class FaultError(ValueError):
    """A fault specification that cannot be used, phrased for the person who wrote it."""


def ensure_table(conn: sqlite3.Connection) -> None:
    conn.execute(_SCHEMA)
    conn.commit()


def validate(raw: Any) -> dict[str, Any]:
    """Check one fault and fill in its defaults; raise FaultError saying what is wrong."""
    if not isinstance(raw, dict):
        raise FaultError(f"a fault must be a mapping, got {raw!r}")
    unknown = set(raw) - _KEYS
    if unknown:
        raise FaultError(f"unknown fault key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise FaultError(f"fault kind must be one of {', '.join(KINDS)}, got {kind!r}")
    system = raw.get("system")
    if system not in SYSTEMS:
        raise FaultError(f"fault system must be one of {', '.join(SYSTEMS)}, got {system!r}")
    if kind == "session_expired" and system != "salesforce":
        raise FaultError("session_expired faults apply to Salesforce sessions only (system: salesforce)")
    if kind == "write_error" and system not in ("salesforce", "*"):
        raise FaultError("write_error faults apply to Salesforce writes only (system: salesforce)")
    if kind in ("malformed", "schema_drift") and system == "hubspot":
        raise FaultError(f"{kind} faults are not emulated for HubSpot yet (its records are not served from one table)")
    spec = {"endpoint": "*", "object": None, "method": None, "rate": None, "count": None, "skip": 0, "seed": 0}
    spec |= _DEFAULTS[kind]
    spec |= raw
    endpoints = spec["endpoint"] if isinstance(spec["endpoint"], list) else [spec["endpoint"]]
    if not endpoints or not all(isinstance(e, str) and e for e in endpoints):
        raise FaultError("endpoint must be a name, a path pattern or a list of them")
    spec["endpoint"] = endpoints
    if spec["rate"] is not None and not (isinstance(spec["rate"], int | float) and 0 <= spec["rate"] <= 1):
        raise FaultError(f"rate must be a probability between 0 and 1, got {spec['rate']!r}")
    for name in ("count", "skip", "seed", "retry_after", "delay_ms", "status"):
        value = spec.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise FaultError(f"{name} must be a whole number >= 0, got {value!r}")
    if spec["count"] == 0:
        raise FaultError("count must be at least 1 (leave it out for a fault that never runs out)")
    if kind == "server_error" and spec["status"] not in (500, 502, 503, 504):
        raise FaultError(f"server_error status must be 500, 502, 503 or 504, got {spec['status']!r}")
    if kind == "rate_limit" and spec["status"] not in (429, 403, 503):
        raise FaultError(f"rate_limit status must be 429 (403 is Salesforce's daily limit), got {spec['status']!r}")
    if "fraction" in spec and not (isinstance(spec["fraction"], int | float) and 0 < spec["fraction"] <= 1):
        raise FaultError(f"fraction must be above 0 and at most 1, got {spec['fraction']!r}")
    if kind == "slow" and spec["phase"] not in ("before", "after"):
        raise FaultError(f"slow phase must be before (the handler runs after the wait) or after, got {spec['phase']!r}")
    if kind == "schema_drift" and spec["change"] not in DRIFT_CHANGES:
        raise FaultError(f"schema_drift change must be one of {', '.join(DRIFT_CHANGES)}, got {spec['change']!r}")
    if kind == "malformed" and spec.get("breakage") not in (None, *BREAKAGES):
        raise FaultError(f"malformed breakage must be one of {', '.join(BREAKAGES)}, got {spec['breakage']!r}")
    return spec


def load_file(path: Path) -> list[dict[str, Any]]:
    """Faults from a YAML file: a list of faults, or a mapping with a `faults` list."""
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise StoreError(f"cannot read the faults file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise StoreError(f"the faults file {path} is not valid YAML: {exc}") from None
    items = doc.get("faults") if isinstance(doc, dict) else doc
    if items is None:
        return []
    if not isinstance(items, list):
        raise StoreError(f"the faults file {path} must hold a list of faults (or `faults: [...]`)")
    try:
        return [validate(item) for item in items]
    except FaultError as exc:
        raise StoreError(f"the faults file {path}: {exc}") from None


def add(store: Store, specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    checked = [validate(s) for s in specs]
    with write_lock:
        ids = [
            store.conn.execute("INSERT INTO _faults (spec) VALUES (?)", (orjson.dumps(s).decode(),)).lastrowid
            for s in checked
        ]
        store.conn.commit()
    return [f for f in listing(store) if f["id"] in ids]


def clear(store: Store, fault_id: int | None = None) -> int:
    with write_lock:
        if fault_id is None:
            n = store.conn.execute("DELETE FROM _faults").rowcount
        else:
            n = store.conn.execute("DELETE FROM _faults WHERE id = ?", (fault_id,)).rowcount
        store.conn.commit()
    return n


def listing(store: Store) -> list[dict[str, Any]]:
    out = []
    for fid, spec, seen, fired in store.conn.execute("SELECT id, spec, seen, fired FROM _faults ORDER BY id"):
        s = orjson.loads(spec)
        active = s["count"] is None or fired < s["count"]
        out.append({"id": fid, **s, "seen": seen, "fired": fired, "active": active})
    return out


def _matches(spec: dict[str, Any], system: str, endpoint: str, path: str, method: str, obj: str | None) -> bool:
    if spec["system"] not in ("*", system):
        return False
    if spec["method"] and spec["method"].upper() != method:
        return False
    if spec["object"] and (obj is None or spec["object"].lower() != obj.lower()):
        return False
    return any(fnmatch.fnmatchcase(endpoint, p) or fnmatch.fnmatchcase(path, p) for p in spec["endpoint"])


def _seed_key(spec: dict[str, Any]) -> str:
    return f"{spec['seed']}:" + hashlib.sha1(orjson.dumps(spec, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]


def fire(store: Store, system: str, endpoint: str, path: str, method: str, obj: str | None) -> list[FaultHit]:
    """The faults that fire for this request; counts the match on every fault that matched."""
    conn = store.conn
    rows = conn.execute("SELECT id, spec FROM _faults").fetchall()
    if not rows:
        return []
    specs = {fid: orjson.loads(spec) for fid, spec in rows}
    candidates = [fid for fid, s in specs.items() if _matches(s, system, endpoint, path, method, obj)]
    if not candidates:
        return []
    fired: list[FaultHit] = []
    with write_lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            marks = ", ".join("?" for _ in candidates)
            for fid, seen, n_fired in conn.execute(
                f"SELECT id, seen, fired FROM _faults WHERE id IN ({marks}) ORDER BY id", candidates
            ).fetchall():
                spec = specs[fid]
                if spec["count"] is not None and n_fired >= spec["count"]:
                    continue
                seen += 1
                key = _seed_key(spec)
                fires = seen > spec["skip"] and (
                    spec["rate"] is None or random.Random(f"{key}:{seen}").random() < spec["rate"]
                )
                if fires:
                    n_fired += 1
                    fired.append(FaultHit(spec["kind"], spec, f"{key}:fired:{n_fired}"))
                conn.execute("UPDATE _faults SET seen = ?, fired = ? WHERE id = ?", (seen, n_fired, fid))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    return fired


# --- record-level faults -----------------------------------------------------------------------


def pick(seed: str, n: int, fraction: float) -> set[int]:
    """Indexes of the records a fault breaks: each with probability `fraction`, at least one."""
    if n == 0:
        return set()
    rng = random.Random(seed)
    chosen = {i for i in range(n) if rng.random() < fraction}
    return chosen or {rng.randrange(n)}


def _timestamp_field(obj: ObjectSchema, record: dict[str, Any]) -> str | None:
    if obj.modified_field and obj.modified_field in record:
        return obj.modified_field
    return next((f.name for f in obj.fields if f.type in (DATETIME, UNIX) and f.name in record), None)


def _number_field(obj: ObjectSchema, record: dict[str, Any]) -> str | None:
    return next(
        (
            f.name
            for f in obj.fields
            if f.type in NUMERIC_TYPES and f.type != UNIX and f.name != obj.key and f.name in record
        ),
        None,
    )


def break_records(records: list[dict[str, Any]], obj: ObjectSchema, params: dict[str, Any], seed: str) -> None:
    """Break some records in place, as a buggy integration upstream would: the id missing, a timestamp
    that does not parse, a number that is letters. Kinds rotate unless `breakage` names one."""
    for turn, i in enumerate(sorted(pick(seed, len(records), params["fraction"]))):
        rec = records[i]
        options = []
        if obj.key in rec:
            options.append("missing_id")
        ts_field = _timestamp_field(obj, rec)
        if ts_field:
            options.append("bad_timestamp")
        num_field = _number_field(obj, rec)
        if num_field:
            options.append("bad_number")
        wanted = params.get("breakage")
        if wanted:
            options = [wanted] if wanted in options else []
        if not options:
            continue
        how = options[turn % len(options)]
        if how == "missing_id":
            del rec[obj.key]
        elif how == "bad_timestamp":
            rec[ts_field] = "not-a-timestamp"
        else:
            rec[num_field] = "twelve"


def _drift_field(obj: ObjectSchema, record: dict[str, Any], prefer_numeric: bool) -> str | None:
    skip = {obj.key, obj.modified_field, "attributes"}
    present = [f for f in obj.fields if f.name in record and f.name not in skip]
    if prefer_numeric:
        numeric = [f for f in present if f.type in NUMERIC_TYPES or f.type == BOOLEAN]
        present = numeric or present
    return present[0].name if present else None


def drift_records(records: list[dict[str, Any]], obj: ObjectSchema, params: dict[str, Any]) -> None:
    """Change the shape of every record in place, as an upstream schema change would."""
    change = params["change"]
    if not records:
        return
    if change == "added":
        name = params.get("field") or ("Drift_Field__c" if obj.system == "salesforce" else "drift_field")
        for rec in records:
            rec[name] = "added by schema drift"
        return
    name = params.get("field") or _drift_field(obj, records[0], prefer_numeric=change == "type_changed")
    if name is None:
        return
    new_name = params.get("new_name") or f"{name}_v2"
    for rec in records:
        if name not in rec:
            continue
        if change == "removed":
            del rec[name]
        elif change == "renamed":
            rec[new_name] = rec.pop(name)
        else:
            value = rec[name]
            if isinstance(value, bool):
                rec[name] = str(value).lower()
            elif isinstance(value, int | float):
                rec[name] = str(value)
            elif value is not None:
                rec[name] = [value]


def apply_to_records(hits: list[FaultHit], records: list[dict[str, Any]], obj: ObjectSchema) -> None:
    """Apply the malformed and schema_drift faults that fired for a request to its records."""
    for hit in hits:
        if hit.kind == "malformed":
            break_records(records, obj, hit.params, hit.seed)
        elif hit.kind == "schema_drift":
            drift_records(records, obj, hit.params)
