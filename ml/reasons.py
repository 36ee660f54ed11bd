"""Reason codes: the features that moved an account's score most, from XGBoost's own per-feature
contributions, told as sentences a CSM understands ("active users down 42 % in 90 days").

Each feature has a template and a way to show its value; a driver also says which way it pushes the
score and how hard ("raises risk strongly"). The size words follow the contribution in log-odds."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pandas as pd


def _count(v: float) -> str:
    return f"{v:,.0f}"


def _share(v: float) -> str:
    return f"{100 * v:.0f} %"


def _change(v: float) -> str:
    return f"{'down' if v < 0 else 'up'} {abs(100 * v):.0f} %"


def _money(v: float) -> str:
    sign = "-" if v < 0 else "+"
    return f"{sign}${abs(v):,.0f}"


def _flag(yes: str, no: str) -> Callable[[float], str]:
    return lambda v: yes if v >= 0.5 else no


SEGMENTS = {0: "SMB", 1: "Mid-Market", 2: "Enterprise"}

# feature -> (sentence template with {v}, how the value is shown)
SENTENCES: dict[str, tuple[str, Callable[[float], str]]] = {
    "segment": ("{v} segment", lambda v: SEGMENTS.get(int(v), "unknown")),
    "billing_interval": ("{v}", _flag("billed yearly", "billed monthly")),
    "contract_term_months": ("{v}-month contract", _count),
    "tenure_days": ("customer for {v} days", _count),
    "days_to_term_end": ("contract term ends in {v} days", _count),
    "seats": ("{v} licensed seats", _count),
    "arr": ("ARR ${v}", _count),
    "arr_change_90d": ("ARR {v} in 90 days", _money),
    "active_users_7d": ("{v} active users in 7 days", _count),
    "active_users_30d": ("{v} active users in 30 days", _count),
    "active_users_growth_90d": ("active users {v} in 90 days", _change),
    "daily_active_seat_share": ("{v} of seats active daily", _share),
    "monthly_active_seat_share": ("{v} of seats active in 30 days", _share),
    "advanced_feature_share": ("advanced features {v} of use", _share),
    "events_per_active_user_day": ("{v} actions per active user a day", lambda v: f"{v:.1f}"),
    "export_share_30d": ("data exports {v} of activity in 30 days", _share),
    "user_invites_30d": ("{v} users invited in 30 days", _count),
    "events_30d": ("{v} product events in 30 days", _count),
    "event_types_30d": ("{v} different product actions used in 30 days", _count),
    "events_30d_vs_90d": ("product events {v} against the account's usual 30 days", _change),
    "open_tickets": ("{v} support tickets open", _count),
    "tickets_90d": ("{v} support tickets in 90 days", _count),
    "high_priority_tickets_90d": ("{v} urgent or high-priority tickets in 90 days", _count),
    "feature_request_tickets_90d": ("{v} feature requests in 90 days", _count),
    "billing_tickets_90d": ("{v} billing tickets in 90 days", _count),
    "cancellation_tickets_90d": ("{v} cancellation tickets in 90 days", _count),
    "csat_bad_share_180d": ("{v} of satisfaction ratings bad in 180 days", _share),
    "payment_failures_90d": ("{v} failed payments in 90 days", _count),
    "overdue_invoices": ("{v} invoices overdue", _count),
    "cancellation_notice": ("{v}", _flag("customer asked to cancel at period end", "no cancellation notice")),
    "champion_present": ("{v}", _flag("champion in place", "no active champion named in the CRM")),
    "champion_active_days_30d": ("champion used the product on {v} of the last 30 days", _count),
    "health_score": ("health score {v}", _count),
    "usage_score": ("usage score {v}", _count),
    "adoption_score": ("adoption score {v}", _count),
    "support_score": ("support score {v}", _count),
    "billing_score": ("billing score {v}", _count),
    "relationship_score": ("relationship score {v}", _count),
}


def sentence(feature: str, value: float, contribution: float, subject: str = "risk") -> str:
    """'<value in words> (raises risk strongly)'; a missing value is said as such."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        said = f"no data for {feature.replace('_', ' ')}"
    else:
        template, show = SENTENCES.get(feature, (feature.replace("_", " ") + " {v}", lambda v: f"{v:g}"))
        said = template.format(v=show(value))
    size = abs(contribution)
    strength = "strongly" if size >= 1.0 else "moderately" if size >= 0.3 else "slightly"
    return f"{said} ({'raises' if contribution > 0 else 'lowers'} {subject} {strength})"


def drivers(
    features: list[str], values: np.ndarray, contributions: np.ndarray, top: int = 3, protective: int = 2
) -> pd.DataFrame:
    """Per account (row): driver_1..3, the features raising the score most (NULL when fewer raise
    it), and drivers_json with those plus the `protective` ones lowering it most."""
    contrib = contributions[:, : len(features)]  # the last column is the bias
    out = {f"driver_{i + 1}": [None] * len(values) for i in range(top)}
    documents = []
    for r in range(len(values)):
        order = np.argsort(-contrib[r], kind="stable")
        raising = [j for j in order[:top] if contrib[r, j] > 0]
        lowering = [j for j in order[::-1][:protective] if contrib[r, j] < 0]
        items = []
        for j in [*raising, *lowering]:
            value = float(values[r, j])
            c = float(contrib[r, j])
            items.append(
                {
                    "feature": features[j],
                    "value": None if math.isnan(value) else value,
                    "contribution": round(c, 4),
                    "direction": "raises" if c > 0 else "lowers",
                    "sentence": sentence(features[j], value, c),
                }
            )
        for i, item in enumerate(items[: len(raising)]):
            out[f"driver_{i + 1}"][r] = item["sentence"]
        documents.append(json.dumps(items))
    return pd.DataFrame({**out, "drivers_json": documents})
