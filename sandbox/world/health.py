"""The hidden per-account health: how engagement drifts and what shocks it, and the churn decision's odds.

Both the simulation (which draws outcomes) and the ground-truth oracle (which computes expected
outcomes) call `decision_logit`, so the truth is computed the way the simulation decides.
"""

from __future__ import annotations

import numpy as np

from sandbox.world import params as P
from sandbox.world.context import Day
from sandbox.world.rng import Stream
from sandbox.world.state import CUSTOMER
from sandbox.world.table import Table


def engagement(accounts: Table, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    return accounts["mu"][rows] + accounts["x"][rows] + accounts["c"][rows]


def decision_logit(
    e: np.ndarray, budget: np.ndarray, competitor: np.ndarray, no_champion: np.ndarray, monthly: np.ndarray
) -> np.ndarray:
    base = np.where(monthly, P.DECISION_BASE_MONTHLY, P.DECISION_BASE_TERM)
    return (
        base
        + P.DECISION_E * e
        + P.DECISION_BUDGET * budget
        + P.DECISION_COMPETITOR * competitor
        + P.DECISION_NO_CHAMPION * no_champion
    )


def signal_cause(
    accounts: Table, rows: np.ndarray, budget: np.ndarray, competitor: np.ndarray, no_champion: np.ndarray
) -> np.ndarray:
    """The largest push towards churn, as an index into params.SIGNAL_CAUSES: each cause's flag
    plus the engagement its shocks took away; low engagement is whatever engagement remains."""
    c_champion = accounts["c_champion"][rows]
    c_competitor = accounts["c_competitor"][rows]
    c_budget = accounts["c_budget"][rows]
    rest = engagement(accounts, rows) - c_champion - c_competitor - c_budget
    pushes = np.stack(
        [
            P.DECISION_E * rest,
            P.DECISION_BUDGET * budget + P.DECISION_E * c_budget,
            P.DECISION_COMPETITOR * competitor + P.DECISION_E * c_competitor,
            P.DECISION_NO_CHAMPION * no_champion + P.DECISION_E * c_champion,
        ]
    )
    return pushes.argmax(axis=0)


def flags(accounts: Table, rows: np.ndarray, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(budget cut, competitor evaluation, no champion) as 0/1 floats on `day`."""
    budget = (accounts["budget_until"][rows] >= day).astype(float)
    competitor = (accounts["competitor_until"][rows] >= day).astype(float)
    no_champion = (accounts["champion"][rows] < 0).astype(float)
    return budget, competitor, no_champion


def competitor_hazard(e: np.ndarray) -> np.ndarray:
    return P.HAZARD_COMPETITOR * (1 + np.maximum(0.0, -e))


def _uniform_days(u: np.ndarray, bounds: tuple[int, int]) -> np.ndarray:
    lo, hi = bounds
    return lo + np.floor(u * (hi - lo + 1)).astype(np.int64)


def evolve(d: Day) -> None:
    """One day of drift and shocks for every customer. Records of what happened go to `d.today`."""
    acc = d.world.accounts
    day = d.day
    rng = d.rng(Stream.HEALTH)
    rows = np.flatnonzero(acc["status"] == CUSTOMER)
    n = len(rows)
    u = rng.random((10, n))
    z = rng.standard_normal((2, n))
    e_before = engagement(acc, rows)

    x = acc["x"][rows] * P.X_PHI + P.X_SIGMA * z[0]
    c = acc["c"][rows] * P.C_PHI

    parts = {name: acc[name][rows] * P.C_PHI for name in ("c_champion", "c_competitor", "c_budget")}

    champion_left = (acc["champion"][rows] >= 0) & (u[0] < P.HAZARD_CHAMPION_LEFT)
    new_champion = (acc["champion"][rows] < 0) & (u[1] < P.HAZARD_NEW_CHAMPION)
    champion_jump = P.JUMP_CHAMPION_LEFT * champion_left + P.JUMP_NEW_CHAMPION * new_champion
    c += champion_jump
    parts["c_champion"] += champion_jump

    budget = (acc["budget_until"][rows] < day) & (u[2] < P.HAZARD_BUDGET_CUT)
    acc["budget_until"][rows[budget]] = day + _uniform_days(u[3][budget], P.BUDGET_CUT_DAYS) - 1
    c += P.JUMP_BUDGET_CUT * budget
    parts["c_budget"] += P.JUMP_BUDGET_CUT * budget
    layoff = budget & (u[4] < P.BUDGET_CUT_LAYOFF_SHARE)
    lo, hi = P.BUDGET_CUT_LAYOFF
    acc["demand"][rows[layoff]] *= lo + (hi - lo) * u[5][layoff]

    competitor = (acc["competitor_until"][rows] < day) & (u[6] < competitor_hazard(e_before))
    acc["competitor_until"][rows[competitor]] = day + _uniform_days(u[7][competitor], P.COMPETITOR_DAYS) - 1
    c += P.JUMP_COMPETITOR * competitor
    parts["c_competitor"] += P.JUMP_COMPETITOR * competitor

    incident = (acc["incident_until"][rows] < day) & (u[8] < P.HAZARD_INCIDENT)
    acc["incident_until"][rows[incident]] = day + _uniform_days(u[9][incident], P.INCIDENT_DAYS) - 1
    c += P.JUMP_INCIDENT * incident

    onboarded = acc["onboarding_end"][rows] == day
    success = acc["onboarding_success"][rows]
    c += np.where(onboarded & success, P.JUMP_ONBOARDING_SUCCESS, 0.0)
    c += np.where(onboarded & ~success, P.JUMP_ONBOARDING_FAILURE, 0.0)

    outage = _platform_outage(d, rng, rows)
    c += outage

    e_after = acc["mu"][rows] + x + c
    growth = (P.DEMAND_GROWTH_PER_YEAR + P.DEMAND_GROWTH_PER_E_PER_YEAR * e_after) / P.YEAR
    acc["demand"][rows] *= np.exp(growth + P.DEMAND_NOISE_PER_SQRT_YEAR / np.sqrt(P.YEAR) * z[1])

    acc["x"][rows] = x
    acc["c"][rows] = c
    for name, values in parts.items():
        acc[name][rows] = values

    d.today["champion_left"] = rows[champion_left]
    d.today["champion_left_contact"] = acc["champion"][rows[champion_left]].copy()
    acc["champion"][rows[champion_left]] = -1
    d.today["new_champion"] = rows[new_champion]
    d.today["budget_cut"] = rows[budget]
    d.today["layoff"] = rows[layoff]
    d.today["competitor"] = rows[competitor]
    d.today["incident"] = rows[incident]
    d.log("budget_cut", rows[budget])
    d.log("layoff", rows[layoff])
    d.log("competitor_evaluation", rows[competitor])
    d.log("incident", rows[incident])
    d.log("onboarding_success", rows[onboarded & success])
    d.log("onboarding_failure", rows[onboarded & ~success])


def _platform_outage(d: Day, rng: np.random.Generator, rows: np.ndarray) -> np.ndarray:
    """Start, at random, an outage of one shard of workspaces; returns each customer's engagement jump."""
    shards = d.world.shards
    draw = rng.random(4)
    jump = np.zeros(len(rows))
    d.today["outage_start"] = rows[:0]
    if draw[0] < P.HAZARD_OUTAGE:
        shard = int(draw[1] * P.OUTAGE_SHARDS)
        if shards["outage_until"][shard] < d.day:
            lo, hi = P.OUTAGE_SEVERITY
            severity = lo + (hi - lo) * draw[2]
            shards["outage_until"][shard] = d.day + int(_uniform_days(draw[3:4], P.OUTAGE_DAYS)[0]) - 1
            shards["severity"][shard] = severity
            hit = d.world.accounts["shard"][rows] == shard
            jump[hit] = P.JUMP_OUTAGE * severity
            d.today["outage_start"] = rows[hit]
            d.log("outage", rows[hit], severity)
    return jump


def outage_activity(d: Day, rows: np.ndarray) -> np.ndarray:
    """The share of normal activity left to each account today (platform outages, account incidents)."""
    acc = d.world.accounts
    shards = d.world.shards
    shard = acc["shard"][rows]
    down = shards["outage_until"][shard] >= d.day
    factor = np.where(down, 1 - shards["severity"][shard], 1.0)
    return factor * np.where(acc["incident_until"][rows] >= d.day, P.INCIDENT_ACTIVITY, 1.0)
