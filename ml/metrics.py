"""Evaluation of probability scores on labelled rows: ranking, calibration, lift, early recall."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

CALIBRATION_BINS = 10


def roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    return float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else None


def calibration_curve(y: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    """Ten equal-width probability bins (empty ones left out): mean predicted vs observed rate."""
    bins = np.minimum((probability * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    frame = pd.DataFrame({"bin": bins, "p": probability, "y": y})
    curve = frame.groupby("bin").agg(mean_predicted=("p", "mean"), observed_rate=("y", "mean"), rows=("y", "size"))
    return curve.reset_index()


def expected_calibration_error(y: np.ndarray, probability: np.ndarray) -> float:
    curve = calibration_curve(y, probability)
    gaps = (curve["mean_predicted"] - curve["observed_rate"]).abs()
    return float((gaps * curve["rows"]).sum() / curve["rows"].sum())


def lift_curve(y: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    """Deciles by score (1 = highest): rows, positives, rate and lift over the overall rate."""
    order = np.argsort(-score, kind="stable")
    decile = np.empty(len(score), dtype=int)
    decile[order] = np.arange(len(score)) * 10 // max(len(score), 1) + 1
    frame = pd.DataFrame({"decile": decile, "y": y})
    curve = frame.groupby("decile").agg(rows=("y", "size"), positives=("y", "sum")).reset_index()
    curve["positive_rate"] = curve["positives"] / curve["rows"]
    base = y.mean() if len(y) else 0.0
    curve["lift"] = curve["positive_rate"] / base if base > 0 else np.nan
    return curve


def recall_before_churn(
    rows: pd.DataFrame, probability: np.ndarray, churn_dates: pd.Series, threshold: float, days: int = 60
) -> float | None:
    """Share of the accounts that churned whose score reached `threshold` on some observation day at
    least `days` days before the churn (and within the horizon, so the row's label says churn)."""
    frame = rows[["account_id", "observation_date"]].assign(p=probability, y=rows["label"].to_numpy())
    frame = frame[frame["y"] == 1]
    frame = frame.assign(churn_date=frame["account_id"].map(churn_dates))
    lead = (pd.to_datetime(frame["churn_date"]) - pd.to_datetime(frame["observation_date"])).dt.days
    early = frame[lead >= days]
    if early.empty:
        return None
    return float(early.groupby("account_id")["p"].max().ge(threshold).mean())


def evaluate(
    y: np.ndarray,
    score: np.ndarray,
    is_probability: bool = True,
    rows: pd.DataFrame | None = None,
    churn_dates: pd.Series | None = None,
    flag_threshold: float | None = None,
) -> dict[str, float]:
    """The metric set of `ml.model_metrics` (Brier and ECE only for probabilities)."""
    figures: dict[str, float | None] = {
        "roc_auc": roc_auc(y, score),
        "pr_auc": float(average_precision_score(y, score)) if y.sum() > 0 else None,
        "top_decile_lift": float(lift_curve(y, score)["lift"].iloc[0]) if len(y) and y.sum() > 0 else None,
    }
    if is_probability:
        figures["brier"] = float(brier_score_loss(y, score))
        figures["ece"] = expected_calibration_error(y, score)
    if rows is not None and churn_dates is not None and flag_threshold is not None:
        figures["recall_60d"] = recall_before_churn(rows, score, churn_dates, flag_threshold)
    return {k: v for k, v in figures.items() if v is not None and np.isfinite(v)}
