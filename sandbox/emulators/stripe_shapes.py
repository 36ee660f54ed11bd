"""Stripe objects as the published API returns them, for the API version a request asks for.

The world stores only the fields the simulation needs; a real Stripe object carries every field of
its documented shape (a customer has about thirty). The documented field sets, their types and the
differences between API versions are data (`api_facts/stripe.json`, with where each fact comes
from); this module fills every stored record up to its version's full shape, with values derived
from the record where Stripe would have them and the documented empty value (null, 0, false, [] or
an empty list object) elsewhere.

Versions: a request's `Stripe-Version` header picks the shape (any published date; versions before
2025-03-31 get the 2024-06-20 shape, later ones the 2025-03-31 shape); without the header the
account's default version applies (`SANDBOX_STRIPE_API_VERSION`, else the facts' default).
Events are rendered in the account's default version (their `api_version`), whatever the request
asks for, as Stripe does.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

FACTS_FILE = Path(__file__).with_name("api_facts") / "stripe.json"
VERSION_PATTERN = re.compile(r"^(\d{4}-\d{2}-\d{2})(\.[a-z]+)?$")
BASIL = "2025-03-31"


@functools.cache
def facts() -> dict[str, Any]:
    return orjson.loads(FACTS_FILE.read_bytes())


def shape_of(version: str) -> str:
    """The served shape ("2024-06-20" or "2025-03-31") of a published version string."""
    return BASIL if version[:10] >= BASIL else "2024-06-20"


def account_version() -> str:
    return os.environ.get("SANDBOX_STRIPE_API_VERSION") or facts()["default_version"]


def requested_version(header: str | None) -> str | None:
    """The version a request asked for (the account's default without the header); None when the
    header is not a version string."""
    if header is None or not header.strip():
        return account_version()
    return header.strip() if VERSION_PATTERN.match(header.strip()) else None


def display_version(version: str) -> str:
    shape = shape_of(version)
    return facts()["version_names"].get(shape, shape) if version[:10] == shape else version


@functools.cache
def fields(object_name: str, shape: str) -> dict[str, dict[str, Any]]:
    """The documented fields of an object in a served shape: name -> {type, nullable}."""
    out = dict(facts()["objects"][object_name])
    if shape < BASIL:
        change = facts()["before_2025_03_31"].get(object_name, {})
        out.update(change.get("add", {}))
        for name in change.get("remove", []):
            out.pop(name, None)
    return dict(sorted(out.items()))


def _parse(value: Any) -> Any:
    if isinstance(value, orjson.Fragment):
        return orjson.loads(orjson.dumps(value))
    return value


def _empty(ftype: str, nullable: bool, url: str = "") -> Any:
    if nullable:
        return None
    return {
        "integer": 0,
        "number": 0,
        "boolean": False,
        "array": [],
        "list": {"object": "list", "data": [], "has_more": False, "total_count": 0, "url": url},
        "object": {},
    }.get(ftype)


def _complete(object_name: str, shape: str, given: dict[str, Any], url: str = "") -> dict[str, Any]:
    spec = fields(object_name, shape)
    return {name: given[name] if name in given else _empty(f["type"], f["nullable"], url) for name, f in spec.items()}


def _price(price: dict[str, Any], created: int, currency: Any, shape: str) -> dict[str, Any]:
    price = {
        "object": "price",
        "currency": currency,
        "product": "prod_" + str(price.get("id", "")).removeprefix("price_"),
        **price,
    }
    recurring = price.get("recurring") or None
    if recurring:
        recurring = {
            "aggregate_usage": None,
            "interval": recurring.get("interval"),
            "interval_count": recurring.get("interval_count", 1),
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        }
    unit = price.get("unit_amount")
    return _complete(
        "price",
        shape,
        {
            **price,
            "active": True,
            "billing_scheme": "per_unit",
            "created": created,
            "livemode": False,
            "metadata": {},
            "recurring": recurring,
            "tax_behavior": "unspecified",
            "type": "recurring" if recurring else "one_time",
            "unit_amount_decimal": None if unit is None else str(unit),
        },
    )


def _plan(price: dict[str, Any]) -> dict[str, Any]:
    recurring = price.get("recurring") or {}
    return {
        "id": price.get("id"),
        "object": "plan",
        "active": True,
        "amount": price.get("unit_amount"),
        "amount_decimal": None if price.get("unit_amount") is None else str(price["unit_amount"]),
        "billing_scheme": "per_unit",
        "created": price.get("created"),
        "currency": price.get("currency"),
        "interval": recurring.get("interval"),
        "interval_count": recurring.get("interval_count", 1),
        "livemode": False,
        "metadata": {},
        "meter": None,
        "nickname": None,
        "product": price.get("product"),
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


def customer(rec: dict[str, Any], shape: str) -> dict[str, Any]:
    given = {k: _parse(v) for k, v in rec.items()}
    given.pop("deleted", None)
    given.update(
        balance=0,
        invoice_prefix=str(rec["id"])[-8:].upper(),
        invoice_settings={
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        next_invoice_sequence=1,
        preferred_locales=[],
        tax_exempt="none",
        metadata=given.get("metadata") or {},
    )
    return _complete("customer", shape, given)


def subscription(rec: dict[str, Any], shape: str) -> dict[str, Any]:
    given = {k: _parse(v) for k, v in rec.items()}
    start, end = given.pop("current_period_start", None), given.pop("current_period_end", None)
    if shape < BASIL:
        given.update(current_period_start=start, current_period_end=end)
    items = given.get("items") or {"data": []}
    data = []
    for item in items.get("data") or []:
        price = _price(item.get("price") or {}, rec.get("created") or 0, rec.get("currency"), shape)
        item_given = {
            "object": "subscription_item",
            **item,
            "created": rec.get("created"),
            "discounts": [],
            "metadata": {},
            "plan": _plan(price),
            "price": price,
            "subscription": rec.get("id"),
            "tax_rates": [],
        }
        if shape >= BASIL:
            item_given.update(current_period_start=start, current_period_end=end)
        data.append(_complete("subscription_item", shape, item_given))
    given["items"] = {
        "object": "list",
        "data": data,
        "has_more": bool(items.get("has_more")),
        "total_count": len(data),
        "url": f"/v1/subscription_items?subscription={rec.get('id')}",
    }
    given.update(
        automatic_tax={"disabled_reason": None, "enabled": False, "liability": None},
        billing_cycle_anchor=start if start is not None else rec.get("start_date"),
        billing_thresholds=None,
        cancellation_details={"comment": None, "feedback": None, "reason": None},
        days_until_due=30 if rec.get("collection_method") == "send_invoice" else None,
        invoice_settings={"account_tax_ids": None, "issuer": {"type": "self"}},
        payment_settings={
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        metadata=given.get("metadata") or {},
    )
    return _complete("subscription", shape, given)


def invoice(rec: dict[str, Any], shape: str) -> dict[str, Any]:
    given = {k: _parse(v) for k, v in rec.items()}
    sub, paid = given.pop("subscription", None), given.pop("paid", None)
    amount = given.get("amount_due") or 0
    if shape < BASIL:
        given.update(
            subscription=sub,
            paid=bool(paid),
            paid_out_of_band=False,
            subscription_details={"metadata": {}} if sub else None,
        )
    else:
        given["parent"] = (
            {
                "quote_details": None,
                "subscription_details": {"metadata": {}, "subscription": sub},
                "type": "subscription_details",
            }
            if sub
            else None
        )
    status = given.get("status")
    given.update(
        account_country="US",
        account_name="Sandbox Inc.",
        amount_shipping=0,
        auto_advance=status in ("draft", "open"),
        automatic_tax={"disabled_reason": None, "enabled": False, "liability": None, "status": None},
        collection_method="charge_automatically",
        ending_balance=None if status == "draft" else 0,
        issuer={"type": "self"},
        lines={
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/invoices/{rec['id']}/lines",
        },
        number=None if status == "draft" else str(rec["id"])[-8:].upper() + "-0001",
        payment_settings={"default_mandate": None, "payment_method_options": None, "payment_method_types": None},
        starting_balance=0,
        subtotal=amount,
        subtotal_excluding_tax=amount,
        total=amount,
        total_excluding_tax=amount,
        metadata={},
        effective_at=(given.get("status_transitions") or {}).get("finalized_at"),
    )
    return _complete("invoice", shape, given)


RENDERERS: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "customer": customer,
    "subscription": subscription,
    "invoice": invoice,
}


def event(rec: dict[str, Any]) -> dict[str, Any]:
    """An event, its object rendered in the account's default version (the event's `api_version`)."""
    version = account_version()
    shape = shape_of(version)
    given = {k: _parse(v) for k, v in rec.items()}
    data = dict(given.get("data") or {})
    obj = data.get("object")
    if isinstance(obj, dict) and obj.get("object") in RENDERERS:
        rendered = RENDERERS[obj["object"]](obj, shape)
        if obj.get("deleted"):
            rendered["deleted"] = True
        data["object"] = rendered
    given.update(
        data=data,
        api_version=display_version(version),
        pending_webhooks=0,
        request={"id": None, "idempotency_key": None},
    )
    return _complete("event", shape, given)


def render(object_name: str, rec: dict[str, Any], shape: str) -> dict[str, Any]:
    if object_name == "event":
        return event(rec)
    return RENDERERS[object_name](rec, shape)
