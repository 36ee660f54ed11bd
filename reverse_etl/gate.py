"""The data-quality gate before anything is pushed: expectation suites on the score and alert
tables, run and recorded the way every data check is (`core/checks.py`).

- `scores_valid`: account keys present and unique, probabilities in [0, 1].
- `scores_row_count`: as many scored accounts as active accounts, within the configured tolerance.
- `red_share_stable`: the share of Red accounts moved at most the configured bound since the last
  gate of an earlier run that passed.
- `health_scores_present`: at most the configured share of active accounts has no health score or
  an Unknown tier (weights that sum to 0, a measure that stopped arriving: the CRM would be blanked).
- `alerts_valid`: alert ids unique, every alert has an account, an owner and a known severity.
- `ingestion_healthy`: the last ingestion checks of every raw table passed `quarantine_share` (too
  many records in quarantine) and `fields_present` (a field vanished upstream): scores built on a
  table that lost most of its records or a field would be pushed as if they were right.

A run evaluates the gate once, after its alerts are written, and appends the outcome to
`reverse_etl.gate_results` under its run id; the run's syncs read that outcome (`for_run`) instead of
evaluating again, so the Red share is compared with an earlier run's, never with the same run's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from core import checks as e
from core.checks import CheckResult, Expectation, expectation_rows, validate
from core.clock import utc_now
from core.warehouse import INGESTION_CHECK_RESULTS, RAW_DATASETS, ensure_tables, insert_rows, table_exists
from reverse_etl.state import SCHEMA

RESULTS = f"{SCHEMA}.gate_results"
RESULTS_DDL = f"""CREATE TABLE IF NOT EXISTS {RESULTS} (
    checked_at TIMESTAMP, run_id VARCHAR, table_name VARCHAR, check_name VARCHAR, expectation VARCHAR,
    column_name VARCHAR, success BOOLEAN, observed VARCHAR, red_share DOUBLE, run_passed BOOLEAN)"""


@dataclass
class GateResult:
    checks: list[CheckResult] = field(default_factory=list)
    red_share: float | None = None

    @property
    def passed(self) -> bool:
        return all(c.success for c in self.checks)

    def summary(self) -> str:
        failed = [f"{c.table}.{c.check}: {c.summary}" for c in self.checks if not c.success]
        return "gate passed" if not failed else "gate failed: " + " | ".join(failed)

    def by_check(self, name: str) -> CheckResult | None:
        return next((c for c in self.checks if c.check == name), None)


def _validate(table: str, check: str, frame: pd.DataFrame, expectations: list[Expectation]) -> CheckResult:
    return validate(frame, "reverse_etl", table, check, expectations)


def _previous_red_share(con: duckdb.DuckDBPyConnection, run_id: str) -> float | None:
    """The Red share of the last gate that passed in another run than `run_id`."""
    if not table_exists(con, RESULTS):
        return None
    row = con.execute(
        f"""SELECT red_share FROM {RESULTS} WHERE red_share IS NOT NULL AND run_passed AND run_id <> ?
        ORDER BY checked_at DESC LIMIT 1""",
        [run_id],
    ).fetchone()
    return None if row is None else float(row[0])


def score_checks(con: duckdb.DuckDBPyConnection, row_count_tolerance: float) -> list[CheckResult]:
    """`scores_valid` and `scores_row_count` on the latest scores (none before the first scoring)."""
    if not table_exists(con, "ml.account_scores_latest"):
        return []
    active = con.execute("SELECT count(*) FROM marts.customer_360").fetchone()[0]
    scores = con.execute(
        "SELECT account_id, churn_probability, expansion_propensity FROM ml.account_scores_latest"
    ).df()
    return [
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
        ),
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
        ),
    ]


INGESTION_CHECKS = ("quarantine_share", "fields_present")


def ingestion_checks(con: duckdb.DuckDBPyConnection) -> list[CheckResult]:
    """One failed check per raw table whose last `quarantine_share` or `fields_present` check failed
    (named `<dataset>.<table>`, with the reason), or one passed `ingestion_healthy` check."""
    if not table_exists(con, INGESTION_CHECK_RESULTS):
        return []
    marks = ", ".join("?" for _ in INGESTION_CHECKS)
    rows = con.execute(
        f"""WITH last AS (
                SELECT source, table_name, check_name, max(checked_at) AS at FROM {INGESTION_CHECK_RESULTS}
                WHERE check_name IN ({marks}) GROUP BY ALL)
            SELECT r.source, r.table_name, r.check_name, r.observed FROM {INGESTION_CHECK_RESULTS} r JOIN last l
              ON r.source = l.source AND r.table_name = l.table_name AND r.check_name = l.check_name
             AND r.checked_at = l.at
            WHERE NOT r.success ORDER BY ALL""",
        list(INGESTION_CHECKS),
    ).fetchall()
    out = []
    for source, table, check, observed in rows:
        if check == "quarantine_share":
            reason = f"{float(observed):.0%} of its records in quarantine, over the configured limit"
        else:
            reason = f"field(s) missing from its last load (renamed or removed upstream): {observed}"
        outcome = {"expectation": check, "column": None, "success": False, "observed": reason}
        out.append(CheckResult("reverse_etl", f"{RAW_DATASETS.get(source, source)}.{table}", check, False, [outcome]))
    if not out:
        ok = {"expectation": "ingestion_checks_passed", "column": None, "success": True, "observed": "ok"}
        out.append(CheckResult("reverse_etl", "raw", "ingestion_healthy", True, [ok]))
    return out


ACTIVE = "subscription_status in ('active', 'past_due', 'trialing')"


def empty_score_share(con: duckdb.DuckDBPyConnection) -> float:
    """The share of active accounts with no health score or an Unknown tier."""
    return float(
        con.execute(
            "SELECT coalesce(avg(CASE WHEN health_score IS NULL OR coalesce(health_tier, 'Unknown') = 'Unknown' "
            f"THEN 1.0 ELSE 0.0 END), 0) FROM marts.customer_360 WHERE {ACTIVE}"
        ).fetchone()[0]
    )


def evaluate(
    con: duckdb.DuckDBPyConnection,
    row_count_tolerance: float,
    max_red_share_change: float,
    run_id: str,
    max_empty_score_share: float = 0.05,
) -> GateResult:
    """The whole gate for the run `run_id` (its Red share compared with an earlier run's)."""
    result = GateResult(checks=score_checks(con, row_count_tolerance) + ingestion_checks(con))
    empty = pd.DataFrame({"empty_health_score_share": [empty_score_share(con)]})
    result.checks.append(
        _validate(
            "customer_360",
            "health_scores_present",
            empty,
            [
                e.ExpectColumnValuesToBeBetween(
                    column="empty_health_score_share", min_value=0, max_value=max_empty_score_share
                )
            ],
        )
    )
    red_share = con.execute(
        "SELECT coalesce(avg(CASE WHEN health_tier = 'Red' THEN 1.0 ELSE 0.0 END), 0) FROM marts.customer_360"
    ).fetchone()[0]
    result.red_share = float(red_share)
    previous = _previous_red_share(con, run_id)
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
    if table_exists(con, "alerts.alerts"):
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
    ensure_tables(con, [RESULTS_DDL])
    at = utc_now()
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
        for c, o in expectation_rows(result.checks)
    ]
    insert_rows(con, RESULTS, rows)


def for_run(con: duckdb.DuckDBPyConnection, run_id: str) -> GateResult | None:
    """The gate as the run `run_id` evaluated and stored it, or None when it has not."""
    if not table_exists(con, RESULTS):
        return None
    rows = con.execute(
        f"""SELECT table_name, check_name, expectation, column_name, success, observed, red_share FROM {RESULTS}
        WHERE run_id = ? AND checked_at = (SELECT max(checked_at) FROM {RESULTS} WHERE run_id = ?)
        ORDER BY rowid""",
        [run_id, run_id],
    ).fetchall()
    if not rows:
        return None
    result = GateResult()
    checks: dict[tuple[str, str], CheckResult] = {}
    for table, check, expectation, column, success, observed, red_share in rows:
        checked = checks.get((table, check))
        if checked is None:
            checked = checks[(table, check)] = CheckResult("reverse_etl", table, check, True)
            result.checks.append(checked)
        checked.expectations.append(
            {"expectation": expectation, "column": column, "success": success, "observed": observed}
        )
        checked.success = checked.success and bool(success)
        if red_share is not None:
            result.red_share = float(red_share)
    return result
