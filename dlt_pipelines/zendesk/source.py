"""Zendesk Support.

- tickets (+ ticket_metrics): the cursor-based incremental ticket export
  (`/api/v2/incremental/tickets/cursor.json`) with the `metric_sets` sideload, as Zendesk
  recommends: the first run starts at `start_time`, every later run resumes from the
  `after_cursor` the previous run ended on (kept in dlt state), following `after_url` until
  `end_of_stream`. One request feeds both tables; the ticket list endpoint of metrics has no time
  filter in Zendesk's API, so the sideload is how changed metrics are found.
- users: the cursor-based user export, organizations: the time-based organization export, both
  declared with dlt's `rest_api_source`, incremental on `updated_at`.
- satisfaction_ratings: the list endpoint with cursor pagination and its `start_time` filter.

Everything merges on `id`, so the overlap the exports return around `start_time` is harmless.
Auth is an API token (`{email}/token:{api_token}`, HTTP Basic).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import requests
from dlt.sources import DltSource
from dlt.sources.helpers.rest_client.auth import HttpBasicAuth
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator, JSONResponseCursorPaginator
from dlt.sources.rest_api import rest_api_resources
from requests import Response

from core.auth import zendesk_basic_auth
from dlt_pipelines import contracts, http
from dlt_pipelines.contracts import TableSpec, by_name
from dlt_pipelines.settings import SourceSettings
from dlt_pipelines.zendesk.tables import TABLES

INITIAL_UPDATED_AT = "1970-01-01T00:00:00Z"
PAGE_SIZE = 100


class EndOfStreamPaginator(JSONLinkPaginator):
    """Zendesk's incremental exports always return a next URL (to resume later); the last page
    says `end_of_stream: true` instead of leaving the URL out."""

    def __init__(self, next_url_path: str) -> None:
        super().__init__(next_url_path=next_url_path)

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        super().update_state(response, data)
        if response.json().get("end_of_stream", True):
            self._next_reference = None


def unix_seconds(value: Any) -> int:
    """An `updated_at` cursor value as the Unix seconds Zendesk's `start_time` takes."""
    if isinstance(value, datetime):
        return int(value.timestamp())
    text = str(value).replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp())


def _incremental(spec: TableSpec, start_param: str | None) -> dict[str, Any]:
    inc: dict[str, Any] = {
        "cursor_path": spec.cursor,
        "initial_value": INITIAL_UPDATED_AT,
        "on_cursor_value_missing": "include",
    }
    if start_param:
        inc |= {"start_param": start_param, "convert": unix_seconds}
    return inc


def _resources() -> dict[str, dict[str, Any]]:
    cursor_pages = {"has_more_path": "meta.has_more", "cursor_path": "meta.after_cursor"}
    return {
        "users": {
            "path": "incremental/users/cursor.json",
            "data_selector": http.selector("users"),
            "paginator": EndOfStreamPaginator("after_url"),
            "incremental": _incremental(TABLES["users"], "start_time"),
        },
        "organizations": {
            "path": "incremental/organizations.json",
            "data_selector": http.selector("organizations"),
            "paginator": EndOfStreamPaginator("next_page"),
            "incremental": _incremental(TABLES["organizations"], "start_time"),
        },
        "satisfaction_ratings": {
            "path": "satisfaction_ratings.json",
            "params": {"page[size]": PAGE_SIZE},
            "data_selector": http.selector("satisfaction_ratings"),
            "paginator": JSONResponseCursorPaginator(cursor_param="page[after]", **cursor_pages),
            "incremental": _incremental(TABLES["satisfaction_ratings"], "start_time"),
        },
    }


EXPORTED = ("tickets", "ticket_metrics")  # both come from the ticket export


def check_response(resp: Response) -> Response:
    if resp.status_code >= 400:
        raise requests.HTTPError(f"{resp.status_code} for {resp.url}", response=resp)
    return resp


def ticket_export(base: str, auth: HttpBasicAuth | None, start_time: int, metrics: bool) -> Any:
    """Pages of the ticket export, each `{"tickets": [...], "metric_sets": [...]}`."""

    @dlt.resource(name="ticket_export", selected=False)
    def export() -> Iterator[dict[str, Any]]:
        state = dlt.current.resource_state()
        cursor = state.get("after_cursor")
        session = http.session()
        url = f"{base}incremental/tickets/cursor.json"
        params: dict[str, Any] | None = {"cursor": cursor} if cursor else {"start_time": start_time}
        if metrics and params is not None:
            params["include"] = "metric_sets"
        while True:
            body = check_response(session.get(url, params=params, auth=auth)).json()
            yield {"tickets": body.get("tickets") or [], "metric_sets": body.get("metric_sets") or []}
            cursor = body.get("after_cursor") or cursor
            if body.get("end_of_stream", True) or not body.get("after_url"):
                break
            url, params = body["after_url"], None
        # Saved only once the stream is read to its end; an interrupted run resumes from the old one.
        state["after_cursor"] = cursor

    return export


def _from_export(export: Any, spec: TableSpec, key: str) -> Any:
    @dlt.transformer(data_from=export, **spec.resource_hints())
    def part(page: dict[str, Any]) -> Iterator[list[Any]]:
        if page[key]:
            yield page[key]

    return contracts.attach(part, spec)


def zendesk_source(cfg: SourceSettings, connect: bool = True) -> DltSource:
    objects: list[str] = cfg.get("objects", list, list(TABLES))
    unknown = [o for o in objects if o not in TABLES]
    if unknown:
        raise ValueError(f"sources.zendesk.objects: no contract for {unknown}; known: {list(TABLES)}")
    auth = HttpBasicAuth(*zendesk_basic_auth(cfg.get("email", str), cfg.secret("api_token") or "")) if connect else None
    endpoints = _resources()
    base = f"{cfg.url('base_url', connect)}/api/v2/"
    declared = [o for o in objects if o not in EXPORTED]

    @dlt.source(name="zendesk", max_table_nesting=1)
    def zendesk() -> Any:
        out = []
        if declared:
            resources = by_name(
                rest_api_resources(
                    {
                        "client": {"base_url": base, "auth": auth, "session": http.session()},
                        "resources": [{**TABLES[o].resource_hints(), "endpoint": endpoints[o]} for o in declared],
                    }
                )
            )
            out += [contracts.attach(resources[TABLES[o].table], TABLES[o]) for o in declared]
        exported = [o for o in objects if o in EXPORTED]
        if exported:
            export = ticket_export(base, auth, cfg.get("start_time", int, 0), "ticket_metrics" in exported)
            keys = {"tickets": "tickets", "ticket_metrics": "metric_sets"}
            out += [_from_export(export, TABLES[o], keys[o]) for o in exported]
        return out

    return zendesk()
