"""Zendesk: organizations, end users, and tickets that live for days (new -> open/pending -> solved
-> closed), with reply and resolution metrics and the satisfaction surveys some requesters answer.

Ticket volume and priority rise a little on unhealthy accounts, and specific happenings file their
own tickets: urgent ones in outages, bugs during an account's incident, billing questions on a
budget cut or a failed payment, a cancellation request with a non-renewal notice.
"""

from __future__ import annotations

import numpy as np

from sandbox.schema import ZD_ORGANIZATIONS, ZD_SATISFACTION_RATINGS, ZD_TICKET_METRICS, ZD_TICKETS, ZD_USERS
from sandbox.store import zd_datetime
from sandbox.world import names, vocab
from sandbox.world import params as P
from sandbox.world.calendar import DAY_SECONDS, is_weekend, to_datetime
from sandbox.world.contacts import zendesk_users
from sandbox.world.context import Day
from sandbox.world.crm_shop import account_ref, world_crm
from sandbox.world.health import engagement
from sandbox.world.population import pick_members
from sandbox.world.rng import Stream
from sandbox.world.state import CUSTOMER
from sandbox.world.table import Table

TAGS = ("how-to", "bug", "feature-request", "billing", "access", "outage", "cancellation")
T = {t: i for i, t in enumerate(TAGS)}
_WAITING_ON_CUSTOMER = np.array([t in ("how-to", "billing", "access", "cancellation") for t in TAGS])
_OFFSETS = np.array([c[2] for c in vocab.COUNTRIES])
_SUBJECTS = {T[tag]: subjects for tag, subjects in vocab.TICKET_SUBJECTS.items()} | {
    T["access"]: vocab.TICKET_SUBJECTS["access"] + vocab.CHAMPION_LEFT_SUBJECTS
}


def zd_time(ts: int) -> str:
    return zd_datetime(to_datetime(ts))


def open_organizations(d: Day, rows: np.ndarray, rng: np.random.Generator, created_days: np.ndarray) -> None:
    """A Zendesk organization per new customer, its contacts as end users, and a few more users."""
    if not len(rows):
        return
    w = d.world
    acc = w.accounts
    ids = d.store.new_ids(ZD_ORGANIZATIONS, len(rows))
    acc["zd_org"][rows] = ids
    linked = rng.random(len(rows)) < 0.85
    renamed = rng.random(len(rows)) < 0.15
    crm = world_crm(d.store)
    records = []
    for k, r in enumerate(rows.tolist()):
        name = str(acc["name"][r])
        if renamed[k]:
            name = name.rsplit(" ", 1)[0] if name.endswith((".", "LLC", "Ltd", "GmbH")) else name.upper()
        rec = {
            "id": ids[k],
            "name": name,
            "domain_names": [str(acc["domain"][r])],
            "external_id": account_ref(crm, str(acc["sf_id"][r])) if linked[k] else None,
            "tags": [P.SEGMENTS[acc["segment"][r]].lower().replace("-", "_")],
            "organization_fields": {"plan": P.PRODUCTS[acc["segment"][r]].removeprefix("prod_").lower()},
        }
        created = d.historic(created_days[k], 40_000)
        if created is not None:
            rec["created_at"] = zd_time(created)
        records.append(rec)
    d.write(ZD_ORGANIZATIONS, records, d.work_hours(rng, len(records)))

    c = w.contacts
    people = np.flatnonzero(np.isin(c["account"], rows) & (c["merge_day"] < 0) & ~c["left"] & (c["zd_user"] == 0))
    created_of = np.full(len(acc), d.day)
    created_of[rows] = created_days
    zendesk_users(d, rng, people, created_day=created_of[c["account"][people]])
    _staff_users(d, rng, rows, created_days)


def _staff_users(d: Day, rng: np.random.Generator, rows: np.ndarray, created_days: np.ndarray) -> None:
    """Other people at the customer who write to support (not in the CRM)."""
    w = d.world
    acc = w.accounts
    counts = 1 + rng.integers(0, 3, len(rows)) * (acc["segment"][rows] + 1)
    owner = np.repeat(rows, counts)
    created = np.repeat(created_days, counts)
    first = rng.integers(0, len(names.FIRST), len(owner))
    last = rng.integers(0, len(names.LAST), len(owner))
    ids = d.store.new_ids(ZD_USERS, len(owner))
    w.zd_users.append(len(owner), account=owner, id=ids, contact=-1)
    records = []
    for k, a in enumerate(owner.tolist()):
        rec = {
            "id": ids[k],
            "name": f"{names.FIRST[first[k]]} {names.LAST[last[k]]}",
            "email": names.email(int(first[k]), int(last[k]), str(acc["domain"][a])),
            "role": "end-user",
            "organization_id": int(acc["zd_org"][a]),
            "active": True,
        }
        ts = d.historic(created[k], 46_000)
        if ts is not None:
            rec["created_at"] = zd_time(ts)
        records.append(rec)
    d.write(ZD_USERS, records, d.work_hours(rng, len(records)))


def daily(d: Day) -> None:
    rng = d.rng(Stream.SUPPORT)
    _milestones(d, rng)
    _new_tickets(d, rng)


def _draw(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One category per row of a (rows x categories) weight matrix."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), weights.shape[1] - 1)


def _new_tickets(d: Day, rng: np.random.Generator) -> None:
    w = d.world
    acc = w.accounts
    cust = np.flatnonzero(acc["status"] == CUSTOMER)
    e = engagement(acc, cust)
    rate = np.array(P.TICKETS_PER_MONTH)[acc["segment"][cust]] / 30.44 * np.exp(P.TICKET_E * e)
    rate *= np.where(acc["onboarding_end"][cust] >= d.day, P.ONBOARDING_TICKET_FACTOR, 1.0)
    if is_weekend(d.day):
        rate *= P.WEEKEND_TICKETS
    n = rng.poisson(rate)
    base_acc = np.repeat(cust, n)
    base_e = np.repeat(e, n)
    mix = np.array([share for _, share in P.BASE_TAG_MIX])
    weights = np.tile(np.r_[mix, 0.0, 0.0], (len(base_acc), 1))
    competing = acc["competitor_until"][base_acc] >= d.day
    weights[competing, T["feature-request"]] *= P.COMPETITOR_FEATURE_REQUEST_FACTOR
    base_tag = _draw(rng, weights)
    pri_w = np.array(P.PRIORITY_MIX)[None, :] * np.exp(0.4 * (np.arange(4)[None, :] - 1) * -base_e[:, None])
    base_pri = _draw(rng, pri_w)

    def triggered(key: str, share: float | np.ndarray, tag: str, pri_mix: tuple[float, ...]) -> tuple:
        rows = d.today.get(key, np.zeros(0, dtype=np.int64))
        filed = (rng.random(len(rows)) < share) & (acc["status"][rows] == CUSTOMER)
        rows = rows[filed]
        pri = _draw(rng, np.tile(np.array(pri_mix), (len(rows), 1)))
        return rows, np.full(len(rows), T[tag]), pri

    incident_rows = cust[acc["incident_until"][cust] >= d.day]
    d.today["incident_day"] = incident_rows
    severity = w.shards["severity"][acc["shard"][d.today.get("outage_start", cust[:0])]]
    parts = [
        (base_acc, base_tag, base_pri),
        triggered("outage_start", P.OUTAGE_TICKET_RATE * severity / 0.65, "outage", (0, 0.05, 0.25, 0.7)),
        triggered("incident_day", P.INCIDENT_TICKET_RATE * 0.7, "bug", (0, 0.2, 0.6, 0.2)),
        triggered("budget_cut", P.BUDGET_TICKET_RATE, "billing", (0.2, 0.7, 0.1, 0)),
        triggered("payment_failed", P.PAYMENT_FAILURE_TICKET_RATE, "billing", (0, 0.6, 0.4, 0)),
        triggered("notice", P.CANCELLATION_TICKET_RATE, "cancellation", (0.1, 0.8, 0.1, 0)),
        triggered("champion_left", 0.25, "access", (0.2, 0.7, 0.1, 0)),
    ]
    accounts = np.concatenate([p[0] for p in parts]).astype(np.int64)
    tags = np.concatenate([p[1] for p in parts]).astype(np.int64)
    pri = np.concatenate([p[2] for p in parts]).astype(np.int64)
    _create(d, rng, accounts, tags, pri)


def _requesters(d: Day, rng: np.random.Generator, accounts: np.ndarray) -> np.ndarray:
    """A random Zendesk user of each ticket's organization who still works there (0 if none)."""
    zu = d.world.zd_users
    gone = d.world.contacts["left"]
    present = np.flatnonzero((zu["contact"] < 0) | ~gone[np.maximum(zu["contact"], 0)])
    chosen = pick_members(rng, present, zu["account"][present], accounts)
    out = np.zeros(len(accounts), dtype=np.int64)
    out[chosen >= 0] = zu["id"][chosen[chosen >= 0]]
    return out


def _create(d: Day, rng: np.random.Generator, accounts: np.ndarray, tags: np.ndarray, pri: np.ndarray) -> None:
    w = d.world
    acc = w.accounts
    requester = _requesters(d, rng, accounts)
    ok = requester > 0
    accounts, tags, pri, requester = accounts[ok], tags[ok], pri[ok], requester[ok]
    n = len(accounts)
    u = rng.random((6, n))
    g = rng.standard_normal((2, n))
    if not n:
        return
    local = 8 + 10 * u[0] - _OFFSETS[acc["country"][accounts]]
    created = d.t0 + np.clip(local * 3600, 0, 22.5 * 3600).astype(np.int64)
    urgent_now = tags == T["outage"]
    created = np.where(urgent_now, d.t0 + (u[0] * 20 * 3600).astype(np.int64), created)
    reply_min = np.array(P.FIRST_REPLY_MEDIAN_MIN)[pri] * np.exp(0.8 * g[0])
    reply = _before_23(created + (reply_min * 60).astype(np.int64))
    solve_days = np.array(P.RESOLUTION_MEDIAN_DAYS)[pri] * np.where(tags == T["bug"], 1.5, 1.0) * np.exp(0.9 * g[1])
    solve = _before_23(np.maximum(reply + 600, created + (solve_days * DAY_SECONDS).astype(np.int64)))
    close = solve + P.CLOSE_AFTER_SOLVED_DAYS * DAY_SECONDS
    e = engagement(acc, accounts)
    good_p = 1 / (1 + np.exp(-(1.8 + 1.2 * e - 1.0 * (pri == 3) - 0.6 * (solve_days > 3))))
    rated = u[1] < P.CSAT_RESPONSE_RATE
    rating = np.where(rated, _before_23(solve + (u[2] * 2.5 * DAY_SECONDS).astype(np.int64) + 600), -1)
    subjects = np.array([int(u[3][k] * len(_SUBJECTS[t])) for k, t in enumerate(tags.tolist())])
    agents = w.agents["id"]
    ids = d.store.new_ids(ZD_TICKETS, n)
    metric_ids = d.store.new_ids(ZD_TICKET_METRICS, n)
    rows = w.tickets.append(
        n,
        id=ids,
        metrics_id=metric_ids,
        account=accounts,
        requester=requester,
        assignee=agents[(u[4] * len(agents)).astype(np.int64)],
        tag=tags,
        subject=subjects,
        priority=pri,
        created_ts=created,
        reply_ts=reply,
        solve_ts=solve,
        rating_ts=rating,
        rating_good=u[5] < good_p,
        close_ts=close,
        replies=1 + rng.poisson(1.5 * np.sqrt(solve_days)),
    )
    d.count("tickets", n)
    _write(d, rows, created=True)


def _before_23(ts: np.ndarray) -> np.ndarray:
    """Move times in a day's last hour to the next morning: the sandbox's days end at 23:00 (its
    clock), so nothing simulated may carry a later time of day."""
    late = ts % DAY_SECONDS >= 23 * 3600
    return np.where(late, ts + 3600, ts)


def _status_at(t: Table, rows: np.ndarray, ts: np.ndarray) -> list[str]:
    waiting = _WAITING_ON_CUSTOMER[t["tag"][rows]]
    status = np.where(
        ts < t["reply_ts"][rows],
        "new",
        np.where(
            ts < t["solve_ts"][rows],
            np.where(waiting, "pending", "open"),
            np.where(ts < t["close_ts"][rows], "solved", "closed"),
        ),
    )
    return status.tolist()


def _milestones(d: Day, rng: np.random.Generator) -> None:
    t = d.world.tickets
    if not len(t):
        return
    lo, hi = d.t0, d.t0 + DAY_SECONDS
    today = np.zeros(len(t), dtype=bool)
    for col in ("reply_ts", "solve_ts", "rating_ts", "close_ts"):
        today |= (t[col] >= lo) & (t[col] < hi)
    rows = np.flatnonzero(today)
    if len(rows):
        _write(d, rows, created=False)
    done = t["close_ts"] < hi
    if done.any():
        t.keep(~done)


def _write(d: Day, rows: np.ndarray, created: bool) -> None:
    """Write each ticket as it stands at its last milestone of the day (and its metrics, ratings)."""
    w = d.world
    t = w.tickets
    acc = w.accounts
    lo, hi = d.t0, d.t0 + DAY_SECONDS
    last = t["created_ts"][rows].copy() if created else np.full(len(rows), lo)
    for col in ("reply_ts", "solve_ts", "rating_ts", "close_ts"):
        v = t[col][rows]
        last = np.where((v >= lo) & (v < hi), np.maximum(last, v), last)
    # A milestone after 23:00 still happens today, but is stamped before the clock's end of day.
    status = _status_at(t, rows, last)
    stamps = d.clip(last)

    rated_today = rows[(t["rating_ts"][rows] >= lo) & (t["rating_ts"][rows] < hi)]
    rating_ids = dict(
        zip(rated_today.tolist(), d.store.new_ids(ZD_SATISFACTION_RATINGS, len(rated_today)), strict=True)
    )
    tickets, metrics, metric_stamps, ratings, rating_stamps = [], [], [], [], []
    for k, r in enumerate(rows.tolist()):
        tag = int(t["tag"][r])
        replied = last[k] >= t["reply_ts"][r]
        solved = last[k] >= t["solve_ts"][r]
        rec: dict = {"id": int(t["id"][r]), "status": status[k]}
        if created:
            a = int(t["account"][r])
            rec |= {
                "subject": _SUBJECTS[tag][int(t["subject"][r])],
                "description": vocab.TICKET_BODY[TAGS[tag]],
                "type": vocab.TICKET_TYPE[TAGS[tag]],
                "priority": P.PRIORITIES[t["priority"][r]],
                "requester_id": int(t["requester"][r]),
                "submitter_id": int(t["requester"][r]),
                "organization_id": int(acc["zd_org"][a]),
                "tags": [TAGS[tag], P.SEGMENTS[acc["segment"][a]].lower().replace("-", "_")],
                "satisfaction_rating": None,
                "created_at": zd_time(int(t["created_ts"][r])),
                "assignee_id": None,
            }
        reply_today = lo <= t["reply_ts"][r] < hi
        solve_today = lo <= t["solve_ts"][r] < hi
        if replied:
            rec["assignee_id"] = int(t["assignee"][r])
        if solve_today:
            rec["satisfaction_rating"] = {"score": "offered"}  # the survey goes out when it is solved
        if r in rating_ids:
            good = bool(t["rating_good"][r])
            comments = vocab.CSAT_GOOD_COMMENTS if good else vocab.CSAT_BAD_COMMENTS
            comment = comments[int(t["id"][r]) % len(comments)]
            rec["satisfaction_rating"] = {"id": rating_ids[r], "score": "good" if good else "bad", "comment": comment}
            ratings.append(
                {
                    "id": rating_ids[r],
                    "score": "good" if good else "bad",
                    "comment": comment,
                    "ticket_id": int(t["id"][r]),
                    "requester_id": int(t["requester"][r]),
                    "assignee_id": int(t["assignee"][r]),
                    "organization_id": int(acc["zd_org"][t["account"][r]]),
                    "created_at": zd_time(int(stamps[k])),
                }
            )
            rating_stamps.append(stamps[k])
        tickets.append(rec)
        if created or reply_today or solve_today:
            metrics.append(_metrics(t, r, created, replied, solved))
            metric_stamps.append(stamps[k])
    d.write(ZD_TICKETS, tickets, stamps)
    if metrics:
        d.write(ZD_TICKET_METRICS, metrics, np.array(metric_stamps))
    if ratings:
        d.write(ZD_SATISFACTION_RATINGS, ratings, np.array(rating_stamps))


def _metrics(t: Table, r: int, created: bool, replied: bool, solved: bool) -> dict:
    rec: dict = {"id": int(t["metrics_id"][r])}
    if created:
        rec |= {
            "ticket_id": int(t["id"][r]),
            "reopens": 0,
            "replies": 0,
            "reply_time_in_minutes": None,
            "full_resolution_time_in_minutes": None,
            "solved_at": None,
            "created_at": zd_time(int(t["created_ts"][r])),
        }
    if replied:
        minutes = int((t["reply_ts"][r] - t["created_ts"][r]) // 60)
        rec["reply_time_in_minutes"] = {"calendar": minutes, "business": int(minutes * 0.6)}
        rec["replies"] = 1
    if solved:
        minutes = int((t["solve_ts"][r] - t["created_ts"][r]) // 60)
        rec["full_resolution_time_in_minutes"] = {"calendar": minutes, "business": int(minutes * 0.45)}
        rec["solved_at"] = zd_time(int(t["solve_ts"][r]))
        rec["replies"] = int(t["replies"][r])
    return rec
