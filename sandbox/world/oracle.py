"""Ground truth: each account's true probability of churning within a window, given its hidden state.

This is the expectation of the simulation's own decision rule (`health.decision_logit`) over the
hidden state's future: engagement drifts as a Gaussian AR(1) and is hit by shocks at their known
hazards; flags switch on at their hazards. Unpredictable churn (acquisitions, eliminated budgets)
enters only as its base rate: the oracle cannot foresee it either, until the customer gives notice.
A logistic-normal expectation uses the probit approximation E[sigmoid(m + sZ)] ~ sigmoid(m / sqrt(1 + pi s^2 / 8)).
"""

from __future__ import annotations

import math

import numpy as np

from sandbox.world import params as P
from sandbox.world.calendar import add_months_day
from sandbox.world.health import competitor_hazard, decision_logit, engagement
from sandbox.world.opportunities import deal_of_account
from sandbox.world.state import CHURN_SIGNAL, CHURN_UNPREDICTABLE, CUSTOMER, EXPANSION, RENEW, World

_MONTHLY_LEAD = sum(P.DECISION_LEAD_DAYS_MONTHLY) / 2
_NOTICE_STAY = 1 - 1 / P.NOTICE_MEAN_DELAY_DAYS


def _once(h: float | np.ndarray, phi: float, n: np.ndarray) -> np.ndarray:
    """sum_{k=1..n} h (1-h)^(k-1) phi^(n-k): the decayed weight of a one-off shock with daily hazard h."""
    q = 1 - np.asarray(h, dtype=float)
    return np.asarray(h) * (phi**n - q**n) / (phi - q)


def _poisson(h: float | np.ndarray, phi: float, n: np.ndarray) -> np.ndarray:
    """sum_{k=1..n} h phi^(n-k): the same for a shock that can recur."""
    return np.asarray(h) * (1 - phi**n) / (1 - phi)


def _competitor_on_weight(n: np.ndarray) -> np.ndarray:
    """sum_{m=1..n} P(evaluation lasts >= m days): times the hazard, P(an evaluation that starts
    in the next n days is still on at day n)."""
    lo, hi = P.COMPETITOR_DAYS
    m = np.arange(1, 800)
    survive = np.clip((hi - m + 1) / (hi - lo + 1), 0.0, 1.0)
    cum = np.concatenate([[0.0], np.cumsum(survive)])
    return cum[np.clip(n, 0, len(cum) - 1)]


def decision_probability(world: World, rows: np.ndarray, now: int, at_day: np.ndarray) -> np.ndarray:
    """P(the signal-driven decision taken on `at_day` is churn), from the state at the end of `now`."""
    acc = world.accounts
    n = np.maximum(at_day - now, 0).astype(float)
    e_now = engagement(acc, rows)
    champion = acc["champion"][rows] >= 0
    budget_on = acc["budget_until"][rows] >= now + 1
    comp_on = acc["competitor_until"][rows] >= now + 1
    incident_on = acc["incident_until"][rows] >= now + 1

    # Engagement at the decision: mean and variance.
    phi_c, phi_c2 = P.C_PHI, P.C_PHI**2
    mean = acc["mu"][rows] + acc["x"][rows] * P.X_PHI**n + acc["c"][rows] * phi_c**n
    var = P.X_SD**2 * (1 - P.X_PHI ** (2 * n))
    h_comp = competitor_hazard(e_now)
    shocks = [
        (np.where(champion, P.HAZARD_CHAMPION_LEFT, 0.0), P.JUMP_CHAMPION_LEFT, True),
        (np.where(champion, 0.0, P.HAZARD_NEW_CHAMPION), P.JUMP_NEW_CHAMPION, True),
        (np.where(budget_on, 0.0, P.HAZARD_BUDGET_CUT), P.JUMP_BUDGET_CUT, True),
        (np.where(comp_on, 0.0, h_comp), P.JUMP_COMPETITOR, True),
        (np.where(incident_on, 0.0, P.HAZARD_INCIDENT), P.JUMP_INCIDENT, False),
        (np.full(len(rows), P.HAZARD_OUTAGE / P.OUTAGE_SHARDS), P.JUMP_OUTAGE * sum(P.OUTAGE_SEVERITY) / 2, False),
    ]
    for hazard, jump, once in shocks:
        weight = _once if once else _poisson
        mean = mean + jump * weight(hazard, phi_c, n)
        var = var + jump**2 * weight(hazard, phi_c2, n)
    ends = acc["onboarding_end"][rows]
    pending = (ends > now) & (ends <= at_day)
    onboarding_jump = np.where(acc["onboarding_success"][rows], P.JUMP_ONBOARDING_SUCCESS, P.JUMP_ONBOARDING_FAILURE)
    mean = mean + np.where(pending, onboarding_jump * phi_c ** np.maximum(at_day - ends, 0), 0.0)

    # Flags on the decision day.
    p_budget = np.where(
        budget_on, (acc["budget_until"][rows] >= at_day).astype(float), 1 - (1 - P.HAZARD_BUDGET_CUT) ** n
    )
    p_comp = np.where(
        acc["competitor_until"][rows] >= at_day,
        1.0,
        np.where(comp_on, 0.0, np.minimum(1.0, h_comp * _competitor_on_weight(n.astype(int)))),
    )
    h1, h2 = P.HAZARD_CHAMPION_LEFT, P.HAZARD_NEW_CHAMPION
    p_none = np.where(champion, h1 * ((1 - h2) ** n - (1 - h1) ** n) / ((1 - h2) - (1 - h1)), (1 - h2) ** n)

    monthly = acc["term_months"][rows] == 1
    scale = 1 / np.sqrt(1 + math.pi * P.DECISION_E**2 * var / 8)
    prob = np.zeros(len(rows))
    for b in (0.0, 1.0):
        for k in (0.0, 1.0):
            for h in (0.0, 1.0):
                weight = (
                    (p_budget if b else 1 - p_budget) * (p_comp if k else 1 - p_comp) * (p_none if h else 1 - p_none)
                )
                z = decision_logit(mean, np.full(len(rows), b), np.full(len(rows), k), np.full(len(rows), h), monthly)
                prob += weight / (1 + np.exp(-z * scale))
    return prob


def churn_probability(world: World, rows: np.ndarray, now: int, first: int, last: int) -> np.ndarray:
    """P(churn date in [first, last]) for customer rows, from the state at the end of day `now`."""
    acc = world.accounts
    out = np.zeros(len(rows))
    active = acc["status"][rows] == CUSTOMER
    term_end = acc["term_end"][rows]
    monthly = acc["term_months"][rows] == 1
    decided = acc["decided"][rows]
    noticed = acc["noticed"][rows]
    q = np.where(monthly, P.UNPREDICTABLE_MONTHLY, P.UNPREDICTABLE_TERM)

    # The current term's end.
    in_window = active & (term_end >= first) & (term_end <= last)
    known = (decided == CHURN_SIGNAL) | noticed
    elapsed = np.maximum(now - acc["decision_day"][rows], 0)
    silent = np.where(monthly, 0.0, _NOTICE_STAY**elapsed)  # P(an unpredictable churner has not told yet)
    q_silent = q * silent / (1 - q + q * silent)
    p_decided = np.where(
        known, 1.0, np.where(decided == CHURN_UNPREDICTABLE, q_silent, np.where(decided == RENEW, q_silent, 0.0))
    )
    undecided = in_window & (decided == 0)
    p_end = np.where(in_window & (decided != 0), p_decided, 0.0)
    if undecided.any():
        idx = np.flatnonzero(undecided)
        p_sig = decision_probability(world, rows[idx], now, acc["decision_day"][rows[idx]])
        p_end[idx] = 1 - (1 - p_sig) * (1 - q[idx])
    survive = 1 - p_end

    # Month-to-month plans decide again at every later period end inside the window.
    later = np.flatnonzero(active & monthly)
    for k in range(1, 5):
        if not len(later):
            break
        ends = np.array(
            [
                add_months_day(int(a), int(p) + 1 + k)
                for a, p in zip(acc["anchor_day"][rows[later]], acc["period_no"][rows[later]], strict=True)
            ],
            dtype=np.int64,
        )
        inside = (ends >= first) & (ends <= last)
        later, ends = later[inside], ends[inside]
        if len(later):
            decide_at = np.maximum(ends - _MONTHLY_LEAD, now + 1).astype(np.int64)
            p_sig = decision_probability(world, rows[later], now, decide_at)
            survive[later] *= (1 - p_sig) * (1 - q[later])
    out[:] = 1 - survive
    return out


def expansion_probability(world: World, rows: np.ndarray, now: int, horizon: int) -> np.ndarray:
    """An approximate P(an expansion is won within `horizon` days), for CSM outcomes and the truth."""
    acc = world.accounts
    e = engagement(acc, rows)
    seats = np.maximum(acc["seats"][rows], 1)
    demand = acc["demand"][rows]
    growth = (P.DEMAND_GROWTH_PER_YEAR + P.DEMAND_GROWTH_PER_E_PER_YEAR * e) / P.YEAR
    gap = np.log(np.maximum(P.EXPANSION_UTILISATION * seats / np.maximum(demand, 1e-6), 1.0))
    days_to_full = np.where(gap <= 0, 0.0, np.where(growth > 0, gap / np.maximum(growth, 1e-9), np.inf))
    close_lag = sum(P.EXPANSION_CLOSE_DAYS) / 2
    exposure = np.clip(horizon - close_lag - days_to_full, 0, None)
    hazard = P.EXPANSION_HAZARD / (1 + np.exp(-2 * e))
    p = P.EXPANSION_WIN_RATE * (1 - np.exp(-hazard * exposure))
    blocked = (
        (acc["status"][rows] != CUSTOMER)
        | (acc["decided"][rows] >= CHURN_SIGNAL)
        | (acc["budget_until"][rows] >= now + 1)
    )
    p = np.where(blocked, 0.0, p)
    open_deal = deal_of_account(world, EXPANSION)[rows] >= 0
    return np.where(open_deal, P.EXPANSION_WIN_RATE, p)
