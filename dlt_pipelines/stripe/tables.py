"""The Stripe objects we load, with the API's field names and types (the tables' contracts).

Money tables have strict types (`quarantine`): a guessed amount is worse than a record put aside
and reported. The fields Stripe adds beyond these (a customer has about thirty) are kept in
`_extra_fields`. Fields of both API versions the models read are declared: 2025-03-31 moved the
subscription's billing period to its items and the invoice's subscription under `parent`, and
dropped the invoice's `paid`.
"""

from __future__ import annotations

from dlt_pipelines.contracts import TableSpec

CUSTOMERS = TableSpec(
    source="stripe",
    name="customers",
    table="customers",
    primary_key="id",
    cursor=None,
    fields={
        "id": "str",
        "object": "str",
        "name": "str",
        "email": "str",
        "currency": "str",
        "delinquent": "bool",
        "metadata": "json",
        "deleted": "bool",
        "livemode": "bool",
        "created": "unix",
    },
    contract="quarantine",
    optional=("deleted",),  # Stripe sends `deleted` only on deleted customers
)

SUBSCRIPTIONS = TableSpec(
    source="stripe",
    name="subscriptions",
    table="subscriptions",
    primary_key="id",
    cursor=None,
    fields={
        "id": "str",
        "object": "str",
        "customer": "str",
        "status": "str",
        "items": "json",
        "collection_method": "str",
        "currency": "str",
        "current_period_start": "unix",
        "current_period_end": "unix",
        "cancel_at_period_end": "bool",
        "cancel_at": "unix",
        "canceled_at": "unix",
        "ended_at": "unix",
        "start_date": "unix",
        "metadata": "json",
        "livemode": "bool",
        "created": "unix",
    },
    contract="quarantine",
    optional=("current_period_start", "current_period_end"),  # on the items from 2025-03-31
)

INVOICES = TableSpec(
    source="stripe",
    name="invoices",
    table="invoices",
    primary_key="id",
    cursor=None,
    fields={
        "id": "str",
        "object": "str",
        "customer": "str",
        "subscription": "str",
        "status": "str",
        "billing_reason": "str",
        "currency": "str",
        "amount_due": "int",
        "amount_paid": "int",
        "amount_remaining": "int",
        "attempt_count": "int",
        "attempted": "bool",
        "paid": "bool",
        "next_payment_attempt": "unix",
        "due_date": "unix",
        "period_start": "unix",
        "period_end": "unix",
        "status_transitions": "json",
        "parent": "json",  # 2025-03-31: {"type": "subscription_details", "subscription_details": {...}}
        "livemode": "bool",
        "created": "unix",
    },
    contract="quarantine",
    optional=("subscription", "paid", "parent"),  # each in one API version only (see the module's doc)
    non_negative=("amount_due", "amount_paid", "amount_remaining", "attempt_count"),
    nested={
        "parent__type": "str",
        "parent__subscription_details__subscription": "str",
        "status_transitions__finalized_at": "unix",
        "status_transitions__paid_at": "unix",
        "status_transitions__marked_uncollectible_at": "unix",
        "status_transitions__voided_at": "unix",
    },
)

EVENTS = TableSpec(
    source="stripe",
    name="events",
    table="events",
    primary_key="id",
    cursor="created",
    fields={
        "id": "str",
        "object": "str",
        "type": "str",
        "data": "json",
        "api_version": "str",
        "livemode": "bool",
        "created": "unix",
        "pending_webhooks": "int",
        "request": "json",  # {"id", "idempotency_key"}: the API request that caused the event, if any
        "account": "str",  # Connect platforms only
    },
    # The event log is append-only history of every object: keep `data` whole, as JSON.
    contract="evolve",
    json_columns=("data",),
    # Declared so a page of events loads as one typed table (`contracts.arrow_batch`); no model reads
    # them, so a payload without them is not drift.
    optional=("pending_webhooks", "request", "account"),
    nested={"request__id": "str", "request__idempotency_key": "str"},
)

TABLES: dict[str, TableSpec] = {s.name: s for s in (CUSTOMERS, SUBSCRIPTIONS, INVOICES, EVENTS)}

# data.object.object of an event -> the table the object belongs to
OBJECT_TABLES = {"customer": "customers", "subscription": "subscriptions", "invoice": "invoices"}
