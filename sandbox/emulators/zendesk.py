"""The Zendesk Support API as a support-data loader uses it.

Incremental exports (cursor-based for tickets and users, time-based for organizations, tickets and
users), plain lists with cursor pagination (`page[size]`, `page[after]`) or offset pagination
(`page`, `per_page`), and single records. Shapes and paging fields follow Zendesk's, so zenpy and
dlt's REST paginators work unchanged.

As the real API: every path answers with or without its `.json` suffix, records carry every
documented field (`zendesk_shapes`, facts in `api_facts/zendesk.json`), and incremental exports
are limited to 10 requests a minute (429 with Retry-After past it).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.responses import Response

from sandbox.emulators import records, zendesk_shapes
from sandbox.emulators.credentials import ZENDESK
from sandbox.emulators.faults import apply_to_records
from sandbox.emulators.routing import ApiError, ApiRequest, Route, System, json_response, route
from sandbox.schema import ZENDESK_OBJECTS, ObjectSchema
from sandbox.store import zd_datetime

API = "/api/v2"
EXPORT_PAGE = 1000
LIST_PAGE = 100
SINGULAR = {
    "organizations": "organization",
    "users": "user",
    "tickets": "ticket",
    "ticket_metrics": "ticket_metric",
    "satisfaction_ratings": "satisfaction_rating",
}


def _error(status: int, error: str, description: str, **headers: str) -> Response:
    return json_response({"error": error, "description": description}, status, headers or None)


def not_found(_req: ApiRequest | None = None) -> Response:
    return _error(404, "InvalidEndpoint", "Not found")


def internal_error() -> Response:
    return _error(500, "InternalError", "Something went wrong on our end")


def fault_response(kind: str, status: int, retry_after: int) -> Response:
    headers = {"Retry-After": str(retry_after)}
    if kind == "rate_limit":
        return _error(status, "APIRateLimitExceeded", "Number of allowed API requests per minute exceeded", **headers)
    if status == 503:
        return _error(503, "ServiceUnavailable", "Zendesk is temporarily unavailable", **headers)
    return internal_error()


def authenticate(req: ApiRequest) -> Response | None:
    scheme, _, value = (req.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, secret = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, secret = "", ""
        if user == f"{ZENDESK['email']}/token" and secret == ZENDESK["api_token"]:
            return None
    elif scheme.lower() == "bearer" and value.strip() == ZENDESK["oauth_token"]:
        return None
    return json_response({"error": "Couldn't authenticate you"}, 401)


def _int_param(req: ApiRequest, name: str, default: int | None, maximum: int | None = None) -> int | None:
    raw = req.param(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(_error(400, "InvalidPaginationParameter", f"{name} must be an integer, got {raw!r}")) from None
    if value < 0 or (maximum is not None and value > maximum):
        raise ApiError(
            _error(400, "InvalidPaginationParameter", f"{name} must be between 0 and {maximum}, got {value}")
        )
    return value


def _iso(unix_time: int) -> str:
    return zd_datetime(datetime.fromtimestamp(unix_time, UTC))


def _unix(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def _encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


def _decode_cursor(text: str) -> Any:
    try:
        return orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise ApiError(_error(400, "InvalidPaginationParameter", "invalid cursor")) from None


def _url(req: ApiRequest, path: str, params: dict[str, Any]) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None}, safe="[]")
    return f"{req.base_url}{path}" + (f"?{query}" if query else "")


def _finish(req: ApiRequest, obj: ObjectSchema, recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    apply_to_records(req.faults, recs, obj)
    return [_render(req, obj, rec) for rec in recs]


def _render(req: ApiRequest, obj: ObjectSchema, rec: dict[str, Any]) -> dict[str, Any]:
    out = zendesk_shapes.render(obj.name, rec)
    for name in {f.name for f in obj.fields} - set(rec):  # a field a fault removed stays away
        out.pop(name, None)
    return out


def _export_limit() -> None:
    wait = zendesk_shapes.export_limit.take()
    if wait is not None:
        raise ApiError(
            _error(
                429,
                "APIRateLimitExceeded",
                "Number of allowed incremental export API requests per minute exceeded",
                **{"Retry-After": str(wait)},
            )
        )


# --- incremental exports -----------------------------------------------------------------------


def _metric_sets(req: ApiRequest, tickets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = [t["id"] for t in tickets if "id" in t]
    if not ids:
        return []
    obj = ZENDESK_OBJECTS["ticket_metrics"]
    marks = ", ".join("?" for _ in ids)
    found = records.select(req.store, obj, [f"ticket_id IN ({marks})"], ids, order="ticket_id")
    return [_render(req, obj, rec) for rec in found]


def cursor_export(name: str):
    """`/incremental/{tickets|users}/cursor.json`: ordered by (updated_at, id); the cursor is a position."""
    obj = ZENDESK_OBJECTS[name]

    def handler(req: ApiRequest) -> Response:
        _export_limit()
        per_page = _int_param(req, "per_page", EXPORT_PAGE, EXPORT_PAGE) or EXPORT_PAGE
        include = req.param("include")
        cursor = req.param("cursor")
        start_time = _int_param(req, "start_time", None)
        backwards = False
        if cursor:
            position = _decode_cursor(cursor)
            if not (isinstance(position, list) and len(position) == 3 and position[0] in ("a", "b")):
                raise ApiError(_error(400, "InvalidPaginationParameter", "invalid cursor"))
            backwards = position[0] == "b"
            updated_at, key = position[1], position[2]
        elif start_time is not None:
            # (updated_at, id) > (start, 0) is "updated at or after start_time": ids are positive.
            updated_at, key = _iso(start_time), 0
        else:
            return _error(400, "InvalidValue", "start_time or cursor is required")
        if backwards:
            page = records.select(
                req.store,
                obj,
                ["(updated_at, id) < (?, ?)"],
                [updated_at, key],
                "updated_at DESC, id DESC",
                per_page + 1,
            )
            more_before = len(page) > per_page
            page = list(reversed(page[:per_page]))
            more_after = True
        else:
            page = records.select(
                req.store, obj, ["(updated_at, id) > (?, ?)"], [updated_at, key], "updated_at, id", per_page + 1
            )
            more_after = len(page) > per_page
            page = page[:per_page]
            more_before = bool(cursor)
        # Positions come from the records before faults touch them.
        last = ["a", page[-1]["updated_at"], page[-1]["id"]] if page else ["a", updated_at, key]
        first = ["b", page[0]["updated_at"], page[0]["id"]] if page else None
        after_cursor = _encode_cursor(last)
        before_cursor = _encode_cursor(first) if first and more_before else None
        path = f"{API}/incremental/{name}/cursor.json"
        extra = {"per_page": req.param("per_page"), "include": include}
        body: dict[str, Any] = {name: _finish(req, obj, page)}
        if name == "tickets" and include and "metric_sets" in include.split(","):
            body["metric_sets"] = _metric_sets(req, page)
        body |= {
            "after_url": _url(req, path, {"cursor": after_cursor, **extra}),
            "after_cursor": after_cursor,
            "before_url": _url(req, path, {"cursor": before_cursor, **extra}) if before_cursor else None,
            "before_cursor": before_cursor,
            "end_of_stream": not more_after,
        }
        return json_response(body)

    return handler


def time_export(name: str):
    """`/incremental/{name}.json?start_time=`: time-based pages. A page never splits the records of one
    second, so `next_page` (start_time = end_time + 1) neither repeats nor skips a record."""
    obj = ZENDESK_OBJECTS[name]

    def handler(req: ApiRequest) -> Response:
        _export_limit()
        start_time = _int_param(req, "start_time", None)
        if start_time is None:
            return _error(400, "InvalidValue", "start_time is required")
        per_page = _int_param(req, "per_page", EXPORT_PAGE, EXPORT_PAGE) or EXPORT_PAGE
        start = _iso(start_time)
        page = records.select(req.store, obj, ["updated_at >= ?"], [start], "updated_at, id", per_page)
        if len(page) == per_page:
            boundary = page[-1]["updated_at"]
            page += records.select(req.store, obj, ["updated_at = ?", "id > ?"], [boundary, page[-1]["id"]], "id")
        more = bool(page) and records.count(req.store, obj, ["updated_at > ?"], [page[-1]["updated_at"]]) > 0
        end_time = _unix(page[-1]["updated_at"]) if page else start_time
        next_start = end_time + 1 if page else start_time
        extra = {"per_page": req.param("per_page"), "include": req.param("include")}
        count = len(page)
        return json_response(
            {
                name: _finish(req, obj, page),
                "next_page": _url(req, f"{API}/incremental/{name}.json", {"start_time": next_start, **extra}),
                "count": count,
                "end_of_stream": not more,
                "end_time": end_time,
            }
        )

    return handler


# --- lists and single records ------------------------------------------------------------------


def _time_filters(req: ApiRequest) -> tuple[list[str], list[Any]]:
    """start_time / end_time (Unix) on updated_at, as the ratings endpoint filters."""
    where, params = [], []
    start = _int_param(req, "start_time", None)
    end = _int_param(req, "end_time", None)
    if start is not None:
        where.append("updated_at >= ?")
        params.append(_iso(start))
    if end is not None:
        where.append("updated_at <= ?")
        params.append(_iso(end))
    return where, params


def list_handler(name: str):
    obj = ZENDESK_OBJECTS[name]
    path = f"{API}/{name}.json"

    def handler(req: ApiRequest) -> Response:
        where, params = _time_filters(req)
        cursor_paging = any(k.startswith("page[") for k, _ in req.query)
        if not cursor_paging:
            per_page = _int_param(req, "per_page", LIST_PAGE, LIST_PAGE) or LIST_PAGE
            page_no = max(1, _int_param(req, "page", 1) or 1)
            total = records.count(req.store, obj, where, params)
            page = records.select(req.store, obj, where, params, "id", per_page, (page_no - 1) * per_page)
            extra = {
                "per_page": req.param("per_page"),
                "start_time": req.param("start_time"),
                "end_time": req.param("end_time"),
            }
            has_next = page_no * per_page < total
            return json_response(
                {
                    name: _finish(req, obj, page),
                    "next_page": _url(req, path, {"page": page_no + 1, **extra}) if has_next else None,
                    "previous_page": _url(req, path, {"page": page_no - 1, **extra}) if page_no > 1 else None,
                    "count": total,
                }
            )
        size = _int_param(req, "page[size]", LIST_PAGE, LIST_PAGE) or LIST_PAGE
        after, before = req.param("page[after]"), req.param("page[before]")
        if before:
            page = records.select(
                req.store, obj, [*where, "id < ?"], [*params, _decode_cursor(before)], "id DESC", size + 1
            )
            has_more = len(page) > size
            page = list(reversed(page[:size]))
        else:
            cond = [*where, "id > ?"] if after else where
            args = [*params, _decode_cursor(after)] if after else params
            page = records.select(req.store, obj, cond, args, "id", size + 1)
            has_more = len(page) > size
            page = page[:size]
        after_cursor = _encode_cursor(page[-1]["id"]) if page else None
        before_cursor = _encode_cursor(page[0]["id"]) if page else None
        extra = {
            "page[size]": req.param("page[size]"),
            "start_time": req.param("start_time"),
            "end_time": req.param("end_time"),
        }
        forward_more = has_more if not before else True
        return json_response(
            {
                name: _finish(req, obj, page),
                "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor},
                "links": {
                    "next": _url(req, path, {**extra, "page[after]": after_cursor})
                    if after_cursor and forward_more
                    else None,
                    "prev": _url(req, path, {**extra, "page[before]": before_cursor}) if before_cursor else None,
                },
            }
        )

    return handler


def show_handler(name: str):
    obj = ZENDESK_OBJECTS[name]

    def handler(req: ApiRequest) -> Response:
        found = records.select(req.store, obj, ["id = ?"], [int(req.path_params["id"])])
        if not found:
            return _error(404, "RecordNotFound", "Not found")
        return json_response({SINGULAR[name]: _render(req, obj, found[0])})

    return handler


def _routes() -> tuple[Route, ...]:
    out: list[Route] = []
    for name in ("tickets", "users"):
        out.append(
            route(
                "zendesk",
                f"{name}_incremental_cursor",
                "GET",
                rf"{API}/incremental/{name}/cursor(?:\.json)?",
                cursor_export(name),
                object_of=lambda _r, n=name: n,
            )
        )
    for name in ("organizations", "tickets", "users"):
        out.append(
            route(
                "zendesk",
                f"{name}_incremental",
                "GET",
                rf"{API}/incremental/{name}(?:\.json)?",
                time_export(name),
                object_of=lambda _r, n=name: n,
            )
        )
    for name in SINGULAR:
        out.append(
            route(
                "zendesk", name, "GET", rf"{API}/{name}(?:\.json)?", list_handler(name), object_of=lambda _r, n=name: n
            )
        )
        out.append(
            route(
                "zendesk",
                f"{SINGULAR[name]}_show",
                "GET",
                rf"{API}/{name}/(?P<id>\d+)(?:\.json)?",
                show_handler(name),
                object_of=lambda _r, n=name: n,
            )
        )
    return tuple(out)


SYSTEM = System("zendesk", _routes(), authenticate, fault_response, not_found, internal_error)
