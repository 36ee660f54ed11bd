"""People at the customers: champions leaving and being replaced, staff turnover, new contacts,
and duplicate contacts that someone merges (soft-deletes) later.

What Salesforce shows lags the truth: Left_Company__c is ticked when the CSM hears of a departure
(weeks later, sometimes never), and Is_Champion__c moves only when a new champion emerges. The
product sees a departure at once: the person's user is removed and stops producing events.
"""

from __future__ import annotations

import numpy as np

from sandbox.schema import SF_CONTACT, ZD_USERS
from sandbox.store import zd_datetime
from sandbox.world import crm, names, vocab
from sandbox.world import params as P
from sandbox.world.calendar import to_datetime
from sandbox.world.context import Day
from sandbox.world.population import link_contact_users, new_contacts
from sandbox.world.rng import Stream
from sandbox.world.state import CUSTOMER


def live(d: Day) -> np.ndarray:
    """Contacts that are real people still at their company (not duplicates)."""
    c = d.world.contacts
    return ~c["left"] & (c["merge_day"] < 0)


def daily(d: Day) -> None:
    rng = d.rng(Stream.CONTACTS)
    _departures(d, rng)
    _new_champions(d, rng)
    _new_contacts(d, rng)
    _flag_departures(d, rng)
    _merge_duplicates(d, rng)


def _leave(d: Day, rng: np.random.Generator, contacts: np.ndarray) -> None:
    w = d.world
    c = w.contacts
    c["left"][contacts] = True
    c["left_day"][contacts] = d.day
    delay = 1 + rng.geometric(1 / P.LEFT_FLAG_MEAN_DELAY_DAYS, len(contacts))
    never = rng.random(len(contacts)) < P.LEFT_FLAG_NEVER
    c["left_flag_day"][contacts] = np.where(never, -1, d.day + delay)
    # Their login is removed at once, and nobody needs their seat until the team grows again.
    users = c["user"][contacts]
    w.users["active"][users[users >= 0]] = False
    teams = c["account"][contacts[users >= 0]]
    w.accounts["demand"][teams] = np.maximum(w.accounts["demand"][teams] - 1, 1)


def _departures(d: Day, rng: np.random.Generator) -> None:
    c = d.world.contacts
    acc = d.world.accounts
    champions = d.today.get("champion_left_contact", np.zeros(0, dtype=np.int64))
    _leave(d, rng, champions)
    d.log("champion_left", c["account"][champions], contacts=champions)
    candidates = np.flatnonzero(live(d) & (acc["status"][c["account"]] == CUSTOMER))
    u = rng.random(len(candidates))
    not_champion = acc["champion"][c["account"][candidates]] != candidates
    leaving = candidates[(u < P.CONTACT_LEAVES_PER_YEAR / P.YEAR) & not_champion]
    _leave(d, rng, leaving)


def _new_champions(d: Day, rng: np.random.Generator) -> None:
    """Someone steps up: a new hire (a new contact) or a colleague already in the CRM."""
    w = d.world
    acc = w.accounts
    c = w.contacts
    rows = d.today.get("new_champion", np.zeros(0, dtype=np.int64))
    if not len(rows):
        return
    u = rng.random(len(rows))
    alive = live(d)
    chosen = np.full(len(rows), -1)
    for k, r in enumerate(rows.tolist()):
        if u[k] >= P.NEW_CHAMPION_IS_NEW_CONTACT:
            pool = np.flatnonzero(alive & (c["account"] == r) & ~c["is_champion"])
            if len(pool):
                chosen[k] = pool[int(rng.integers(0, len(pool)))]
    hires = rows[chosen < 0]
    titles = np.array([vocab.CONTACT_TITLES.index(t) for t in vocab.CHAMPION_TITLES])
    hired = new_contacts(d, rng, hires, titles[rng.integers(0, len(titles), len(hires))])
    chosen[chosen < 0] = hired
    crm.write_new_contacts(d, hired, rng)
    zendesk_users(d, rng, hired)
    link_contact_users(d, rng, hired[c["user"][hired] < 0])

    previous = np.flatnonzero(np.isin(c["account"], rows) & c["is_champion"])
    c["is_champion"][previous] = False
    c["is_champion"][chosen] = True
    acc["champion"][rows] = chosen
    stamps = d.work_hours(rng, len(previous) + len(chosen), 9, 18)
    records = [{"Id": str(c["sf_id"][j]), "Is_Champion__c": False} for j in previous]
    records += [{"Id": str(c["sf_id"][j]), "Is_Champion__c": True} for j in chosen]
    d.write(SF_CONTACT, records, stamps)
    d.log("new_champion", rows, contacts=chosen)


def _new_contacts(d: Day, rng: np.random.Generator) -> None:
    """New stakeholders appear about as often as people leave; a few are entered twice."""
    w = d.world
    acc = w.accounts
    c = w.contacts
    customers = np.flatnonzero(acc["status"] == CUSTOMER)
    people = np.bincount(c["account"][live(d)], minlength=len(acc))[customers]
    u = rng.random(len(customers))
    rows = customers[u < people * P.CONTACT_LEAVES_PER_YEAR / P.YEAR]
    if not len(rows):
        return
    added = new_contacts(d, rng, rows, rng.integers(0, len(vocab.CONTACT_TITLES), len(rows)))
    crm.write_new_contacts(d, added, rng)
    zendesk_users(d, rng, added)
    link_contact_users(d, rng, added)
    add_duplicates(d, rng, added)


def add_duplicates(d: Day, rng: np.random.Generator, contacts: np.ndarray) -> None:
    """Someone enters an existing person again (other email form); a later clean-up merges it."""
    c = d.world.contacts
    dup_of = contacts[rng.random(len(contacts)) < P.DUPLICATE_CONTACT_RATE]
    if not len(dup_of):
        return
    rows = new_contacts(d, rng, c["account"][dup_of], c["title"][dup_of])
    c["first"][rows] = c["first"][dup_of]
    c["last"][rows] = c["last"][dup_of]
    c["short_email"][rows] = ~c["short_email"][dup_of]
    c["merge_day"][rows] = d.day + rng.integers(1, 21, len(rows))
    crm.write_new_contacts(d, rows, rng)


def _flag_departures(d: Day, rng: np.random.Generator) -> None:
    c = d.world.contacts
    due = np.flatnonzero(c["left_flag_day"] == d.day)
    if len(due):
        d.write(
            SF_CONTACT,
            [{"Id": str(c["sf_id"][j]), "Left_Company__c": True} for j in due],
            d.work_hours(rng, len(due), 9, 18),
        )


def _merge_duplicates(d: Day, rng: np.random.Generator) -> None:
    c = d.world.contacts
    due = np.flatnonzero(c["merge_day"] == d.day)
    if len(due):
        # A Salesforce delete keeps the row with IsDeleted (queryAll still returns it), as
        # Store.soft_delete does; written here inside the day's transaction.
        records = [{"Id": str(x), "IsDeleted": True} for x in c["sf_id"][due]]
        d.write(SF_CONTACT, records, d.work_hours(rng, 1, 9, 18)[0])
        c["left"][due] = True  # gone for good


def zendesk_users(
    d: Day, rng: np.random.Generator, contacts: np.ndarray, share: float = 0.6, created_day: np.ndarray | None = None
) -> None:
    """Some contacts also write to support, so they exist as Zendesk end users."""
    w = d.world
    c = w.contacts
    acc = w.accounts
    chosen = contacts[(rng.random(len(contacts)) < share) & (acc["zd_org"][c["account"][contacts]] > 0)]
    if not len(chosen):
        return
    ids = d.store.new_ids(ZD_USERS, len(chosen))
    c["zd_user"][chosen] = ids
    w.zd_users.append(len(chosen), account=c["account"][chosen], id=ids, contact=chosen)
    records = []
    for k, j in enumerate(chosen.tolist()):
        a = int(c["account"][j])
        first, last = int(c["first"][j]), int(c["last"][j])
        rec = {
            "id": ids[k],
            "name": f"{names.FIRST[first]} {names.LAST[last]}",
            "email": names.email(first, last, str(acc["domain"][a])),
            "role": "end-user",
            "organization_id": int(acc["zd_org"][a]),
            "active": True,
        }
        ts = None if created_day is None else d.historic(created_day[k], 45_000)
        if ts is not None:
            rec["created_at"] = zd_datetime(to_datetime(ts))
        records.append(rec)
    d.write(ZD_USERS, records, d.work_hours(rng, len(records)))
