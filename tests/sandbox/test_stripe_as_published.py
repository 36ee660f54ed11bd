"""The Stripe emulator against Stripe's published API: every object has its documented fields and
types for the requested API version (the facts in sandbox/emulators/api_facts/stripe.json), the
version follows `Stripe-Version`, `expand[]` expands, unknown parameters are refused and event
`types[]` are exact names; driven by Stripe's python library, unmodified."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import stripe

from sandbox.emulators import stripe_shapes
from sandbox.emulators.credentials import STRIPE
from tests.conftest import RunningEmulator
from tests.sandbox.conformance import problems

HEADERS = {"Authorization": f"Bearer {STRIPE['secret_key']}"}
VERSIONS = ("2024-06-20", "2025-03-31.basil")


def get(em: RunningEmulator, path: str, version: str | None = None, **params: Any) -> requests.Response:
    headers = {**HEADERS, **({"Stripe-Version": version} if version else {})}
    return requests.get(f"{em.http}/v1/{path}", params=params, headers=headers, timeout=20)


@pytest.fixture
def sdk(emulator: RunningEmulator) -> Iterator[None]:
    saved = (stripe.api_key, stripe.api_base, stripe.max_network_retries, stripe.api_version)
    stripe.api_key, stripe.api_base, stripe.max_network_retries = STRIPE["secret_key"], emulator.http, 0
    yield
    stripe.api_key, stripe.api_base, stripe.max_network_retries, stripe.api_version = saved


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("path", "object_name"), [("customers", "customer"), ("subscriptions", "subscription"), ("invoices", "invoice")]
)
def test_objects_carry_their_documented_fields_and_types(
    emulator: RunningEmulator, version: str, path: str, object_name: str
) -> None:
    resp = get(emulator, path, version, limit=100, **({"status": "all"} if path == "subscriptions" else {}))
    assert resp.status_code == 200 and resp.headers["Stripe-Version"] == version
    shape = stripe_shapes.shape_of(version)
    fields = stripe_shapes.fields(object_name, shape)
    assert len(fields) > 20  # far more than the product reads
    records = resp.json()["data"]
    assert len(records) == 100
    for record in records:
        assert problems(record, fields) == [], record["id"]
        if object_name == "subscription":
            for item in record["items"]["data"]:
                assert problems(item, stripe_shapes.fields("subscription_item", shape)) == []
                assert problems(item["price"], stripe_shapes.fields("price", shape)) == []


def test_versions_differ_as_documented(emulator: RunningEmulator) -> None:
    old = get(emulator, "subscriptions", "2024-06-20", limit=20, status="all").json()["data"]
    new = get(emulator, "subscriptions", "2025-03-31.basil", limit=20, status="all").json()["data"]
    assert [s["id"] for s in old] == [s["id"] for s in new]
    for before, after in zip(old, new, strict=True):
        # 2025-03-31 moved the billing period from the subscription to each item
        assert "current_period_end" not in after and "current_period_end" not in before["items"]["data"][0]
        assert after["items"]["data"][0]["current_period_end"] == before["current_period_end"]
        assert after["items"]["data"][0]["current_period_start"] == before["current_period_start"]
    old_inv = get(emulator, "invoices", "2024-06-20", limit=20).json()["data"]
    new_inv = get(emulator, "invoices", "2025-03-31.basil", limit=20).json()["data"]
    for before, after in zip(old_inv, new_inv, strict=True):
        assert "subscription" not in after and "paid" not in after
        assert after["parent"]["subscription_details"]["subscription"] == before["subscription"]


def test_without_a_version_header_the_accounts_default_applies(emulator: RunningEmulator) -> None:
    resp = get(emulator, "subscriptions", None, limit=1)
    assert resp.headers["Stripe-Version"] == stripe_shapes.facts()["default_version"]
    assert "current_period_end" in resp.json()["data"][0]
    assert get(emulator, "customers", "last-tuesday").status_code == 400


def test_unknown_parameters_are_refused_in_stripes_error_shape(emulator: RunningEmulator) -> None:
    resp = get(emulator, "customers", "2024-06-20", colour="blue")
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "parameter_unknown", "colour")
    assert error["message"] == "Received unknown parameter: colour"
    assert get(emulator, "invoices", "2024-06-20", status="paid", expand=["data.customer"]).status_code == 200


def test_event_types_are_exact_names(emulator: RunningEmulator) -> None:
    wildcard = get(emulator, "events", "2024-06-20", **{"types[]": ["invoice.*"]}).json()["data"]
    exact = get(emulator, "events", "2024-06-20", **{"types[]": ["invoice.created"], "limit": 100}).json()["data"]
    grouped = get(emulator, "events", "2024-06-20", type="invoice.*", limit=100).json()["data"]
    assert wildcard == [] and exact and {e["type"] for e in exact} == {"invoice.created"}
    assert {e["type"] for e in grouped} <= {"invoice.created", "invoice.paid", "invoice.finalized"} and grouped


@pytest.mark.usefixtures("sdk")
@pytest.mark.parametrize("version", VERSIONS)
def test_stripe_python_lists_with_a_version_and_expand(emulator: RunningEmulator, version: str) -> None:
    stripe.api_version = version
    customers = list(stripe.Customer.list(limit=50).auto_paging_iter())
    assert customers and all(c.invoice_settings is not None and c.balance == 0 for c in customers)
    subs = stripe.Subscription.list(limit=20, status="all", expand=["data.customer"]).data
    assert subs and all(isinstance(s.customer, stripe.Customer) for s in subs)
    first_item = subs[0]["items"].data[0]
    if version.startswith("2025"):
        assert first_item.current_period_end > 0 and "current_period_end" not in subs[0]
    else:
        assert subs[0].current_period_end > 0 and "current_period_end" not in first_item
    path = "data.parent.subscription_details.subscription" if version.startswith("2025") else "data.subscription"
    invoices = stripe.Invoice.list(limit=20, expand=[path]).data
    linked = [i for i in invoices if (i.parent if version.startswith("2025") else i)]
    assert linked
    for invoice in linked:
        sub = invoice.parent.subscription_details.subscription if version.startswith("2025") else invoice.subscription
        assert isinstance(sub, stripe.Subscription) and sub.object == "subscription"
    one = stripe.Subscription.retrieve(subs[0].id, expand=["customer"])
    assert one.customer.id == subs[0].customer.id


@pytest.mark.usefixtures("sdk")
def test_stripe_python_gets_stripes_errors(emulator: RunningEmulator) -> None:
    stripe.api_version = "2024-06-20"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        stripe.Customer.list(colour="blue")
    assert unknown.value.code == "parameter_unknown" and unknown.value.param == "colour"
    with pytest.raises(stripe.InvalidRequestError) as not_expandable:
        stripe.Customer.list(expand=["data.name"])
    assert "cannot be expanded" in str(not_expandable.value)
