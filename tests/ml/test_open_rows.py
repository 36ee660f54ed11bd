"""The churn model is measured where the outcome is still open and never learns from announced churn,
on the S world. The open rows are recomputed here from the marts with plain SQL, not from the mart's
`is_open_row` column: an active subscription that day, no scheduled cancellation and no cancellation
ticket in the 90 days up to it, the contract (or billing period) ending within the horizon."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml import model_file
from ml.config import MlConfig
from ml.features import FEATURES, feature_matrix
from tests.ml.conftest import train_on

ROWS = """
    select s.*,
        a.subscription_status in ('active', 'past_due', 'trialing') as paying,
        a.notice_given or coalesce(s.cancellation_tickets_90d, 0) > 0 as announced
    from marts.ml_account_snapshots as s
    join marts.account_daily_activity as a on a.account_id = s.account_id and a.activity_date = s.observation_date
    where s.label_is_complete and s.observation_date between ? and ?
"""
OPEN = "paying and not announced and days_to_term_end <= label_horizon_days"


def _frame(path: Path, where: str, start, end) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            f"select * from ({ROWS}) where {where} order by account_id, observation_date", [start, end]
        ).df()
    finally:
        con.close()


def _query(path: Path, sql: str, params: list) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def test_churn_headline_is_on_open_rows_and_training_skips_announced_churn(
    warehouse: Path, models: Path, s_config: MlConfig
) -> None:
    run = train_on(warehouse, "churn", s_config, models)
    w = run.windows

    # The features that restate the notice are gone, and nothing announced is learned from (training
    # nor validation, where early stopping and the calibration learn).
    assert {"cancellation_notice", "cancellation_tickets_90d"}.isdisjoint(run.features)
    learned = {p: _frame(warehouse, "true", w[f"{p}_start"], w[f"{p}_end"]) for p in ("train", "valid")}
    assert sum(f["announced"].sum() for f in learned.values()) > 0, "S has customers who gave notice there"
    for period, rows in learned.items():
        # Every announced row churned: the notice is the label under another name.
        assert rows.loc[rows["announced"], "churned_within_horizon"].eq(1).all()
        assert run.details["rows"][period] == int((~rows["announced"]).sum()), period
        assert run.details["positives"][period] == int(rows.loc[~rows["announced"], "churned_within_horizon"].sum())

    # The headline population: exactly the open test rows.
    test = _frame(warehouse, OPEN, w["test_start"], w["test_end"])
    assert len(test) > 0 and test["churned_within_horizon"].sum() >= 3
    assert run.details["rows"]["test_open"] == len(test)
    assert run.details["positives"]["test_open"] == int(test["churned_within_horizon"].sum())
    assert run.details["rows"]["test"] > len(test), "all test rows include notice and rows that cannot churn"
    for table in (
        "lift_curve",
        "calibration_curve where breakdown = 'risk_tier'",
        "calibration_curve where breakdown = 'decile'",
    ):
        sql = f"select sum(rows) from ml.{table} {'and' if 'where' in table else 'where'} model_id = ?"
        assert _query(warehouse, sql, [run.model_id]) == [(len(test),)], table

    # The registry's headline ROC AUC is the champion model's own on those rows, recomputed here.
    path, checksum = _query(
        warehouse, "select file_path, file_sha256 from ml.model_registry where model_id = ?", [run.model_id]
    )[0]
    model = model_file.read(path, checksum)
    y = test["churned_within_horizon"].to_numpy()
    auc = roc_auc_score(y, model.predict(feature_matrix(test, model.features)))
    headline = dict(
        _query(
            warehouse,
            "select scorer, value from ml.model_metrics where model_id = ? and metric = 'roc_auc'",
            [run.model_id],
        )
    )
    assert abs(headline["xgboost"] - auc) < 1e-9
    assert (
        abs(
            headline["health_score"]
            - roc_auc_score(y, 100 - test["health_score"].fillna(test["health_score"].median()))
        )
        < 1e-9
    )
    assert headline["all_rows_xgboost"] != headline["xgboost"]
    # Promotion is decided on the open-row figure.
    assert "(open rows)" in run.decision and f"{headline['xgboost']:.3f}" in run.decision

    assert len(FEATURES) == len(run.features)


@pytest.mark.xfail(
    strict=True,
    reason="not met yet: on S the churn model learns from 7 weeks with 7 churned rows (two 90-day gaps take "
    "most of a 12-month world) and does not rank the open test rows both above chance with 95 % confidence and "
    "above the health score alone (about 0.69); strict, so it fails once the model meets it",
)
def test_churn_model_ranks_open_rows_better_than_chance_and_the_health_score(
    warehouse: Path, models: Path, s_config: MlConfig
) -> None:
    """A floor with a reason: on the rows still open, the model ranks churners above non-churners better
    than chance with 95 % confidence (account-clustered bootstrap), and better than the health score
    alone on the same rows (what a CSM has without the model)."""
    run = train_on(warehouse, "churn", s_config, models)
    assert run.metrics["xgboost"]["roc_auc_ci_low"] > 0.5
    assert run.metrics["xgboost"]["roc_auc"] > run.metrics["health_score"]["roc_auc"]
