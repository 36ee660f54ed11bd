"""The Zendesk emulator through zenpy, unmodified, and raw HTTP for the paging contracts.

Records carry every documented field; these tests compare the fields the world stores and leave
the rest to the conformance tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests
from zenpy import Zenpy

from sandbox.emulators.credentials import ZENDESK
from sandbox.schema import (
    ZD_ORGANIZATIONS,
    ZD_SATISFACTION_RATINGS,
    ZD_TICKETS,
    ZD_USERS,
    ZENDESK_OBJECTS,
    ObjectSchema,
)
from tests.conftest import RunningEmulator

AUTH = (f"{ZENDESK['email']}/token", ZENDESK["api_token"])


@pytest.fixture(scope="module")
def zenpy_client(emulator: RunningEmulator) -> Iterator[Zenpy]:
    with pytest.MonkeyPatch.context() as mp:
        # zenpy's documented switches for talking to something other than *.zendesk.com.
        mp.setenv("ZENPY_FORCE_NETLOC", emulator.http.split("://")[1])
        mp.setenv("ZENPY_FORCE_SCHEME", "http")
        yield Zenpy(subdomain=ZENDESK["subdomain"], email=ZENDESK["email"], token=ZENDESK["api_token"])


def rows(em: RunningEmulator, obj: ObjectSchema, where: str = "", params: tuple = ()) -> list[dict[str, Any]]:
    store = em.store()
    try:
        return store.select(obj, where, params)
    finally:
        store.close()


def unix(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def get(em: RunningEmulator, path_or_url: str, **params: Any) -> dict[str, Any]:
    url = path_or_url if path_or_url.startswith("http") else f"{em.http}/api/v2/{path_or_url}"
    resp = requests.get(url, params=params or None, auth=AUTH, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def stored_fields(got: list[dict[str, Any]], stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Served records cut down to the fields of the stored ones (every stored field must be served)."""
    return [{k: g[k] for k in e if k in g} for g, e in zip(got, stored, strict=True)]


def by_update(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: (r["updated_at"], r["id"]))


def test_zenpy_incremental_ticket_export_equals_the_store(emulator: RunningEmulator, zenpy_client: Zenpy) -> None:
    tickets = [t.to_dict() for t in zenpy_client.tickets.incremental(start_time=0)]
    expected = by_update(rows(emulator, ZD_TICKETS))
    assert len(expected) > 2000  # three export pages
    assert [{f: t[f] for f in ZD_TICKETS.field_names} for t in tickets] == expected
    middle = expected[len(expected) // 2]["updated_at"]
    since = [t.id for t in zenpy_client.tickets.incremental(start_time=unix(middle))]
    assert since == [t["id"] for t in expected if t["updated_at"] >= middle]


def test_zenpy_incremental_user_export_equals_the_store(emulator: RunningEmulator, zenpy_client: Zenpy) -> None:
    users = [u.to_dict() for u in zenpy_client.users.incremental(start_time=0)]
    assert [{f: u[f] for f in ZD_USERS.field_names} for u in users] == by_update(rows(emulator, ZD_USERS))


def test_cursor_export_pages_and_end_of_stream(emulator: RunningEmulator) -> None:
    page = get(emulator, "incremental/tickets/cursor.json", start_time=0, include="metric_sets")
    assert len(page["tickets"]) == 1000 and page["end_of_stream"] is False
    assert page["before_cursor"] is None and page["after_url"].startswith(emulator.http)
    metrics = {m["ticket_id"]: m for m in page["metric_sets"]}
    assert set(metrics) == {t["id"] for t in page["tickets"]}
    seen = [t["id"] for t in page["tickets"]]
    while not page["end_of_stream"]:
        page = get(emulator, page["after_url"])
        seen += [t["id"] for t in page["tickets"]]
    assert seen == [t["id"] for t in by_update(rows(emulator, ZD_TICKETS))]
    # Polling the last cursor again finds nothing new and keeps the position.
    again = get(emulator, "incremental/tickets/cursor.json", cursor=page["after_cursor"])
    assert again["tickets"] == [] and again["end_of_stream"] is True
    assert again["after_cursor"] == page["after_cursor"]
    back = get(emulator, page["before_url"])
    assert len(back["tickets"]) == 1000 and back["tickets"][-1]["updated_at"] <= page["tickets"][0]["updated_at"]


def test_time_based_organization_export_never_splits_a_second(emulator: RunningEmulator) -> None:
    expected = by_update(rows(emulator, ZD_ORGANIZATIONS))
    page = get(emulator, "incremental/organizations.json", start_time=0, per_page=7)
    seen: list[int] = []
    pages = 0
    while True:
        pages += 1
        seen += [o["id"] for o in page["organizations"]]
        assert page["count"] == len(page["organizations"])
        if page["organizations"]:
            assert page["end_time"] == unix(page["organizations"][-1]["updated_at"])
        if page["end_of_stream"]:
            break
        page = get(emulator, page["next_page"])
    assert seen == [o["id"] for o in expected]
    assert pages > len(expected) // 8  # the fixture world has ties, so some pages hold more than 7


@pytest.mark.parametrize("name", list(ZENDESK_OBJECTS))
def test_lists_with_cursor_pagination(emulator: RunningEmulator, name: str) -> None:
    page = get(emulator, f"{name}.json", **{"page[size]": 100})
    got = list(page[name])
    while page["meta"]["has_more"]:
        assert page["links"]["next"]
        page = get(emulator, page["links"]["next"])
        got += page[name]
    assert page["links"]["next"] is None
    expected = sorted(rows(emulator, ZENDESK_OBJECTS[name]), key=lambda r: r["id"])
    assert stored_fields(got, expected) == expected


def test_lists_with_offset_pagination_and_limits(emulator: RunningEmulator) -> None:
    page = get(emulator, "tickets.json", per_page=100)
    assert page["count"] == len(rows(emulator, ZD_TICKETS)) and page["previous_page"] is None
    second = get(emulator, page["next_page"])
    assert second["tickets"][0]["id"] > page["tickets"][-1]["id"] and second["previous_page"]
    too_big = requests.get(f"{emulator.http}/api/v2/tickets.json", params={"page[size]": 101}, auth=AUTH)
    assert too_big.status_code == 400 and too_big.json()["error"] == "InvalidPaginationParameter"


def test_satisfaction_ratings_time_window(emulator: RunningEmulator) -> None:
    ratings = sorted(rows(emulator, ZD_SATISFACTION_RATINGS), key=lambda r: r["updated_at"])
    start, end = ratings[100]["updated_at"], ratings[300]["updated_at"]
    page = get(emulator, "satisfaction_ratings.json", start_time=unix(start), end_time=unix(end), per_page=100)
    expected = sorted(r["id"] for r in ratings if start <= r["updated_at"] <= end)
    assert page["count"] == len(expected)
    got = [r["id"] for r in page["satisfaction_ratings"]]
    while page["next_page"]:
        page = get(emulator, page["next_page"])
        got += [r["id"] for r in page["satisfaction_ratings"]]
    assert got == expected


def test_single_records_and_not_found(emulator: RunningEmulator) -> None:
    ticket = rows(emulator, ZD_TICKETS)[0]
    served = get(emulator, f"tickets/{ticket['id']}.json")["ticket"]
    assert stored_fields([served], [ticket]) == [ticket]
    assert get(emulator, f"tickets/{ticket['id']}")["ticket"] == served  # without `.json` too
    missing = requests.get(f"{emulator.http}/api/v2/tickets/99999999.json", auth=AUTH)
    assert missing.status_code == 404 and missing.json()["error"] == "RecordNotFound"


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"auth": (f"{ZENDESK['email']}/token", "wrong")},
        {"auth": ("someone@else.example/token", ZENDESK["api_token"])},
        {"headers": {"Authorization": "Bearer not-the-token"}},
    ],
)
def test_bad_credentials_are_refused(emulator: RunningEmulator, kwargs: dict[str, Any]) -> None:
    resp = requests.get(f"{emulator.http}/api/v2/organizations.json", **kwargs)
    assert resp.status_code == 401 and resp.json() == {"error": "Couldn't authenticate you"}


def test_oauth_bearer_token_is_accepted(emulator: RunningEmulator) -> None:
    resp = requests.get(
        f"{emulator.http}/api/v2/users.json", headers={"Authorization": f"Bearer {ZENDESK['oauth_token']}"}
    )
    assert resp.status_code == 200 and len(resp.json()["users"]) == 100
