"""The company on the first simulated day: its staff, its existing customers with their history
(original deal, last renewal, current invoice), and the deals already in the sales pipeline."""

from __future__ import annotations

import numpy as np

from sandbox.store import Store
from sandbox.world import billing, contacts, crm, opportunities, sales_pipeline, staff, support
from sandbox.world import params as P
from sandbox.world.calendar import add_months_day
from sandbox.world.context import Day
from sandbox.world.population import add_contacts, add_users, draw_accounts, link_contact_users
from sandbox.world.renewals import schedule_decision
from sandbox.world.rng import Stream
from sandbox.world.sizes import Size
from sandbox.world.state import NEW_BUSINESS, RENEWAL, World


def found(store: Store, size: Size, seed: int, start_day: int) -> World:
    world = World(seed=seed, size=size.name, start_day=start_day, day=start_day - 1)
    world.shards.append(P.OUTAGE_SHARDS)
    d = Day(store, world, start_day)
    staff.hire(d, size)
    rng = d.rng(Stream.INIT)
    acc = world.accounts
    rows = draw_accounts(d, rng, size.initial_accounts, initial=True)
    schedule_decision(d, rows, rng)

    created = acc["since_day"][rows] - rng.integers(20, 90, len(rows))
    acc["created_day"][rows] = created
    people = add_contacts(d, rng, rows)
    c = world.contacts
    # Contacts were entered over the account's life before the history starts.
    contact_created = np.minimum(
        acc["created_day"][c["account"][people]] + rng.integers(0, 400, len(people)), start_day - 1
    )
    crm.write_new_accounts(d, rows, created, rng)
    crm.write_new_contacts(d, people, rng, contact_created)
    contacts.add_duplicates(d, rng, people)
    link_contact_users(d, rng, people)
    _fill_workspaces(d, rng, rows)

    billing.open_accounts(d, rows, rng, initial=True)
    support.open_organizations(d, rows, rng, acc["since_day"][rows])
    _deal_history(d, rows, rng)
    sales_pipeline.seed(d, size)
    return world


def _fill_workspaces(d: Day, rng: np.random.Generator, rows: np.ndarray) -> None:
    """Existing workspaces already have their members (no invitations on the first day)."""
    acc = d.world.accounts
    have = np.bincount(d.world.users["account"], minlength=len(acc))[rows]
    target = np.minimum(np.floor(acc["demand"][rows]), acc["seats"][rows]).astype(np.int64)
    add_users(d, rng, np.repeat(rows, np.maximum(target - have, 0)))


def _deal_history(d: Day, rows: np.ndarray, rng: np.random.Generator) -> None:
    acc = d.world.accounts
    arr = acc["arr"][rows]
    opportunities.write_closed_history(
        d, rows, NEW_BUSINESS, acc["since_day"][rows], arr * rng.uniform(0.75, 1.0, len(rows))
    )
    renewed = rows[(acc["term_no"][rows] > 0) & (acc["term_months"][rows] >= 12)]
    term_start = np.array([_term_start(d.world, int(r)) for r in renewed], dtype=np.int64)
    opportunities.write_closed_history(d, renewed, RENEWAL, term_start, acc["arr"][renewed])
    upcoming = rows[(acc["term_months"][rows] >= 12) & (acc["term_end"][rows] - d.day <= P.RENEWAL_OPP_DAYS_BEFORE)]
    ends = acc["term_end"][upcoming]
    opportunities.open_opportunities(
        d,
        upcoming,
        RENEWAL,
        ends,
        acc["arr"][upcoming],
        created_days=np.minimum(ends - P.RENEWAL_OPP_DAYS_BEFORE, d.day),
    )


def _term_start(w: World, r: int) -> int:
    acc = w.accounts
    return add_months_day(int(acc["anchor_day"][r]), int(acc["term_no"][r]) * int(acc["term_months"][r]))
