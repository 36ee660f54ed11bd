"""The Salesforce REST API as a data pipeline and a reverse-ETL job use it.

OAuth2 token endpoint (client credentials and username-password flows), API versions, describe,
SOQL query / queryAll with cursor paging, sObject create / read / update / upsert / delete, and sObject
Collections. Bulk API 2.0 ingest lives in salesforce_bulk.py, record writes in salesforce_writes.py.
Errors use Salesforce's own shapes and codes, so clients' error handling is exercised for real.

As the real API: every data API response carries `Sforce-Limit-Info: api-usage=n/m` (the org's
requests so far and its daily allowance); a rate limit (the allowance spent, or a `rate_limit`
fault) answers 403 `REQUEST_LIMIT_EXCEEDED` without `Retry-After`; access tokens expire after the
session lifetime (`SANDBOX_SALESFORCE_SESSION_SECONDS`, Salesforce's default two hours), and a
`session_expired` fault ends every session issued so far, after which old tokens get 401
`INVALID_SESSION_ID` until the client logs in again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from typing import Any

import orjson
from starlette.responses import Response

from sandbox.emulators import salesforce_bulk, salesforce_fields, salesforce_query, salesforce_writes
from sandbox.emulators.credentials import SALESFORCE
from sandbox.emulators.faults import apply_to_records
from sandbox.emulators.routing import ApiError, ApiRequest, Route, System, json_response, route, write_lock
from sandbox.emulators.soql import SoqlError, compile_query, object_name
from sandbox.schema import (
    BOOLEAN,
    CURRENCY,
    DATE,
    DATETIME,
    DOUBLE,
    ID,
    INT,
    PERCENT,
    REFERENCE,
    TEXTAREA,
    Field,
    ObjectSchema,
)

FIRST_VERSION = 31
LATEST_VERSION = 62
# Only the versions served (31.0..62.0) match, so any other version is Salesforce's 404 NOT_FOUND.
V = r"v(?P<version>(?:3[1-9]|[45][0-9]|6[0-2])\.0)"
DATA = "/services/data/" + V
LOGIN_URL = "https://login.salesforce.com"

_TOKEN_KEY = hashlib.sha256(f"{SALESFORCE['client_secret']}:{SALESFORCE['org_id']}".encode()).digest()

cursors = salesforce_query.Cursors()

# Salesforce's defaults: sessions time out after two hours; a Developer/Enterprise org gets 15,000
# (+ per-licence) API requests per rolling 24 hours.
DEFAULT_SESSION_SECONDS = 7200
DEFAULT_DAILY_API_LIMIT = 15000


class Org:
    """The org's API usage and session revocations in this server process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.api_usage = 0
        self.revoked_before = 0.0  # tokens issued before this time are expired

    def count_request(self) -> int:
        with self._lock:
            self.api_usage += 1
            return self.api_usage

    def expire_sessions(self) -> None:
        with self._lock:
            self.revoked_before = time.time()


org = Org()


def session_seconds() -> float:
    return float(os.environ.get("SANDBOX_SALESFORCE_SESSION_SECONDS") or DEFAULT_SESSION_SECONDS)


def daily_api_limit() -> int:
    return int(os.environ.get("SANDBOX_SALESFORCE_DAILY_API_LIMIT") or DEFAULT_DAILY_API_LIMIT)


def limit_info() -> str:
    return f"api-usage={org.api_usage}/{daily_api_limit()}"


# --- errors ------------------------------------------------------------------------------------


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None, **headers: str) -> Response:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return json_response([body], status, headers or None)


def not_found(_req: ApiRequest | None = None) -> Response:
    return sf_error(404, "NOT_FOUND", "The requested resource does not exist")


def internal_error() -> Response:
    return sf_error(
        500,
        "UNKNOWN_EXCEPTION",
        "An unexpected error occurred. Please include this ErrorId if you contact support: 1967201354-25830 (-1)",
    )


def request_limit_exceeded() -> Response:
    """Salesforce's answer to a spent allowance: 403, no Retry-After (the limit is a rolling 24 hours)."""
    return sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def session_expired() -> Response:
    return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")


def fault_response(kind: str, status: int, retry_after: int) -> Response:
    if kind == "rate_limit":
        return request_limit_exceeded()
    if kind == "session_expired":
        org.expire_sessions()
        return session_expired()
    if status == 503:
        headers = {"Retry-After": str(retry_after)}
        return sf_error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, please retry.", **headers)
    return internal_error()


# The served objects: the world's fields and every other documented standard field.
OBJECTS = salesforce_fields.SERVED


def _object(req: ApiRequest) -> ObjectSchema:
    obj = salesforce_fields.served(req.path_params["object"])
    if obj is None:
        raise ApiError(not_found())
    return obj


def _version(req: ApiRequest) -> str:
    return req.path_params["version"]


def _body(req: ApiRequest) -> Any:
    try:
        return req.json()
    except orjson.JSONDecodeError as exc:
        raise ApiError(sf_error(400, "JSON_PARSER_ERROR", f"Unexpected character in request body: {exc}")) from None


# --- authentication ----------------------------------------------------------------------------


def issue_token() -> str:
    """An access token the server can check without remembering it, so tokens survive restarts;
    it carries its issue time (milliseconds) for the session lifetime."""
    nonce = f"{secrets.token_urlsafe(24)}.{int(time.time() * 1000)}"
    mac = hmac.new(_TOKEN_KEY, nonce.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{SALESFORCE['org_id']}!{nonce}.{mac}"


def token_valid(token: str) -> bool:
    prefix, _, rest = token.partition("!")
    nonce, _, mac = rest.rpartition(".")
    if prefix != SALESFORCE["org_id"] or not nonce:
        return False
    expected = hmac.new(_TOKEN_KEY, nonce.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(mac, expected):
        return False
    issued_ms = nonce.rpartition(".")[2]
    if not issued_ms.isdigit():
        return False
    issued = int(issued_ms) / 1000
    return issued >= org.revoked_before and time.time() - issued < session_seconds()


def authenticate(req: ApiRequest) -> Response | None:
    scheme, _, token = (req.headers.get("authorization") or "").partition(" ")
    if not (scheme.lower() in ("bearer", "oauth") and token_valid(token.strip())):
        return session_expired()
    if req.path.startswith("/services/data/") and org.count_request() > daily_api_limit():
        return request_limit_exceeded()
    return None


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def token(req: ApiRequest) -> Response:
    form = req.form()
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    basic = req.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        try:
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        except ValueError:
            return _oauth_error("invalid_client", "invalid client credentials")
    grant = form.get("grant_type")
    if grant not in ("client_credentials", "password"):
        return _oauth_error("unsupported_grant_type", "grant type not supported")
    if client_id != SALESFORCE["client_id"]:
        return _oauth_error("invalid_client_id", "client identifier invalid")
    if client_secret != SALESFORCE["client_secret"]:
        return _oauth_error("invalid_client", "invalid client credentials")
    if grant == "password" and (
        form.get("username") != SALESFORCE["username"]
        or form.get("password") != SALESFORCE["password"] + SALESFORCE["security_token"]
    ):
        return _oauth_error("invalid_grant", "authentication failure")
    issued_at = str(int(time.time() * 1000))
    identity = f"{LOGIN_URL}/id/{SALESFORCE['org_id']}/{SALESFORCE['user_id']}"
    signature = base64.b64encode(
        hmac.new(SALESFORCE["client_secret"].encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
    ).decode()
    return json_response(
        {
            "access_token": issue_token(),
            "instance_url": req.base_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": signature,
            "scope": "api",
        }
    )


# --- metadata ----------------------------------------------------------------------------------


def _label(version: int) -> str:
    i = version - 20  # v20.0 was Winter '11; three releases a year since
    return f"{('Winter', 'Spring', 'Summer')[i % 3]} '{11 + i // 3:02d}"


def versions(_req: ApiRequest) -> Response:
    return json_response(
        [
            {"label": _label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
            for v in range(FIRST_VERSION, LATEST_VERSION + 1)
        ]
    )


def resources(req: ApiRequest) -> Response:
    base = f"/services/data/v{_version(req)}"
    names = ("sobjects", "query", "queryAll", "composite", "jobs")
    return json_response({name: f"{base}/{name}" for name in names})


_SOAP_TYPES = {
    ID: "tns:ID",
    REFERENCE: "tns:ID",
    BOOLEAN: "xsd:boolean",
    INT: "xsd:int",
    DOUBLE: "xsd:double",
    CURRENCY: "xsd:double",
    PERCENT: "xsd:double",
    DATE: "xsd:date",
    DATETIME: "xsd:dateTime",
}
_PLURALS = {"Opportunity": "Opportunities"}


def _relationship_name(f: Field) -> str | None:
    if f.type != REFERENCE:
        return None
    return f.name[:-3] + "__r" if f.name.endswith("__c") else f.name.removesuffix("Id")


def describe_field(obj: ObjectSchema, f: Field) -> dict[str, Any]:
    doc = salesforce_fields.field_facts(obj, f.name)
    out = _describe_world_field(obj, f)
    if doc is None or f.custom:
        return out
    # A standard field: its documented properties (Object Reference), not the world's guesses.
    props = doc["properties"]
    numeric = f.type in (DOUBLE, CURRENCY, PERCENT, INT)
    out.update(
        {
            "label": doc["label"],
            "type": doc["type"],
            "soapType": _SOAP_TYPES.get(f.type, "urn:address" if f.type == "address" else "xsd:string"),
            "length": 0 if numeric or f.type in (BOOLEAN, DATE, DATETIME, "address") else doc.get("length", 255),
            "createable": "C" in props,
            "updateable": "U" in props,
            "nillable": "N" in props,
            "defaultedOnCreate": "D" in props,
            "filterable": "F" in props,
            "groupable": "G" in props,
            "sortable": "S" in props,
            "restrictedPicklist": "R" in props,
            "calculated": not ("C" in props or "U" in props) and f.name in salesforce_fields.DERIVED.get(obj.name, {}),
            "referenceTo": doc.get("referenceTo", []),
        }
    )
    if doc.get("picklistValues") and not out["picklistValues"]:
        out["picklistValues"] = [
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
            for v in doc["picklistValues"]
        ]
    return out


def _describe_world_field(obj: ObjectSchema, f: Field) -> dict[str, Any]:
    required = f.name in salesforce_writes.required_fields(obj)
    writable = f.updateable and f.name != obj.key
    text_length = {ID: 18, REFERENCE: 18, TEXTAREA: 32768}.get(f.type, 255)
    is_text = f.type not in _SOAP_TYPES or f.type in (ID, REFERENCE)
    return {
        "name": f.name,
        "label": f.label or f.name,
        "type": f.type,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "length": text_length if is_text else 0,
        "precision": 18 if f.type in (DOUBLE, CURRENCY, PERCENT) else 0,
        "scale": 2 if f.type in (DOUBLE, CURRENCY, PERCENT) else 0,
        "digits": 9 if f.type == INT else 0,
        "custom": f.custom,
        "externalId": f.external_id,
        "idLookup": f.name == obj.key or f.external_id,
        "unique": f.external_id,
        "nameField": f.name == "Name",
        "calculated": f.name == "Name" and not f.updateable,
        "updateable": writable,
        "createable": writable,
        "nillable": not (f.name == obj.key or f.type == BOOLEAN or required or not f.updateable),
        "defaultedOnCreate": f.name == obj.key or f.type == BOOLEAN or not f.updateable,
        "defaultValue": False if f.type == BOOLEAN else None,
        "filterable": f.type != TEXTAREA,
        "sortable": f.type != TEXTAREA,
        "groupable": f.type not in (TEXTAREA, DOUBLE, CURRENCY, PERCENT, DATETIME),
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v} for v in f.picklist
        ],
        "restrictedPicklist": salesforce_writes.is_restricted(f),
        "referenceTo": [f.reference_to] if f.reference_to else [],
        "relationshipName": _relationship_name(f),
        "caseSensitive": False,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "htmlFormatted": False,
        "inlineHelpText": None,
    }


def _object_summary(obj: ObjectSchema, version: str) -> dict[str, Any]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        "name": obj.name,
        "label": obj.name,
        "labelPlural": _PLURALS.get(obj.name, obj.name + "s"),
        "keyPrefix": obj.id_prefix,
        "custom": False,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
    }


def describe_global(req: ApiRequest) -> Response:
    version = _version(req)
    return json_response(
        {
            "encoding": "UTF-8",
            "maxBatchSize": salesforce_writes.MAX_COLLECTION_RECORDS,
            "sobjects": [_object_summary(o, version) for o in OBJECTS.values()],
        }
    )


def sobject_info(req: ApiRequest) -> Response:
    return json_response({"objectDescribe": _object_summary(_object(req), _version(req)), "recentItems": []})


def describe(req: ApiRequest) -> Response:
    obj = _object(req)
    return json_response(
        {
            **_object_summary(obj, _version(req)),
            "fields": [describe_field(obj, f) for f in obj.fields],
            "childRelationships": [],
            "recordTypeInfos": [],
        }
    )


# --- queries -----------------------------------------------------------------------------------


def _page(req: ApiRequest, cursor: salesforce_query.Cursor, start: int) -> Response:
    ids = cursor.rowids[start : start + cursor.batch]
    records = salesforce_query.fetch_records(req.store, cursor.obj, cursor.fields, ids, cursor.version)
    apply_to_records(req.faults, records, cursor.obj)
    end = start + len(ids)
    body: dict[str, Any] = {"totalSize": len(cursor.rowids), "done": end >= len(cursor.rowids)}
    if body["done"]:
        cursors.close(cursor.locator)
    else:
        body["nextRecordsUrl"] = f"/services/data/v{cursor.version}/{cursor.endpoint}/{cursor.locator}-{end}"
    body["records"] = records
    return json_response(body)


def _query(req: ApiRequest, include_deleted: bool) -> Response:
    version = _version(req)
    try:
        query = compile_query(req.param("q") or "", OBJECTS)
    except SoqlError as exc:
        return sf_error(400, exc.error_code, exc.message)
    result = salesforce_query.run(req.store, query, include_deleted)
    if isinstance(result, int):
        records = (
            [{"attributes": {"type": "AggregateResult"}, query.aggregate_alias: result}]
            if query.count == "aggregate"
            else []
        )
        total = 1 if query.count == "aggregate" else result
        return json_response({"totalSize": total, "done": True, "records": records})
    endpoint = "queryAll" if include_deleted else "query"
    batch = salesforce_query.batch_size(req.headers.get("sforce-query-options"))
    cursor = cursors.open(query, result, version, endpoint, batch)
    return _page(req, cursor, 0)


def query(req: ApiRequest) -> Response:
    return _query(req, include_deleted=False)


def query_all(req: ApiRequest) -> Response:
    return _query(req, include_deleted=True)


def query_more(req: ApiRequest) -> Response:
    cursor = cursors.get(req.path_params["locator"])
    start = int(req.path_params["start"])
    if cursor is None or start >= len(cursor.rowids):
        return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _page(req, cursor, start)


def _query_object(req: ApiRequest) -> str | None:
    return object_name(req.param("q") or "")


def _cursor_object(req: ApiRequest) -> str | None:
    cursor = cursors.get(req.path_params["locator"])
    return cursor.obj.name if cursor else None


# --- single records ----------------------------------------------------------------------------


def _read(req: ApiRequest, obj: ObjectSchema, column: str, value: str) -> Response:
    fields = obj.field_names
    wanted = req.param("fields")
    if wanted:
        try:
            fields = [obj.field(n.strip()).name for n in wanted.split(",") if n.strip()]
        except KeyError as exc:
            return sf_error(400, "INVALID_FIELD", f"No such column '{exc.args[0]}' on sobject of type {obj.name}")
    found = salesforce_query.fetch_where(
        req.store, obj, fields, f't."{column}" = ? AND COALESCE(t."IsDeleted", 0) = 0', (value,), _version(req)
    )
    if not found:
        return not_found()
    if len(found) > 1:
        urls = [r["attributes"]["url"] for r in found]
        return json_response(urls, 300)
    return json_response(found[0])


def sobject_get(req: ApiRequest) -> Response:
    obj = _object(req)
    return _read(req, obj, "Id", req.path_params["id"])


def sobject_get_by_external_id(req: ApiRequest) -> Response:
    obj = _object(req)
    ext = _external_id_field(obj, req.path_params["field"])
    return _read(req, obj, ext, req.path_params["value"])


def _record_body(req: ApiRequest) -> dict[str, Any]:
    body = _body(req)
    if not isinstance(body, dict):
        raise ApiError(sf_error(400, "JSON_PARSER_ERROR", "The request body must be a JSON object"))
    return body


def _single_failure(plan: salesforce_writes.Planned) -> Response:
    return json_response(
        [{"message": e["message"], "errorCode": e["statusCode"], "fields": e["fields"]} for e in plan.errors], 400
    )


def sobject_create(req: ApiRequest) -> Response:
    obj = _object(req)
    (plan,) = salesforce_writes.write(req.store, obj, [_record_body(req)], "insert", hits=req.faults)
    if not plan.ok:
        return _single_failure(plan)
    return json_response({"id": plan.id, "success": True, "errors": []}, 201)


def sobject_update(req: ApiRequest) -> Response:
    obj = _object(req)
    record = {**_record_body(req), "Id": req.path_params["id"]}
    (plan,) = salesforce_writes.write(req.store, obj, [record], "update", hits=req.faults)
    if not plan.ok:
        if plan.errors[0]["statusCode"] in ("INVALID_CROSS_REFERENCE_KEY", "ENTITY_IS_DELETED") and plan.errors[0][
            "fields"
        ] == ["Id"]:
            return not_found()
        return _single_failure(plan)
    return Response(status_code=204)


def _external_id_field(obj: ObjectSchema, name: str) -> str:
    if name.lower() == "id":
        return "Id"
    if obj.has_field(name) and obj.field(name).external_id:
        return obj.field(name).name
    raise ApiError(
        sf_error(
            400 if obj.has_field(name) else 404,
            "INVALID_FIELD" if obj.has_field(name) else "NOT_FOUND",
            f"Field {name} is not an External ID or indexed field for {obj.name}"
            if obj.has_field(name)
            else "Provided external ID field does not exist or is not accessible: " + name,
        )
    )


def sobject_upsert(req: ApiRequest) -> Response:
    obj = _object(req)
    ext = _external_id_field(obj, req.path_params["field"])
    record = {**_record_body(req), ext: req.path_params["value"]}
    (plan,) = salesforce_writes.write(req.store, obj, [record], "upsert", ext_field=ext, hits=req.faults)
    if not plan.ok:
        if plan.errors[0]["statusCode"] == "DUPLICATE_EXTERNAL_ID":
            # Several records hold this external id: Salesforce answers 300 with their URLs.
            rows = req.store.conn.execute(
                f'SELECT "Id" FROM "{obj.table}" WHERE "{ext}" = ? AND COALESCE("IsDeleted", 0) = 0',
                (req.path_params["value"],),
            ).fetchall()
            return json_response([f"/services/data/v{_version(req)}/sobjects/{obj.name}/{r[0]}" for r in rows], 300)
        return _single_failure(plan)
    return json_response(plan.result(with_created=True), 201 if plan.created else 200)


def sobject_delete(req: ApiRequest) -> Response:
    obj = _object(req)
    rid = req.path_params["id"]
    with write_lock:
        found = req.store.count(obj, '"Id" = ? AND COALESCE("IsDeleted", 0) = 0', (rid,))
        if not found:
            return not_found()
        req.store.soft_delete(salesforce_fields.stored_schema(req.store, obj), [rid], req.store.next_write_time())
    return Response(status_code=204)


# --- sObject Collections -----------------------------------------------------------------------


def _collection(req: ApiRequest) -> tuple[list[dict[str, Any]], bool]:
    body = _body(req)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(sf_error(400, "JSON_PARSER_ERROR", "The request body must have a records list"))
    records = body["records"]
    if len(records) > salesforce_writes.MAX_COLLECTION_RECORDS:
        raise ApiError(
            sf_error(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
                [],
            )
        )
    if not all(isinstance(r, dict) for r in records):
        raise ApiError(sf_error(400, "JSON_PARSER_ERROR", "Every record must be a JSON object"))
    return records, bool(body.get("allOrNone", False))


def _record_type(rec: dict[str, Any]) -> ObjectSchema | None:
    attributes = rec.get("attributes")
    name = attributes.get("type") if isinstance(attributes, dict) else None
    return next((o for o in OBJECTS.values() if name and o.name.lower() == str(name).lower()), None)


def _write_mixed(
    req: ApiRequest, records: list[dict[str, Any]], operation: str, all_or_none: bool
) -> list[salesforce_writes.Planned]:
    """Collections may mix sObject types; plan each type, then fault, roll back and commit together."""
    plans: list[salesforce_writes.Planned | None] = [None] * len(records)
    groups: dict[str, list[int]] = {}
    for i, rec in enumerate(records):
        obj = _record_type(rec)
        if obj is None:
            plans[i] = salesforce_writes.fail(
                OBJECTS["Account"],
                salesforce_writes.error("INVALID_TYPE", "Must send a concrete entity type."),
            )
        else:
            groups.setdefault(obj.name, []).append(i)
    with write_lock:
        for name, indexes in groups.items():
            planned = salesforce_writes.plan(
                req.store, OBJECTS[name], [_lowered_id(records[i]) for i in indexes], operation
            )
            for i, p in zip(indexes, planned, strict=True):
                plans[i] = p
        done = [p for p in plans if p is not None]
        salesforce_writes.inject_write_errors(done, req.faults)
        if all_or_none:
            salesforce_writes.roll_back_all(done)
        salesforce_writes.commit(req.store, done)
    return done


def _lowered_id(rec: dict[str, Any]) -> dict[str, Any]:
    """Collections accept `id` as well as `Id` for the record id."""
    if "id" in rec and "Id" not in rec:
        rec = {("Id" if k == "id" else k): v for k, v in rec.items()}
    return rec


def composite_create(req: ApiRequest) -> Response:
    records, all_or_none = _collection(req)
    plans = _write_mixed(req, records, "insert", all_or_none)
    return json_response([p.result(with_created=False) for p in plans])


def composite_update(req: ApiRequest) -> Response:
    records, all_or_none = _collection(req)
    plans = _write_mixed(req, records, "update", all_or_none)
    return json_response([p.result(with_created=False) for p in plans])


def composite_upsert(req: ApiRequest) -> Response:
    obj = _object(req)
    ext = _external_id_field(obj, req.path_params["field"])
    records, all_or_none = _collection(req)
    for rec in records:
        rtype = _record_type(rec)
        if rtype is not None and rtype.name != obj.name:
            raise ApiError(sf_error(400, "INVALID_TYPE", f"Record type {rtype.name} does not match {obj.name}"))
    plans = salesforce_writes.write(
        req.store,
        obj,
        [_lowered_id(r) for r in records],
        "upsert",
        ext_field=ext,
        all_or_none=all_or_none,
        hits=req.faults,
    )
    return json_response([p.result(with_created=True) for p in plans])


def composite_delete(req: ApiRequest) -> Response:
    ids = [i for i in (req.param("ids") or "").split(",") if i]
    if len(ids) > salesforce_writes.MAX_COLLECTION_RECORDS:
        return sf_error(
            400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call", []
        )
    results = []
    with write_lock:
        at = None
        for rid in ids:
            obj = next((o for o in OBJECTS.values() if rid.startswith(o.id_prefix)), None)
            live = obj is not None and req.store.count(obj, '"Id" = ? AND COALESCE("IsDeleted", 0) = 0', (rid,))
            if not live:
                results.append(
                    {
                        "id": rid,
                        "success": False,
                        "errors": [salesforce_writes.error("ENTITY_IS_DELETED", "entity is deleted")],
                    }
                )
                continue
            at = at or req.store.next_write_time()
            req.store.soft_delete(salesforce_fields.stored_schema(req.store, obj), [rid], at)
            results.append({"id": rid, "success": True, "errors": []})
    return json_response(results)


def _collection_object(req: ApiRequest) -> str | None:
    if "object" in req.path_params:
        return req.path_params["object"]
    try:
        body = req.json()
        obj = _record_type(body["records"][0])
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return None
    return obj.name if obj else None


def _path_object(req: ApiRequest) -> str | None:
    return req.path_params.get("object")


SO = DATA + r"/sobjects/(?P<object>\w+)"
ROUTES: tuple[Route, ...] = (
    route("salesforce", "token", "POST", r"/services/oauth2/token", token, auth=False),
    route("salesforce", "versions", "GET", r"/services/data", versions, auth=False),
    route("salesforce", "resources", "GET", DATA, resources),
    route("salesforce", "describe_global", "GET", DATA + r"/sobjects", describe_global),
    route("salesforce", "query", "GET", DATA + r"/query", query, object_of=_query_object),
    route(
        "salesforce",
        "query_more",
        "GET",
        DATA + r"/query/(?P<locator>\w+)-(?P<start>\d+)",
        query_more,
        object_of=_cursor_object,
    ),
    route("salesforce", "queryAll", "GET", DATA + r"/queryAll", query_all, object_of=_query_object),
    route(
        "salesforce",
        "queryAll_more",
        "GET",
        DATA + r"/queryAll/(?P<locator>\w+)-(?P<start>\d+)",
        query_more,
        object_of=_cursor_object,
    ),
    route("salesforce", "sobject_info", "GET", SO, sobject_info, object_of=_path_object),
    route("salesforce", "describe", "GET", SO + r"/describe", describe, object_of=_path_object),
    route("salesforce", "sobject_create", "POST", SO, sobject_create, write=True, object_of=_path_object),
    route("salesforce", "sobject_get", "GET", SO + r"/(?P<id>\w{15,18})", sobject_get, object_of=_path_object),
    route(
        "salesforce",
        "sobject_update",
        "PATCH",
        SO + r"/(?P<id>\w{15,18})",
        sobject_update,
        write=True,
        object_of=_path_object,
    ),
    route(
        "salesforce",
        "sobject_delete",
        "DELETE",
        SO + r"/(?P<id>\w{15,18})",
        sobject_delete,
        write=True,
        object_of=_path_object,
    ),
    route(
        "salesforce",
        "sobject_get_by_external_id",
        "GET",
        SO + r"/(?P<field>\w+)/(?P<value>[^/]+)",
        sobject_get_by_external_id,
        object_of=_path_object,
    ),
    route(
        "salesforce",
        "sobject_upsert",
        "PATCH",
        SO + r"/(?P<field>\w+)/(?P<value>[^/]+)",
        sobject_upsert,
        write=True,
        object_of=_path_object,
    ),
    route(
        "salesforce",
        "composite_create",
        "POST",
        DATA + r"/composite/sobjects",
        composite_create,
        write=True,
        object_of=_collection_object,
    ),
    route(
        "salesforce",
        "composite_update",
        "PATCH",
        DATA + r"/composite/sobjects",
        composite_update,
        write=True,
        object_of=_collection_object,
    ),
    route(
        "salesforce",
        "composite_delete",
        "DELETE",
        DATA + r"/composite/sobjects",
        composite_delete,
        write=True,
    ),
    route(
        "salesforce",
        "composite_upsert",
        "PATCH",
        DATA + r"/composite/sobjects/(?P<object>\w+)/(?P<field>\w+)",
        composite_upsert,
        write=True,
        object_of=_path_object,
    ),
    *salesforce_bulk.routes(DATA),
)

SYSTEM = System("salesforce", ROUTES, authenticate, fault_response, not_found, internal_error)
