"""Salesforce record writes, shared by the REST sObject endpoints, sObject Collections and Bulk API 2.0.

A write is planned first (field names, types, restricted picklists, required fields, references,
targets by Id or external id, injected write faults) and only then committed, so allOrNone can
reject a whole request without touching the store. Every commit is stamped with
`store.next_write_time()`, after the simulated data, so incremental loaders see client writes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sandbox.emulators import faults, salesforce_fields
from sandbox.emulators.credentials import SALESFORCE
from sandbox.emulators.routing import FaultHit, write_lock
from sandbox.schema import (
    BOOLEAN,
    DATE,
    DATETIME,
    ID,
    INT,
    NUMERIC_TYPES,
    PICKLIST,
    REFERENCE,
    SALESFORCE_OBJECTS,
    Field,
    ObjectSchema,
)
from sandbox.store import Store, sf_datetime

MAX_COLLECTION_RECORDS = 200
API_USER_ID = SALESFORCE["user_id"]  # the integration user every client authenticates as

# Fields Salesforce requires on create (the rest are nillable or defaulted).
REQUIRED_ON_CREATE = {
    "Account": ("Name",),
    "Contact": ("LastName",),
    "Opportunity": ("Name", "StageName", "CloseDate"),
    "User": ("Username", "LastName", "Email"),
    "Task": (),
}
# Values Salesforce fills in on create when the client leaves them out.
CREATE_DEFAULTS = {"Task": {"Status": "Not Started", "Priority": "Normal"}}

_ID_SHAPE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


def is_restricted(f: Field) -> bool:
    """Custom picklists are restricted (Copilot_Health_Tier__c, Copilot_Outcome__c, Segment__c):
    Salesforce rejects values outside the list instead of storing them."""
    return f.type == PICKLIST and f.custom and bool(f.picklist)


def required_fields(obj: ObjectSchema) -> tuple[str, ...]:
    return REQUIRED_ON_CREATE.get(obj.name, ())


def error(status_code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {"statusCode": status_code, "message": message, "fields": fields or []}


@dataclass
class Planned:
    """One record of a write: what will be stored, or why it fails."""

    obj: ObjectSchema
    values: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    created: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)
    ext_value: Any = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def result(self, with_created: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id if self.ok else None, "success": self.ok, "errors": self.errors}
        if with_created:
            out["created"] = self.created and self.ok
        return out


# --- values ------------------------------------------------------------------------------------


class BadValue(ValueError):
    pass


def _datetime_value(value: str) -> str:
    v = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        v += "T00:00:00+00:00"
    v = v.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", v):
        v = v[:-2] + ":" + v[-2:]
    ts = datetime.fromisoformat(v)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return sf_datetime(ts)


def coerce(f: Field, value: Any, from_csv: bool) -> Any:
    """The stored form of a value sent for field `f`; raise BadValue when Salesforce would reject it."""
    if value is None or (isinstance(value, str) and value == ""):
        return False if f.type == BOOLEAN else None
    t = f.type
    try:
        if t == BOOLEAN:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
                return value.strip().lower() in ("true", "1")
            raise BadValue
        if t in NUMERIC_TYPES:
            if isinstance(value, bool):
                raise BadValue
            number = float(value) if isinstance(value, str) else value
            if not isinstance(number, int | float) or math.isnan(number) or math.isinf(number):
                raise BadValue
            if t == INT:
                if number != int(number):
                    raise BadValue
                return int(number)
            return float(number)
        if t == DATE:
            if not isinstance(value, str):
                raise BadValue
            return date.fromisoformat(value.strip()[:10]).isoformat()
        if t == DATETIME:
            if not isinstance(value, str):
                raise BadValue
            return _datetime_value(value)
        if isinstance(value, bool | dict | list):
            raise BadValue
        text = str(value)
        if t in (ID, REFERENCE) and not _ID_SHAPE.match(text):
            raise BadValue
        return text
    except (ValueError, TypeError, OverflowError):
        raise BadValue from None


# --- planning ----------------------------------------------------------------------------------


def plan(
    store: Store,
    obj: ObjectSchema,
    records: list[dict[str, Any]],
    operation: str,
    ext_field: str | None = None,
    from_csv: bool = False,
) -> list[Planned]:
    """Check records for `operation` (insert | update | upsert) and decide each one's target."""
    plans = [_check_fields(obj, rec, operation, ext_field, from_csv) for rec in records]
    if operation == "update":
        _resolve_updates(store, obj, plans)
    elif operation == "upsert":
        _resolve_upserts(store, obj, plans, ext_field or "Id")
    else:
        for p in plans:
            p.created = True
    for p in plans:
        if p.ok and p.created:
            for name, default in CREATE_DEFAULTS.get(obj.name, {}).items():
                p.values.setdefault(name, default)
            missing = [n for n in required_fields(obj) if p.values.get(n) is None]
            if missing:
                p.errors.append(
                    error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
                )
    _check_references(store, obj, plans)
    for p in plans:
        if p.ok and p.created and obj.has_field("OwnerId") and not p.values.get("OwnerId"):
            p.values["OwnerId"] = API_USER_ID  # Salesforce: a record's owner defaults to its creator
    return plans


def _check_fields(
    obj: ObjectSchema, rec: dict[str, Any], operation: str, ext_field: str | None, from_csv: bool
) -> Planned:
    p = Planned(obj)
    read_only: list[str] = []
    for name, raw in rec.items():
        if name == "attributes":
            continue
        if not obj.has_field(name):
            p.errors.append(error("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}"))
            continue
        f = obj.field(name)
        if from_csv and raw == "":
            continue  # Bulk API: an empty cell leaves the field as it is; #N/A clears it
        if from_csv and raw == "#N/A":
            raw = None
        if f.name == obj.key:
            if operation == "insert" and raw not in (None, ""):
                p.errors.append(error("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]))
            elif raw not in (None, ""):
                p.id = str(raw)
            continue
        if ext_field and f.name.lower() == ext_field.lower():
            p.ext_value = raw
        if not f.updateable:
            read_only.append(f.name)
            continue
        try:
            value = coerce(f, raw, from_csv)
        except BadValue:
            p.errors.append(
                error(
                    "INVALID_TYPE_ON_FIELD_IN_RECORD",
                    f"{f.label or f.name}: value not of required type: {raw}",
                    [f.name],
                )
            )
            continue
        if is_restricted(f) and value is not None and value not in f.picklist:
            p.errors.append(
                error(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{f.label or f.name}: bad value for restricted picklist field: {value}",
                    [f.name],
                )
            )
            continue
        p.values[f.name] = value
    if read_only:
        p.errors.append(
            error(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(read_only)}. Please check the security settings of "
                "this field and verify that it is read/write for your profile or permission set.",
                read_only,
            )
        )
    return p


def _lookup(store: Store, obj: ObjectSchema, column: str, values: list[Any]) -> dict[Any, list[tuple[str, bool]]]:
    """Records by `column` value: [(Id, IsDeleted)], in chunks under SQLite's variable limit."""
    found: dict[Any, list[tuple[str, bool]]] = {}
    for i in range(0, len(values), 900):
        chunk = values[i : i + 900]
        rows = store.conn.execute(
            f'SELECT "{column}", "Id", COALESCE("IsDeleted", 0) FROM "{obj.table}" '
            f'WHERE "{column}" IN ({", ".join("?" for _ in chunk)})',
            chunk,
        ).fetchall()
        for value, rid, deleted in rows:
            found.setdefault(value, []).append((rid, bool(deleted)))
    return found


def _resolve_updates(store: Store, obj: ObjectSchema, plans: list[Planned]) -> None:
    ids = [p.id for p in plans if p.ok and p.id]
    existing = _lookup(store, obj, "Id", list(dict.fromkeys(ids)))
    seen: set[str] = set()
    for p in plans:
        if not p.ok:
            continue
        if not p.id:
            p.errors.append(error("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"]))
        elif p.id in seen:
            p.errors.append(error("DUPLICATE_VALUE", f"Duplicate id in list: {p.id}", ["Id"]))
        elif p.id not in existing:
            p.errors.append(error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["Id"]))
        elif existing[p.id][0][1]:
            p.errors.append(error("ENTITY_IS_DELETED", "entity is deleted", ["Id"]))
        if p.id:
            seen.add(p.id)


def _resolve_upserts(store: Store, obj: ObjectSchema, plans: list[Planned], ext_field: str) -> None:
    if ext_field.lower() == "id":
        for p in plans:
            p.created = p.ok and not p.id
        _resolve_updates(store, obj, [p for p in plans if p.ok and not p.created])
        return
    ext = obj.field(ext_field).name
    for p in plans:
        if p.ok and p.ext_value in (None, ""):
            p.errors.append(error("MISSING_ARGUMENT", f"{ext} not specified", [ext]))
        elif p.ok and p.id:
            p.errors.append(
                error("INVALID_FIELD_FOR_INSERT_UPDATE", f"Id and {ext} cannot both be given in an upsert", ["Id"])
            )
    values = [p.values[ext] for p in plans if p.ok]
    counts = Counter(values)
    existing = _lookup(store, obj, ext, list(counts))
    for p in plans:
        if not p.ok:
            continue
        value = p.values[ext]
        live = [rid for rid, deleted in existing.get(value, []) if not deleted]
        if counts[value] > 1:
            p.errors.append(error("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", [ext]))
        elif len(live) > 1:
            p.errors.append(
                error(
                    "DUPLICATE_EXTERNAL_ID",
                    f"{ext}: more than one record found for external id field: {live}",
                    [ext],
                )
            )
        elif live:
            p.id = live[0]
        else:
            p.created = True


def _check_references(store: Store, obj: ObjectSchema, plans: list[Planned]) -> None:
    for f in obj.fields:
        if f.type != REFERENCE or not f.reference_to:
            continue
        wanted = list({p.values[f.name] for p in plans if p.ok and p.values.get(f.name)})
        if not wanted:
            continue
        # A documented reference to an object the org has no records of (Campaign, Pricebook2, ...)
        # can only point at nothing.
        target = SALESFORCE_OBJECTS.get(f.reference_to)
        live = (
            {v for v, rows in _lookup(store, target, "Id", wanted).items() if any(not d for _, d in rows)}
            if target is not None
            else set()
        )
        for p in plans:
            value = p.values.get(f.name)
            if p.ok and value and value not in live:
                p.errors.append(
                    error(
                        "INVALID_CROSS_REFERENCE_KEY",
                        f"{f.label or f.name}: id value of incorrect type: {value}",
                        [f.name],
                    )
                )


def inject_write_errors(plans: list[Planned], hits: list[FaultHit]) -> None:
    """Fail some records as a validation rule or trigger in the org would."""
    for hit in hits:
        if hit.kind != "write_error":
            continue
        candidates = [p for p in plans if p.ok]
        for i in faults.pick(hit.seed, len(candidates), hit.params["fraction"]):
            candidates[i].errors.append(error(hit.params["status_code"], hit.params["message"]))


def roll_back_all(plans: list[Planned]) -> None:
    """allOrNone: one failure fails every record, the valid ones with Salesforce's rollback error."""
    if all(p.ok for p in plans):
        return
    for p in plans:
        if p.ok:
            p.errors.append(
                error(
                    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "Record rolled back because not all records were valid and the request was using AllOrNone header",
                )
            )


# --- committing --------------------------------------------------------------------------------


def _derive(obj: ObjectSchema, values: dict[str, Any]) -> None:
    if obj.name == "Opportunity" and "StageName" in values:
        values["IsClosed"] = values["StageName"] in ("Closed Won", "Closed Lost")
        values["IsWon"] = values["StageName"] == "Closed Won"


def commit(store: Store, plans: list[Planned]) -> None:
    """Store the records that passed, one stamp per request, grouped per object."""
    good = [p for p in plans if p.ok]
    if not good:
        return
    by_obj: dict[str, list[Planned]] = {}
    for p in good:
        by_obj.setdefault(p.obj.name, []).append(p)
    at = store.next_write_time()
    try:
        for group in by_obj.values():
            # Documented fields the world does not store get their column on the first write.
            written = {n for p in group for n in p.values}
            obj = salesforce_fields.stored_schema(store, group[0].obj, written)
            new = [p for p in group if p.created]
            for p, new_id in zip(new, store.new_ids(obj, len(new)), strict=True):
                p.id = new_id
            records = []
            for p in group:
                values = dict(p.values)
                _derive(obj, values)
                values[obj.key] = p.id
                records.append(values)
            store.write(obj, records, at, commit=False)
        store.conn.commit()
    except BaseException:
        store.conn.rollback()
        raise


def write(
    store: Store,
    obj: ObjectSchema,
    records: list[dict[str, Any]],
    operation: str,
    *,
    ext_field: str | None = None,
    all_or_none: bool = False,
    hits: list[FaultHit] | None = None,
    from_csv: bool = False,
) -> list[Planned]:
    """Plan, fault, apply allOrNone, commit: the whole write path for records of one object."""
    with write_lock:
        plans = plan(store, obj, records, operation, ext_field, from_csv)
        inject_write_errors(plans, hits or [])
        if all_or_none:
            roll_back_all(plans)
        commit(store, plans)
    return plans


def fail(obj: ObjectSchema, err: dict[str, Any]) -> Planned:
    return Planned(obj, errors=[err])
