"""The admin API under `/__admin/`: not part of any real service, for tests, demos and operators.

GET  /__admin/health                  the world's clock and record counts
GET  /__admin/faults                  active and spent faults with their counters
POST /__admin/faults                  add a fault, a list of faults or {"faults": [...]}
DELETE /__admin/faults[/{id}]         remove all faults or one
GET  /__admin/requests                requests per system / method / endpoint since start or reset
DELETE /__admin/requests              reset those counts
GET  /__admin/slack/messages          messages received (?channel=C..., ?via=webhook, ?after_id=N)
GET  /__admin/teams/messages          Teams cards received (?channel=CS Alerts, ?via=workflow, ?after_id=N)
GET  /__admin/salesforce/{Object}/{Id} one Salesforce record as stored (no login: to look at what a
                                      sync wrote, e.g. an Account's Copilot fields)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import orjson
from starlette.responses import Response

from sandbox.emulators import faults
from sandbox.emulators.routing import json_response
from sandbox.schema import ALL_OBJECTS, SALESFORCE_OBJECTS

if TYPE_CHECKING:
    from sandbox.emulators.app import Emulators


def _bad(message: str, status: int = 400) -> Response:
    return json_response({"error": message}, status)


def health(emulators: Emulators) -> Response:
    store = emulators.store()
    counts = {obj.table: store.count(obj) for obj in ALL_OBJECTS.values()}
    counts["slack_messages"] = store.conn.execute("SELECT count(*) FROM slack_messages").fetchone()[0]
    return json_response(
        {
            "ok": True,
            "clock": store.now().isoformat(),
            "world": str(emulators.world),
            "records": counts,
            "active_faults": sum(1 for f in faults.listing(store) if f["active"]),
        }
    )


def add_faults(emulators: Emulators, body: bytes) -> Response:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _bad(f"the body must be JSON: {exc}")
    items = doc.get("faults") if isinstance(doc, dict) and "faults" in doc else doc
    items = items if isinstance(items, list) else [items]
    try:
        added = faults.add(emulators.store(), items)
    except faults.FaultError as exc:
        return _bad(str(exc))
    return json_response({"faults": added}, 201)


def teams_messages(emulators: Emulators, query: dict[str, str]) -> Response:
    return slack_messages(emulators, query, table="teams_messages", json_columns=("payload", "card"))


def slack_messages(
    emulators: Emulators,
    query: dict[str, str],
    table: str = "slack_messages",
    json_columns: tuple[str, ...] = ("payload",),
) -> Response:
    where, params = [], []
    for key, column in (("channel", "channel"), ("via", "via")):
        if query.get(key):
            where.append(f"{column} = ?")
            params.append(query[key])
    if query.get("after_id", "").isdigit():
        where.append("id > ?")
        params.append(int(query["after_id"]))
    sql = f"SELECT * FROM {table}" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
    rows = [dict(r) for r in emulators.store().conn.execute(sql, params)]
    for row in rows:
        for column in json_columns:
            row[column] = orjson.Fragment(row[column])
    return json_response({"messages": rows})


def handle(emulators: Emulators, method: str, path: str, query: dict[str, str], body: bytes) -> Response:
    path = path.rstrip("/")
    route = (method, path)
    store = emulators.store()
    if route == ("GET", "/__admin/health"):
        return health(emulators)
    if route == ("GET", "/__admin/faults"):
        return json_response({"faults": faults.listing(store)})
    if route == ("POST", "/__admin/faults"):
        return add_faults(emulators, body)
    if route == ("DELETE", "/__admin/faults"):
        return json_response({"removed": faults.clear(store)})
    m = re.fullmatch(r"/__admin/faults/(\d+)", path)
    if m and method == "DELETE":
        removed = faults.clear(store, int(m.group(1)))
        return json_response({"removed": removed}, 200 if removed else 404)
    if route == ("GET", "/__admin/requests"):
        return json_response(emulators.requests.snapshot())
    if route == ("DELETE", "/__admin/requests"):
        emulators.requests.reset()
        return json_response({"reset": True})
    if route == ("GET", "/__admin/slack/messages"):
        return slack_messages(emulators, query)
    if route == ("GET", "/__admin/teams/messages"):
        return teams_messages(emulators, query)
    m = re.fullmatch(r"/__admin/salesforce/(\w+)/(\w+)", path)
    if m and method == "GET":
        obj = SALESFORCE_OBJECTS.get(m.group(1))
        if obj is None:
            return _bad(f"no Salesforce object {m.group(1)}; known: {sorted(SALESFORCE_OBJECTS)}", 404)
        records = store.get(obj, [m.group(2)])
        return json_response(records[0]) if records else _bad(f"no {obj.name} {m.group(2)}", 404)
    return _bad(f"no admin endpoint {method} {path}", 404)
