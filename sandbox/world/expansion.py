"""Expansion: healthy accounts that have run out of seats buy more.

An account whose users fill its seats opens an Expansion opportunity at a rate that rises with
engagement; most close won a few weeks later and raise the subscription's quantity (prorated for
the rest of a yearly period).
"""

from __future__ import annotations

import numpy as np

from sandbox.world import billing, crm, opportunities
from sandbox.world import params as P
from sandbox.world.context import Day
from sandbox.world.health import engagement
from sandbox.world.population import annual_value
from sandbox.world.rng import Stream
from sandbox.world.state import CHURN_SIGNAL, CUSTOMER, EXPANSION


def daily(d: Day) -> None:
    rng = d.rng(Stream.EXPANSION)
    _close_due(d, rng)
    _open_new(d, rng)


def _open_new(d: Day, rng: np.random.Generator) -> None:
    acc = d.world.accounts
    has_deal = opportunities.deal_of_account(d.world, EXPANSION) >= 0
    rows = np.flatnonzero(
        (acc["status"] == CUSTOMER)
        & (acc["decided"] < CHURN_SIGNAL)
        & (acc["budget_until"] < d.day)
        & ~has_deal
        & (acc["demand"] >= P.EXPANSION_UTILISATION * acc["seats"])
    )
    u = rng.random((3, len(rows)))
    if not len(rows):
        return
    hazard = P.EXPANSION_HAZARD / (1 + np.exp(-2 * engagement(acc, rows)))
    go = u[0] < hazard
    rows = rows[go]
    if not len(rows):
        return
    lo, hi = P.EXPANSION_HEADROOM
    target = np.ceil(acc["demand"][rows] * (lo + (hi - lo) * u[1][go]))
    seats_add = np.maximum(1, target - acc["seats"][rows]).astype(np.int64)
    amount = seats_add * acc["unit_amount"][rows] * (12 // acc["interval_months"][rows]) / 100.0
    c_lo, c_hi = P.EXPANSION_CLOSE_DAYS
    close = d.day + c_lo + np.floor(u[2][go] * (c_hi - c_lo + 1)).astype(np.int64)
    opportunities.open_opportunities(d, rows, EXPANSION, close, amount, seats_add=seats_add)
    d.log("expansion_opened", rows, seats_add.astype(float))


def _close_due(d: Day, rng: np.random.Generator) -> None:
    w = d.world
    acc = w.accounts
    opps = w.opps
    due = np.flatnonzero((opps["kind"] == EXPANSION) & (opps["close_day"] <= d.day))
    u = rng.random(len(due))
    if not len(due):
        return
    accounts = opps["account"][due]
    won = (u < P.EXPANSION_WIN_RATE) & (acc["status"][accounts] == CUSTOMER) & (acc["decided"][accounts] < CHURN_SIGNAL)
    seats_add = opps["seats_add"][due]
    amounts = opps["amount"][due].copy()
    opportunities.close(d, due, won, amounts)
    rows, added = accounts[won], seats_add[won]
    d.log("expansion_won", rows, added.astype(float))
    d.log("expansion_lost", accounts[~won], seats_add[~won].astype(float))
    if not len(rows):
        return
    acc["seats"][rows] += added
    acc["arr"][rows] = annual_value(acc["unit_amount"][rows], acc["seats"][rows], acc["interval_months"][rows])
    stamps = d.work_hours(rng, len(rows), 10, 17)
    billing.change_seats(d, rows, stamps)
    # A yearly plan is invoiced now for the added seats over the rest of its period; monthly plans
    # pay for them from the next invoice on.
    yearly = acc["interval_months"][rows] == 12
    if yearly.any():
        yr = rows[yearly]
        remaining = (acc["period_end"][yr] - d.day) / 365.0
        prorated = np.round(added[yearly] * acc["unit_amount"][yr] * np.clip(remaining, 0, 1)).astype(np.int64)
        billing.issue_invoices(d, yr, rng, "subscription_update", stamps[yearly] + 120, amounts=prorated)
    crm.schedule_sync(d, rows, rng)
