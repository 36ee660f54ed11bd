"""Stripe: customers, subscriptions (seats = quantity), invoices and the payments that settle them.

Card customers are charged when an invoice is created; failed charges are retried a few days apart
(Smart Retries) and end uncollectible when every retry fails. Invoice customers (send_invoice) pay
by bank transfer against net-30 terms, some late, a few never. Budget cuts make both worse.
Every change is written with the event type Stripe would emit, so /v1/events tells the story.
"""

from __future__ import annotations

import numpy as np

from sandbox.schema import ST_CUSTOMERS, ST_INVOICES, ST_SUBSCRIPTIONS
from sandbox.world import names
from sandbox.world import params as P
from sandbox.world.calendar import DAY_SECONDS, add_months_day, day_start_unix
from sandbox.world.context import Day
from sandbox.world.crm_shop import stripe_metadata, world_crm
from sandbox.world.population import price_id
from sandbox.world.rng import Stream
from sandbox.world.state import CUSTOMER, SUB_ACTIVE, SUB_CANCELED, SUB_PAST_DUE, World
from sandbox.world.table import Table

SUB_STATUS = {SUB_ACTIVE: "active", SUB_PAST_DUE: "past_due", SUB_CANCELED: "canceled"}


def _interval(w: World, r: int) -> str:
    return "month" if w.accounts["interval_months"][r] == 1 else "year"


def items(w: World, r: int) -> dict:
    acc = w.accounts
    sub_id = str(acc["sub_id"][r])
    unit, im = int(acc["unit_amount"][r]), int(acc["interval_months"][r])
    return {
        "object": "list",
        "data": [
            {
                "id": "si_" + sub_id[4:],
                "object": "subscription_item",
                "price": {
                    "id": price_id(unit, im),
                    "object": "price",
                    "currency": "usd",
                    "unit_amount": unit,
                    "recurring": {"interval": _interval(w, r), "interval_count": 1},
                    "product": P.PRODUCTS[acc["segment"][r]],
                },
                "quantity": int(acc["seats"][r]),
            }
        ],
        "has_more": False,
        "total_count": 1,
        "url": f"/v1/subscription_items?subscription={sub_id}",
    }


def _period_start(w: World, r: int) -> int:
    acc = w.accounts
    return add_months_day(int(acc["anchor_day"][r]), int(acc["period_no"][r]) * int(acc["interval_months"][r]))


def _billing_email(w: World, r: int) -> str:
    acc = w.accounts
    domain = str(acc["domain"][r])
    if acc["segment"][r] == 0 and acc["champion"][r] >= 0:
        c = w.contacts
        j = int(acc["champion"][r])
        return names.email(int(c["first"][j]), int(c["last"][j]), domain)
    return ("billing@", "ap@", "finance@")[r % 3] + domain


def open_accounts(d: Day, rows: np.ndarray, rng: np.random.Generator, initial: bool) -> None:
    """Stripe customer and subscription for new customers, and the invoice of the current period."""
    if not len(rows):
        return
    w = d.world
    acc = w.accounts
    n = len(rows)
    acc["cus_id"][rows] = d.store.new_ids(ST_CUSTOMERS, n)
    acc["sub_id"][rows] = d.store.new_ids(ST_SUBSCRIPTIONS, n)
    linked = rng.random(n) < 0.9
    crm = world_crm(d.store)
    customers, subs = [], []
    stamps = d.work_hours(rng, n)
    for i, r in enumerate(rows.tolist()):
        since = d.historic(acc["since_day"][r], 43_200) or int(stamps[i])
        customers.append(
            {
                "id": str(acc["cus_id"][r]),
                "name": str(acc["name"][r]),
                "email": _billing_email(w, r),
                "currency": "usd",
                "delinquent": False,
                "metadata": stripe_metadata(crm, str(acc["sf_id"][r])) if linked[i] else {},
                "deleted": False,
                "created": since,
            }
        )
        subs.append(
            {
                "id": str(acc["sub_id"][r]),
                "customer": str(acc["cus_id"][r]),
                "status": "active",
                "items": items(w, r),
                "collection_method": "send_invoice" if acc["send_invoice"][r] else "charge_automatically",
                "currency": "usd",
                "current_period_start": since if acc["period_no"][r] == 0 else day_start_unix(_period_start(w, r)),
                "current_period_end": day_start_unix(int(acc["period_end"][r])),
                "cancel_at_period_end": False,
                "cancel_at": None,
                "canceled_at": None,
                "ended_at": None,
                "start_date": since,
                "metadata": {"contract_term_months": str(int(acc["term_months"][r]))},
                "created": since,
            }
        )
    d.write(ST_CUSTOMERS, customers, stamps)
    d.write(ST_SUBSCRIPTIONS, subs, stamps + 60)
    if initial:
        _historic_invoices(d, rows, rng)
    else:
        issue_invoices(d, rows, rng, "subscription_create", stamps + 120)


def _historic_invoices(d: Day, rows: np.ndarray, rng: np.random.Generator) -> None:
    """The paid invoice for each existing customer's current period (issued before the history)."""
    w = d.world
    acc = w.accounts
    ids = d.store.new_ids(ST_INVOICES, len(rows))
    records = []
    for i, r in enumerate(rows.tolist()):
        start = day_start_unix(_period_start(w, r)) + 3_600
        amount = int(acc["unit_amount"][r] * acc["seats"][r])
        paid_at = start + (int(rng.integers(5, 25)) * DAY_SECONDS if acc["send_invoice"][r] else 60)
        paid_at = min(paid_at, d.t0)
        records.append(
            _invoice_record(w, r, ids[i], amount, start, "subscription_cycle")
            | {
                "status": "paid",
                "amount_paid": amount,
                "amount_remaining": 0,
                "attempt_count": 1,
                "attempted": True,
                "paid": True,
                "status_transitions": {
                    "finalized_at": start,
                    "paid_at": paid_at,
                    "marked_uncollectible_at": None,
                    "voided_at": None,
                },
            }
        )
    d.write(ST_INVOICES, records, d.work_hours(rng, len(records)))


def _invoice_record(w: World, r: int, inv_id: str, amount: int, created: int, reason: str) -> dict:
    acc = w.accounts
    send = bool(acc["send_invoice"][r])
    return {
        "id": inv_id,
        "customer": str(acc["cus_id"][r]),
        "subscription": str(acc["sub_id"][r]),
        "status": "open",
        "billing_reason": reason,
        "currency": "usd",
        "amount_due": amount,
        "amount_paid": 0,
        "amount_remaining": amount,
        "attempt_count": 0,
        "attempted": False,
        "paid": False,
        "next_payment_attempt": None if send else created + 3_600,
        "due_date": created + P.NET_TERMS_DAYS * DAY_SECONDS if send else None,
        "period_start": day_start_unix(_period_start(w, r)),
        "period_end": day_start_unix(int(acc["period_end"][r])),
        "status_transitions": {
            "finalized_at": created,
            "paid_at": None,
            "marked_uncollectible_at": None,
            "voided_at": None,
        },
        "created": created,
    }


def issue_invoices(
    d: Day,
    rows: np.ndarray,
    rng: np.random.Generator,
    reason: str,
    stamps: np.ndarray,
    amounts: np.ndarray | None = None,
) -> None:
    """Finalize invoices (default: a full period of the current seats) and start collecting them."""
    if not len(rows):
        return
    w = d.world
    acc = w.accounts
    if amounts is None:
        amounts = acc["unit_amount"][rows] * acc["seats"][rows]
    stamps = d.clip(stamps)
    ids = d.store.new_ids(ST_INVOICES, len(rows))
    records = [
        _invoice_record(w, int(r), ids[i], int(amounts[i]), int(stamps[i]), reason) for i, r in enumerate(rows.tolist())
    ]
    d.write(ST_INVOICES, records, stamps, event_type="invoice.finalized")
    send = acc["send_invoice"][rows]
    budget = acc["budget_until"][rows] >= d.day
    delay = P.INVOICE_PAY_DELAY_MEDIAN_DAYS * np.exp(P.INVOICE_PAY_DELAY_LOG_SD * rng.standard_normal(len(rows)))
    delay = np.where(budget, delay * P.INVOICE_PAY_DELAY_BUDGET_FACTOR, delay)
    pay_day = np.where(delay > P.INVOICE_UNCOLLECTIBLE_AFTER_DAYS, -1, d.day + np.ceil(delay)).astype(np.int64)
    new = w.invoices.append(
        len(rows),
        id=ids,
        account=rows,
        amount=amounts,
        created_ts=stamps,
        due_ts=np.where(send, stamps + P.NET_TERMS_DAYS * DAY_SECONDS, -1),
        next_attempt_day=np.where(send, -1, d.day),
        pay_day=np.where(send, pay_day, -1),
    )
    # Card customers are charged right away.
    drop, paid_accounts = _attempt(d, new[~send], rng, stamps[~send] + 3_600)
    _finish(d, drop, paid_accounts, int(stamps.max()) + 3_700)


def _attempt(
    d: Day, inv_rows: np.ndarray, rng: np.random.Generator, stamps: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Charge the cards of these open invoices. Returns (invoice rows now settled or written off,
    accounts that paid), for `_finish`."""
    if not len(inv_rows):
        return inv_rows, inv_rows
    w = d.world
    inv = w.invoices
    acc = w.accounts
    accounts = inv["account"][inv_rows]
    first = inv["attempts"][inv_rows] == 0
    budget = acc["budget_until"][accounts] >= d.day
    fail_p = np.where(
        first,
        P.CARD_FAILURE_RATE * np.where(budget, P.CARD_FAILURE_BUDGET_FACTOR, 1.0),
        1 - P.RETRY_SUCCESS_RATE * np.where(budget, 0.6, 1.0),
    )
    failed = rng.random(len(inv_rows)) < fail_p
    inv["attempts"][inv_rows] += 1
    stamps = d.clip(stamps)
    paid = inv_rows[~failed]
    _write_paid(d, paid, stamps[~failed])

    lost = inv_rows[failed]
    attempts = inv["attempts"][lost]
    retry = attempts <= len(P.RETRY_OFFSETS_DAYS)
    offsets = np.array((0, *P.RETRY_OFFSETS_DAYS))
    created_day = inv["created_ts"][lost] // DAY_SECONDS - d.t0 // DAY_SECONDS + d.day
    next_day = created_day + offsets[np.minimum(attempts, len(offsets) - 1)]
    inv["next_attempt_day"][lost] = np.where(retry, next_day, -1)
    fstamps = stamps[failed]
    records, types = [], []
    for k, r in enumerate(lost.tolist()):
        rec = {"id": str(inv["id"][r]), "attempt_count": int(inv["attempts"][r]), "attempted": True}
        if retry[k]:
            rec["next_payment_attempt"] = day_start_unix(int(next_day[k])) + int(fstamps[k] - d.t0)
            types.append("invoice.payment_failed")
        else:
            rec |= {
                "status": "uncollectible",
                "next_payment_attempt": None,
                "status_transitions": _transitions(inv, r, uncollectible_at=int(fstamps[k])),
            }
            types.append("invoice.marked_uncollectible")
        records.append(rec)
    if records:
        d.write(ST_INVOICES, records, fstamps, event_type=types)
        first_failures = np.unique(inv["account"][lost[attempts == 1]])
        d.today["payment_failed"] = np.union1d(d.today.get("payment_failed", first_failures[:0]), first_failures)
        _mark_past_due(d, np.unique(inv["account"][lost]), int(fstamps.max()) + 60)
    return np.concatenate([paid, lost[~retry]]), inv["account"][paid]


def _transitions(inv: Table, r: int, paid_at: int | None = None, uncollectible_at: int | None = None) -> dict:
    return {
        "finalized_at": int(inv["created_ts"][r]),
        "paid_at": paid_at,
        "marked_uncollectible_at": uncollectible_at,
        "voided_at": None,
    }


def _write_paid(d: Day, inv_rows: np.ndarray, stamps: np.ndarray) -> None:
    if not len(inv_rows):
        return
    inv = d.world.invoices
    records = []
    for k, r in enumerate(inv_rows.tolist()):
        amount = int(inv["amount"][r])
        records.append(
            {
                "id": str(inv["id"][r]),
                "status": "paid",
                "paid": True,
                "attempted": True,
                "attempt_count": max(1, int(inv["attempts"][r])),
                "amount_paid": amount,
                "amount_remaining": 0,
                "next_payment_attempt": None,
                "status_transitions": _transitions(inv, r, paid_at=int(stamps[k])),
            }
        )
    d.write(ST_INVOICES, records, stamps, event_type="invoice.paid")


def _finish(d: Day, done: np.ndarray, paid_accounts: np.ndarray, ts: int) -> None:
    """Drop settled / written-off invoices from the working set, then restore the standing of
    accounts that no longer owe anything."""
    if len(done):
        inv = d.world.invoices
        keep = np.ones(len(inv), dtype=bool)
        keep[done] = False
        inv.keep(keep)
    if len(paid_accounts):
        _clear_past_due(d, np.unique(paid_accounts), ts)


def _mark_past_due(d: Day, accounts: np.ndarray, ts: int) -> None:
    acc = d.world.accounts
    rows = accounts[(acc["status"][accounts] == CUSTOMER) & (acc["sub_status"][accounts] == SUB_ACTIVE)]
    if len(rows):
        acc["sub_status"][rows] = SUB_PAST_DUE
        d.write(
            ST_SUBSCRIPTIONS,
            [{"id": str(acc["sub_id"][r]), "status": "past_due"} for r in rows],
            np.full(len(rows), ts),
            event_type="customer.subscription.updated",
        )
    rows = accounts[~acc["delinquent"][accounts]]
    if len(rows):
        acc["delinquent"][rows] = True
        d.write(
            ST_CUSTOMERS,
            [{"id": str(acc["cus_id"][r]), "delinquent": True} for r in rows],
            np.full(len(rows), ts),
            event_type="customer.updated",
        )


def _clear_past_due(d: Day, accounts: np.ndarray, ts: int) -> None:
    acc = d.world.accounts
    inv = d.world.invoices
    owing = np.zeros(len(acc), dtype=bool)
    overdue = (inv["attempts"] > 0) | inv["past_due"]
    owing[inv["account"][overdue]] = True
    clear = accounts[~owing[accounts]]
    rows = clear[(acc["sub_status"][clear] == SUB_PAST_DUE)]
    if len(rows):
        acc["sub_status"][rows] = SUB_ACTIVE
        d.write(
            ST_SUBSCRIPTIONS,
            [{"id": str(acc["sub_id"][r]), "status": "active"} for r in rows],
            np.full(len(rows), ts),
            event_type="customer.subscription.updated",
        )
    rows = clear[acc["delinquent"][clear]]
    if len(rows):
        acc["delinquent"][rows] = False
        d.write(
            ST_CUSTOMERS,
            [{"id": str(acc["cus_id"][r]), "delinquent": False} for r in rows],
            np.full(len(rows), ts),
            event_type="customer.updated",
        )


def collect(d: Day) -> None:
    """Today's card retries, bank transfers, invoices falling past due and ones written off."""
    rng = d.rng(Stream.BILLING, 1)
    inv = d.world.invoices
    if not len(inv):
        return
    retry = np.flatnonzero(inv["next_attempt_day"] == d.day)
    retry_stamps = d.work_hours(rng, len(retry), 6, 12)
    drop, paid_accounts = _attempt(d, retry, rng, retry_stamps)
    _finish(d, drop, paid_accounts, d.t0 + 12 * 3600)

    pays = np.flatnonzero(inv["pay_day"] == d.day)
    pay_stamps = d.work_hours(rng, len(pays), 8, 18)
    _write_paid(d, pays, pay_stamps)
    _finish(d, pays, inv["account"][pays], d.t0 + 18 * 3600 + 60)

    newly_due = np.flatnonzero((inv["due_ts"] >= 0) & ~inv["past_due"] & (inv["due_ts"] < d.t0))
    if len(newly_due):
        inv["past_due"][newly_due] = True
        _mark_past_due(d, np.unique(inv["account"][newly_due]), d.t0 + 7_200)

    write_off = np.flatnonzero(
        (inv["pay_day"] < 0)
        & (inv["due_ts"] >= 0)
        & (inv["created_ts"] + P.INVOICE_UNCOLLECTIBLE_AFTER_DAYS * DAY_SECONDS < d.t0)
    )
    if len(write_off):
        ts = d.t0 + 10 * 3600
        d.write(
            ST_INVOICES,
            [
                {
                    "id": str(inv["id"][r]),
                    "status": "uncollectible",
                    "status_transitions": _transitions(inv, r, uncollectible_at=ts),
                }
                for r in write_off.tolist()
            ],
            np.full(len(write_off), ts),
            event_type="invoice.marked_uncollectible",
        )
        _finish(d, write_off, write_off[:0], ts)


def roll_periods(d: Day) -> None:
    """Subscriptions whose period ends today start the next one and are invoiced for it."""
    w = d.world
    acc = w.accounts
    rows = np.flatnonzero((acc["status"] == CUSTOMER) & (acc["period_end"] == d.day))
    if not len(rows):
        return
    rng = d.rng(Stream.BILLING, 2)
    records = []
    for r in rows.tolist():
        acc["period_no"][r] += 1
        acc["period_end"][r] = add_months_day(
            int(acc["anchor_day"][r]), (int(acc["period_no"][r]) + 1) * int(acc["interval_months"][r])
        )
        rec = {
            "id": str(acc["sub_id"][r]),
            "current_period_start": d.t0,
            "current_period_end": day_start_unix(int(acc["period_end"][r])),
        }
        if acc["noticed"][r] and acc["period_end"][r] == acc["term_end"][r]:
            rec["cancel_at_period_end"] = True  # the contract's last month has begun
        records.append(rec)
    stamps = d.t0 + rng.integers(0, 3 * 3600, len(rows))
    d.write(ST_SUBSCRIPTIONS, records, stamps, event_type="customer.subscription.updated")
    issue_invoices(d, rows, rng, "subscription_cycle", stamps + 300)


def give_notice(d: Day, rows: np.ndarray, stamps: np.ndarray) -> None:
    """The customer asked to cancel at the end of the contract."""
    if not len(rows):
        return
    acc = d.world.accounts
    records = []
    for r in rows.tolist():
        end = day_start_unix(int(acc["term_end"][r]))
        records.append(
            {
                "id": str(acc["sub_id"][r]),
                "cancel_at": end,
                "cancel_at_period_end": bool(acc["period_end"][r] == acc["term_end"][r]),
            }
        )
    d.write(ST_SUBSCRIPTIONS, records, stamps, event_type="customer.subscription.updated")


def end_subscriptions(d: Day, rows: np.ndarray, stamps: np.ndarray) -> None:
    if not len(rows):
        return
    acc = d.world.accounts
    acc["sub_status"][rows] = SUB_CANCELED
    records = []
    for r in rows.tolist():
        notice = int(acc["notice_day"][r]) if acc["notice_day"][r] >= 0 else d.day
        records.append(
            {
                "id": str(acc["sub_id"][r]),
                "status": "canceled",
                "ended_at": d.t0,
                "canceled_at": day_start_unix(notice) + 36_000,
            }
        )
    d.write(ST_SUBSCRIPTIONS, records, stamps, event_type="customer.subscription.deleted")


def change_seats(d: Day, rows: np.ndarray, stamps: np.ndarray) -> None:
    """Write the subscriptions' new quantity and price (already set in the state)."""
    if not len(rows):
        return
    w = d.world
    d.write(
        ST_SUBSCRIPTIONS,
        [{"id": str(w.accounts["sub_id"][r]), "items": items(w, r)} for r in rows.tolist()],
        stamps,
        event_type="customer.subscription.updated",
    )
