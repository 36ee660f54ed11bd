"""Salesforce Opportunities: new business, renewals and expansions moving through their stages.

An open opportunity's stage follows the calendar from creation to close date (Prospecting,
Qualification, Proposal, Negotiation at quarters of the way); the code that owns the deal
(sales_pipeline, renewals, expansion) decides how it closes.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from sandbox.schema import SF_OPPORTUNITY
from sandbox.store import sf_date
from sandbox.world.calendar import date_of, day_start_unix, to_datetime
from sandbox.world.context import Day
from sandbox.world.rng import Stream
from sandbox.world.state import EXPANSION, NEW_BUSINESS, RENEWAL, World

OPEN_STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation")
KIND_NAMES = {NEW_BUSINESS: "New Business", RENEWAL: "Renewal", EXPANSION: "Expansion"}


def _stage_on(created: np.ndarray, close: np.ndarray, day: int) -> np.ndarray:
    span = np.maximum(close - created, 1)
    return np.clip((4 * (day - created)) // span, 0, 3)


def _name(w: World, account: int, kind: int, close_day: int, seats_add: int) -> str:
    company = str(w.accounts["name"][account])
    if kind == RENEWAL:
        return f"{company} - Renewal {date_of(close_day).year}"
    if kind == EXPANSION:
        return f"{company} - Expansion +{seats_add} seats"
    return f"{company} - New Business"


def _owner(w: World, account: int) -> str:
    return str(w.staff["sf_id"][w.accounts["owner"][account]])


def open_opportunities(
    d: Day,
    accounts: np.ndarray,
    kind: int,
    close_days: np.ndarray,
    amounts: np.ndarray,
    created_days: np.ndarray | None = None,
    seats_add: np.ndarray | None = None,
) -> np.ndarray:
    """Create open opportunities (created today unless `created_days` puts them in the past)."""
    n = len(accounts)
    if not n:
        return np.zeros(0, dtype=np.int64)
    w = d.world
    created = np.full(n, d.day) if created_days is None else np.asarray(created_days)
    seats = np.zeros(n, dtype=np.int64) if seats_add is None else np.asarray(seats_add)
    stage = _stage_on(created, np.asarray(close_days), d.day)
    ids = d.store.new_ids(SF_OPPORTUNITY, n)
    rows = w.opps.append(
        n,
        sf_id=ids,
        account=accounts,
        kind=kind,
        stage=stage,
        created_day=created,
        close_day=close_days,
        amount=amounts,
        seats_add=seats,
    )
    records = []
    for i in range(n):
        a = int(accounts[i])
        rec = {
            "Id": ids[i],
            "AccountId": str(w.accounts["sf_id"][a]),
            "Name": _name(w, a, kind, int(close_days[i]), int(seats[i])),
            "Type": KIND_NAMES[kind],
            "StageName": OPEN_STAGES[stage[i]],
            "Amount": round(float(amounts[i]), 2),
            "CloseDate": sf_date(date_of(close_days[i])),
            "IsClosed": False,
            "IsWon": False,
            "OwnerId": _owner(w, a),
        }
        if created[i] < d.day:
            rec["CreatedDate"] = to_datetime(day_start_unix(int(created[i])) + 50_000)
        records.append(rec)
    d.write(SF_OPPORTUNITY, records, d.work_hours(d.rng(Stream.OPPORTUNITIES, kind), n))
    return rows


def write_closed_history(d: Day, accounts: np.ndarray, kind: int, close_days: np.ndarray, amounts: np.ndarray) -> None:
    """Won deals from before the history starts (the original sale, the last renewal)."""
    if not len(accounts):
        return
    w = d.world
    ids = d.store.new_ids(SF_OPPORTUNITY, len(accounts))
    records = []
    for i, a in enumerate(accounts.tolist()):
        close = int(close_days[i])
        created: datetime = to_datetime(day_start_unix(close - (60 if kind == NEW_BUSINESS else 120)) + 40_000)
        records.append(
            {
                "Id": ids[i],
                "AccountId": str(w.accounts["sf_id"][a]),
                "Name": _name(w, a, kind, close, 0),
                "Type": KIND_NAMES[kind],
                "StageName": "Closed Won",
                "Amount": round(float(amounts[i]), 2),
                "CloseDate": sf_date(date_of(close)),
                "IsClosed": True,
                "IsWon": True,
                "OwnerId": _owner(w, a),
                "CreatedDate": created,
            }
        )
    rng = d.rng(Stream.OPPORTUNITIES, 10 + kind)
    d.write(SF_OPPORTUNITY, records, d.work_hours(rng, len(records)))


def advance_stages(d: Day) -> None:
    """Move open deals to the stage their calendar says (closing is done by their owners' code)."""
    opps = d.world.opps
    if not len(opps):
        return
    stage = _stage_on(opps["created_day"], opps["close_day"], d.day)
    moved = np.flatnonzero((stage > opps["stage"]) & (opps["close_day"] > d.day))
    if not len(moved):
        return
    opps["stage"][moved] = stage[moved]
    records = [{"Id": str(opps["sf_id"][r]), "StageName": OPEN_STAGES[stage[r]]} for r in moved]
    rng = d.rng(Stream.OPPORTUNITIES, 20)
    d.write(SF_OPPORTUNITY, records, d.work_hours(rng, len(records), 8, 19))


def close(d: Day, rows: np.ndarray, won: np.ndarray, amounts: np.ndarray | None = None) -> None:
    """Close the given open opportunities as won/lost today and drop them from the open set."""
    if not len(rows):
        return
    opps = d.world.opps
    records = []
    for i, r in enumerate(rows.tolist()):
        rec = {
            "Id": str(opps["sf_id"][r]),
            "StageName": "Closed Won" if won[i] else "Closed Lost",
            "IsClosed": True,
            "IsWon": bool(won[i]),
            "CloseDate": sf_date(d.date),
        }
        if amounts is not None:
            rec["Amount"] = round(float(amounts[i]), 2)
        records.append(rec)
    rng = d.rng(Stream.OPPORTUNITIES, 30)
    d.write(SF_OPPORTUNITY, records, d.work_hours(rng, len(records), 9, 20))
    keep = np.ones(len(opps), dtype=bool)
    keep[rows] = False
    opps.keep(keep)


def deal_of_account(w: World, kind: int) -> np.ndarray:
    """Per account row, the row of its open opportunity of this kind (-1 if none)."""
    opps = w.opps
    out = np.full(len(w.accounts), -1)
    rows = np.flatnonzero(opps["kind"] == kind)
    out[opps["account"][rows]] = rows
    return out
