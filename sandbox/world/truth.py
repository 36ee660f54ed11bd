"""Ground truth for evaluation, kept in data_dir/truth/ (never in world.sqlite or the exports).

- account_months/YYYY-MM-01.parquet: each customer at each month start: the true probability of
  churning that month and within 90 days (oracle.py), expansion propensity, the hidden engagement
  and flags. Written when the month starts, so `advance` adds new months as it reaches them.
- account_days/YYYY-MM-DD.parquet: each customer at the end of that day (the observation day): the
  true probability that its churn date falls in the 90 days after it (the day after to 90 days
  later, the window of the product's churn label), whether it has given notice by then, whether its
  hidden decision at the current term's end is churn (`churn_decided`) and whether it is taken at all,
  churn or renew (`renewal_decided`: the oracle knows the outcome then, the customer has not said). Written
  at the start of the next day, so every simulated day has one file.
- accounts.parquet: every account: ids in all systems, plan, won / churn dates, churn cause.
- events.parquet: the hidden happenings (champion left, budget cut, decisions, renewals, ...).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sandbox.world import params as P
from sandbox.world.calendar import EPOCH_ORDINAL, add_months, date_of
from sandbox.world.context import Day
from sandbox.world.health import engagement
from sandbox.world.oracle import churn_probability, expansion_probability
from sandbox.world.state import CHURN_SIGNAL, CUSTOMER, HISTORY_KINDS, PROSPECT, UNDECIDED, World

CAUSES = P.SIGNAL_CAUSES + P.UNPREDICTABLE_CAUSES
HORIZON_DAYS = 90


def truth_dir(data_dir: Path) -> Path:
    return data_dir / "truth"


def _write(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def _dates(days: np.ndarray) -> pa.Array:
    """Day ordinals as date32 (nulls where negative)."""
    days = np.asarray(days, dtype=np.int64)
    return pa.array(np.where(days >= 0, days - EPOCH_ORDINAL, 0).astype(np.int32), type=pa.date32(), mask=days < 0)


def _ids(w: World, rows: np.ndarray) -> dict[str, pa.Array]:
    acc = w.accounts
    return {
        "sf_account_id": pa.array(acc["sf_id"][rows]),
        "workspace_id": pa.array(acc["ws_id"][rows]),
        "stripe_customer_id": pa.array(np.where(acc["cus_id"][rows] == "", None, acc["cus_id"][rows])),
        "zendesk_organization_id": pa.array(
            np.where(acc["zd_org"][rows] > 0, acc["zd_org"][rows], 0), mask=acc["zd_org"][rows] <= 0
        ),
    }


def write_month(d: Day, data_dir: Path) -> None:
    """Truth as of the start of this day (the state after the previous day)."""
    w = d.world
    acc = w.accounts
    now = d.day - 1
    rows = np.flatnonzero(acc["status"] == CUSTOMER)
    month_end = add_months(d.date.replace(day=1), 1).toordinal() - 1
    table = pa.table(
        {
            "month_start": _dates(np.full(len(rows), d.day)),
            **_ids(w, rows),
            "segment": pa.array([P.SEGMENTS[s] for s in acc["segment"][rows]]),
            "p_churn_month": churn_probability(w, rows, now, d.day, month_end),
            "p_churn_90d": churn_probability(w, rows, now, d.day, d.day + HORIZON_DAYS - 1),
            "p_expand_90d": expansion_probability(w, rows, now, HORIZON_DAYS),
            "engagement": engagement(acc, rows),
            "engagement_baseline": acc["mu"][rows],
            "budget_cut": acc["budget_until"][rows] > now,
            "competitor_evaluation": acc["competitor_until"][rows] > now,
            "champion_present": acc["champion"][rows] >= 0,
            "churn_decided": acc["decided"][rows] >= CHURN_SIGNAL,
            "seats": acc["seats"][rows],
            "seat_demand": acc["demand"][rows],
            "arr": acc["arr"][rows],
            "contract_end": _dates(acc["term_end"][rows]),
        }
    )
    _write(table, truth_dir(data_dir) / "account_months" / f"{d.date.isoformat()}.parquet")


def write_day(d: Day, data_dir: Path) -> None:
    """Truth as of the end of the previous day (its observation day): P(churn date in the next 90 days)."""
    w = d.world
    acc = w.accounts
    now = d.day - 1
    rows = np.flatnonzero(acc["status"] == CUSTOMER)
    table = pa.table(
        {
            "observation_date": _dates(np.full(len(rows), now)),
            "sf_account_id": pa.array(acc["sf_id"][rows]),
            "p_churn_90d": churn_probability(w, rows, now, d.day, now + HORIZON_DAYS),
            "notice_given": acc["noticed"][rows].astype(bool),
            "churn_decided": acc["decided"][rows] >= CHURN_SIGNAL,
            "renewal_decided": acc["decided"][rows] != UNDECIDED,
        }
    )
    _write(table, truth_dir(data_dir) / "account_days" / f"{date_of(now).isoformat()}.parquet")


def write_summary(w: World, data_dir: Path) -> None:
    acc = w.accounts
    rows = np.flatnonzero(acc["status"] != PROSPECT)
    hist = w.history
    kinds = np.array(HISTORY_KINDS)
    exp_won = hist["kind"] == HISTORY_KINDS.index("expansion_won")
    by_account: dict[int, list[int]] = {}
    for a, day in zip(hist["account"][exp_won].tolist(), hist["day"][exp_won].tolist(), strict=True):
        by_account.setdefault(a, []).append(day)
    expansions = pa.array(
        [[x - EPOCH_ORDINAL for x in by_account.get(int(r), [])] for r in rows], type=pa.list_(pa.date32())
    )
    cause = acc["cause"][rows]
    churned = acc["churn_day"][rows] >= 0
    accounts = pa.table(
        {
            **_ids(w, rows),
            "name": pa.array(acc["name"][rows]),
            "segment": pa.array([P.SEGMENTS[s] for s in acc["segment"][rows]]),
            "term_months": acc["term_months"][rows].astype(np.int16),
            "billing_interval": pa.array(np.where(acc["interval_months"][rows] == 1, "month", "year")),
            "customer_since": _dates(acc["since_day"][rows]),
            "won_date": _dates(acc["won_day"][rows]),
            "churn_date": _dates(acc["churn_day"][rows]),
            "churn_cause": pa.array(
                [CAUSES[c] if ch else None for c, ch in zip(cause, churned, strict=True)], type=pa.string()
            ),
            "churn_predictable": pa.array(np.where(churned, cause < len(P.SIGNAL_CAUSES), False), mask=~churned),
            "decision_date": _dates(np.where(churned, acc["decision_day"][rows], -1)),
            "notice_date": _dates(np.where(churned, acc["notice_day"][rows], -1)),
            "expansion_dates": expansions,
            "expansions": pa.array([len(by_account.get(int(r), [])) for r in rows], type=pa.int32()),
            "is_customer": acc["status"][rows] == CUSTOMER,
        }
    )
    _write(accounts, truth_dir(data_dir) / "accounts.parquet")
    contact = hist["contact"]
    events = pa.table(
        {
            "date": _dates(hist["day"]),
            "sf_account_id": pa.array(acc["sf_id"][hist["account"]]),
            "workspace_id": pa.array(acc["ws_id"][hist["account"]]),
            "event": pa.array(kinds[hist["kind"]]),
            "value": hist["value"],
            "sf_contact_id": pa.array(np.where(contact >= 0, w.contacts["sf_id"][np.maximum(contact, 0)], None)),
        }
    )
    _write(events, truth_dir(data_dir) / "events.parquet")
