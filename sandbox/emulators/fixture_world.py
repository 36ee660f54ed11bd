"""A small, fixed world for the emulators' own tests and benchmark, independent of the generator.

It has what the API behaviour needs rather than a believable company: more Contacts than one
Salesforce page (2,000), more tickets than one Zendesk export page (1,000), records sharing a
timestamp (paging ties), soft-deleted rows (queryAll), every subscription and invoice status,
deleted Stripe customers, and Stripe events from every write.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox.schema import ALL_OBJECTS
from sandbox.store import Store

NOW = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)
START = datetime(2025, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Sizes:
    users: int = 12
    accounts: int = 600
    contacts: int = 2600
    opportunities: int = 800
    tasks: int = 40
    tickets: int = 2300
    zendesk_users: int = 1200
    ratings: int = 600
    invoices: int = 1500


def _times(rng: random.Random, n: int, tie_every: int = 7) -> list[datetime]:
    """n increasing-ish times over the year; every `tie_every`th repeats the previous one (ties)."""
    span = (NOW - START).total_seconds() - 86400
    out = []
    for i in range(n):
        if i and i % tie_every == 0:
            out.append(out[-1])
        else:
            out.append(START + timedelta(seconds=int(rng.random() * span)))
    return out


def build(data_dir: Path, sizes: Sizes = Sizes(), seed: int = 7) -> Path:
    """Write the world to `<data_dir>/world.sqlite` and return its path."""
    rng = random.Random(seed)
    path = Path(data_dir) / "world.sqlite"
    store = Store.create(path)
    o = ALL_OBJECTS
    sf_user, sf_account, sf_contact = o["sf_user"], o["sf_account"], o["sf_contact"]
    sf_opp, sf_task = o["sf_opportunity"], o["sf_task"]

    user_ids = store.new_ids(sf_user, sizes.users)
    users = [
        {
            "Id": uid,
            "Username": f"csm{i}@copilot.sandbox",
            "FirstName": f"Casey{i}",
            "LastName": f"Manager{i}",
            "Email": f"csm{i}@copilot.sandbox",
            "Title": "Customer Success Manager",
            "Department": "Customer Success",
            "IsActive": i != sizes.users - 1,
            "ManagerId": user_ids[0] if i else None,
        }
        for i, uid in enumerate(user_ids)
    ]
    store.write(sf_user, users, START)

    account_ids = store.new_ids(sf_account, sizes.accounts)
    accounts = []
    for i, aid in enumerate(account_ids):
        since = START.date() - timedelta(days=rng.randint(30, 900))
        accounts.append(
            {
                "Id": aid,
                "Name": f"Account {i:04d} {rng.choice(['Labs', 'Systems', 'GmbH', 'Inc', 'Ltd'])}",
                "Type": rng.choice(["Customer", "Customer", "Customer", "Former Customer", "Prospect"]),
                "Website": f"https://account{i}.example",
                "Industry": rng.choice(["Software", "Retail", "Finance", "Healthcare", None]),
                "NumberOfEmployees": rng.randint(5, 5000),
                "AnnualRevenue": float(rng.randint(1, 500) * 100_000),
                "BillingCountry": rng.choice(["US", "DE", "GB", "FR", "CA"]),
                "OwnerId": rng.choice(user_ids),
                "CSM__c": rng.choice(user_ids[1:]),
                "Segment__c": rng.choice(["SMB", "Mid-Market", "Enterprise"]),
                "Product_Account_Id__c": f"ws_{i + 1:06d}",
                "Customer_Since__c": since.isoformat(),
                "Contract_End_Date__c": (date(2026, 1, 1) + timedelta(days=rng.randint(0, 500))).isoformat(),
                "ARR__c": float(rng.randint(5, 400) * 1000),
                "Copilot_Health_Score__c": None,
            }
        )
    store.write(sf_account, accounts, _times(rng, len(accounts)))

    contact_ids = store.new_ids(sf_contact, sizes.contacts)
    contacts = [
        {
            "Id": cid,
            "AccountId": account_ids[i % len(account_ids)],
            "FirstName": f"Pat{i}",
            "LastName": f"Contact{i}",
            "Email": f"pat{i}@account{i % len(account_ids)}.example",
            "Title": rng.choice(["VP Operations", "Admin", "Analyst", None]),
            "Is_Champion__c": i % 9 == 0,
            "Left_Company__c": i % 31 == 0,
        }
        for i, cid in enumerate(contact_ids)
    ]
    store.write(sf_contact, contacts, _times(rng, len(contacts)))
    store.soft_delete(sf_contact, contact_ids[:10], NOW - timedelta(days=3))

    opp_ids = store.new_ids(sf_opp, sizes.opportunities)
    stages = ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
    opps = []
    for i, oid in enumerate(opp_ids):
        stage = rng.choice(stages)
        opps.append(
            {
                "Id": oid,
                "AccountId": account_ids[i % len(account_ids)],
                "Name": f"Opportunity {i}",
                "Type": rng.choice(["New Business", "Renewal", "Expansion"]),
                "StageName": stage,
                "Amount": float(rng.randint(1, 200) * 500),
                "CloseDate": (date(2025, 11, 1) + timedelta(days=rng.randint(0, 400))).isoformat(),
                "IsClosed": stage.startswith("Closed"),
                "IsWon": stage == "Closed Won",
                "OwnerId": rng.choice(user_ids),
            }
        )
    store.write(sf_opp, opps, _times(rng, len(opps)))
    store.soft_delete(sf_opp, opp_ids[:3], NOW - timedelta(days=2))

    task_ids = store.new_ids(sf_task, sizes.tasks)
    tasks = [
        {
            "Id": tid,
            "WhatId": account_ids[i],
            "OwnerId": user_ids[1 + i % (len(user_ids) - 1)],
            "Subject": f"Check in with account {i}",
            "Status": rng.choice(["Not Started", "In Progress", "Completed"]),
            "Priority": rng.choice(["High", "Normal", "Low"]),
            "ActivityDate": (date(2026, 10, 1) + timedelta(days=i)).isoformat(),
            "Copilot_Alert_Id__c": f"alert-{i:04d}" if i % 2 == 0 else None,
            "Copilot_Outcome__c": "Confirmed risk" if i % 5 == 0 else None,
        }
        for i, tid in enumerate(task_ids)
    ]
    store.write(sf_task, tasks, _times(rng, len(tasks)))

    _zendesk(store, rng, sizes, account_ids)
    _stripe(store, rng, sizes, account_ids)
    store.set_now(NOW)
    store.close()
    return path


def _zendesk(store: Store, rng: random.Random, sizes: Sizes, account_ids: list[str]) -> None:
    o = ALL_OBJECTS
    org_ids = store.new_ids(o["zd_organizations"], len(account_ids))
    orgs = [
        {
            "id": oid,
            "name": f"Account {i:04d}",
            "domain_names": [f"account{i}.example"],
            "external_id": account_ids[i] if i % 10 else None,
            "tags": ["customer"],
            "organization_fields": {"product_account_id": f"ws_{i + 1:06d}"},
        }
        for i, oid in enumerate(org_ids)
    ]
    store.write(o["zd_organizations"], orgs, _times(rng, len(orgs), tie_every=3))
    user_ids = store.new_ids(o["zd_users"], sizes.zendesk_users)
    users = [
        {
            "id": uid,
            "name": f"Requester {i}",
            "email": f"requester{i}@example.com",
            "role": "agent" if i < 10 else "end-user",
            "organization_id": None if i < 10 else org_ids[i % len(org_ids)],
            "active": i % 50 != 0,
        }
        for i, uid in enumerate(user_ids)
    ]
    store.write(o["zd_users"], users, _times(rng, len(users)))
    ticket_ids = store.new_ids(o["zd_tickets"], sizes.tickets)
    tickets: list[dict[str, Any]] = []
    for i, tid in enumerate(ticket_ids):
        requester = user_ids[10 + i % (len(user_ids) - 10)]
        tickets.append(
            {
                "id": tid,
                "subject": f"Ticket {i}",
                "description": "Something does not work as expected",
                "type": rng.choice(["question", "incident", "problem", "task"]),
                "priority": rng.choice(["low", "normal", "high", "urgent", None]),
                "status": rng.choice(["new", "open", "pending", "hold", "solved", "closed"]),
                "requester_id": requester,
                "submitter_id": requester,
                "assignee_id": user_ids[i % 10],
                "organization_id": org_ids[i % len(org_ids)],
                "tags": ["billing"] if i % 4 == 0 else [],
                "satisfaction_rating": None,
            }
        )
    times = _times(rng, len(tickets), tie_every=4)
    store.write(o["zd_tickets"], tickets, times)
    metric_ids = store.new_ids(o["zd_ticket_metrics"], len(ticket_ids))
    metrics = [
        {
            "id": mid,
            "ticket_id": tid,
            "reopens": rng.randint(0, 2),
            "replies": rng.randint(0, 9),
            "reply_time_in_minutes": {"calendar": rng.randint(1, 900), "business": rng.randint(1, 500)},
            "full_resolution_time_in_minutes": {"calendar": rng.randint(10, 9000), "business": None},
            "solved_at": None,
        }
        for mid, tid in zip(metric_ids, ticket_ids, strict=True)
    ]
    store.write(o["zd_ticket_metrics"], metrics, times)
    rating_ids = store.new_ids(o["zd_satisfaction_ratings"], sizes.ratings)
    ratings = [
        {
            "id": rid,
            "score": rng.choice(["good", "good", "bad"]),
            "comment": None,
            "ticket_id": ticket_ids[i],
            "requester_id": tickets[i]["requester_id"],
            "assignee_id": tickets[i]["assignee_id"],
            "organization_id": tickets[i]["organization_id"],
        }
        for i, rid in enumerate(rating_ids)
    ]
    store.write(o["zd_satisfaction_ratings"], ratings, _times(rng, len(ratings)))


def _stripe(store: Store, rng: random.Random, sizes: Sizes, account_ids: list[str]) -> None:
    o = ALL_OBJECTS
    customer_ids = store.new_ids(o["st_customers"], len(account_ids))
    customers = [
        {
            "id": cid,
            "name": f"Account {i:04d}",
            "email": f"billing@account{i}.example",
            "currency": "usd",
            "delinquent": i % 17 == 0,
            "metadata": {"salesforce_account_id": account_ids[i]} if i % 12 else {},
            "deleted": False,
        }
        for i, cid in enumerate(customer_ids)
    ]
    store.write(o["st_customers"], customers, _times(rng, len(customers), tie_every=5))
    store.soft_delete(o["st_customers"], customer_ids[:3], NOW - timedelta(days=1))
    statuses = ["active", "active", "active", "past_due", "unpaid", "canceled", "trialing", "incomplete_expired"]
    sub_ids = store.new_ids(o["st_subscriptions"], len(customer_ids))
    subs = []
    for i, (sid, cid) in enumerate(zip(sub_ids, customer_ids, strict=True)):
        start = int((START + timedelta(days=rng.randint(0, 300))).timestamp())
        status = statuses[i % len(statuses)]
        subs.append(
            {
                "id": sid,
                "customer": cid,
                "status": status,
                "items": {
                    "object": "list",
                    "data": [{"id": f"si_{i:08d}", "price": {"id": "price_seats", "unit_amount": 4000}, "quantity": 5}],
                },
                "collection_method": "charge_automatically",
                "currency": "usd",
                "current_period_start": start,
                "current_period_end": start + 30 * 86400,
                "cancel_at_period_end": i % 11 == 0,
                "cancel_at": None,
                "canceled_at": start + 86400 if status == "canceled" else None,
                "ended_at": start + 86400 if status == "canceled" else None,
                "start_date": start,
                "metadata": {},
            }
        )
    store.write(o["st_subscriptions"], subs, _times(rng, len(subs), tie_every=4))
    invoice_ids = store.new_ids(o["st_invoices"], sizes.invoices)
    invoice_statuses = ["paid", "paid", "paid", "open", "uncollectible", "void", "draft"]
    invoices = []
    for i, iid in enumerate(invoice_ids):
        status = invoice_statuses[i % len(invoice_statuses)]
        amount = rng.randint(1, 50) * 10000
        invoices.append(
            {
                "id": iid,
                "customer": customer_ids[i % len(customer_ids)],
                "subscription": sub_ids[i % len(sub_ids)],
                "status": status,
                "billing_reason": "subscription_cycle",
                "currency": "usd",
                "amount_due": amount,
                "amount_paid": amount if status == "paid" else 0,
                "amount_remaining": 0 if status == "paid" else amount,
                "attempt_count": 1 if status != "draft" else 0,
                "attempted": status != "draft",
                "paid": status == "paid",
                "next_payment_attempt": None,
                "due_date": None,
                "period_start": 1761955200,
                "period_end": 1764547200,
                "status_transitions": {"finalized_at": None, "paid_at": None},
            }
        )
    store.write(o["st_invoices"], invoices, _times(rng, len(invoices), tie_every=3))
