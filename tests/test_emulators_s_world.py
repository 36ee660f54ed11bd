"""The emulators over a generated size S world: every object, read through the official clients,
equals the store record for record (the generator's data, not only the emulators' fixture world)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe
from simple_salesforce import Salesforce
from zenpy import Zenpy

from sandbox.emulators.credentials import SALESFORCE, STRIPE, ZENDESK
from sandbox.schema import (
    BOOLEAN,
    DATETIME,
    SALESFORCE_OBJECTS,
    STRIPE_OBJECTS,
    ZD_TICKETS,
    ZD_USERS,
    ZENDESK_OBJECTS,
    ObjectSchema,
)
from tests.conftest import RunningEmulator, start_emulator, stop_emulator
from tests.test_emulators_stripe import stored_part, without_false_deleted


@pytest.fixture(scope="module")
def s_world_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared generated S world when the suite has one (`s_world`), else one generated here."""
    try:
        return Path(request.getfixturevalue("s_world"))
    except pytest.FixtureLookupError:
        from sandbox.world import generate

        folder = tmp_path_factory.mktemp("s-world") / "sandbox"
        generate(folder, size="S", seed=7, end_date=date(2026, 10, 31))
        return folder


@pytest.fixture(scope="module")
def served(s_world_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    # Only the world file: the emulators read nothing else, and writes stay in this copy.
    data_dir = tmp_path_factory.mktemp("s-world-emulator") / "sandbox"
    data_dir.mkdir()
    shutil.copy2(s_world_dir / "world.sqlite", data_dir / "world.sqlite")
    em = start_emulator(data_dir)
    try:
        yield em
    finally:
        stop_emulator(em)


def select(em: RunningEmulator, obj: ObjectSchema, where: str = "") -> list[dict[str, Any]]:
    store = em.store()
    try:
        return store.select(obj, where)
    finally:
        store.close()


def test_salesforce_objects_through_simple_salesforce(served: RunningEmulator) -> None:
    sf = Salesforce(
        username=SALESFORCE["username"],
        password=SALESFORCE["password"] + SALESFORCE["security_token"],
        consumer_key=SALESFORCE["client_id"],
        consumer_secret=SALESFORCE["client_secret"],
        domain=f"127.0.0.1:{served.ports[1]}/services/oauth2/token#",
        session=served.https_session(),
    )
    for name, obj in SALESFORCE_OBJECTS.items():
        got = sf.query_all(f"SELECT {', '.join(obj.field_names)} FROM {name}", include_deleted=True)["records"]
        expected = []
        for row in select(served, obj):
            for f in obj.fields:
                if f.type == DATETIME and row[f.name] is not None:
                    row[f.name] = row[f.name][:-1] + "+0000"
                elif f.type == BOOLEAN:
                    row[f.name] = bool(row[f.name])
            expected.append(row)
        assert [{k: v for k, v in r.items() if k != "attributes"} for r in got] == expected, name


def _set(value: Any) -> Any:
    """zenpy turns nested objects (a ticket's satisfaction_rating) into models with every attribute;
    compare the attributes that are set."""
    return {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else value


def test_zendesk_exports_and_lists(served: RunningEmulator) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZENPY_FORCE_NETLOC", served.http.split("://")[1])
        mp.setenv("ZENPY_FORCE_SCHEME", "http")
        zd = Zenpy(subdomain=ZENDESK["subdomain"], email=ZENDESK["email"], token=ZENDESK["api_token"])
        for obj, export in ((ZD_TICKETS, zd.tickets), (ZD_USERS, zd.users)):
            got = [{f: _set(o.to_dict()[f]) for f in obj.field_names} for o in export.incremental(start_time=0)]
            expected = sorted(select(served, obj), key=lambda r: (r["updated_at"], r["id"]))
            assert got == [{k: _set(v) for k, v in r.items()} for r in expected], obj.name
    auth = (f"{ZENDESK['email']}/token", ZENDESK["api_token"])
    for name, obj in ZENDESK_OBJECTS.items():
        url: str | None = f"{served.http}/api/v2/{name}.json?page[size]=100"
        got = []
        while url:
            page = requests.get(url, auth=auth, timeout=10).json()
            got += page[name]
            url = page["links"]["next"]
        # records carry every documented field; the stored ones must be as stored
        expected = sorted(select(served, obj), key=lambda r: r["id"])
        assert stored_part(got, expected) == expected, name


def test_stripe_lists_through_the_stripe_library(served: RunningEmulator) -> None:
    saved = (stripe.api_key, stripe.api_base, stripe.max_network_retries, stripe.api_version)
    stripe.api_key, stripe.api_base, stripe.max_network_retries = STRIPE["secret_key"], served.http, 0
    stripe.api_version = "2024-06-20"  # the world's own shape
    try:
        lists = {
            "customers": stripe.Customer.list(limit=100),
            "subscriptions": stripe.Subscription.list(limit=100, status="all"),
            "invoices": stripe.Invoice.list(limit=100),
            "events": stripe.Event.list(limit=100),
        }
        for name, listing in lists.items():
            got = [o.to_dict() for o in listing.auto_paging_iter()]
            rows = select(served, STRIPE_OBJECTS[name], "COALESCE(deleted, 0) = 0" if name == "customers" else "")
            expected = sorted(rows, key=lambda r: (r["created"], r["id"]), reverse=True)
            assert stored_part(got, expected) == without_false_deleted(expected), name
    finally:
        stripe.api_key, stripe.api_base, stripe.max_network_retries, stripe.api_version = saved
