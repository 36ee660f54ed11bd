"""CSMs working the Tasks the copilot creates: each is completed by its owner some days later (a few
never are), with an outcome that reflects the account's real state."""

from __future__ import annotations

import hashlib

import numpy as np

from sandbox.schema import SF_TASK
from sandbox.store import parse_sf_datetime
from sandbox.world.calendar import date_of
from sandbox.world.context import Day
from sandbox.world.oracle import churn_probability, expansion_probability
from sandbox.world.rng import Stream
from sandbox.world.state import CHURNED, ROLE_INTEGRATION

NEVER_DONE = 0.12
DELAY_DAYS = (1, 10)
SIMILAR_WINDOW_DAYS = 30
ALREADY_KNOWN_IF_SIMILAR = 0.8
ALREADY_KNOWN_IF_OBVIOUS = 0.85


def _task_draws(seed: int, task_id: str) -> tuple[float, float]:
    """Two uniforms fixed per task, so its delay does not depend on which day it is looked at."""
    digest = hashlib.blake2b(f"{seed}:{task_id}".encode(), digest_size=16).digest()
    a = int.from_bytes(digest[:8], "big") / 2**64
    b = int.from_bytes(digest[8:], "big") / 2**64
    return a, b


def is_expansion(subject: str | None) -> bool:
    return "expansion" in (subject or "").lower()


def daily(d: Day) -> None:
    rows = d.store.conn.execute(
        "SELECT Id, WhatId, OwnerId, Subject, CreatedDate FROM sf_task "
        "WHERE Copilot_Alert_Id__c IS NOT NULL AND Status IS NOT 'Completed' AND COALESCE(IsDeleted, 0) = 0 "
        "ORDER BY Id"
    ).fetchall()
    if not rows:
        return
    w = d.world
    staff = {str(s): i for i, s in enumerate(w.staff["sf_id"].tolist())}
    account_of = {str(s): i for i, s in enumerate(w.accounts["sf_id"].tolist())}
    due = []
    lo, hi = DELAY_DAYS
    for task_id, what, owner, subject, created in rows:
        if owner not in staff or w.staff["role"][staff[owner]] == ROLE_INTEGRATION or what not in account_of:
            continue
        never, u = _task_draws(w.seed, task_id)
        if never < NEVER_DONE:
            continue
        delay = lo + int(u * (hi - lo + 1))
        if parse_sf_datetime(created).date().toordinal() + delay <= d.day:
            due.append((task_id, account_of[what], is_expansion(subject)))
    if not due:
        return
    _complete(d, due)


def _complete(d: Day, due: list[tuple[str, int, bool]]) -> None:
    w = d.world
    acc = w.accounts
    rng = d.rng(Stream.CSM)
    accounts = np.array([a for _, a, _ in due])
    p_churn = churn_probability(w, accounts, d.day, d.day + 1, d.day + 90)
    p_expand = expansion_probability(w, accounts, d.day, 90)
    obvious = (acc["status"][accounts] == CHURNED) | acc["noticed"][accounts]
    recent = _recently_completed(d)
    u = rng.random((2, len(due)))
    records = []
    for k, (task_id, a, exp) in enumerate(due):
        key = (str(acc["sf_id"][a]), bool(exp))
        similar_done = key in recent and u[0][k] < ALREADY_KNOWN_IF_SIMILAR
        # A customer who has churned or given notice is no news to its CSM.
        visible = not exp and obvious[k] and u[0][k] < ALREADY_KNOWN_IF_OBVIOUS
        if similar_done or visible:
            outcome = "Already known"
        else:
            p = p_expand[k] if exp else p_churn[k]
            confirm = float(np.clip(0.08 + (1.2 if exp else 1.8) * p, 0.05, 0.92))
            outcome = "Confirmed risk" if u[1][k] < confirm else "False alarm"
        recent.add(key)
        records.append({"Id": task_id, "Status": "Completed", "Copilot_Outcome__c": outcome})
    d.write(SF_TASK, records, d.work_hours(rng, len(records), 9, 18))
    d.count("tasks_completed", len(records))


def _recently_completed(d: Day) -> set[tuple[str, bool]]:
    """(account, is expansion) of copilot Tasks completed in the last weeks: a CSM who just handled
    a similar alert for the account answers "Already known"."""
    start = date_of(d.day - SIMILAR_WINDOW_DAYS).isoformat()
    rows = d.store.conn.execute(
        "SELECT WhatId, Subject FROM sf_task WHERE Copilot_Alert_Id__c IS NOT NULL AND Status = 'Completed' "
        "AND LastModifiedDate >= ?",
        (start,),
    ).fetchall()
    return {(what, is_expansion(subject)) for what, subject in rows}
