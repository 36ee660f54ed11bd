"""Salesforce Accounts and Contacts: building records from the state and writing them."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from sandbox.schema import SF_ACCOUNT, SF_CONTACT
from sandbox.store import sf_date
from sandbox.world import names, vocab
from sandbox.world import params as P
from sandbox.world.calendar import date_of, to_datetime
from sandbox.world.context import Day
from sandbox.world.state import CHURNED, CUSTOMER, World

TYPE_BY_STATUS = {0: "Prospect", CUSTOMER: "Customer", CHURNED: "Former Customer"}


def customer_fields(w: World, r: int) -> dict:
    """The fields Sales and CS maintain once an account is a customer."""
    acc = w.accounts
    monthly = acc["term_months"][r] == 1
    csm = int(acc["csm"][r])
    return {
        "Type": TYPE_BY_STATUS[int(acc["status"][r])],
        "Customer_Since__c": sf_date(date_of(acc["since_day"][r])) if acc["since_day"][r] >= 0 else None,
        "Contract_End_Date__c": None if monthly or acc["term_end"][r] < 0 else sf_date(date_of(acc["term_end"][r])),
        "ARR__c": round(float(acc["arr"][r]), 2),
        "CSM__c": str(w.staff["sf_id"][csm]) if csm >= 0 else None,
        "Product_Account_Id__c": str(acc["ws_id"][r]) if acc["ws_in_crm"][r] else None,
    }


def account_record(w: World, r: int, created: datetime | None) -> dict:
    acc = w.accounts
    employees = int(acc["employees"][r])
    record = {
        "Id": str(acc["sf_id"][r]),
        "Name": str(acc["name"][r]),
        "Type": TYPE_BY_STATUS[int(acc["status"][r])],
        "Website": names.website(str(acc["domain"][r]), r),
        "Industry": vocab.INDUSTRIES[acc["industry"][r]],
        "NumberOfEmployees": employees,
        "AnnualRevenue": float(round(employees * (90_000 + 13_000 * (r % 11)), -5)),
        "BillingCountry": vocab.COUNTRIES[acc["country"][r]][0],
        "OwnerId": str(w.staff["sf_id"][acc["owner"][r]]),
        "Segment__c": P.SEGMENTS[acc["segment"][r]],
    }
    if created is not None:
        record["CreatedDate"] = created
    if acc["status"][r] == CUSTOMER:
        record.update(customer_fields(w, r))
    return record


def write_new_accounts(d: Day, rows: np.ndarray, created_days: np.ndarray, rng: np.random.Generator) -> None:
    created = [_time_or_none(d.historic(c, 36_000)) for c in created_days]
    records = [account_record(d.world, int(r), ts) for r, ts in zip(rows, created, strict=True)]
    d.write(SF_ACCOUNT, records, d.work_hours(rng, len(records)))


def write_account_updates(d: Day, rows: np.ndarray, rng: np.random.Generator) -> None:
    if not len(rows):
        return
    records = [{"Id": str(d.world.accounts["sf_id"][r]), **customer_fields(d.world, int(r))} for r in rows]
    d.write(SF_ACCOUNT, records, d.work_hours(rng, len(records), 8, 19))


def schedule_sync(d: Day, rows: np.ndarray, rng: np.random.Generator) -> None:
    """Someone will update ARR / contract end / type by hand in a few days (unless already due)."""
    acc = d.world.accounts
    lo, hi = P.SF_SYNC_LAG_DAYS
    due = d.day + rng.integers(lo, hi + 1, len(rows))
    pending = acc["sf_sync_day"][rows] >= d.day
    acc["sf_sync_day"][rows] = np.where(pending, acc["sf_sync_day"][rows], due)


def sync_due_accounts(d: Day, rng: np.random.Generator) -> None:
    acc = d.world.accounts
    rows = np.flatnonzero(acc["sf_sync_day"] == d.day)
    write_account_updates(d, rows, rng)
    acc["sf_sync_day"][rows] = -1


def _time_or_none(ts: int | None) -> datetime | None:
    return None if ts is None else to_datetime(ts)


def contact_record(w: World, j: int, created: datetime | None = None) -> dict:
    c = w.contacts
    account = int(c["account"][j])
    first, last = int(c["first"][j]), int(c["last"][j])
    record = {
        "Id": str(c["sf_id"][j]),
        "AccountId": str(w.accounts["sf_id"][account]),
        "FirstName": str(names.FIRST[first]),
        "LastName": str(names.LAST[last]),
        "Email": names.email(first, last, str(w.accounts["domain"][account]), bool(c["short_email"][j])),
        "Title": vocab.CONTACT_TITLES[c["title"][j]],
        "Is_Champion__c": bool(c["is_champion"][j]),
        "Left_Company__c": False,
    }
    if created is not None:
        record["CreatedDate"] = created
    return record


def write_new_contacts(
    d: Day, contacts: np.ndarray, rng: np.random.Generator, created_days: np.ndarray | None = None
) -> None:
    if not len(contacts):
        return
    if created_days is None:
        created: list[datetime | None] = [None] * len(contacts)
    else:
        created = [_time_or_none(d.historic(c, 39_600)) for c in created_days]
    records = [contact_record(d.world, int(j), ts) for j, ts in zip(contacts, created, strict=True)]
    d.write(SF_CONTACT, records, d.work_hours(rng, len(records)))
