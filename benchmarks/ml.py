"""Churn model quality and speed on a built warehouse, against the sandbox's ground truth (targets on
M: (AUC_model - 0.5) >= 0.9 x (AUC_oracle - 0.5) on the same test rows and above both baselines,
ECE <= 0.03, training <= 120 s, scoring all accounts with reasons <= 10 s).

`run(warehouse, truth_dir)` trains the churn and expansion models into a private models folder,
scores every account, then compares the churn model with the oracle (`p_churn_90d` of
truth/account_months) on the test rows observed in a month's first week: the truth is kept per
month start, so those rows are the ones whose 90-day window it describes (shifted by <= 6 days).
The truth is read here only, never by the product. Give it a copy of the warehouse: it writes `ml.*`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from core.clock import require_as_of_date
from core.warehouse import connect
from ml import model_file
from ml.features import feature_matrix, read_snapshots
from ml.metrics import roc_auc
from ml.score import score
from ml.train import train

TRAIN_SECONDS = 120.0
SCORE_SECONDS = 10.0
MAX_ECE = 0.03
ORACLE_SHARE = 0.9


def oracle_comparison(warehouse: Path, run: Any, truth_dir: Path) -> dict[str, float]:
    truth = pd.concat(pd.read_parquet(f) for f in sorted((truth_dir / "account_months").glob("*.parquet")))
    truth["month_start"] = pd.to_datetime(truth["month_start"]).dt.date
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        w = run.windows
        rows = read_snapshots(con, f"observation_date between date '{w['test_start']}' and date '{w['test_end']}'")
        path, checksum = con.execute(
            "select file_path, file_sha256 from ml.model_registry where model_id = ?", [run.model_id]
        ).fetchone()
    finally:
        con.close()
    rows = rows[rows["label_is_complete"]]
    model = model_file.read(path, checksum)
    rows = rows.assign(
        p_model=model.predict(feature_matrix(rows, model.features)),
        month_start=[d.replace(day=1) for d in rows["observation_date"]],
    )
    rows = rows[[d.day <= 7 for d in rows["observation_date"]]]
    joined = rows.merge(
        truth[["sf_account_id", "month_start", "p_churn_90d"]],
        left_on=["account_id", "month_start"],
        right_on=["sf_account_id", "month_start"],
    )
    y = joined["churned_within_horizon"].to_numpy()
    model_auc, oracle_auc = roc_auc(y, joined["p_model"].to_numpy()), roc_auc(y, joined["p_churn_90d"].to_numpy())
    return {
        "oracle_rows": len(joined),
        "oracle_positives": int(y.sum()),
        "auc_model_on_oracle_rows": round(model_auc, 4),
        "auc_oracle": round(oracle_auc, 4),
        "share_of_oracle_lift": round((model_auc - 0.5) / (oracle_auc - 0.5), 3),
    }


def run(warehouse: str | Path, truth_dir: str | Path, models_dir: str | Path | None = None) -> dict[str, Any]:
    warehouse = Path(warehouse).resolve()
    models = Path(models_dir or tempfile.mkdtemp(prefix="bench-models-"))
    with connect(warehouse) as con:
        as_of = require_as_of_date(con)
    start = time.perf_counter()
    with connect(warehouse) as con:
        churn = train(con, "churn", as_of, directory=models)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with connect(warehouse) as con:
        expansion = train(con, "expansion", as_of, directory=models)
    expansion_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with connect(warehouse) as con:
        scored = score(con, as_of)
    score_seconds = time.perf_counter() - start

    xgb, health, logistic = (churn.metrics[s] for s in ("xgboost", "health_score", "logistic_regression"))
    oracle = oracle_comparison(warehouse, churn, Path(truth_dir))
    figures = {
        "train_rows": churn.details["rows"]["train"],
        "test_rows": churn.details["rows"]["test"],
        "test_positives": churn.details["positives"]["test"],
        "churn_train_seconds": round(train_seconds, 1),
        "expansion_train_seconds": round(expansion_seconds, 1),
        "score_seconds": round(score_seconds, 1),
        "accounts_scored": scored.accounts,
        "roc_auc": round(xgb["roc_auc"], 4),
        "pr_auc": round(xgb["pr_auc"], 4),
        "brier": round(xgb["brier"], 4),
        "ece": round(xgb["ece"], 4),
        "top_decile_lift": round(xgb["top_decile_lift"], 2),
        "recall_60d": round(xgb.get("recall_60d", float("nan")), 3),
        "roc_auc_health_score": round(health["roc_auc"], 4),
        "roc_auc_logistic_regression": round(logistic["roc_auc"], 4),
        "expansion_roc_auc": round(expansion.metrics["xgboost"]["roc_auc"], 4),
        **oracle,
    }
    figures["met"] = (
        oracle["share_of_oracle_lift"] >= ORACLE_SHARE
        and xgb["roc_auc"] > max(health["roc_auc"], logistic["roc_auc"])
        and xgb["ece"] <= MAX_ECE
        and train_seconds <= TRAIN_SECONDS
        and score_seconds <= SCORE_SECONDS
    )
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run(sys.argv[1], sys.argv[2]), indent=2))
