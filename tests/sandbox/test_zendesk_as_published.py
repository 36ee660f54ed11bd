"""The Zendesk emulator against Zendesk's published API: every record has the documented read
fields of its object (sandbox/emulators/api_facts/zendesk.json), paths answer with or without
`.json`, and the incremental exports are limited to 10 requests a minute; driven by zenpy,
unmodified."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from zenpy import Zenpy

from sandbox.emulators import zendesk_shapes
from sandbox.emulators.credentials import ZENDESK
from sandbox.schema import ZENDESK_OBJECTS
from tests.conftest import RunningEmulator, copy_world, start_emulator, stop_emulator
from tests.sandbox.conformance import problems

AUTH = (f"{ZENDESK['email']}/token", ZENDESK["api_token"])


def zenpy_for(em: RunningEmulator, mp: pytest.MonkeyPatch) -> Zenpy:
    # zenpy's documented switches for talking to something other than *.zendesk.com
    mp.setenv("ZENPY_FORCE_NETLOC", em.http.split("://")[1])
    mp.setenv("ZENPY_FORCE_SCHEME", "http")
    return Zenpy(subdomain=ZENDESK["subdomain"], email=ZENDESK["email"], token=ZENDESK["api_token"])


@pytest.fixture
def zenpy_client(emulator: RunningEmulator) -> Iterator[Zenpy]:
    with pytest.MonkeyPatch.context() as mp:
        yield zenpy_for(emulator, mp)


@pytest.mark.parametrize("name", list(ZENDESK_OBJECTS))
@pytest.mark.parametrize("suffix", [".json", ""])
def test_records_carry_their_documented_fields_with_or_without_json_suffix(
    emulator: RunningEmulator, name: str, suffix: str
) -> None:
    resp = requests.get(f"{emulator.http}/api/v2/{name}{suffix}", params={"per_page": 100}, auth=AUTH, timeout=10)
    assert resp.status_code == 200
    records = resp.json()[name]
    assert len(records) == 100
    # satisfaction ratings keep the organization the world gives them (not in the published set)
    extra = {"organization_id"} if name == "satisfaction_ratings" else set()
    for record in records:
        assert problems(record, zendesk_shapes.fields(name), extra) == [], record["id"]
    one = requests.get(f"{emulator.http}/api/v2/{name}/{records[0]['id']}{suffix}", auth=AUTH, timeout=10)
    assert one.status_code == 200


def test_a_ticket_has_the_fields_a_real_one_has(emulator: RunningEmulator) -> None:
    ticket = requests.get(f"{emulator.http}/api/v2/tickets", params={"per_page": 1}, auth=AUTH).json()["tickets"][0]
    assert len(ticket) >= 40
    assert ticket["url"] == f"https://{ZENDESK['subdomain']}.zendesk.com/api/v2/tickets/{ticket['id']}.json"
    assert ticket["raw_subject"] == ticket["subject"] and ticket["via"]["channel"] == "web"
    assert isinstance(ticket["generated_timestamp"], int) and ticket["custom_fields"] == []


def test_zenpy_tickets_and_satisfaction_ratings(emulator: RunningEmulator, zenpy_client: Zenpy) -> None:
    tickets = list(zenpy_client.tickets())
    stored = emulator.store()
    try:
        n_tickets = stored.count(ZENDESK_OBJECTS["tickets"])
        n_ratings = stored.count(ZENDESK_OBJECTS["satisfaction_ratings"])
    finally:
        stored.close()
    assert len(tickets) == n_tickets and tickets[0].via is not None and tickets[0].brand_id
    ratings = list(zenpy_client.satisfaction_ratings())
    assert len(ratings) == n_ratings and {r.score for r in ratings} <= {"good", "bad", "offered", "unoffered"}
    first = zenpy_client.tickets(id=tickets[0].id)
    assert first.id == tickets[0].id and first.raw_subject == tickets[0].subject


@pytest.fixture(scope="module")
def limited(emulator_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """An emulator with Zendesk's incremental export limit (the suite's others run without it)."""
    data_dir = copy_world(emulator_world, tmp_path_factory.mktemp("zendesk-limited") / "sandbox")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SANDBOX_ZENDESK_EXPORTS_PER_MINUTE", "")  # the published limit
        em = start_emulator(data_dir)
    try:
        yield em
    finally:
        stop_emulator(em)


def test_incremental_exports_allow_ten_requests_a_minute(limited: RunningEmulator) -> None:
    url = f"{limited.http}/api/v2/incremental/organizations.json"
    answers = [requests.get(url, params={"start_time": 0}, auth=AUTH, timeout=10) for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [200] * 10
    refused = answers[10]
    assert refused.status_code == 429 and refused.json()["error"] == "APIRateLimitExceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # other endpoints are not export-limited
    assert requests.get(f"{limited.http}/api/v2/tickets.json", auth=AUTH, timeout=10).status_code == 200
