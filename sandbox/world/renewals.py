"""Contract ends: the customer's decision, the notice, the renewal deal, and renewal or churn.

Term contracts (1-3 years) are decided 30-75 days before they end; churners give notice a little
later (Stripe cancel_at_period_end / cancel_at). Month-to-month plans decide a few days before
each period ends and cancel at once. The renewal opportunity opens 120 days out and closes on the
end date. Renewing customers right-size their seats (cuts on a budget cut, or when most seats sit
unused; more seats when they are full and happy).
"""

from __future__ import annotations

import numpy as np

from sandbox.world import billing, crm, opportunities
from sandbox.world import params as P
from sandbox.world.calendar import add_months_day
from sandbox.world.context import Day
from sandbox.world.health import decision_logit, engagement, flags, signal_cause
from sandbox.world.population import annual_value
from sandbox.world.rng import Stream
from sandbox.world.state import (
    CHURN_SIGNAL,
    CHURN_UNPREDICTABLE,
    CHURNED,
    CUSTOMER,
    RENEW,
    RENEWAL,
    UNDECIDED,
)


def schedule_decision(d: Day, rows: np.ndarray, rng: np.random.Generator) -> None:
    """Set when each of these accounts will decide about the end of its current term."""
    acc = d.world.accounts
    monthly = acc["term_months"][rows] == 1
    lo_m, hi_m = P.DECISION_LEAD_DAYS_MONTHLY
    lo, hi = P.DECISION_LEAD_DAYS
    lead = np.where(monthly, rng.integers(lo_m, hi_m + 1, len(rows)), rng.integers(lo, hi + 1, len(rows)))
    acc["decision_day"][rows] = np.maximum(acc["term_end"][rows] - lead, d.day)
    acc["decided"][rows] = UNDECIDED
    acc["cause"][rows] = -1
    acc["notice_day"][rows] = -1
    acc["noticed"][rows] = False


def daily(d: Day) -> None:
    rng = d.rng(Stream.RENEWALS)
    _decide(d, rng)
    _notices(d, rng)
    _open_renewal_deals(d)
    _term_ends(d, rng)


def _decide(d: Day, rng: np.random.Generator) -> None:
    acc = d.world.accounts
    rows = np.flatnonzero((acc["status"] == CUSTOMER) & (acc["decided"] == UNDECIDED) & (acc["decision_day"] <= d.day))
    u = rng.random((4, len(rows)))
    if not len(rows):
        return
    e = engagement(acc, rows)
    budget, competitor, no_champion = flags(acc, rows, d.day)
    monthly = acc["term_months"][rows] == 1
    p_signal = 1 / (1 + np.exp(-decision_logit(e, budget, competitor, no_champion, monthly)))
    signal = u[0] < p_signal
    unpredictable = ~signal & (u[1] < np.where(monthly, P.UNPREDICTABLE_MONTHLY, P.UNPREDICTABLE_TERM))
    acc["decided"][rows] = np.where(signal, CHURN_SIGNAL, np.where(unpredictable, CHURN_UNPREDICTABLE, RENEW))
    share = P.UNPREDICTABLE_CAUSE_SHARE[0] / sum(P.UNPREDICTABLE_CAUSE_SHARE)
    unpredictable_cause = len(P.SIGNAL_CAUSES) + (u[2] >= share).astype(int)
    acc["cause"][rows] = np.where(
        signal,
        signal_cause(acc, rows, budget, competitor, no_champion),
        np.where(unpredictable, unpredictable_cause, -1),
    )
    # Self-serve customers cancel in the app right away; contract customers tell their AE later.
    delay = np.floor(np.log(1 - u[3]) / np.log(1 - 1 / P.NOTICE_MEAN_DELAY_DAYS)).astype(np.int64)
    latest = acc["term_end"][rows] - P.NOTICE_MIN_DAYS_BEFORE_END
    notice = np.where(monthly, d.day, np.maximum(np.minimum(d.day + delay, latest), d.day))
    churn = signal | unpredictable
    acc["notice_day"][rows[churn]] = notice[churn]
    acc["c"][rows[signal]] += P.JUMP_WIND_DOWN
    d.log("churn_decided", rows[churn], p_signal[churn])
    d.log("renewal_decided", rows[~churn], p_signal[~churn])


def _notices(d: Day, rng: np.random.Generator) -> None:
    acc = d.world.accounts
    rows = np.flatnonzero((acc["status"] == CUSTOMER) & (acc["notice_day"] == d.day) & ~acc["noticed"])
    if not len(rows):
        d.today["notice"] = rows
        return
    acc["noticed"][rows] = True
    billing.give_notice(d, rows, d.work_hours(rng, len(rows), 9, 18))
    d.today["notice"] = rows
    d.log("notice_given", rows)


def _open_renewal_deals(d: Day) -> None:
    acc = d.world.accounts
    has_deal = opportunities.deal_of_account(d.world, RENEWAL) >= 0
    due = np.flatnonzero(
        (acc["status"] == CUSTOMER)
        & (acc["term_months"] >= 12)
        & ~has_deal
        & (acc["term_end"] - d.day <= P.RENEWAL_OPP_DAYS_BEFORE)
        & (acc["term_end"] > d.day)
    )
    if len(due):
        opportunities.open_opportunities(d, due, RENEWAL, acc["term_end"][due], acc["arr"][due])


def _term_ends(d: Day, rng: np.random.Generator) -> None:
    acc = d.world.accounts
    rows = np.flatnonzero((acc["status"] == CUSTOMER) & (acc["term_end"] == d.day))
    u = rng.random((3, len(rows)))
    if not len(rows):
        return
    churn = acc["decided"][rows] >= CHURN_SIGNAL
    stamps = d.work_hours(rng, len(rows), 0.5, 3)
    arr_before = acc["arr"][rows].copy()

    gone = rows[churn]
    acc["status"][gone] = CHURNED
    acc["churn_day"][gone] = d.day
    acc["arr"][gone] = 0.0
    billing.end_subscriptions(d, gone, stamps[churn])
    d.log("churned", gone, acc["cause"][gone].astype(float))

    stay = rows[~churn]
    seats_before = acc["seats"][stay].copy()
    unit_before = acc["unit_amount"][stay].copy()
    term = acc["term_months"][stay] >= 12
    new_seats = _renewal_seats(d, stay, u[0][~churn], u[1][~churn])
    acc["seats"][stay] = np.where(term, new_seats, seats_before)
    uplift = 1 + P.PRICE_UPLIFT_MAX * u[2][~churn]
    acc["unit_amount"][stay] = np.where(term, np.round(unit_before * uplift / 100) * 100, unit_before).astype(np.int64)
    acc["arr"][stay] = annual_value(acc["unit_amount"][stay], acc["seats"][stay], acc["interval_months"][stay])
    acc["term_no"][stay] += 1
    for r in stay.tolist():
        acc["term_end"][r] = add_months_day(
            int(acc["anchor_day"][r]), (int(acc["term_no"][r]) + 1) * int(acc["term_months"][r])
        )
    schedule_decision(d, stay, rng)
    changed = (acc["seats"][stay] != seats_before) | (acc["unit_amount"][stay] != unit_before)
    billing.change_seats(d, stay[changed], stamps[~churn][changed])
    d.log("renewed", stay[term], (acc["seats"][stay] - seats_before)[term].astype(float))

    deals = opportunities.deal_of_account(d.world, RENEWAL)[rows]
    has = deals >= 0
    opportunities.close(d, deals[has], ~churn[has], np.where(churn, arr_before, acc["arr"][rows])[has])
    crm.schedule_sync(d, rows[(acc["term_months"][rows] >= 12) | churn], rng)


def _renewal_seats(d: Day, rows: np.ndarray, u0: np.ndarray, u1: np.ndarray) -> np.ndarray:
    acc = d.world.accounts
    seats = acc["seats"][rows].astype(float)
    demand = acc["demand"][rows]
    e = engagement(acc, rows)
    budget = acc["budget_until"][rows] >= d.day
    lo, hi = P.RENEWAL_BUDGET_SEAT_CUT
    cut = seats * (lo + (hi - lo) * u0)
    rightsized = np.maximum(np.ceil(demand * 1.1), np.ceil(seats * 0.6))
    grown = np.ceil(demand * (1.05 + 0.15 * u1))
    out = np.where(budget, cut, seats)
    out = np.where(~budget & (demand < P.RENEWAL_RIGHTSIZE_BELOW * seats), rightsized, out)
    out = np.where(~budget & (demand > P.EXPANSION_UTILISATION * seats) & (e > 0), np.maximum(grown, seats), out)
    return np.maximum(1, np.round(out)).astype(np.int64)
