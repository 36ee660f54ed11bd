"""The Stripe API's list and retrieve endpoints for customers, subscriptions, invoices and events.

Lists are newest first, paged with `limit` / `starting_after` / `ending_before` / `has_more`, and
filtered by `created` ranges and each resource's own filters, so Stripe's python library can
`auto_paging_iter()` through them unchanged.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from starlette.responses import Response

from sandbox.emulators import records
from sandbox.emulators.credentials import STRIPE
from sandbox.emulators.faults import apply_to_records
from sandbox.emulators.routing import ApiError, ApiRequest, Route, System, json_response, route
from sandbox.schema import STRIPE_OBJECTS, ObjectSchema

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
SUBSCRIPTION_STATUSES = (
    "active",
    "past_due",
    "unpaid",
    "canceled",
    "incomplete",
    "incomplete_expired",
    "trialing",
    "paused",
)
INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")
SINGULAR = {"customers": "customer", "subscriptions": "subscription", "invoices": "invoice", "events": "event"}

NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer "
    "auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for "
    "details, or we can help at https://support.stripe.com/."
)


def _error(status: int, message: str, type_: str = "invalid_request_error", **extra: Any) -> Response:
    headers = {"Request-Id": "req_" + secrets.token_hex(7)}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra.pop("retry_after"))
    return json_response({"error": {"message": message, "type": type_, **extra}}, status, headers)


def not_found(req: ApiRequest | None = None) -> Response:
    where = f" ({req.method}: {req.path})" if req else ""
    return _error(
        404,
        f"Unrecognized request URL{where}. Please see https://stripe.com/docs or we can help at "
        "https://support.stripe.com/.",
    )


def internal_error() -> Response:
    return _error(500, "An unknown error occurred", "api_error")


def fault_response(kind: str, status: int, retry_after: int) -> Response:
    if kind == "rate_limit":
        return _error(
            status,
            "Request rate limit exceeded. You can learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            code="rate_limit",
            retry_after=retry_after,
        )
    return internal_error() if status == 500 else _error(status, "Stripe is temporarily unavailable", "api_error")


def _mask(key: str) -> str:
    return key[:8] + "*" * (len(key) - 12) + key[-4:] if len(key) > 12 else "*" * len(key)


def authenticate(req: ApiRequest) -> Response | None:
    scheme, _, value = (req.headers.get("authorization") or "").partition(" ")
    key = ""
    if scheme.lower() == "bearer":
        key = value.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(value.strip()).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    if not key:
        return _error(401, NO_KEY)
    if key != STRIPE["secret_key"]:
        return _error(401, f"Invalid API Key provided: {_mask(key)}")
    return None


def _int(req: ApiRequest, name: str) -> int | None:
    raw = req.param(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(_error(400, f"Invalid integer: {raw}", param=name)) from None


def _created_filters(req: ApiRequest, where: list[str], params: list[Any]) -> None:
    exact = _int(req, "created")
    if exact is not None:
        where.append("created = ?")
        params.append(exact)
    for op, sql in (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")):
        value = _int(req, f"created[{op}]")
        if value is not None:
            where.append(f"created {sql} ?")
            params.append(value)


def _position(req: ApiRequest, obj: ObjectSchema, param: str, object_id: str) -> tuple[int, str]:
    row = req.store.conn.execute(f'SELECT created, id FROM "{obj.table}" WHERE id = ?', (object_id,)).fetchone()
    if row is None:
        raise ApiError(
            _error(400, f"No such {SINGULAR[obj.name]}: '{object_id}'", code="resource_missing", param=param)
        )
    return row[0], row[1]


def _resource_filters(req: ApiRequest, obj: ObjectSchema, where: list[str], params: list[Any]) -> None:
    if obj.name == "customers":
        where.append("COALESCE(deleted, 0) = 0")  # Stripe never lists deleted customers
        email = req.param("email")
        if email:
            where.append("email = ?")
            params.append(email)
    elif obj.name == "subscriptions":
        status = req.param("status")
        if status is None:
            where.append("status NOT IN ('canceled', 'incomplete_expired')")
        elif status == "ended":
            where.append("status IN ('canceled', 'incomplete_expired')")
        elif status in SUBSCRIPTION_STATUSES:
            where.append("status = ?")
            params.append(status)
        elif status != "all":
            raise ApiError(
                _error(
                    400,
                    f"Invalid status: must be one of all, ended, {', '.join(SUBSCRIPTION_STATUSES)}",
                    param="status",
                )
            )
    elif obj.name == "invoices":
        status = req.param("status")
        if status is not None:
            if status not in INVOICE_STATUSES:
                raise ApiError(
                    _error(400, f"Invalid status: must be one of {', '.join(INVOICE_STATUSES)}", param="status")
                )
            where.append("status = ?")
            params.append(status)
    elif obj.name == "events":
        types = req.params("types[]") or [v for k, v in req.query if k.startswith("types[")]
        single = req.param("type")
        if single and types:
            raise ApiError(_error(400, "You cannot specify both `type` and `types`.", param="types"))
        patterns = types or ([single] if single else [])
        if patterns:
            where.append(" OR ".join("type LIKE ?" if "*" in p else "type = ?" for p in patterns))
            params.extend(p.replace("*", "%") for p in patterns)
    if obj.name in ("subscriptions", "invoices"):
        for name in ("customer", "subscription") if obj.name == "invoices" else ("customer",):
            value = req.param(name)
            if value:
                where.append(f"{name} = ?")
                params.append(value)


def list_handler(name: str):
    obj = STRIPE_OBJECTS[name]

    def handler(req: ApiRequest) -> Response:
        limit = _int(req, "limit")
        limit = DEFAULT_LIMIT if limit is None else limit
        if not 1 <= limit <= MAX_LIMIT:
            return _error(400, f"Invalid limit: must be between 1 and {MAX_LIMIT}", param="limit")
        where: list[str] = []
        params: list[Any] = []
        _created_filters(req, where, params)
        _resource_filters(req, obj, where, params)
        after, before = req.param("starting_after"), req.param("ending_before")
        if after and before:
            return _error(400, "You may only specify one of these parameters: starting_after, ending_before.")
        if before:
            created, oid = _position(req, obj, "ending_before", before)
            page = records.select(
                req.store, obj, [*where, "(created, id) > (?, ?)"], [*params, created, oid], "created, id", limit + 1
            )
            has_more = len(page) > limit
            page = list(reversed(page[:limit]))
        else:
            if after:
                created, oid = _position(req, obj, "starting_after", after)
                where.append("(created, id) < (?, ?)")
                params += [created, oid]
            page = records.select(req.store, obj, where, params, "created DESC, id DESC", limit + 1)
            has_more = len(page) > limit
            page = page[:limit]
        apply_to_records(req.faults, page, obj)
        return json_response({"object": "list", "data": page, "has_more": has_more, "url": f"/v1/{name}"})

    return handler


def retrieve_handler(name: str):
    obj = STRIPE_OBJECTS[name]

    def handler(req: ApiRequest) -> Response:
        object_id = req.path_params["id"]
        found = records.select(req.store, obj, ["id = ?"], [object_id])
        if not found:
            return _error(
                404,
                f"No such {SINGULAR[name]}: '{object_id}'",
                code="resource_missing",
                doc_url="https://stripe.com/docs/error-codes/resource-missing",
                param="id",
            )
        rec = found[0]
        if name == "customers" and rec.get("deleted"):
            return json_response({"id": rec["id"], "object": "customer", "deleted": True})
        return json_response(rec)

    return handler


def _routes() -> tuple[Route, ...]:
    out: list[Route] = []
    for name in STRIPE_OBJECTS:
        out.append(route("stripe", name, "GET", f"/v1/{name}", list_handler(name), object_of=lambda _r, n=name: n))
        out.append(
            route(
                "stripe",
                f"{SINGULAR[name]}_retrieve",
                "GET",
                rf"/v1/{name}/(?P<id>[A-Za-z0-9_]+)",
                retrieve_handler(name),
                object_of=lambda _r, n=name: n,
            )
        )
    return tuple(out)


SYSTEM = System("stripe", _routes(), authenticate, fault_response, not_found, internal_error)
