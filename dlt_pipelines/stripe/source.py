"""Stripe: customers, subscriptions (all statuses), invoices and the event log.

Stripe's list endpoints filter on `created` only, so a list cannot tell which old objects changed
(an invoice paid late, a subscription canceled). Stripe's own answer is the event log: every change
writes an Event whose `data.object` is the object after the change. So:

- `events` is declarative (`rest_api_source`): `GET /v1/events?created[gte]=<last>`, paged with
  `starting_after`/`has_more`, kept whole (the history of every payment failure is a signal).
- `customers`, `subscriptions`, `invoices` list everything once (`status=all` for subscriptions),
  remembering the newest event's time at the start of that listing; later runs read the events
  since then and merge the newest state of each changed object. Events are kept by Stripe for 30
  days: if the pipeline was off longer, the object is listed in full again.

All tables merge on `id`. Auth is the secret key as a bearer token. Every request sends the API
version pinned in `sources.stripe.api_version` as `Stripe-Version`, so the shapes do not change
when someone upgrades the account's default version.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources import DltSource
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import BaseReferencePaginator
from dlt.sources.rest_api import rest_api_resources
from requests import Request, Response

from dlt_pipelines import contracts, http
from dlt_pipelines.contracts import TableSpec, by_name
from dlt_pipelines.settings import SourceSettings
from dlt_pipelines.stripe.tables import EVENTS, OBJECT_TABLES, TABLES

PAGE_SIZE = 100
# Stripe keeps events for 30 days; a day's margin for clock differences.
EVENT_RETENTION_SECONDS = 29 * 24 * 3600
LIST_PARAMS: dict[str, dict[str, Any]] = {"subscriptions": {"status": "all"}}


class StartingAfterPaginator(BaseReferencePaginator):
    """Stripe's list paging: ask for the page after the last object's id while `has_more`."""

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        body = response.json()
        items = body.get("data") or []
        # A malformed last record may lack its id; any earlier id still moves forward (the
        # overlap merges away).
        last_id = next((i["id"] for i in reversed(items) if isinstance(i, dict) and isinstance(i.get("id"), str)), None)
        self._next_reference = last_id if body.get("has_more") else None

    def update_request(self, request: Request) -> None:
        request.params = {**(request.params or {}), "starting_after": self._next_reference}


def _client(cfg: SourceSettings, connect: bool) -> RESTClient:
    base = f"{cfg.url('base_url', connect)}/v1/"
    auth = BearerTokenAuth(token=cfg.secret("api_key")) if connect else None
    headers = {"Stripe-Version": cfg.get("api_version", str)}
    return RESTClient(base_url=base, auth=auth, headers=headers, session=http.session())


def _pages(client: RESTClient, path: str, params: dict[str, Any]) -> Iterator[list[Any]]:
    yield from client.paginate(
        path,
        params={"limit": PAGE_SIZE, **params},
        paginator=StartingAfterPaginator(),
        data_selector=http.selector("data"),
    )


def newest_events(client: RESTClient) -> tuple[int, list[str]]:
    """The time of the newest event and the ids of the events at that second: the next run asks
    for events from that second on (`created[gte]`) and skips these, so nothing is applied twice
    and an event written later in the same second is still seen."""
    page = next(iter(_pages(client, "events", {})), [])
    events = [e for e in page if isinstance(e, dict) and isinstance(e.get("created"), int)]
    if not events:
        return 0, []
    newest = events[0]["created"]
    return newest, [e["id"] for e in events if e["created"] == newest and isinstance(e.get("id"), str)]


# Event types that carry each object (narrows the event listing; the object type is checked too).
# `types[]` takes exact names (at most 20), not wildcards.
EVENT_TYPES = {
    "customer": ["customer.created", "customer.updated", "customer.deleted"],
    "subscription": [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "customer.subscription.pending_update_applied",
        "customer.subscription.pending_update_expired",
        "customer.subscription.trial_will_end",
    ],
    "invoice": [
        "invoice.created",
        "invoice.deleted",
        "invoice.finalization_failed",
        "invoice.finalized",
        "invoice.marked_uncollectible",
        "invoice.overdue",
        "invoice.overpaid",
        "invoice.paid",
        "invoice.payment_action_required",
        "invoice.payment_failed",
        "invoice.payment_succeeded",
        "invoice.sent",
        "invoice.updated",
        "invoice.voided",
        "invoice.will_be_due",
    ],
}


def changed_objects(client: RESTClient, object_name: str, since: int, seen: set[str]) -> list[dict[str, Any]]:
    """The newest state of each `object_name` that an event since `since` touched. Events come
    newest first, so the first event seen for an object carries its current state."""
    latest: dict[str, dict[str, Any]] = {}
    params = {"created[gte]": since, "types[]": EVENT_TYPES[object_name]}
    for page in _pages(client, "events", params):
        for event in page:
            if not isinstance(event, dict) or event.get("id") in seen:
                continue
            data = event.get("data")
            obj = data.get("object") if isinstance(data, dict) else None
            if isinstance(obj, dict) and obj.get("object") == object_name and obj.get("id") not in latest:
                if event.get("type") == "customer.deleted":
                    # The list endpoint never shows deleted customers; keep the row, flagged.
                    obj = {**obj, "deleted": True}
                latest[obj.get("id")] = obj
    return list(latest.values())


def object_resource(spec: TableSpec, client: RESTClient) -> Any:
    object_name = next(k for k, v in OBJECT_TABLES.items() if v == spec.table)

    @dlt.resource(**spec.resource_hints())
    def objects() -> Iterator[list[Any]]:
        state = dlt.current.resource_state()
        newest, at_newest = newest_events(client)
        since = state.get("events_since")
        if since is None or newest - since > EVENT_RETENTION_SECONDS:
            yield from _pages(client, spec.name, LIST_PARAMS.get(spec.name, {}))
        else:
            changed = changed_objects(client, object_name, since, set(state.get("events_seen", [])))
            if changed:
                yield changed
        # Set only after every page was yielded: an interrupted run lists (or replays) again.
        state["events_since"], state["events_seen"] = newest, at_newest

    return contracts.attach(objects(), spec)


def stripe_source(cfg: SourceSettings, connect: bool = True) -> DltSource:
    objects: list[str] = cfg.get("objects", list, list(TABLES))
    unknown = [o for o in objects if o not in TABLES]
    if unknown:
        raise ValueError(f"sources.stripe.objects: no contract for {unknown}; known: {list(TABLES)}")
    client = _client(cfg, connect)

    @dlt.source(name="stripe")
    def stripe() -> Any:
        out = [object_resource(TABLES[o], client) for o in objects if o != "events"]
        if "events" in objects:
            events = by_name(
                rest_api_resources(
                    {
                        "client": {
                            "base_url": client.base_url,
                            "auth": client.auth,
                            "headers": client.headers,
                            "session": client.session,
                        },
                        "resources": [
                            {
                                **EVENTS.resource_hints(),
                                "endpoint": {
                                    "path": "events",
                                    "params": {"limit": PAGE_SIZE},
                                    "data_selector": http.selector("data"),
                                    "paginator": StartingAfterPaginator(),
                                    "incremental": {
                                        "cursor_path": "created",
                                        "initial_value": 0,
                                        "start_param": "created[gte]",
                                        "on_cursor_value_missing": "include",
                                    },
                                },
                            }
                        ],
                    }
                )
            )["events"]
            out.append(contracts.attach(events, EVENTS))
        return out

    return stripe()
