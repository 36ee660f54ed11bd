"""The Stripe API's list and retrieve endpoints for customers, subscriptions, invoices and events.

Lists are newest first, paged with `limit` / `starting_after` / `ending_before` / `has_more`, and
filtered by `created` ranges and each resource's own filters, so Stripe's python library can
`auto_paging_iter()` through them unchanged.

As the real API: objects carry their full documented shape for the requested `Stripe-Version`
(`stripe_shapes`), every response names the version in its `Stripe-Version` header, a parameter the
endpoint does not take answers 400 `parameter_unknown`, `expand[]` replaces an id by its object
(`customer`, `subscription`, `latest_invoice`, `parent.subscription_details.subscription`; on lists
prefixed `data.`), and an event listing's `types[]` takes exact event names (`type` alone takes a
`*` wildcard).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from starlette.responses import Response

from sandbox.emulators import records, stripe_shapes
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


def _version(req: ApiRequest) -> str:
    version = stripe_shapes.requested_version(req.headers.get("stripe-version"))
    if version is None:
        raise ApiError(
            _error(
                400,
                f"Invalid Stripe API version: {req.headers.get('stripe-version')}",
                code="api_version_invalid",
            )
        )
    return version


def _check_params(req: ApiRequest, allowed: list[str]) -> None:
    for key, _ in req.query:
        base = key.split("[", 1)[0]
        if base not in allowed:
            raise ApiError(
                _error(
                    400,
                    f"Received unknown parameter: {base}",
                    code="parameter_unknown",
                    doc_url="https://stripe.com/docs/error-codes/parameter-unknown",
                    param=base,
                )
            )


# Reference fields that can be expanded, per object, and the object each one points at.
EXPANDABLE = {
    "subscription": {"customer": "customers", "latest_invoice": "invoices"},
    "invoice": {
        "customer": "customers",
        "subscription": "subscriptions",
        "parent.subscription_details.subscription": "subscriptions",
    },
    "customer": {},
    "event": {},
}


def _expansions(req: ApiRequest, object_name: str, listing: bool) -> list[str]:
    paths = [v for k, v in req.query if k == "expand" or k.startswith("expand[")]
    out = []
    for path in paths:
        field_path = path
        if listing:
            if not path.startswith("data."):
                raise ApiError(_error(400, f"This property cannot be expanded ({path}).", param="expand"))
            field_path = path[len("data.") :]
        known = EXPANDABLE[object_name]
        if field_path not in known and not _expandable_null(object_name, field_path):
            raise ApiError(_error(400, f"This property cannot be expanded ({path}).", param="expand"))
        out.append(field_path)
    return out


def _expandable_null(object_name: str, field_path: str) -> bool:
    """Other documented expandable fields (always null in the sandbox: no charges, schedules...)."""
    spec = stripe_shapes.facts()["objects"].get(object_name, {}).get(field_path)
    return bool(spec and spec["type"] == "expandable")


def _expand(req: ApiRequest, rec: dict[str, Any], object_name: str, paths: list[str], shape: str) -> None:
    for path in paths:
        target = EXPANDABLE[object_name].get(path)
        *parents, last = path.split(".")
        holder: Any = rec
        for part in parents:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if not isinstance(holder, dict) or not isinstance(holder.get(last), str) or target is None:
            continue
        found = records.select(req.store, STRIPE_OBJECTS[target], ["id = ?"], [holder[last]])
        if found:
            holder[last] = stripe_shapes.render(SINGULAR[target], found[0], shape)


def _render(req: ApiRequest, name: str, page: list[dict[str, Any]], version: str, paths: list[str]) -> list[Any]:
    shape = stripe_shapes.shape_of(version)
    stored = {f.name for f in STRIPE_OBJECTS[name].fields}
    out = []
    for rec in page:
        if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
            out.append(rec)  # a record a fault broke goes out as broken as it is
            continue
        rendered = stripe_shapes.render(SINGULAR[name], rec, shape)
        for key in set(rec) - stored - set(rendered):  # a field a fault added stays
            rendered[key] = rec[key]
        for key in stored - set(rec):  # and one it removed stays away
            rendered.pop(key, None)
        _expand(req, rendered, SINGULAR[name], paths, shape)
        out.append(rendered)
    return out


def _headers(version: str) -> dict[str, str]:
    return {"Request-Id": "req_" + secrets.token_hex(7), "Stripe-Version": stripe_shapes.display_version(version)}


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
        if len(types) > stripe_shapes.facts()["max_event_types"]:
            raise ApiError(_error(400, "`types` may contain at most 20 event types.", param="types"))
        if types:  # exact names: `invoice.*` in `types` is a name no event has
            where.append(" OR ".join("type = ?" for _ in types))
            params.extend(types)
        elif single:
            where.append("type LIKE ?" if "*" in single else "type = ?")
            params.append(single.replace("*", "%"))
    if obj.name in ("subscriptions", "invoices"):
        for name in ("customer", "subscription") if obj.name == "invoices" else ("customer",):
            value = req.param(name)
            if value:
                where.append(f"{name} = ?")
                params.append(value)


def list_handler(name: str):
    obj = STRIPE_OBJECTS[name]

    def handler(req: ApiRequest) -> Response:
        version = _version(req)
        _check_params(req, stripe_shapes.facts()["list_parameters"][name])
        paths = _expansions(req, SINGULAR[name], listing=True)
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
        data = _render(req, name, page, version, paths)
        return json_response(
            {"object": "list", "data": data, "has_more": has_more, "url": f"/v1/{name}"}, headers=_headers(version)
        )

    return handler


def retrieve_handler(name: str):
    obj = STRIPE_OBJECTS[name]

    def handler(req: ApiRequest) -> Response:
        version = _version(req)
        _check_params(req, stripe_shapes.facts()["retrieve_parameters"])
        paths = _expansions(req, SINGULAR[name], listing=False)
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
            return json_response({"id": rec["id"], "object": "customer", "deleted": True}, headers=_headers(version))
        return json_response(_render(req, name, [rec], version, paths)[0], headers=_headers(version))

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
