"""The data-quality gate before anything is pushed: Great Expectations suites on the score and
alert tables, run the way the ingestion checks run (`dlt_pipelines/quality.py`: pandas frames read
from DuckDB, one ephemeral context).

- `scores_valid`: account keys present and unique, probabilities in [0, 1].
- `scores_row_count`: as many scored accounts as active accounts, within the configured tolerance.
- `red_share_stable`: the share of Red accounts moved at most the configured bound since the last
  gate that passed.
- `alerts_valid`: alert ids unique, every alert has an account, an owner and a known severity.

Every outcome is appended to `reverse_etl.gate_results`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from dlt_pipelines import quality
from reverse_etl.records import table_exists
from reverse_etl.state import SCHEMA, now

RESULTS = f"{SCHEMA}.gate_results"


@dataclass
class GateResult:
    checks: list[quality.CheckResult] = field(default_factory=list)
    red_share: float | None = None

    @property
    def passed(self) -> bool:
        return all(c.success for c in self.checks)

    def summary(self) -> str:
        failed = [f"{c.table}.{c.check}: {c.summary}" for c in self.checks if not c.success]
        return "gate passed" if not failed else "gate failed: " + " | ".join(failed)

    def by_check(self, name: str) -> quality.CheckResult | None:
        return next((c for c in self.checks if c.check == name), None)


def _validate(table: str, check: str, frame: pd.DataFrame, expectations: list[Any]) -> quality.CheckResult:
    return quality.check_batch(quality.frame_batch(frame), "reverse_etl", table, check, expectations)


def _previous_red_share(con: duckdb.DuckDBPyConnection) -> float | None:
    if not table_exists(con, SCHEMA, "gate_results"):
        return None
    row = con.execute(
        f"""SELECT red_share FROM {RESULTS} WHERE red_share IS NOT NULL AND run_passed
        ORDER BY checked_at DESC LIMIT 1"""
    ).fetchone()
    return None if row is None else float(row[0])


def evaluate(con: duckdb.DuckDBPyConnection, row_count_tolerance: float, max_red_share_change: float) -> GateResult:
    import great_expectations as gx

    e = gx.expectations
    result = GateResult()
    active = con.execute("SELECT count(*) FROM marts.customer_360").fetchone()[0]
    if table_exists(con, "ml", "account_scores_latest"):
        scores = con.execute(
            "SELECT account_id, churn_probability, expansion_propensity FROM ml.account_scores_latest"
        ).df()
        result.checks.append(
            _validate(
                "account_scores_latest",
                "scores_valid",
                scores,
                [
                    e.ExpectColumnValuesToNotBeNull(column="account_id"),
                    e.ExpectColumnValuesToBeUnique(column="account_id"),
                    e.ExpectColumnValuesToNotBeNull(column="churn_probability"),
                    e.ExpectColumnValuesToBeBetween(column="churn_probability", min_value=0, max_value=1),
                    e.ExpectColumnValuesToBeBetween(column="expansion_propensity", min_value=0, max_value=1),
                ],
            )
        )
        result.checks.append(
            _validate(
                "account_scores_latest",
                "scores_row_count",
                scores,
                [
                    e.ExpectTableRowCountToBeBetween(
                        min_value=int(active * (1 - row_count_tolerance)),
                        max_value=int(active * (1 + row_count_tolerance)) + 1,
                    )
                ],
            )
        )
    red_share = con.execute(
        "SELECT coalesce(avg(CASE WHEN health_tier = 'Red' THEN 1.0 ELSE 0.0 END), 0) FROM marts.customer_360"
    ).fetchone()[0]
    result.red_share = float(red_share)
    previous = _previous_red_share(con)
    shift = pd.DataFrame({"red_share_change": [result.red_share - (previous if previous is not None else red_share)]})
    result.checks.append(
        _validate(
            "customer_360",
            "red_share_stable",
            shift,
            [
                e.ExpectColumnValuesToBeBetween(
                    column="red_share_change", min_value=-max_red_share_change, max_value=max_red_share_change
                )
            ],
        )
    )
    if table_exists(con, "alerts", "alerts"):
        alerts = con.execute("SELECT alert_id, account_id, owner_user_id, severity FROM alerts.alerts").df()
        result.checks.append(
            _validate(
                "alerts",
                "alerts_valid",
                alerts,
                [
                    e.ExpectColumnValuesToNotBeNull(column="alert_id"),
                    e.ExpectColumnValuesToBeUnique(column="alert_id"),
                    e.ExpectColumnValuesToNotBeNull(column="account_id"),
                    e.ExpectColumnValuesToNotBeNull(column="owner_user_id"),
                    e.ExpectColumnValuesToBeInSet(column="severity", value_set=["high", "medium", "low"]),
                ],
            )
        )
    return result


def store(con: duckdb.DuckDBPyConnection, result: GateResult, run_id: str) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {RESULTS} (
            checked_at TIMESTAMP, run_id VARCHAR, table_name VARCHAR, check_name VARCHAR, expectation VARCHAR,
            column_name VARCHAR, success BOOLEAN, observed VARCHAR, red_share DOUBLE, run_passed BOOLEAN)"""
    )
    at = now()
    rows = [
        (
            at,
            run_id,
            c.table,
            c.check,
            o["expectation"],
            o["column"],
            o["success"],
            o["observed"],
            result.red_share if c.check == "red_share_stable" else None,
            result.passed,
        )
        for c in result.checks
        for o in c.expectations
    ]
    quality.insert_rows(con, RESULTS, rows)
