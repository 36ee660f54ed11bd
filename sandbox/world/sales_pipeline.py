"""The sales pipeline of new logos: prospects enter it, their New Business deal runs its stages, and
on the close date they become customers (subscription, support organization, workspace, onboarding)."""

from __future__ import annotations

import numpy as np

from sandbox.world import billing, crm, opportunities, support
from sandbox.world import params as P
from sandbox.world.calendar import add_months_day
from sandbox.world.context import Day
from sandbox.world.population import add_contacts, annual_value, draw_accounts, link_contact_users
from sandbox.world.renewals import schedule_decision
from sandbox.world.rng import Stream
from sandbox.world.sizes import Size
from sandbox.world.state import CUSTOMER, NEW_BUSINESS, PROSPECT

SALES_CYCLE_DAYS = (20, 90)


def daily(d: Day, size: Size) -> None:
    rng = d.rng(Stream.SALES_PIPELINE)
    n = int(rng.poisson(_arrival_rate(size)))
    lo, hi = SALES_CYCLE_DAYS
    created = np.full(n, d.day)
    if n:
        _new_prospects(d, rng, created, created + rng.integers(lo, hi + 1, n))
    _wins(d, rng)


def seed(d: Day, size: Size) -> None:
    """On the first day: the deals that started before the history and close in the coming months."""
    rng = d.rng(Stream.SALES_PIPELINE, 1)
    lo, hi = SALES_CYCLE_DAYS
    n = int(rng.poisson(_arrival_rate(size) * (lo + hi) / 2))
    won = d.day + rng.integers(0, hi, n)
    length = np.maximum(rng.integers(lo, hi + 1, n), won - d.day + 1)
    if n:
        _new_prospects(d, rng, won - length, won)


def _arrival_rate(size: Size) -> float:
    return size.initial_accounts * size.new_logos_per_year / P.YEAR


def _new_prospects(d: Day, rng: np.random.Generator, created: np.ndarray, won: np.ndarray) -> None:
    acc = d.world.accounts
    rows = draw_accounts(d, rng, len(created), initial=False)
    acc["created_day"][rows] = created
    acc["won_day"][rows] = won
    contacts = add_contacts(d, rng, rows, fraction=0.4)
    crm.write_new_accounts(d, rows, created, rng)
    crm.write_new_contacts(d, contacts, rng, acc["created_day"][d.world.contacts["account"][contacts]])
    expected = annual_value(acc["unit_amount"][rows], acc["seats"][rows], acc["interval_months"][rows])
    opportunities.open_opportunities(d, rows, NEW_BUSINESS, won, expected, created_days=created)


def _wins(d: Day, rng: np.random.Generator) -> None:
    w = d.world
    acc = w.accounts
    rows = np.flatnonzero((acc["status"] == PROSPECT) & (acc["won_day"] == d.day))
    if not len(rows):
        return
    acc["status"][rows] = CUSTOMER
    acc["since_day"][rows] = d.day
    acc["anchor_day"][rows] = d.day
    for r in rows.tolist():
        acc["period_end"][r] = add_months_day(d.day, int(acc["interval_months"][r]))
        acc["term_end"][r] = add_months_day(d.day, int(acc["term_months"][r]))
    lo, hi = P.ONBOARDING_DAYS
    acc["onboarding_end"][rows] = d.day + rng.integers(lo, hi + 1, len(rows))
    acc["onboarding_success"][rows] = rng.random(len(rows)) < P.ONBOARDING_SUCCESS_RATE
    acc["arr"][rows] = annual_value(acc["unit_amount"][rows], acc["seats"][rows], acc["interval_months"][rows])
    schedule_decision(d, rows, rng)

    contacts = add_contacts(d, rng, rows, fraction=0.6)
    # add_contacts names a champion for each account; the prospect's first contact stays the one.
    c = w.contacts
    c["is_champion"][contacts] = False
    first = np.flatnonzero(np.isin(c["account"], rows) & c["is_champion"])
    acc["champion"][c["account"][first]] = first
    crm.write_new_contacts(d, contacts, rng)
    people = np.flatnonzero(np.isin(c["account"], rows) & (c["merge_day"] < 0) & (c["user"] < 0))
    link_contact_users(d, rng, people)

    crm.write_account_updates(d, rows, rng)
    billing.open_accounts(d, rows, rng, initial=False)
    support.open_organizations(d, rows, rng, np.full(len(rows), d.day))
    deals = np.flatnonzero(np.isin(w.opps["account"], rows) & (w.opps["kind"] == NEW_BUSINESS))
    deal_accounts = w.opps["account"][deals]
    opportunities.close(d, deals, np.ones(len(deals), dtype=bool), acc["arr"][deal_accounts])
    d.log("won", rows)
