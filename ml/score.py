"""Daily scoring: every active account (the snapshot rows of the data clock's as-of day) gets its
churn probability, risk tier, expansion propensity and risk drivers from the champion models;
then drift against the training data and the realised performance of scores whose horizon passed.
Everything of one run is written in one transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd

from core.clock import utc_now
from ml import drift, registry
from ml.config import MlConfig, load_config
from ml.errors import ModelError
from ml.feature_source import DuckDBSource, FeatureSource, Rows
from ml.features import (
    KEYS,
    SNAPSHOTS,
    check_features,
    churn_dates,
    feature_matrix,
    horizon_days,
    read_snapshots,
    snapshot_columns,
)
from ml.metrics import roc_auc
from ml.model_file import BaselineModel, CalibratedModel
from ml.reasons import EXTRA_COLUMNS, drivers

log = logging.getLogger(__name__)
# The tier of an account that gave notice (cancellation at period end known on the as-of day).
NOTICE_TIER = "Notice given"
SCORE_COLUMNS = [
    "account_id", "scored_on", "scored_at", "churn_model_id", "churn_probability", "churn_risk_tier",
    "expansion_model_id", "expansion_propensity", "driver_1", "driver_2", "driver_3", "drivers_json", "churn_scorer",
    "churn_base_rate",
]  # fmt: skip


@dataclass
class ScoreResult:
    scored_on: date
    accounts: int
    churn_model_id: str
    expansion_model_id: str | None
    high_risk: int
    warnings: list[str] = field(default_factory=list)
    churn_scorer: str = "model"  # 'model' (the champion) or 'baseline: <scorer>'


def scorer_of(model: CalibratedModel) -> str:
    return f"baseline: {model.scorer}" if isinstance(model, BaselineModel) else "model"


def score_frame(
    rows: pd.DataFrame,
    churn: tuple[str, CalibratedModel],
    expansion: tuple[str, CalibratedModel] | None,
    cfg: MlConfig,
    scored_on: date,
    scored_at: datetime,
    base_rate: float,
) -> pd.DataFrame:
    """One row per account; risk tiers are multiples of `base_rate`, the churn model's training base rate."""
    churn_id, churn_model = churn
    x = feature_matrix(rows, churn_model.features)
    probability = churn_model.predict(x)
    reasons = drivers(churn_model.features, x, churn_model.contributions(x), rows)
    # An account that has given notice is no prediction: its tier says so (the save-play alert
    # follows it), and its drivers are still the behaviour behind it, never the notice.
    notice = (
        pd.to_numeric(rows["cancellation_notice"], errors="coerce").fillna(0).to_numpy() >= 0.5
        if "cancellation_notice" in rows
        else np.zeros(len(rows), dtype=bool)
    )
    frame = pd.DataFrame(
        {
            "account_id": rows["account_id"].to_numpy(),
            "scored_on": scored_on,
            "scored_at": scored_at,
            "churn_model_id": churn_id,
            "churn_probability": probability.astype(float),
            "churn_risk_tier": [
                NOTICE_TIER if n else cfg.risk_tier(p, base_rate) for p, n in zip(probability, notice, strict=True)
            ],
            "expansion_model_id": expansion[0] if expansion else None,
            "expansion_propensity": (
                expansion[1].predict(feature_matrix(rows, expansion[1].features)).astype(float) if expansion else np.nan
            ),
            "churn_scorer": scorer_of(churn_model),
            # The base rate the tiers are multiples of; the churn_risk_high alert rule reads it too.
            "churn_base_rate": float(base_rate),
        }
    )
    return pd.concat([frame, reasons], axis=1)[SCORE_COLUMNS]


def drift_rows(model_id: str, model: CalibratedModel, rows: pd.DataFrame, probability: np.ndarray, cfg: MlConfig,
               day: date) -> pd.DataFrame:  # fmt: skip
    x = feature_matrix(rows, model.features)
    values = {f: x[:, i] for i, f in enumerate(model.features)} | {drift.SCORE: probability.astype(float)}
    out = []
    for feature, current in values.items():
        if feature in model.reference:
            value = drift.psi(model.reference[feature], current.astype(float))
            out.append((day, model_id, feature, value, drift.level(value, cfg.drift_moderate, cfg.drift_major)))
    return pd.DataFrame(out, columns=["computed_on", "model_id", "feature", "psi", "drift_level"])


def realised_performance(
    con: duckdb.DuckDBPyConnection, today: date, source: FeatureSource | None = None, horizon: int | None = None
) -> pd.DataFrame:
    """Per churn model and scoring day whose horizon has passed: accounts, churners, mean score,
    observed rate and ROC AUC (NULL when nobody or everybody churned). The scores are the connection's,
    the churn dates (and the horizon, unless given) the source's."""
    source = source or DuckDBSource(con)
    horizon = horizon if horizon is not None else horizon_days(source)
    scores = con.execute(
        "select churn_model_id as model_id, scored_on, churn_probability, account_id from ml.account_scores "
        "where scored_on + cast(? as integer) <= ?",
        [horizon, today],
    ).df()
    columns = ["model_id", "scored_on", "accounts", "churned", "mean_probability", "observed_rate", "roc_auc"]
    if scores.empty:
        return pd.DataFrame(columns=columns)
    churned_on = pd.to_datetime(scores["account_id"].map(churn_dates(source)))
    scored_on = pd.to_datetime(scores["scored_on"])
    scores["churned"] = ((churned_on > scored_on) & (churned_on <= scored_on + pd.Timedelta(days=horizon))).astype(int)
    out = []
    for (model_id, day), group in scores.groupby(["model_id", "scored_on"]):
        y = group["churned"].to_numpy()
        p = group["churn_probability"].to_numpy()
        out.append((model_id, day, len(group), int(y.sum()), float(p.mean()), float(y.mean()), roc_auc(y, p)))
    return pd.DataFrame(out, columns=columns)


def score(
    con: duckdb.DuckDBPyConnection,
    day: date,
    config: MlConfig | None = None,
    scored_at: datetime | None = None,
    source: FeatureSource | None = None,
) -> ScoreResult:
    """Score every active account as of the run's as-of date `day` with the champions and write scores,
    drift and realised performance. The snapshot rows come from `source` (ml/feature_source.py; default:
    the connection's DuckDB); models, scores and drift live in the connection's `ml` schema."""
    cfg = config or load_config()
    registry.ensure_tables(con)
    # The stamp CSMs see in the CRM (Copilot_Scored_At__c): the run's as-of day (core/clock.py) at the
    # run's UTC time of day.
    scored_at = scored_at or datetime.combine(day, utc_now().time().replace(microsecond=0))
    churn_id, churn_model, warning = registry.load_scoring_model(con, "churn")
    warnings = [warning] if warning else []
    try:
        expansion_id, expansion_model, warning = registry.load_scoring_model(con, "expansion")
        expansion: tuple[str, CalibratedModel] | None = (expansion_id, expansion_model)
        warnings += [warning] if warning else []
    except ModelError as exc:
        expansion = None
        warnings.append(f"expansion propensity left empty: {exc}")
        log.warning(warnings[-1])
    source = source or DuckDBSource(con)
    columns = snapshot_columns(source)
    needed = list(dict.fromkeys(churn_model.features + (expansion[1].features if expansion else [])))
    check_features(columns, needed)
    # What the reasons' words and the notice tier read beyond the features (where the mart has it).
    needed += [c for c in (*EXTRA_COLUMNS, "cancellation_notice") if c in columns and c not in needed + KEYS]
    rows = read_snapshots(source, Rows.observed_on(day), needed)
    if rows.empty:
        raise ModelError(f"{SNAPSHOTS} has no rows for the as-of day {day}: run dbt build first")
    scores = score_frame(
        rows, (churn_id, churn_model), expansion, cfg, day, scored_at, registry.base_rate(con, churn_id)
    )
    drifts = [drift_rows(churn_id, churn_model, rows, scores["churn_probability"].to_numpy(), cfg, day)]
    if expansion:
        probability = scores["expansion_propensity"].to_numpy()
        drifts.append(drift_rows(expansion[0], expansion[1], rows, probability, cfg, day))
    drift_frame = pd.concat(drifts, ignore_index=True)

    con.begin()
    try:
        con.execute("delete from ml.account_scores where scored_on = ?", [day])
        con.register("new_scores", scores)
        listed = ", ".join(SCORE_COLUMNS)
        con.execute(f"insert into ml.account_scores ({listed}) select {listed} from new_scores")
        con.execute(
            "create or replace table ml.account_scores_latest as select * from ml.account_scores "
            "where scored_on = (select max(scored_on) from ml.account_scores)"
        )
        con.execute("delete from ml.feature_drift where computed_on = ?", [day])
        con.register("new_drift", drift_frame)
        con.execute("insert into ml.feature_drift select computed_on, model_id, feature, psi, drift_level "
                    "from new_drift")  # fmt: skip
        horizon = rows["label_horizon_days"].max()
        realised = realised_performance(con, day, source, int(horizon) if pd.notna(horizon) else None)
        con.register("new_realised", realised)
        con.execute("delete from ml.realised_performance")
        con.execute("insert into ml.realised_performance select * from new_realised")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return ScoreResult(
        day,
        len(scores),
        churn_id,
        expansion[0] if expansion else None,
        int((scores["churn_risk_tier"] == "High").sum()),
        warnings,
        scorer_of(churn_model),
    )
