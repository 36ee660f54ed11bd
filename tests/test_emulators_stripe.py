"""The Stripe emulator through Stripe's python library, unmodified (`api_base` pointed at it).

The emulator serves each object's full documented shape; these tests compare the fields the world
stores (at API version 2024-06-20, the world's own) and leave the rest to the conformance tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import stripe

from sandbox.emulators.credentials import STRIPE
from sandbox.schema import ST_CUSTOMERS, ST_EVENTS, ST_INVOICES, ST_SUBSCRIPTIONS, ObjectSchema
from tests.conftest import RunningEmulator


@pytest.fixture(scope="module")
def client(emulator: RunningEmulator) -> Iterator[None]:
    saved = (stripe.api_key, stripe.api_base, stripe.max_network_retries, stripe.api_version)
    stripe.api_key, stripe.api_base, stripe.max_network_retries = STRIPE["secret_key"], emulator.http, 0
    stripe.api_version = "2024-06-20"
    yield
    stripe.api_key, stripe.api_base, stripe.max_network_retries, stripe.api_version = saved


def newest_first(em: RunningEmulator, obj: ObjectSchema, where: str = "", params: tuple = ()) -> list[dict[str, Any]]:
    store = em.store()
    try:
        return sorted(store.select(obj, where, params), key=lambda r: (r["created"], r["id"]), reverse=True)
    finally:
        store.close()


def plain(objects: Any) -> list[dict[str, Any]]:
    return [o.to_dict() for o in objects]


def stored_part(got: Any, stored: Any) -> Any:
    """`got` cut down to the keys the stored record has (recursively); Stripe sends `deleted` only
    on deleted objects, so a stored `deleted: false` is expected to be absent."""
    if isinstance(stored, dict) and isinstance(got, dict):
        return {k: stored_part(got[k], v) for k, v in stored.items() if k in got}
    if isinstance(stored, list) and isinstance(got, list) and len(got) == len(stored):
        return [stored_part(g, v) for g, v in zip(got, stored, strict=True)]
    return got


def without_false_deleted(stored: Any) -> Any:
    if isinstance(stored, dict):
        return {k: without_false_deleted(v) for k, v in stored.items() if not (k == "deleted" and v is False)}
    if isinstance(stored, list):
        return [without_false_deleted(v) for v in stored]
    return stored


def assert_serves(objects: Any, stored: list[dict[str, Any]]) -> None:
    got = plain(objects)
    assert len(got) == len(stored)
    assert [stored_part(g, e) for g, e in zip(got, stored, strict=True)] == without_false_deleted(stored)


@pytest.mark.usefixtures("client")
def test_customers_auto_paging_equals_the_store(emulator: RunningEmulator) -> None:
    expected = newest_first(emulator, ST_CUSTOMERS, "deleted = 0")
    assert_serves(stripe.Customer.list(limit=100).auto_paging_iter(), expected)
    assert len(newest_first(emulator, ST_CUSTOMERS)) == len(expected) + 3  # deleted customers are not listed


@pytest.mark.usefixtures("client")
def test_subscription_status_filters(emulator: RunningEmulator) -> None:
    everything = newest_first(emulator, ST_SUBSCRIPTIONS)
    assert_serves(stripe.Subscription.list(limit=100, status="all").auto_paging_iter(), everything)
    default = [s["id"] for s in plain(stripe.Subscription.list(limit=100).auto_paging_iter())]
    assert default == [s["id"] for s in everything if s["status"] not in ("canceled", "incomplete_expired")]
    canceled = [s["id"] for s in plain(stripe.Subscription.list(limit=100, status="canceled").auto_paging_iter())]
    assert canceled == [s["id"] for s in everything if s["status"] == "canceled"] and canceled
    customer = everything[0]["customer"]
    assert [s["id"] for s in stripe.Subscription.list(customer=customer, status="all").data] == [
        s["id"] for s in everything if s["customer"] == customer
    ]


@pytest.mark.usefixtures("client")
def test_invoices_with_filters(emulator: RunningEmulator) -> None:
    assert_serves(stripe.Invoice.list(limit=100).auto_paging_iter(), newest_first(emulator, ST_INVOICES))
    paid = [i["id"] for i in plain(stripe.Invoice.list(limit=100, status="uncollectible").auto_paging_iter())]
    assert paid == [i["id"] for i in newest_first(emulator, ST_INVOICES, "status = 'uncollectible'")]
    one = newest_first(emulator, ST_INVOICES)[5]
    by_sub = stripe.Invoice.list(subscription=one["subscription"], customer=one["customer"]).data
    assert one["id"] in [i.id for i in by_sub]


@pytest.mark.usefixtures("client")
def test_events_with_type_filters_and_created_ranges(emulator: RunningEmulator) -> None:
    events = newest_first(emulator, ST_EVENTS)
    assert_serves(stripe.Event.list(limit=100).auto_paging_iter(), events)
    created = [e.id for e in stripe.Event.list(limit=100, type="invoice.created").auto_paging_iter()]
    assert created == [e["id"] for e in events if e["type"] == "invoice.created"]
    customer_events = [e.id for e in stripe.Event.list(limit=100, type="customer.*").auto_paging_iter()]
    assert customer_events == [e["id"] for e in events if e["type"].startswith("customer.")]
    both = [
        e.id for e in stripe.Event.list(limit=100, types=["customer.deleted", "invoice.created"]).auto_paging_iter()
    ]
    assert both == [e["id"] for e in events if e["type"] in ("customer.deleted", "invoice.created")]
    low, high = events[-500]["created"], events[-100]["created"]
    window = [e.id for e in stripe.Event.list(limit=100, created={"gte": low, "lt": high}).auto_paging_iter()]
    assert window == [e["id"] for e in events if low <= e["created"] < high]
    exact = [e.id for e in stripe.Event.list(created=low).auto_paging_iter()]
    assert exact == [e["id"] for e in events if e["created"] == low]


@pytest.mark.usefixtures("client")
def test_paging_backwards_with_ending_before(emulator: RunningEmulator) -> None:
    invoices = newest_first(emulator, ST_INVOICES)
    anchor = invoices[250]["id"]
    page = stripe.Invoice.list(limit=100, ending_before=anchor)
    assert [i.id for i in page.data] == [i["id"] for i in invoices[150:250]] and page.has_more
    back = [i.id for i in stripe.Invoice.list(limit=100, ending_before=anchor).auto_paging_iter()]
    assert sorted(back) == sorted(i["id"] for i in invoices[:250])


@pytest.mark.usefixtures("client")
def test_retrieve_and_resource_missing(emulator: RunningEmulator) -> None:
    live, deleted = (
        newest_first(emulator, ST_CUSTOMERS, "deleted = 0")[0],
        newest_first(emulator, ST_CUSTOMERS, "deleted = 1")[0],
    )
    assert_serves([stripe.Customer.retrieve(live["id"])], [live])
    assert stripe.Customer.retrieve(deleted["id"]).to_dict() == {
        "id": deleted["id"],
        "object": "customer",
        "deleted": True,
    }
    with pytest.raises(stripe.InvalidRequestError) as info:
        stripe.Subscription.retrieve("sub_doesnotexist")
    assert info.value.code == "resource_missing" and info.value.http_status == 404
    assert "No such subscription: 'sub_doesnotexist'" in str(info.value)


def test_limits_are_checked(emulator: RunningEmulator) -> None:
    headers = {"Authorization": f"Bearer {STRIPE['secret_key']}"}
    for limit in ("0", "101", "ten"):
        resp = requests.get(f"{emulator.http}/v1/customers", params={"limit": limit}, headers=headers)
        assert resp.status_code == 400 and resp.json()["error"]["param"] == "limit"
    default = requests.get(f"{emulator.http}/v1/customers", headers=headers).json()
    assert (default["object"], len(default["data"]), default["has_more"], default["url"]) == (
        "list",
        10,
        True,
        "/v1/customers",
    )


def test_bad_keys_get_stripe_authentication_errors(emulator: RunningEmulator) -> None:
    none = requests.get(f"{emulator.http}/v1/customers")
    assert none.status_code == 401 and none.json()["error"]["message"].startswith("You did not provide an API key")
    wrong = requests.get(f"{emulator.http}/v1/customers", headers={"Authorization": "Bearer sk_test_abcdefgh1234"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == {
        "message": "Invalid API Key provided: sk_test_********1234",
        "type": "invalid_request_error",
    }
    basic = requests.get(f"{emulator.http}/v1/customers", auth=(STRIPE["secret_key"], ""))
    assert basic.status_code == 200
    saved = (stripe.api_key, stripe.api_base, stripe.max_network_retries)
    stripe.api_key, stripe.api_base, stripe.max_network_retries = "sk_test_wrong", emulator.http, 0
    try:
        with pytest.raises(stripe.AuthenticationError):
            stripe.Customer.list()
    finally:
        stripe.api_key, stripe.api_base, stripe.max_network_retries = saved
