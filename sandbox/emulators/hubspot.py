"""HubSpot's CRM v3 API (with v4 associations) as a data pipeline and a reverse-ETL job use it.

The sandbox portal is the world's CRM seen through HubSpot: Salesforce Accounts, Contacts,
Opportunities, Tasks and Users are served as HubSpot companies, contacts, deals, tasks and owners,
read from (and written to) the same tables, so both CRMs always show one company. Ids are the
numbers inside the Salesforce ids; property values are strings, as HubSpot sends them.

Served: private-app bearer auth; object lists (`limit`, `after`, `properties`, `archived`) and single
records; search (`filterGroups`, one sort, `limit` up to 200, 10,000 results per query, 5 requests a
second); batch read, update and upsert (up to 100 inputs); owners with their teams; v4 associations
(per record, batch read, and the default association of a batch of pairs). Limits, property names
and types come from `api_facts/hubspot.json`, which says where HubSpot publishes each of them.
Errors use HubSpot's shapes and categories.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.responses import Response

from sandbox.emulators.credentials import HUBSPOT
from sandbox.emulators.routing import ApiError, ApiRequest, Route, System, json_response, route, write_lock
from sandbox.schema import SF_ACCOUNT, SF_CONTACT, SF_OPPORTUNITY, SF_TASK, SF_USER, ObjectSchema
from sandbox.store import salesforce_id

FACTS: dict[str, Any] = json.loads((Path(__file__).parent / "api_facts" / "hubspot.json").read_text())
LIMITS: dict[str, int] = FACTS["limits"]
# The results one search query can reach. Tests of a loader's window moving lower it through this
# variable so a small world can cross it; HubSpot's own figure is the default.
SEARCH_RESULTS_CAP_ENV = "SANDBOX_HUBSPOT_SEARCH_RESULTS_CAP"

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def search_results_cap() -> int:
    raw = os.environ.get(SEARCH_RESULTS_CAP_ENV)
    return int(raw) if raw else LIMITS["search_results_per_query"]


# --- ids, values -------------------------------------------------------------------------------


def hs_id(sf_id: str) -> int:
    """The number inside an 18-character Salesforce id (prefix, pod, 10 base-62 digits, suffix)."""
    n = 0
    for ch in sf_id[5:15]:
        n = n * 62 + _BASE62.index(ch)
    return n


def sf_id(prefix: str, value: Any) -> str | None:
    try:
        n = int(str(value))
    except ValueError:
        return None
    return salesforce_id(prefix, n) if n > 0 else None


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _iso_stamp(value: Any) -> str | None:
    """A HubSpot datetime filter or property value (ISO 8601 or epoch milliseconds) in the store's form."""
    text = str(value).strip()
    try:
        if text.lstrip("-").isdigit():
            ts = datetime.fromtimestamp(int(text) / 1000, UTC)
        else:
            ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
            ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


# --- the portal's objects ----------------------------------------------------------------------


@dataclass(frozen=True)
class Prop:
    """A HubSpot property and where the sandbox keeps it: a Salesforce column, converted each way."""

    name: str
    type: str  # string | number | datetime | date | enumeration | bool (HubSpot's property types)
    column: str | None  # the Salesforce field; None for a constant
    ref: str = ""  # Salesforce id prefix when the value is another record's HubSpot id
    values: dict[str, str] = field(default_factory=dict)  # Salesforce value -> HubSpot value
    stored_as_date: bool = False  # a HubSpot datetime kept in a Salesforce date field
    constant: str | None = None
    read_only: bool = False
    domain: bool = False  # the website's host name

    def sql(self) -> str:
        if self.constant is not None:
            return f"'{self.constant}'"
        col = f'"{self.column}"'
        if self.domain:
            bare = f"lower(replace(replace({col}, 'https://', ''), 'http://', ''))"
            return f"rtrim(CASE WHEN {bare} LIKE 'www.%' THEN substr({bare}, 5) ELSE {bare} END, '/')"
        return col

    def out(self, value: Any) -> str | None:
        """The stored value as HubSpot sends it (always a string)."""
        if self.constant is not None:
            return self.constant
        if value is None:
            return None
        if self.ref:
            return str(hs_id(value))
        if self.values:
            return self.values.get(value, str(value))
        if self.domain:
            host = str(value).lower().removeprefix("https://").removeprefix("http://")
            return host.removeprefix("www.").rstrip("/")
        if self.type == "bool":
            return "true" if value else "false"
        if self.type == "number":
            return _number(value)
        if self.type == "datetime" and self.stored_as_date:
            return f"{value}T00:00:00Z"
        return str(value)

    def stored(self, value: Any) -> Any:
        """A HubSpot value in the store's form; raise ValueError if it cannot be one."""
        if value is None or value == "":
            return None
        text = str(value)
        if self.ref:
            found = sf_id(self.ref, text)
            if found is None:
                raise ValueError(f"{text} is not a valid id")
            return found
        if self.values:
            for sf_value, hs_value in self.values.items():
                if hs_value == text:
                    return sf_value
            raise ValueError(f"{text} was not one of the allowed options: {sorted(set(self.values.values()))}")
        if self.type == "number":
            number = float(text)
            return int(number) if number.is_integer() and self.name != "copilot_churn_risk" else number
        if self.type == "bool":
            if text.lower() not in ("true", "false"):
                raise ValueError(f"{text} is not a valid boolean")
            return text.lower() == "true"
        if self.type == "datetime":
            stamp = _iso_stamp(text)
            if stamp is None:
                raise ValueError(f"{text} is not a valid datetime")
            return stamp[:10] if self.stored_as_date else stamp
        if self.type == "date":
            stamp = _iso_stamp(text)
            if stamp is None:
                raise ValueError(f"{text} is not a valid date")
            return stamp[:10]
        if self.domain:
            return f"https://{text}"
        return text


@dataclass(frozen=True)
class HsObject:
    name: str  # companies | contacts | deals | tasks
    sf: ObjectSchema
    props: tuple[Prop, ...]

    def prop(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)

    @property
    def modified(self) -> str:
        return FACTS["modified_property"][self.name]

    @property
    def created(self) -> str:
        return FACTS["created_property"][self.name]


def _p(name: str, type_: str, column: str | None, **kw: Any) -> Prop:
    return Prop(name, type_, column, **kw)


def _id(obj: ObjectSchema) -> Prop:
    return _p("hs_object_id", "number", "Id", ref=obj.id_prefix, read_only=True)


COMPANIES = HsObject(
    "companies",
    SF_ACCOUNT,
    (
        _id(SF_ACCOUNT),
        _p("name", "string", "Name"),
        _p("domain", "string", "Website", domain=True),
        _p("website", "string", "Website"),
        _p("industry", "string", "Industry"),
        _p("numberofemployees", "number", "NumberOfEmployees"),
        _p("annualrevenue", "number", "AnnualRevenue"),
        _p("country", "string", "BillingCountry"),
        _p(
            "lifecyclestage",
            "enumeration",
            "Type",
            values={"Prospect": "opportunity", "Customer": "customer", "Former Customer": "other"},
        ),
        _p("hubspot_owner_id", "enumeration", "OwnerId", ref=SF_USER.id_prefix),
        _p("createdate", "datetime", "CreatedDate", read_only=True),
        _p("hs_lastmodifieddate", "datetime", "SystemModstamp", read_only=True),
        _p("customer_success_manager", "enumeration", "CSM__c", ref=SF_USER.id_prefix),
        _p("segment", "enumeration", "Segment__c"),
        _p("product_workspace_id", "string", "Product_Account_Id__c"),
        _p("customer_since", "date", "Customer_Since__c"),
        _p("contract_end_date", "date", "Contract_End_Date__c"),
        _p("arr", "number", "ARR__c"),
        _p("copilot_health_score", "number", "Copilot_Health_Score__c"),
        _p("copilot_health_tier", "enumeration", "Copilot_Health_Tier__c"),
        _p("copilot_churn_risk", "number", "Copilot_Churn_Risk__c"),
        _p("copilot_risk_drivers", "string", "Copilot_Risk_Drivers__c"),
        _p("copilot_expansion_score", "number", "Copilot_Expansion_Score__c"),
        _p("copilot_scored_at", "datetime", "Copilot_Scored_At__c"),
    ),
)

CONTACTS = HsObject(
    "contacts",
    SF_CONTACT,
    (
        _id(SF_CONTACT),
        _p("firstname", "string", "FirstName"),
        _p("lastname", "string", "LastName"),
        _p("email", "string", "Email"),
        _p("jobtitle", "string", "Title"),
        _p("associatedcompanyid", "number", "AccountId", ref=SF_ACCOUNT.id_prefix),
        _p("createdate", "datetime", "CreatedDate", read_only=True),
        _p("lastmodifieddate", "datetime", "SystemModstamp", read_only=True),
        _p("is_champion", "bool", "Is_Champion__c"),
        _p("left_company", "bool", "Left_Company__c"),
    ),
)

DEALS = HsObject(
    "deals",
    SF_OPPORTUNITY,
    (
        _id(SF_OPPORTUNITY),
        _p("dealname", "string", "Name"),
        _p(
            "dealtype",
            "enumeration",
            "Type",
            values={"New Business": "newbusiness", "Renewal": "renewal", "Expansion": "expansion"},
        ),
        _p("pipeline", "enumeration", None, constant="default"),
        _p(
            "dealstage",
            "enumeration",
            "StageName",
            values={
                "Prospecting": "appointmentscheduled",
                "Qualification": "qualifiedtobuy",
                "Proposal": "presentationscheduled",
                "Negotiation": "contractsent",
                "Closed Won": "closedwon",
                "Closed Lost": "closedlost",
            },
        ),
        _p("amount", "number", "Amount"),
        _p("closedate", "datetime", "CloseDate", stored_as_date=True),
        _p("hubspot_owner_id", "enumeration", "OwnerId", ref=SF_USER.id_prefix),
        _p("hs_is_closed", "bool", "IsClosed", read_only=True),
        _p("hs_is_closed_won", "bool", "IsWon", read_only=True),
        _p("createdate", "datetime", "CreatedDate", read_only=True),
        _p("hs_lastmodifieddate", "datetime", "SystemModstamp", read_only=True),
    ),
)

TASKS = HsObject(
    "tasks",
    SF_TASK,
    (
        _id(SF_TASK),
        _p("hs_task_subject", "string", "Subject"),
        _p("hs_task_body", "string", "Description"),
        _p(
            "hs_task_status",
            "enumeration",
            "Status",
            values={"Not Started": "NOT_STARTED", "In Progress": "IN_PROGRESS", "Completed": "COMPLETED"},
        ),
        _p("hs_task_priority", "enumeration", "Priority", values={"High": "HIGH", "Normal": "MEDIUM", "Low": "LOW"}),
        _p("hs_timestamp", "datetime", "ActivityDate", stored_as_date=True),
        _p("hubspot_owner_id", "enumeration", "OwnerId", ref=SF_USER.id_prefix),
        _p("hs_createdate", "datetime", "CreatedDate", read_only=True),
        _p("hs_lastmodifieddate", "datetime", "SystemModstamp", read_only=True),
        _p("copilot_alert_id", "string", "Copilot_Alert_Id__c"),
        _p("copilot_outcome", "enumeration", "Copilot_Outcome__c"),
    ),
)

OBJECTS: dict[str, HsObject] = {o.name: o for o in (COMPANIES, CONTACTS, DEALS, TASKS)}
# HubSpot accepts an object type's name or its id ("0-1" contacts, "0-2" companies, "0-3" deals, "0-27" tasks).
OBJECT_TYPE_IDS = {"0-1": "contacts", "0-2": "companies", "0-3": "deals", "0-27": "tasks"}

# (from, to) -> (the object holding the reference, its column, whether `from` is that object)
ASSOCIATIONS: dict[tuple[str, str], tuple[HsObject, str, bool]] = {
    ("contacts", "companies"): (CONTACTS, "AccountId", True),
    ("companies", "contacts"): (CONTACTS, "AccountId", False),
    ("deals", "companies"): (DEALS, "AccountId", True),
    ("companies", "deals"): (DEALS, "AccountId", False),
    ("tasks", "companies"): (TASKS, "WhatId", True),
    ("companies", "tasks"): (TASKS, "WhatId", False),
}


# --- errors ------------------------------------------------------------------------------------


def hs_error(status: int, category: str, message: str, **extra: Any) -> Response:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), "category": category}
    return json_response(body | extra, status)


def not_found(_req: ApiRequest | None = None) -> Response:
    return hs_error(404, "OBJECT_NOT_FOUND", "Resource not found")


def internal_error() -> Response:
    return hs_error(500, "INTERNAL_ERROR", "internal error")


def _rate_limited(policy: str, message: str, status: int = 429, retry_after: int | None = None) -> Response:
    body = {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
    }
    return json_response(body, status, {"Retry-After": str(retry_after)} if retry_after is not None else None)


def fault_response(kind: str, status: int, retry_after: int) -> Response:
    if kind == "rate_limit":
        return _rate_limited(
            "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit.", status, retry_after
        )
    if status == 503:
        return hs_error(503, "SERVICE_UNAVAILABLE", "Service unavailable, please retry.")
    return internal_error()


def _invalid(message: str, **extra: Any) -> ApiError:
    return ApiError(hs_error(400, "VALIDATION_ERROR", message, **extra))


def authenticate(req: ApiRequest) -> Response | None:
    scheme, _, token = (req.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip() == HUBSPOT["access_token"]:
        return None
    return hs_error(
        401,
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
        "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
    )


class SearchThrottle:
    """HubSpot's search limit: at most N search requests in any one-second window per account."""

    def __init__(self, per_second: int, clock: Callable[[], float] = time.monotonic):
        self.per_second = per_second
        self.clock = clock
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()

    def admit(self) -> bool:
        with self._lock:
            now = self.clock()
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.per_second:
                return False
            self._recent.append(now)
            return True


search_throttle = SearchThrottle(LIMITS["search_requests_per_second"])


# --- reading -----------------------------------------------------------------------------------


def _object(req: ApiRequest) -> HsObject:
    name = req.path_params["object"].lower()
    obj = OBJECTS.get(OBJECT_TYPE_IDS.get(name, name))
    if obj is None:
        raise ApiError(hs_error(400, "VALIDATION_ERROR", f"Unable to infer object type from: {name}"))
    return obj


def _body(req: ApiRequest) -> dict[str, Any]:
    try:
        body = req.json()
    except orjson.JSONDecodeError as exc:
        raise _invalid(f"Invalid input JSON on line 1: {exc}") from None
    if not isinstance(body, dict):
        raise _invalid("Invalid input JSON: expected an object")
    return body


def _requested(req: ApiRequest, obj: HsObject, names: list[str] | None) -> list[Prop]:
    """The properties to send: those asked for (unknown names are ignored, as HubSpot does) or the defaults."""
    if names is None:
        raw = [n for value in req.params("properties") for n in value.split(",")]
        names = [n.strip() for n in raw if n.strip()] or None
    if not names:
        names = FACTS["objects"][obj.name]["default_properties"]
    return [p for p in (obj.prop(n) for n in dict.fromkeys(names)) if p is not None]


def _record(obj: HsObject, row: dict[str, Any], props: list[Prop]) -> dict[str, Any]:
    archived = bool(row["IsDeleted"])
    rec: dict[str, Any] = {
        "id": str(hs_id(row["Id"])),
        "properties": {p.name: p.out(row.get(p.column) if p.column else None) for p in props},
        "createdAt": row["CreatedDate"],
        "updatedAt": row["SystemModstamp"],
        "archived": archived,
    }
    if archived:
        rec["archivedAt"] = row["SystemModstamp"]
    return rec


def _rows(req: ApiRequest, obj: HsObject, where: str, params: list[Any], tail: str = "") -> list[dict[str, Any]]:
    cursor = req.store.conn.execute(f'SELECT * FROM "{obj.sf.table}" WHERE {where} {tail}', params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _int_param(req: ApiRequest, name: str, default: int) -> int:
    raw = req.param(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise _invalid(f"Invalid value for {name}: {raw}") from None


def _archived(value: Any) -> bool:
    return str(value).lower() == "true"


def list_objects(req: ApiRequest) -> Response:
    """GET /crm/v3/objects/{type}: pages in id order; `after` is the id to continue after."""
    obj = _object(req)
    limit = _int_param(req, "limit", LIMITS["list_page_default"])
    if not 1 <= limit <= LIMITS["list_page_max"]:
        raise _invalid(f"limit must be between 1 and {LIMITS['list_page_max']}, got {limit}")
    after = req.param("after")
    where, params = ['"IsDeleted" = ?'], [1 if _archived(req.param("archived")) else 0]
    if after:
        start = sf_id(obj.sf.id_prefix, after)
        if start is None:
            raise _invalid(f"Invalid after: {after}")
        where.append('"Id" > ?')
        params.append(start)
    rows = _rows(req, obj, " AND ".join(where), params, f'ORDER BY "Id" LIMIT {limit + 1}')
    props = _requested(req, obj, None)
    body: dict[str, Any] = {"results": [_record(obj, r, props) for r in rows[:limit]]}
    to_types = [t.strip() for v in req.params("associations") for t in v.split(",") if t.strip()]
    if to_types:
        _inline_associations(req, obj, body["results"], to_types)
    if len(rows) > limit:
        next_after = body["results"][-1]["id"]
        query = [(k, v) for k, v in req.query if k != "after"] + [("after", next_after)]
        body["paging"] = {"next": {"after": next_after, "link": f"{req.base_url}{req.path}?{urlencode(query)}"}}
    return json_response(body)


def get_object(req: ApiRequest) -> Response:
    obj = _object(req)
    key = sf_id(obj.sf.id_prefix, req.path_params["id"])
    archived = 1 if _archived(req.param("archived")) else 0
    rows = _rows(req, obj, '"Id" = ? AND "IsDeleted" = ?', [key, archived]) if key else []
    if not rows:
        return hs_error(404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric.")
    return json_response(_record(obj, rows[0], _requested(req, obj, None)))


# --- search ------------------------------------------------------------------------------------


def _filter_sql(obj: HsObject, flt: Any) -> tuple[str, list[Any]]:
    if not isinstance(flt, dict):
        raise _invalid("Each filter must be an object with propertyName and operator")
    name, op = flt.get("propertyName"), str(flt.get("operator", "EQ")).upper()
    prop = obj.prop(str(name))
    if prop is None:
        raise _invalid(f"There was a problem with the request: unknown property {name}")
    if op not in FACTS["search_operators"]:
        raise _invalid(f"Unknown operator {op}; allowed: {', '.join(FACTS['search_operators'])}")
    expr = prop.sql()
    if op == "HAS_PROPERTY":
        return f"{expr} IS NOT NULL", []
    if op == "NOT_HAS_PROPERTY":
        return f"{expr} IS NULL", []

    def stored(value: Any) -> Any:
        try:
            return prop.stored(value)
        except ValueError as exc:
            raise _invalid(f"Invalid value for property {name}: {exc}") from None

    if op in ("IN", "NOT_IN"):
        values = [stored(v) for v in flt.get("values") or []]
        marks = ", ".join("?" for _ in values) or "NULL"
        return f"{expr} {'NOT ' if op == 'NOT_IN' else ''}IN ({marks})", values
    if op == "BETWEEN":
        return f"{expr} BETWEEN ? AND ?", [stored(flt.get("value")), stored(flt.get("highValue"))]
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = "%" + str(flt.get("value", "")).replace("*", "%") + "%"
        return f"{expr} {'NOT ' if op.startswith('NOT') else ''}LIKE ?", [pattern]
    sign = {"EQ": "=", "NEQ": "!=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}[op]
    return f"{expr} {sign} ?", [stored(flt.get("value"))]


def _sort_sql(obj: HsObject, sorts: Any) -> str:
    sorts = sorts or []
    if not isinstance(sorts, list) or len(sorts) > LIMITS["search_sorts_max"]:
        raise _invalid(f"Search supports at most {LIMITS['search_sorts_max']} sort")
    for s in sorts:
        if isinstance(s, str):  # the client's models send sorts as strings: "name" or "-name"
            name, direction = s.lstrip("-"), "DESCENDING" if s.startswith("-") else "ASCENDING"
        elif isinstance(s, dict):
            name, direction = s.get("propertyName"), str(s.get("direction", "ASCENDING")).upper()
        else:
            raise _invalid("Each sort must name a property")
        prop = obj.prop(str(name))
        if prop is None:
            raise _invalid(f"There was a problem with the request: unknown sort property {name}")
        desc = "DESC" if direction == "DESCENDING" else "ASC"
        return f'ORDER BY {prop.sql()} {desc}, "Id" {desc}'
    return 'ORDER BY "Id"'


def search(req: ApiRequest) -> Response:
    """POST /crm/v3/objects/{type}/search: `after` is an offset; never archived records."""
    obj = _object(req)
    if not search_throttle.admit():
        return _rate_limited("SECONDLY", "You have reached your secondly limit.")
    body = _body(req)
    try:
        limit = int(body.get("limit") or LIMITS["search_page_default"])
        offset = int(body.get("after") or 0)
    except (TypeError, ValueError):
        raise _invalid("limit and after must be whole numbers") from None
    if not 1 <= limit <= LIMITS["search_page_max"]:
        raise _invalid(f"limit must be between 1 and {LIMITS['search_page_max']}, got {limit}")
    cap = search_results_cap()
    if offset + limit > cap:
        raise _invalid(f"The search API cannot page past {cap} results for one query; narrow the filters")
    groups = body.get("filterGroups") or []
    if len(groups) > LIMITS["search_filter_groups_max"]:
        raise _invalid(f"Too many filter groups: {len(groups)} > {LIMITS['search_filter_groups_max']}")
    where, params = ['"IsDeleted" = 0'], []
    ors = []
    for group in groups:
        filters = group.get("filters") or [] if isinstance(group, dict) else []
        if len(filters) > LIMITS["search_filters_per_group_max"]:
            raise _invalid(f"Too many filters in a group: {len(filters)} > {LIMITS['search_filters_per_group_max']}")
        parts = [_filter_sql(obj, f) for f in filters]
        if parts:
            ors.append("(" + " AND ".join(p[0] for p in parts) + ")")
            params += [v for p in parts for v in p[1]]
    if ors:
        where.append("(" + " OR ".join(ors) + ")")
    text = body.get("query")
    if text:
        searchable = [p for p in obj.props if p.type == "string" and p.column]
        where.append("(" + " OR ".join(f"{p.sql()} LIKE ?" for p in searchable) + ")")
        params += [f"%{text}%"] * len(searchable)
    conditions = " AND ".join(where)
    total = req.store.conn.execute(f'SELECT count(*) FROM "{obj.sf.table}" WHERE {conditions}', params).fetchone()[0]
    rows = _rows(req, obj, conditions, params, f"{_sort_sql(obj, body.get('sorts'))} LIMIT {limit} OFFSET {offset}")
    names = body.get("properties")
    props = _requested(req, obj, [str(n) for n in names] if isinstance(names, list) and names else None)
    out: dict[str, Any] = {"total": total, "results": [_record(obj, r, props) for r in rows]}
    if offset + limit < min(total, cap):
        out["paging"] = {"next": {"after": str(offset + limit)}}
    return json_response(out)


# --- batch read and upsert ---------------------------------------------------------------------


def _inputs(body: dict[str, Any], maximum: int) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise _invalid("inputs must be a list of objects")
    if len(inputs) > maximum:
        raise _invalid(f"Too many inputs: {len(inputs)} > {maximum} (the batch limit)")
    return inputs


def _unique_prop(obj: HsObject, name: str | None) -> Prop:
    facts = FACTS["objects"][obj.name]["properties"]
    name = name or "hs_object_id"
    prop = obj.prop(name)
    if prop is None or not facts.get(name, {}).get("hasUniqueValue"):
        raise _invalid(f"{name} is not a unique identifier property of {obj.name}")
    return prop


def _find(req: ApiRequest, obj: HsObject, prop: Prop, values: list[str]) -> dict[str, dict[str, Any]]:
    """Live records by the value of a unique property, keyed by that value as HubSpot sends it."""
    keys = []
    for v in values:
        try:
            keys.append(prop.stored(v))
        except ValueError:
            continue
    if not keys:
        return {}
    marks = ", ".join("?" for _ in keys)
    rows = _rows(req, obj, f'{prop.sql()} IN ({marks}) AND "IsDeleted" = 0', keys)
    return {str(prop.out(r[prop.column])): r for r in rows}


def _batch_envelope(results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str) -> Response:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started}
    body["completedAt"] = _now_iso()
    if errors:
        body["errors"] = errors
        body["numErrors"] = len(errors)
    return json_response(body, 207 if errors else 200)


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def batch_read(req: ApiRequest) -> Response:
    obj = _object(req)
    started = _now_iso()
    body = _body(req)
    inputs = _inputs(body, LIMITS["batch_inputs_max"])
    prop = _unique_prop(obj, body.get("idProperty"))
    wanted = [str(i.get("id")) for i in inputs]
    found = _find(req, obj, prop, wanted)
    names = body.get("properties")
    props = _requested(req, obj, [str(n) for n in names] if isinstance(names, list) and names else None)
    results = [_record(obj, found[w], props) for w in dict.fromkeys(wanted) if w in found]
    missing = [w for w in dict.fromkeys(wanted) if w not in found]
    errors = []
    if missing:
        errors.append(
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": f"Could not get some {obj.name} objects, they may be deleted or not exist.",
                "context": {"ids": missing},
            }
        )
    return _batch_envelope(results, errors, started)


def _writable(obj: HsObject, properties: Any) -> dict[str, Any]:
    """The Salesforce fields for HubSpot property values; raise HubSpot's validation error otherwise."""
    if not isinstance(properties, dict):
        raise _invalid("properties must be an object")
    problems, out = [], {}
    for name, value in properties.items():
        prop = obj.prop(name)
        if prop is None:
            problems.append(
                {
                    "isValid": False,
                    "message": f'Property "{name}" does not exist',
                    "error": "PROPERTY_DOESNT_EXIST",
                    "name": name,
                }
            )
            continue
        if prop.column is None and not prop.read_only:  # a constant: the portal has one pipeline
            if value != prop.constant:
                message = f"{value} was not one of the allowed options: [{prop.constant}]"
                problems.append({"isValid": False, "message": message, "error": "INVALID_OPTION", "name": name})
            continue
        if prop.read_only:
            problems.append(
                {
                    "isValid": False,
                    "message": f"{name} is a read only property; its value cannot be set.",
                    "error": "READ_ONLY_VALUE",
                    "name": name,
                }
            )
            continue
        try:
            out[prop.column] = prop.stored(value)
        except ValueError as exc:
            problems.append({"isValid": False, "message": str(exc), "error": "INVALID_OPTION", "name": name})
    if problems:
        raise _invalid(f"Property values were not valid: {orjson.dumps(problems).decode()}")
    return out


Change = tuple[str, Prop, dict[str, Any]]  # the input's id value, its unique property, the fields it writes


def _batch_changes(obj: HsObject, inputs: list[dict[str, Any]], verb: str) -> list[Change]:
    """Each input of a batch `verb` ("update" or "upsert") as the change it makes, checked as HubSpot
    checks it: an id, a unique property to read it as, writable property values. An upsert also
    writes the unique property (a new record carries it), so that property cannot be read-only."""
    changes = []
    for item in inputs:
        if item.get("id") in (None, ""):
            raise _invalid(f"Each {verb} input needs an id (the value of its idProperty)")
        prop = _unique_prop(obj, item.get("idProperty"))
        if verb == "upsert" and prop.read_only:
            raise _invalid(f"{prop.name} cannot be used to upsert; use a unique property of {obj.name}")
        fields = _writable(obj, item.get("properties") or {})
        if verb == "upsert":
            fields[prop.column] = prop.stored(item["id"])
        changes.append((str(item["id"]), prop, fields))
    return changes


def _written(req: ApiRequest, obj: HsObject, keys: list[str], changes: list[Change]) -> dict[str, dict[str, Any]]:
    """The records a batch wrote (by their stored Id), with the properties it wrote, as HubSpot answers."""
    rows = {r["Id"]: r for r in _rows(req, obj, '"Id" IN (' + ", ".join("?" for _ in keys) + ")", keys)}
    written = {column for _, _, fields in changes for column in fields} | {"Id"}
    props = [p for p in obj.props if p.column in written and not p.domain]
    return {key: _record(obj, rows[key], props) for key in keys}


def batch_upsert(req: ApiRequest) -> Response:
    """Create or update by a unique property (`idProperty`); the results say which were new."""
    obj = _object(req)
    started = _now_iso()
    changes = _batch_changes(obj, _inputs(_body(req), LIMITS["batch_inputs_max"]), "upsert")
    with write_lock:
        ids: dict[str, tuple[str, bool]] = {}
        for value, prop, _ in changes:
            if value not in ids:
                found = _find(req, obj, prop, [value])
                ids[value] = (found[value]["Id"], False) if value in found else ("", True)
        new_values = [v for v, (key, new) in ids.items() if new]
        for value, key in zip(new_values, req.store.new_ids(obj.sf, len(new_values)), strict=True):
            ids[value] = (key, True)
        at = req.store.next_write_time()
        records = [{obj.sf.key: ids[value][0], **fields} for value, _, fields in changes]
        req.store.write(obj.sf, records, at)
    written = _written(req, obj, [key for key, _ in ids.values()], changes)
    return _batch_envelope([{**written[key], "new": new} for key, new in ids.values()], [], started)


def batch_update(req: ApiRequest) -> Response:
    """Update records by id (`hs_object_id`, or another unique property with `idProperty`). Every
    input must name a live record: one that does not fails the whole batch, as HubSpot does."""
    obj = _object(req)
    started = _now_iso()
    changes = _batch_changes(obj, _inputs(_body(req), LIMITS["batch_inputs_max"]), "update")
    with write_lock:
        found: dict[str, dict[str, Any]] = {}
        for value, prop, _ in changes:
            found.update(_find(req, obj, prop, [value]))
        missing = [value for value, _, _ in changes if value not in found]
        if missing:
            return hs_error(
                404, "OBJECT_NOT_FOUND", f"Could not update some {obj.name}: {', '.join(missing)} not found"
            )
        at = req.store.next_write_time()
        req.store.write(obj.sf, [{obj.sf.key: found[value]["Id"], **fields} for value, _, fields in changes], at)
    keys = list(dict.fromkeys(found[value]["Id"] for value, _, _ in changes))
    written = _written(req, obj, keys, changes)
    return _batch_envelope([written[key] for key in keys], [], started)


# --- associations (v4) -------------------------------------------------------------------------


def _association(req: ApiRequest) -> tuple[str, str, tuple[HsObject, str, bool]]:
    names = []
    for key in ("from", "to"):
        raw = req.path_params[key].lower()
        names.append(OBJECT_TYPE_IDS.get(raw, raw))
    found = ASSOCIATIONS.get((names[0], names[1]))
    if found is None:
        raise _invalid(f"No association is defined between {names[0]} and {names[1]}")
    return names[0], names[1], found


def _associated(req: ApiRequest, assoc: tuple[HsObject, str, bool], from_ids: list[str]) -> dict[str, list[int]]:
    holder, column, from_holder = assoc
    parent_prefix = SF_ACCOUNT.id_prefix
    if from_holder:
        keys = [k for k in (sf_id(holder.sf.id_prefix, i) for i in from_ids) if k]
        select, match = f'"Id", "{column}"', '"Id"'
    else:
        keys = [k for k in (sf_id(parent_prefix, i) for i in from_ids) if k]
        select, match = f'"{column}", "Id"', f'"{column}"'
    out: dict[str, list[int]] = {}
    for i in range(0, len(keys), 900):
        chunk = keys[i : i + 900]
        sql = (
            f'SELECT {select} FROM "{holder.sf.table}" WHERE {match} IN ({", ".join("?" for _ in chunk)}) '
            f'AND "IsDeleted" = 0 AND "{column}" IS NOT NULL ORDER BY "Id"'
        )
        for a, b in req.store.conn.execute(sql, chunk):
            out.setdefault(str(hs_id(a)), []).append(hs_id(b))
    return out


def _types(from_name: str, to_name: str) -> list[dict[str, Any]]:
    return FACTS["associations"][f"{from_name}->{to_name}"]


def _inline_associations(req: ApiRequest, obj: HsObject, results: list[dict[str, Any]], to_types: list[str]) -> None:
    """`associations=` on a list: v3's inline shape, {to: {results: [{id, type}]}}."""
    for to in to_types:
        to_name = OBJECT_TYPE_IDS.get(to.lower(), to.lower())
        assoc = ASSOCIATIONS.get((obj.name, to_name))
        if assoc is None:
            continue
        found = _associated(req, assoc, [r["id"] for r in results])
        type_name = f"{obj.name[:-1]}_to_{to_name[:-1]}"
        for rec in results:
            if rec["id"] in found:
                rec.setdefault("associations", {})[to_name] = {
                    "results": [{"id": str(t), "type": type_name} for t in found[rec["id"]]]
                }


def associations_batch_read(req: ApiRequest) -> Response:
    started = _now_iso()
    from_name, to_name, assoc = _association(req)
    inputs = _inputs(_body(req), LIMITS["association_batch_read_inputs_max"])
    wanted = list(dict.fromkeys(str(i.get("id")) for i in inputs))
    found = _associated(req, assoc, wanted)
    types = _types(from_name, to_name)
    results = [
        {"from": {"id": w}, "to": [{"toObjectId": t, "associationTypes": types} for t in found[w]]}
        for w in wanted
        if w in found
    ]
    errors = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
            "message": f"No {to_name} is associated with {from_name[:-1]} {w}.",
            "context": {"fromObjectId": [w]},
        }
        for w in wanted
        if w not in found
    ]
    return _batch_envelope(results, errors, started)


def _live(req: ApiRequest, obj: HsObject, keys: list[str]) -> dict[str, dict[str, Any]]:
    """The live (not deleted) rows among `keys` (Salesforce ids), by id."""
    marks = ", ".join("?" for _ in keys)
    return {r["Id"]: r for r in _rows(req, obj, f'"Id" IN ({marks}) AND "IsDeleted" = 0', keys)} if keys else {}


def associate_default(req: ApiRequest) -> Response:
    """POST /crm/v4/associations/{from}/{to}/batch/associate/default: the default (unlabelled)
    association of each pair. Only pairs the sandbox keeps as the `from` record's one reference
    (a contact's, deal's or task's company) can be made; making one again changes nothing."""
    started = _now_iso()
    from_name, to_name, (holder, column, from_holder) = _association(req)
    if not from_holder:
        raise _invalid(f"Associate from {to_name} to {from_name} in the sandbox (one company per {to_name[:-1]})")
    inputs = _inputs(_body(req), LIMITS["batch_inputs_max"])
    pairs = []
    for item in inputs:
        src, dst = (item.get(k) or {} for k in ("from", "to"))
        from_key = sf_id(holder.sf.id_prefix, src.get("id"))
        to_key = sf_id(SF_ACCOUNT.id_prefix, dst.get("id"))
        if from_key is None or to_key is None:
            raise _invalid("Each input needs from.id and to.id (record ids)")
        pairs.append((str(src["id"]), str(dst["id"]), from_key, to_key))
    default = next(t for t in _types(from_name, to_name) if t["label"] is None)
    spec = {"associationCategory": default["category"], "associationTypeId": default["typeId"]}
    with write_lock:
        holders = _live(req, holder, [p[2] for p in pairs])
        companies = _live(req, COMPANIES, [p[3] for p in pairs])
        good = [p for p in pairs if p[2] in holders and p[3] in companies]
        changed = [{holder.sf.key: p[2], column: p[3]} for p in good if holders[p[2]][column] != p[3]]
        if changed:
            req.store.write(holder.sf, changed, req.store.next_write_time(), returning=False)
    results = [{"associationSpec": spec, "from": {"id": p[0]}, "to": {"id": p[1]}} for p in good]
    errors = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"No {from_name[:-1]} {p[0]} or {to_name[:-1]} {p[1]} to associate.",
            "context": {"fromObjectId": [p[0]], "toObjectId": [p[1]]},
        }
        for p in pairs
        if p not in good
    ]
    return _batch_envelope(results, errors, started)


def associations_of(req: ApiRequest) -> Response:
    from_name, to_name, assoc = _association(req)
    limit = _int_param(req, "limit", 500)
    after = _int_param(req, "after", 0)
    targets = _associated(req, assoc, [req.path_params["id"]]).get(str(int(req.path_params["id"])), [])
    page = [t for t in targets if t > after][:limit]
    types = _types(from_name, to_name)
    body: dict[str, Any] = {"results": [{"toObjectId": t, "associationTypes": types} for t in page]}
    if len([t for t in targets if t > after]) > limit:
        body["paging"] = {"next": {"after": str(page[-1])}}
    return json_response(body)


# --- owners ------------------------------------------------------------------------------------


def team_id(name: str) -> int:
    return zlib.crc32(name.encode()) % 90_000_000 + 10_000_000


def _owner(row: dict[str, Any]) -> dict[str, Any]:
    n = hs_id(row["Id"])
    teams = [{"id": str(team_id(row["Department"])), "name": row["Department"], "primary": True}]
    return {
        "id": str(n),
        "email": row["Email"],
        "type": "PERSON",
        "firstName": row["FirstName"],
        "lastName": row["LastName"],
        "userId": 9_000_000 + n,
        "userIdIncludingInactive": 9_000_000 + n,
        "createdAt": row["CreatedDate"],
        "updatedAt": row["SystemModstamp"],
        "archived": not row["IsActive"],
        "teams": teams if row["Department"] else [],
    }


def _user_rows(req: ApiRequest, where: str, params: list[Any], tail: str = "") -> list[dict[str, Any]]:
    cursor = req.store.conn.execute(f'SELECT * FROM "{SF_USER.table}" WHERE {where} {tail}', params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def list_owners(req: ApiRequest) -> Response:
    """GET /crm/v3/owners: active owners, or deactivated ones with archived=true; filter by email."""
    limit = _int_param(req, "limit", 100)
    if not 1 <= limit <= 500:
        raise _invalid(f"limit must be between 1 and 500, got {limit}")
    where, params = ['"IsActive" = ?', '"Id" != ?'], [0 if _archived(req.param("archived")) else 1]
    params.append(salesforce_id(SF_USER.id_prefix, 0))  # the integration user is no owner
    if req.param("email"):
        where.append('lower("Email") = lower(?)')
        params.append(req.param("email"))
    if req.param("after"):
        where.append('"Id" > ?')
        params.append(sf_id(SF_USER.id_prefix, req.param("after")) or "")
    rows = _user_rows(req, " AND ".join(where), params, f'ORDER BY "Id" LIMIT {limit + 1}')
    body: dict[str, Any] = {"results": [_owner(r) for r in rows[:limit]]}
    if len(rows) > limit:
        next_after = body["results"][-1]["id"]
        query = [(k, v) for k, v in req.query if k != "after"] + [("after", next_after)]
        body["paging"] = {"next": {"after": next_after, "link": f"{req.base_url}{req.path}?{urlencode(query)}"}}
    return json_response(body)


def get_owner(req: ApiRequest) -> Response:
    key = sf_id(SF_USER.id_prefix, req.path_params["id"])
    rows = _user_rows(req, '"Id" = ?', [key]) if key else []
    if not rows:
        return hs_error(404, "OBJECT_NOT_FOUND", f"No owner found with id {req.path_params['id']}")
    return json_response(_owner(rows[0]))


# --- routes ------------------------------------------------------------------------------------


def _object_of(req: ApiRequest) -> str | None:
    return req.path_params.get("object")


def _routes() -> tuple[Route, ...]:
    obj = r"/crm/v3/objects/(?P<object>[A-Za-z0-9_-]+)"
    assoc = r"(?P<from>[A-Za-z0-9_-]+)/(?P<to>[A-Za-z0-9_-]+)"
    r = lambda *a, **kw: route("hubspot", *a, **kw)  # noqa: E731
    return (
        r("objects.search", "POST", obj + "/search", search, object_of=_object_of),
        r("objects.batch.read", "POST", obj + "/batch/read", batch_read, object_of=_object_of),
        r("objects.batch.upsert", "POST", obj + "/batch/upsert", batch_upsert, write=True, object_of=_object_of),
        r("objects.batch.update", "POST", obj + "/batch/update", batch_update, write=True, object_of=_object_of),
        r("objects.list", "GET", obj, list_objects, object_of=_object_of),
        r("objects.get", "GET", obj + r"/(?P<id>\d+)", get_object, object_of=_object_of),
        r("owners.list", "GET", r"/crm/v3/owners", list_owners),
        r("owners.get", "GET", r"/crm/v3/owners/(?P<id>\d+)", get_owner),
        r("associations.batch.read", "POST", r"/crm/v4/associations/" + assoc + "/batch/read", associations_batch_read),
        r(
            "associations.batch.associate_default",
            "POST",
            r"/crm/v4/associations/" + assoc + "/batch/associate/default",
            associate_default,
            write=True,
        ),
        r(
            "associations.list",
            "GET",
            r"/crm/v4/objects/(?P<from>[A-Za-z0-9_-]+)/(?P<id>\d+)/associations/(?P<to>[A-Za-z0-9_-]+)",
            associations_of,
        ),
    )


SYSTEM = System("hubspot", _routes(), authenticate, fault_response, not_found, internal_error)
