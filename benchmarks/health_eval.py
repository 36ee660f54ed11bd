"""How well the health score foretells churn, measured against the sandbox's ground truth.

Over the last year of history (observation days every week, from a year before the data's last day
to 90 days before it, so that every observation's next 90 days are known), each customer's tier and
score on the observation day are compared with whether it truly churned in the 90 days after:

- churn rate of Red accounts versus Green accounts (target: Red >= 3x Green);
- ROC AUC of the score (lower score = riskier) for 90-day churn.

Only the evaluation reads the truth; the dbt models never do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from sklearn.metrics import roc_auc_score

HORIZON_DAYS = 90
LOOKBACK_DAYS = 365
EVERY_DAYS = 7
TARGET_RATIO = 3.0


def run(warehouse: str | Path, truth_dir: str | Path) -> dict[str, Any]:
    truth = Path(truth_dir) / "accounts.parquet"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        as_of = con.execute("select max(snapshot_date) from marts.health_score_history").fetchone()[0]
        rows = con.execute(
            f"""
            with truth as (
                select sf_account_id, churn_date from read_parquet('{truth}')
            ),
            observations as (
                select h.account_id, h.snapshot_date, h.health_score, h.health_tier, a.notice_given
                from marts.health_score_history as h
                left join marts.account_daily_activity as a on h.account_day_id = a.account_day_id
                where h.snapshot_date between ?::date - {LOOKBACK_DAYS} and ?::date - {HORIZON_DAYS}
                    and datediff('day', ?::date - {HORIZON_DAYS}, h.snapshot_date) % {EVERY_DAYS} = 0
                    and h.health_score is not null
            )
            select
                o.health_score,
                o.health_tier,
                coalesce(t.churn_date > o.snapshot_date
                    and t.churn_date <= o.snapshot_date + {HORIZON_DAYS}, false) as churned,
                coalesce(o.notice_given, false) as notice_given
            from observations as o
            left join truth as t on o.account_id = t.sf_account_id
            """,
            [as_of, as_of, as_of],
        ).fetchall()
    finally:
        con.close()
    if not rows:
        raise ValueError("no scored account-days in the evaluation window")
    result = _figures(rows)
    # The same without account-days on which the customer had already given notice: what the
    # score foretells before the customer says so.
    before_notice = _figures([r for r in rows if not r[3]])
    return {
        "as_of": str(as_of),
        **result,
        "target_ratio": TARGET_RATIO,
        "met": result["red_vs_green_churn_ratio"] >= TARGET_RATIO,
        "before_notice": before_notice,
    }


def _figures(rows: list[tuple]) -> dict[str, Any]:
    scores = [r[0] for r in rows]
    churned = [bool(r[2]) for r in rows]
    by_tier: dict[str, dict[str, float]] = {}
    for tier in ("Red", "Yellow", "Green"):
        outcomes = [bool(r[2]) for r in rows if r[1] == tier]
        by_tier[tier] = {
            "observations": len(outcomes),
            "churn_rate_90d": round(sum(outcomes) / len(outcomes), 4) if outcomes else float("nan"),
        }
    red, green = by_tier["Red"]["churn_rate_90d"], by_tier["Green"]["churn_rate_90d"]
    ratio = red / green if green else float("inf")
    auc = roc_auc_score(churned, [-s for s in scores]) if 0 < sum(churned) < len(churned) else float("nan")
    return {
        "observations": len(rows),
        "churned_observations": sum(churned),
        "tiers": by_tier,
        "red_vs_green_churn_ratio": round(ratio, 2),
        "roc_auc_90d_churn": round(float(auc), 3),
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(sys.argv[1], sys.argv[2]), indent=2))
