"""The fields the Salesforce emulator serves: every documented standard field of each object.

The world stores only the fields it simulates (sandbox/schema.py). A real org's Account, Contact,
Opportunity, Task and User carry many more standard fields (addresses, phones, system references,
forecast fields, ...); their documented names, types and properties are data in
`api_facts/salesforce.json`, with where they come from. The served schema of an object is the
world's fields followed by the documented ones the world does not store. A field the world does
not store is served as Salesforce would fill it for records like the world's: derived from stored
fields where Salesforce derives it (an Opportunity's Probability from its stage, a Task's IsClosed
from its status, a compound address from its parts, CreatedById as the integration user), false
for a checkbox, else null. A client that writes such a field gets it stored: its column is added
to the object's table on the first write.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from sandbox.emulators.credentials import SALESFORCE
from sandbox.schema import BOOLEAN, SALESFORCE_OBJECTS, SF_ACCOUNT, Field, ObjectSchema
from sandbox.store import Store

FACTS_FILE = Path(__file__).with_name("api_facts") / "salesforce.json"

ADDRESS = "address"
PHONE = "phone"
COMBOBOX = "combobox"
TEXT_TYPES = {PHONE, COMBOBOX}

# Address components, and the column each comes from given the compound field's prefix.
_ADDRESS_PARTS = {
    "street": "Street",
    "city": "City",
    "state": "State",
    "postalCode": "PostalCode",
    "country": "Country",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "geocodeAccuracy": "GeocodeAccuracy",
}

# Probability and forecast category of the world's opportunity stages, as Salesforce's default
# sales process sets them (Setup > Opportunity Stages).
_STAGES = {
    "Prospecting": (10, "Pipeline", "Pipeline"),
    "Qualification": (20, "Pipeline", "Pipeline"),
    "Proposal": (75, "Pipeline", "Pipeline"),
    "Negotiation": (90, "BestCase", "Best Case"),
    "Closed Won": (100, "Closed", "Closed"),
    "Closed Lost": (0, "Omitted", "Omitted"),
}
# The org's standard profile for the world's users (a fixed id, as every org has one).
STANDARD_PROFILE_ID = "00e000000000001AAA"


def _case(column: str, values: dict[str, Any]) -> str:
    whens = " ".join(f"WHEN '{k}' THEN " + (f"'{v}'" if isinstance(v, str) else str(v)) for k, v in values.items())
    return f"CASE {column} {whens} END"


_PROBABILITY = _case('t."StageName"', {k: v[0] for k, v in _STAGES.items()})
_QUARTER = '((CAST(substr(t."CloseDate", 6, 2) AS INTEGER) + 2) / 3)'
_USER = SALESFORCE["user_id"]

# SQL (over the world's stored columns, table alias `t`) for documented fields the world does not
# store but Salesforce fills in.
DERIVED: dict[str, dict[str, str]] = {
    "*": {"CreatedById": f"'{_USER}'", "LastModifiedById": f"'{_USER}'"},
    "Account": {"PhotoUrl": "'/services/images/photo/' || t.\"Id\""},
    "Contact": {
        "PhotoUrl": "'/services/images/photo/' || t.\"Id\"",
        # The world's contacts have no owner of their own: served as their account's owner (the usual
        # assignment rule), else the integration user.
        "OwnerId": f'COALESCE((SELECT a."OwnerId" FROM "{SF_ACCOUNT.table}" AS a WHERE a."Id" = t."AccountId"), '
        f"'{_USER}')",
    },
    "Opportunity": {
        "Probability": _PROBABILITY,
        "ExpectedRevenue": f'(t."Amount" * ({_PROBABILITY}) / 100.0)',
        "ForecastCategory": _case('t."StageName"', {k: v[1] for k, v in _STAGES.items()}),
        "ForecastCategoryName": _case('t."StageName"', {k: v[2] for k, v in _STAGES.items()}),
        "FiscalYear": 'CAST(substr(t."CloseDate", 1, 4) AS INTEGER)',
        "FiscalQuarter": _QUARTER,
        "Fiscal": f"substr(t.\"CloseDate\", 1, 4) || ' ' || {_QUARTER}",
        "PushCount": "0",
    },
    "Task": {
        "IsClosed": "t.\"Status\" = 'Completed'",
        "IsHighPriority": "t.\"Priority\" = 'High'",
        "AccountId": 'CASE WHEN substr(t."WhatId", 1, 3) = \'001\' THEN t."WhatId" END',
        "CompletedDateTime": 'CASE WHEN t."Status" = \'Completed\' THEN t."LastModifiedDate" END',
        "TaskSubtype": "'Task'",
        "WhatCount": 'CASE WHEN t."WhatId" IS NULL THEN 0 ELSE 1 END',
        "WhoCount": "0",
    },
    "User": {
        "Alias": 'lower(substr(COALESCE(t."FirstName", \'\'), 1, 1) || substr(t."LastName", 1, 4))',
        "CommunityNickname": 'substr(t."Username", 1, instr(t."Username", \'@\') - 1)',
        "TimeZoneSidKey": "'America/Los_Angeles'",
        "LocaleSidKey": "'en_US'",
        "LanguageLocaleKey": "'en_US'",
        "EmailEncodingKey": "'UTF-8'",
        "UserType": "'Standard'",
        "ProfileId": f"'{STANDARD_PROFILE_ID}'",
        "DigestFrequency": "'D'",
        "DefaultGroupNotificationFrequency": "'N'",
    },
}


@cache
def facts() -> dict[str, Any]:
    return orjson.loads(FACTS_FILE.read_bytes())


def documented(obj_name: str) -> dict[str, dict[str, Any]]:
    """The documented fields of an object by name, in the reference's order."""
    return facts()["objects"].get(obj_name, {}).get("fields", {})


def field_facts(obj: ObjectSchema, name: str) -> dict[str, Any] | None:
    return documented(obj.name).get(name)


def _served(world: ObjectSchema) -> ObjectSchema:
    docs = documented(world.name)
    fields: list[Field] = []
    for f in world.fields:
        doc = docs.get(f.name)
        # A standard field the world stores keeps its world definition, under its documented type.
        fields.append(dataclasses.replace(f, type=doc["type"]) if doc and not f.custom else f)
    for name, doc in docs.items():
        if world.has_field(name):
            continue
        props = doc["properties"]
        fields.append(
            Field(
                name,
                doc["type"],
                doc["label"],
                reference_to=(doc.get("referenceTo") or [None])[0],
                picklist=tuple(doc.get("picklistValues", ())),
                updateable="C" in props or "U" in props,
            )
        )
    return dataclasses.replace(world, fields=tuple(fields))


SERVED: dict[str, ObjectSchema] = {name: _served(o) for name, o in SALESFORCE_OBJECTS.items()}


def served(name: str) -> ObjectSchema | None:
    """The served schema of an object, by name in any case."""
    return next((o for n, o in SERVED.items() if n.lower() == name.lower()), None)


# --- the store's columns -------------------------------------------------------------------------


def stored_columns(store: Store, obj: ObjectSchema) -> frozenset[str]:
    return frozenset(r[1] for r in store.conn.execute(f'PRAGMA table_info("{obj.table}")'))


def stored_schema(store: Store, obj: ObjectSchema, names: set[str] | None = None) -> ObjectSchema:
    """The object's fields that have a column in the store, adding columns for `names` (a client
    writing a documented field the world does not store). Call under the write lock."""
    columns = stored_columns(store, obj)
    for name in sorted((names or set()) - columns):
        store.conn.execute(f'ALTER TABLE "{obj.table}" ADD COLUMN "{name}"')
        columns = columns | {name}
    return dataclasses.replace(obj, fields=tuple(f for f in obj.fields if f.name in columns))


def _address_sql(obj: ObjectSchema, f: Field, columns: frozenset[str]) -> str:
    prefix = f.name.removesuffix("Address")
    parts = []
    for key, suffix in _ADDRESS_PARTS.items():
        column = prefix + suffix
        parts.append((key, f't."{column}"' if column in columns else "NULL"))
    if all(sql == "NULL" for _, sql in parts):
        return "NULL"
    body = ", ".join(f"'{key}', {sql}" for key, sql in parts)
    nulls = " AND ".join(f"{sql} IS NULL" for _, sql in parts if sql != "NULL")
    return f"CASE WHEN {nulls} THEN NULL ELSE json_object({body}) END"


def value_sql(obj: ObjectSchema, f: Field, columns: frozenset[str]) -> str:
    """SQL for a field's stored value: its column, or what Salesforce fills in when the world has none."""
    derived = DERIVED.get(obj.name, {}).get(f.name) or DERIVED["*"].get(f.name)
    if f.name in columns:
        # A column a client's write added holds values for the records written since, only.
        added = derived and not SALESFORCE_OBJECTS[obj.name].has_field(f.name)
        return f'COALESCE(t."{f.name}", {derived})' if added else f't."{f.name}"'
    if f.type == ADDRESS:
        return _address_sql(obj, f, columns)
    if derived:
        return derived
    return "0" if f.type == BOOLEAN else "NULL"


def source_sql(obj: ObjectSchema, names: list[str], columns: frozenset[str]) -> str:
    """The FROM source of a query filtering or sorting on `names`: the table itself, or the table
    with the missing fields as computed columns (so the compiled SOQL runs unchanged)."""
    missing = [obj.field(n) for n in names if obj.field(n).name not in columns]
    if not missing:
        return f'"{obj.table}"'
    extra = ", ".join(f'{value_sql(obj, f, columns)} AS "{f.name}"' for f in missing)
    return f'(SELECT t.rowid AS rowid, t.*, {extra} FROM "{obj.table}" AS t)'
