"""Evaluation of probability scores on labelled rows: ranking, calibration (by probability bin, risk
tier and decile), lift, early recall, and confidence intervals by a bootstrap that resamples accounts
(an account's rows on successive observation days are not independent)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

CALIBRATION_BINS = 10
BOOTSTRAP_SAMPLES = 200
TIERS = ("High", "Medium", "Low")


def roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    return float(roc_auc_score(y, score)) if 0 < y.sum() < len(y) else None


def calibration_curve(y: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    """Ten equal-width probability bins (empty ones left out): mean predicted vs observed rate."""
    bins = np.minimum((probability * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    frame = pd.DataFrame({"bin": bins, "p": probability, "y": y})
    curve = frame.groupby("bin").agg(mean_predicted=("p", "mean"), observed_rate=("y", "mean"), rows=("y", "size"))
    return curve.reset_index()


def calibration_by_tier(
    y: np.ndarray, probability: np.ndarray, high: float, medium: float, groups: np.ndarray | None = None
) -> pd.DataFrame:
    """Per risk tier (bin 1 = High, 2 = Medium, 3 = Low; empty tiers left out): mean predicted vs observed.
    With `groups` (the rows' accounts), the observed rate's 95 % interval from a bootstrap of the tier's
    accounts (observed_ci_low, observed_ci_high): a tier of a few hundred accounts observes its rate
    only to within several points, which is what a predicted-vs-observed gap is to be read against."""
    bins = np.where(probability >= high, 1, np.where(probability >= medium, 2, 3))
    frame = pd.DataFrame({"bin": bins, "p": probability, "y": y})
    curve = frame.groupby("bin").agg(mean_predicted=("p", "mean"), observed_rate=("y", "mean"), rows=("y", "size"))
    curve = curve.reset_index()
    if groups is not None:
        bounds = []
        for b in curve["bin"]:
            members = np.flatnonzero(bins == b)
            outcome = y[members]
            found = interval(cluster_bootstrap(groups[members], lambda r, o=outcome: float(o[r].mean())))
            bounds.append(found or (np.nan, np.nan))
        curve["observed_ci_low"] = [lo for lo, _ in bounds]
        curve["observed_ci_high"] = [hi for _, hi in bounds]
    return curve.assign(label=[TIERS[b - 1] for b in curve["bin"]])


def calibration_by_decile(y: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    """Per decile of the probability (1 = highest), so that every bin holds a tenth of the rows."""
    frame = pd.DataFrame({"bin": _deciles(probability), "p": probability, "y": y})
    curve = frame.groupby("bin").agg(mean_predicted=("p", "mean"), observed_rate=("y", "mean"), rows=("y", "size"))
    return curve.reset_index()


def _deciles(score: np.ndarray) -> np.ndarray:
    order = np.argsort(-score, kind="stable")
    decile = np.empty(len(score), dtype=int)
    decile[order] = np.arange(len(score)) * 10 // max(len(score), 1) + 1
    return decile


def expected_calibration_error(y: np.ndarray, probability: np.ndarray) -> float:
    curve = calibration_curve(y, probability)
    gaps = (curve["mean_predicted"] - curve["observed_rate"]).abs()
    return float((gaps * curve["rows"]).sum() / curve["rows"].sum())


def lift_curve(y: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    """Deciles by score (1 = highest): rows, positives, rate and lift over the overall rate."""
    frame = pd.DataFrame({"decile": _deciles(score), "y": y})
    curve = frame.groupby("decile").agg(rows=("y", "size"), positives=("y", "sum")).reset_index()
    curve["positive_rate"] = curve["positives"] / curve["rows"]
    base = y.mean() if len(y) else 0.0
    curve["lift"] = curve["positive_rate"] / base if base > 0 else np.nan
    return curve


def top_decile_lift(y: np.ndarray, score: np.ndarray) -> float | None:
    return float(lift_curve(y, score)["lift"].iloc[0]) if len(y) and y.sum() > 0 else None


def fast_roc_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC from mid-ranks (the Mann-Whitney statistic; equal to roc_auc), cheap enough to bootstrap."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if not positives or not negatives:
        return None
    ranks = rankdata(score)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _fast_top_decile_lift(y: np.ndarray, score: np.ndarray) -> float | None:
    """top_decile_lift without the frame: the first decile is the ceil(n / 10) highest-scored rows."""
    if not len(y) or not y.sum():
        return None
    top = np.argsort(-score, kind="stable")[: -(-len(y) // 10)]
    return float(y[top].mean() / y.mean())


def cluster_bootstrap(groups: np.ndarray, statistic, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> np.ndarray:
    """`statistic(rows)` on `samples` resamples that draw whole groups (accounts) with replacement,
    each drawn group bringing all its rows; resamples where it is undefined (None) are left out."""
    codes, uniques = pd.factorize(pd.Series(groups))
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=len(uniques))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(samples):
        drawn = rng.integers(0, len(uniques), len(uniques))
        lengths = counts[drawn]
        offsets = np.repeat(starts[drawn] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        rows = order[np.arange(lengths.sum()) + offsets]
        value = statistic(rows)
        if value is not None and np.isfinite(value):
            values.append(value)
    return np.array(values, dtype=float)


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float] | None:
    """The percentile interval of bootstrap values (None when there are none)."""
    if not len(values):
        return None
    tail = (1 - level) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


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
    groups: np.ndarray | None = None,
) -> dict[str, float]:
    """The metric set of `ml.model_metrics` (Brier and ECE only for probabilities; with `groups`, the
    rows' accounts, 95 % intervals of ROC AUC and top-decile lift by an account-clustered bootstrap)."""
    figures: dict[str, float | None] = {
        "roc_auc": roc_auc(y, score),
        "pr_auc": float(average_precision_score(y, score)) if y.sum() > 0 else None,
        "top_decile_lift": top_decile_lift(y, score),
    }
    if groups is not None and y.sum() > 0:
        # 95 % intervals from resampling accounts: an account's rows on successive days move together.
        for name, statistic in (("roc_auc", fast_roc_auc), ("top_decile_lift", _fast_top_decile_lift)):
            bounds = interval(cluster_bootstrap(groups, lambda rows, f=statistic: f(y[rows], score[rows])))
            if bounds is not None:
                figures[f"{name}_ci_low"], figures[f"{name}_ci_high"] = bounds
    if is_probability:
        figures["brier"] = float(brier_score_loss(y, score))
        figures["ece"] = expected_calibration_error(y, score)
    if rows is not None and churn_dates is not None and flag_threshold is not None:
        figures["recall_60d"] = recall_before_churn(rows, score, churn_dates, flag_threshold)
    return {k: v for k, v in figures.items() if v is not None and np.isfinite(v)}
