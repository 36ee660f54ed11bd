"""Training: out-of-time split of the snapshot rows, XGBoost with a small grid searched by early
stopping on validation, calibration on validation, evaluation on the test period beside the
baselines, then registration and the promotion decision (see registry.py).

A model is trained as of a date (the run's as-of date, core/clock.py): it learns from the snapshot rows
whose labels are complete on that day, and the registry records that day. `registry.training_due` is
the retraining policy (ml/config.yml `retrain_every_days`); when to apply it is the orchestration's
decision (orchestration/defs/ml.py), and `python -m ml train` trains whenever it is asked."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from core import warehouse as wh
from core.clock import utc_now
from core.warehouse import table_exists
from ml import drift, registry
from ml.config import MlConfig, load_config, models_dir
from ml.errors import ModelError, TooLittleData
from ml.feature_source import DuckDBSource, FeatureSource, Rows
from ml.features import (
    FEATURES,
    LABELS,
    NOTICE,
    OPEN,
    churn_dates,
    feature_matrix,
    read_snapshots,
    snapshot_columns,
)
from ml.metrics import calibration_by_decile, calibration_by_tier, calibration_curve, evaluate, lift_curve, roc_auc
from ml.model_file import BaselineModel, CalibratedModel
from ml.split import PERIODS, period_of, split_periods

log = logging.getLogger(__name__)


@dataclass
class TrainingData:
    rows: pd.DataFrame  # complete-label snapshot rows
    horizon: int
    churn_dates: pd.Series  # account_id -> churn date
    feedback: pd.DataFrame  # account_id, task_date, outcome, is_expansion


def load_training_data(
    con: duckdb.DuckDBPyConnection, as_of: date, features: list[str] = FEATURES, source: FeatureSource | None = None
) -> TrainingData:
    """The snapshot rows whose labels are complete on `as_of` (their horizon ends on or before it), and
    what else training reads. On the data clock's own day that is every row the mart marks complete; on
    an earlier day an operator pinned, rows a later build completed are left out. The warehouse's rows
    (snapshots, churn dates) come from `source` (default: the connection's DuckDB); the CSMs' verdicts
    from the connection."""
    source = source or DuckDBSource(con)
    rows = read_snapshots(source, Rows(complete_on=as_of), features)
    horizon = rows["label_horizon_days"].max() if len(rows) else None
    churn = churn_dates(source)
    feedback = load_feedback(con)
    return TrainingData(rows, int(horizon) if pd.notna(horizon) else 90, churn, feedback)


FEEDBACK_COLUMNS = ["account_id", "task_date", "outcome", "is_expansion"]


def load_feedback(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """CSMs' verdicts on alerts: the CRM tasks' outcomes (Salesforce or HubSpot) and those recorded in the Copilot API
    (`staging.stg_copilot_app__alert_feedback`); for an alert with both, the latest wins. The day of a
    verdict is the day its alert's Task was created (the alert's first day in the CSM's hands), or for
    an alert without a Task, the day the outcome was recorded."""
    parts = []
    if table_exists(con, "staging.stg_crm__tasks"):
        decided = (
            "system_modstamp_at" if "system_modstamp_at" in wh.columns(con, "staging.stg_crm__tasks") else "created_at"
        )
        parts.append(
            "select copilot_alert_id as alert_id, account_id, cast(created_at as date) as task_date, "
            "copilot_outcome as outcome, coalesce(lower(subject) like '%expansion%', false) as is_expansion, "
            f"{decided} as decided_at "
            "from staging.stg_crm__tasks where copilot_alert_id is not null and copilot_outcome is not null"
        )
    if table_exists(con, "staging.stg_copilot_app__alert_feedback"):
        parts.append(
            "select alert_id, account_id, cast(recorded_at as date) as task_date, copilot_outcome as outcome, "
            "coalesce(rule_id like '%expansion%', false) as is_expansion, recorded_at as decided_at "
            "from staging.stg_copilot_app__alert_feedback where copilot_outcome is not null"
        )
    if not parts:
        return pd.DataFrame(columns=FEEDBACK_COLUMNS)
    latest = (
        f"select * from ({' union all '.join(parts)}) "
        "qualify row_number() over (partition by alert_id order by decided_at desc) = 1"
    )
    # An API verdict on an alert that also has a Task keeps the Task's day (the alert's first day).
    task_days = (
        f"select alert_id, min(task_date) as task_date from ({parts[0]}) group by alert_id"
        if table_exists(con, "staging.stg_crm__tasks")
        else "select null::varchar as alert_id, null::date as task_date where false"
    )
    return con.execute(
        f"""with verdicts as ({latest}), task_days as ({task_days})
        select v.account_id, coalesce(t.task_date, v.task_date) as task_date, v.outcome, v.is_expansion
        from verdicts as v left join task_days as t using (alert_id)"""
    ).df()[FEEDBACK_COLUMNS]


def feedback_weights(rows: pd.DataFrame, feedback: pd.DataFrame, kind: str, cfg: MlConfig) -> np.ndarray:
    """Weights > 1 on the account's rows in the window before a CSM verdict that the label confirms:
    'Confirmed risk' on rows that turned positive, 'False alarm' on rows that did not."""
    weights = np.ones(len(rows))
    tasks = feedback[feedback["is_expansion"].astype(bool) == (kind == "expansion")]
    tasks = tasks[tasks["outcome"].isin(["Confirmed risk", "False alarm"])]
    if tasks.empty:
        return weights
    keyed = rows[["account_id", "observation_date", "label"]].reset_index(names="row")
    joined = keyed.merge(tasks, on="account_id")
    lag = (pd.to_datetime(joined["task_date"]) - pd.to_datetime(joined["observation_date"])).dt.days
    joined = joined[(lag >= 0) & (lag <= cfg.feedback_window_days)]
    confirmed = joined[(joined["outcome"] == "Confirmed risk") & (joined["label"] == 1)]["row"]
    false_alarm = joined[(joined["outcome"] == "False alarm") & (joined["label"] == 0)]["row"]
    weights[confirmed.to_numpy()] = np.maximum(weights[confirmed.to_numpy()], cfg.confirmed_weight)
    weights[false_alarm.to_numpy()] = np.maximum(weights[false_alarm.to_numpy()], cfg.false_alarm_weight)
    return weights


def fingerprint(rows: pd.DataFrame, features: list[str]) -> str:
    hashed = pd.util.hash_pandas_object(rows[["account_id", "observation_date", *features, "label"]], index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()


def fit_booster(
    cfg: MlConfig, x: dict[str, np.ndarray], y: dict[str, np.ndarray], weights: np.ndarray, features: list[str]
) -> tuple[xgb.Booster, dict[str, Any], list[dict[str, Any]]]:
    """Each grid entry trained with early stopping on validation; the best by validation score wins."""
    positives = float((weights * y["train"]).sum())
    negatives = float((weights * (1 - y["train"])).sum())
    base = {**cfg.xgb_fixed, "scale_pos_weight": negatives / positives, "seed": 0}
    dtrain = xgb.DMatrix(x["train"], label=y["train"], weight=weights, feature_names=features)
    dvalid = xgb.DMatrix(x["valid"], label=y["valid"], feature_names=features)
    best: tuple[float, xgb.Booster, dict[str, Any]] | None = None
    results = []
    for entry in cfg.xgb_grid:
        params = {**base, **entry}
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=cfg.max_rounds,
            evals=[(dvalid, "valid")],
            early_stopping_rounds=cfg.early_stopping_rounds,
            verbose_eval=False,
        )
        score = float(booster.best_score)
        results.append({**entry, "rounds": booster.best_iteration + 1, "valid_score": round(score, 5)})
        # Metrics where lower is better (logloss, error) are negated so that higher always wins.
        key = score if params.get("eval_metric", "auc") in ("auc", "aucpr", "map", "ndcg") else -score
        if best is None or key > best[0]:
            best = (key, booster[: booster.best_iteration + 1], {**params, "rounds": booster.best_iteration + 1})
    assert best is not None
    return best[1], best[2], results


def calibrate(booster: xgb.Booster, x_valid: np.ndarray, y_valid: np.ndarray, method: str, features: list[str]):
    margin = booster.predict(xgb.DMatrix(x_valid, feature_names=features), output_margin=True)
    return calibration_of(margin, y_valid, method)


def calibration_of(margin: np.ndarray, y_valid: np.ndarray, method: str) -> dict[str, Any]:
    """The calibration map from a scorer's margin (log-odds) on validation to observed rates."""
    if method == "platt":
        fit = LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), y_valid)
        return {"method": "platt", "a": float(fit.coef_[0][0]), "b": float(fit.intercept_[0])}
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(1 / (1 + np.exp(-margin)), y_valid)
    return {"method": "isotonic", "x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}


def sample_rows(labels: np.ndarray, max_negatives: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows a model is fitted on: every positive row, and when a period has more negative rows
    than `max_negatives`, that many of them drawn at random (seeded: a rerun draws the same rows).
    Returned with the weight each kept row stands for (a kept negative: all negatives / kept), so
    the classes weigh in training what they weighed before. A long history at L had 650,000
    negative training rows, and a booster's time grows with its rows."""
    negatives = np.flatnonzero(labels == 0)
    if len(negatives) <= max_negatives:
        return np.arange(len(labels)), np.ones(len(labels))
    kept = np.random.default_rng(0).choice(negatives, max_negatives, replace=False)
    rows = np.sort(np.concatenate([np.flatnonzero(labels != 0), kept]))
    return rows, np.where(labels[rows] == 0, len(negatives) / max_negatives, 1.0)


def _fit_calibrated(
    cfg, x, y, weights, features, calibration_rows: np.ndarray | None = None
) -> tuple[CalibratedModel, dict[str, Any], list[dict[str, Any]]]:
    """The searched booster and its calibration map, fitted on the validation rows `calibration_rows`
    (all of them when None). The search trains on sampled rows and stops early on a smaller sample of
    the validation rows (`sample_rows`); the calibration map sees every validation row."""
    train_rows, stands_for = sample_rows(y["train"], cfg.max_negative_rows)
    # Early stopping scores the validation rows after every round: a smaller sample of them is enough
    # to see where the validation score stops rising.
    valid_rows, _ = sample_rows(y["valid"], cfg.early_stopping_negative_rows)
    booster, params, grid = fit_booster(
        cfg,
        {"train": x["train"][train_rows], "valid": x["valid"][valid_rows]},
        {"train": y["train"][train_rows], "valid": y["valid"][valid_rows]},
        weights[train_rows] * stands_for,
        features,
    )
    params["rows_searched"] = {"train": len(train_rows), "valid": len(valid_rows)}
    rows = np.ones(len(y["valid"]), bool) if calibration_rows is None else calibration_rows
    calibration = calibrate(booster, x["valid"][rows], y["valid"][rows], cfg.calibration, features)
    if calibration["method"] == "platt" and calibration["a"] <= 0:
        # A map that would reverse (or flatten) the booster's ranking: those rows do not rank churners
        # first on validation (too few of them), so the map is fitted on every validation row instead.
        calibration = calibrate(booster, x["valid"], y["valid"], cfg.calibration, features)
    return CalibratedModel(booster, features, calibration), params, grid


def importance(booster: xgb.Booster, features: list[str]) -> pd.DataFrame:
    gain = booster.get_score(importance_type="total_gain")
    total = sum(gain.values()) or 1.0
    frame = pd.DataFrame({"feature": features, "importance": [gain.get(f, 0.0) / total for f in features]})
    frame = frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    return frame.assign(rank=np.arange(1, len(frame) + 1))


def _health_baseline(rows: pd.DataFrame, kind: str) -> np.ndarray:
    health = rows["health_score"].astype(float)
    health = health.fillna(health.median() if health.notna().any() else 50.0).to_numpy()
    return health if kind == "expansion" else 100.0 - health


def _fit_linear(x_train: np.ndarray, y_train: np.ndarray) -> dict[str, Any]:
    """Logistic regression on standardised columns, missing values at the training median (0 where a
    column is all missing), as plain numbers a model file keeps."""
    x_train = x_train.astype(float)
    median = np.zeros(x_train.shape[1])
    present = ~np.isnan(x_train).all(axis=0)
    median[present] = np.nanmedian(x_train[:, present], axis=0)
    filled = np.where(np.isnan(x_train), median, x_train)
    mean, scale = filled.mean(axis=0), filled.std(axis=0)
    scale[scale == 0] = 1.0
    fit = LogisticRegression(max_iter=2000).fit((filled - mean) / scale, y_train)
    return {
        "median": median.tolist(),
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": fit.coef_[0].tolist(),
        "intercept": float(fit.intercept_[0]),
    }


def fit_baseline(
    cfg: MlConfig, parts: dict[str, pd.DataFrame], y: dict[str, np.ndarray], features: list[str], scope: np.ndarray
) -> tuple[BaselineModel, float] | None:
    """The scorer of last resort while no XGBoost model of the kind passes the promotion floor: the
    better on the test period of a calibrated logistic regression on every feature and one on the
    health score alone, or None when neither beats chance (test ROC AUC above 0.5)."""
    candidates = {"logistic_regression": features}
    if "health_score" in features:
        candidates["health_score"] = ["health_score"]
    best: tuple[BaselineModel, float] | None = None
    for scorer, columns in candidates.items():
        linear = _fit_linear(feature_matrix(parts["train"], columns), y["train"])
        model = BaselineModel(None, columns, {}, {}, linear, scorer)
        model.calibration = calibration_of(model.margin(feature_matrix(parts["valid"], columns)), y["valid"],
                                           cfg.calibration)  # fmt: skip
        auc = roc_auc(y["test"][scope], model.predict(feature_matrix(parts["test"], columns))[scope])
        if auc is not None and auc > 0.5 and (best is None or auc > best[1]):
            best = (model, auc)
    return best


def _baseline_run(
    cfg: MlConfig, main: registry.TrainingRun, parts: dict[str, pd.DataFrame], y: dict[str, np.ndarray],
    churn_kw: dict[str, Any], scope: np.ndarray,
) -> tuple[registry.TrainingRun, BaselineModel] | None:  # fmt: skip
    """The registry entry (status 'baseline') of the scorer used while `main`, rejected, leaves its
    kind without a champion; measured on the same test rows as `main` (`scope`: churn, the open rows)."""
    fitted = fit_baseline(cfg, parts, y, main.features, scope)
    if fitted is None:
        return None
    model, auc = fitted
    x = {p: feature_matrix(parts[p], model.features) for p in PERIODS}
    p_test, y_test = model.predict(x["test"])[scope], y["test"][scope]
    model.reference = {f: drift.reference(x["train"][:, i]) for i, f in enumerate(model.features)}
    model.reference[drift.SCORE] = drift.reference(model.predict(x["train"]).astype(float))
    weight = np.abs(np.asarray(model.linear["coef"]))
    frame = pd.DataFrame({"feature": model.features, "importance": weight / (weight.sum() or 1.0)})
    frame = frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    run = registry.TrainingRun(
        model_id=main.model_id.replace(f"{main.kind}-", f"{main.kind}-baseline-", 1),
        kind=main.kind,
        trained_at=main.trained_at,
        windows=main.windows,
        features=model.features,
        params={"scorer": model.scorer, "calibration": cfg.calibration},
        metrics={model.scorer: evaluate(y_test, p_test, **churn_kw)},
        details={**{k: main.details[k] for k in ("rows", "positives", "base_rate")}, "baseline_for": main.model_id},
        data_fingerprint=main.data_fingerprint,
        calibration=calibration_curve(y_test, p_test).assign(breakdown="probability_bin", label=None),
        lift=lift_curve(y_test, p_test),
        importance=frame.assign(rank=np.arange(1, len(frame) + 1)),
        status="baseline",
        decision=(
            f"scoring baseline ({model.scorer}, test ROC AUC {auc:.3f}): used while no {main.kind} model passes "
            f"promotion.min_roc_auc {cfg.min_roc_auc:.3f} ({main.model_id} {main.decision})"
        ),
        as_of_date=main.as_of_date,
    )
    return run, model


def _champion_on_window(
    con: duckdb.DuckDBPyConnection, kind: str, test_rows: pd.DataFrame, y_test: np.ndarray
) -> tuple[dict[str, Any] | None, float | None, str | None]:
    """(champion row, its ROC AUC on these test rows, why it could not be evaluated)."""
    from ml import model_file

    champion = registry.champion_row(con, kind)
    if champion is None:
        return None, None, None
    try:
        model = model_file.read(champion["file_path"], champion["file_sha256"])
        missing = [f for f in model.features if f not in test_rows.columns]
        if missing:
            raise ModelError(f"the test rows lack its feature(s) {', '.join(missing)}")
        return champion, roc_auc(y_test, model.predict(feature_matrix(test_rows, model.features))), None
    except ModelError as exc:
        return champion, None, str(exc)


def decide(
    cfg: MlConfig,
    run_auc: float | None,
    champion: dict[str, Any] | None,
    champion_auc: float | None,
    champion_problem: str | None,
    window: str,
) -> tuple[str, str, list[str]]:
    """(status, decision sentence, model ids to retire): the promotion rule."""
    shown = "n/a" if run_auc is None else f"{run_auc:.3f}"
    if run_auc is None or run_auc < cfg.min_roc_auc:
        return "rejected", f"rejected: test ROC AUC {shown} is below the minimum {cfg.min_roc_auc:.3f}", []
    if champion is None:
        return "champion", f"promoted: first model of its kind (test ROC AUC {shown} on {window})", []
    old = champion["model_id"]
    if champion_auc is None:
        reason = champion_problem or "it has no ROC AUC on these rows"
        return "champion", f"promoted: champion {old} could not be evaluated on {window} ({reason})", [old]
    if run_auc >= champion_auc - cfg.promotion_tolerance:
        sentence = f"promoted: test ROC AUC {shown} >= champion {old}'s {champion_auc:.3f} on the same window {window}"
        return "champion", sentence, [old]
    return (
        "challenger",
        f"kept as challenger: test ROC AUC {shown} < champion {old}'s {champion_auc:.3f} on the same window {window}",
        [],
    )


def train(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    as_of: date,
    config: MlConfig | None = None,
    directory: str | Path | None = None,
    features: list[str] = FEATURES,
    source: FeatureSource | None = None,
) -> registry.TrainingRun:
    """Train, evaluate and register one model of `kind` ('churn' or 'expansion') as of the run's
    as-of date `as_of` (it learns from the labels complete on that day); return the run. The snapshot
    rows come from `source` (ml/feature_source.py; default: the connection's DuckDB), the registry and
    the CSMs' verdicts from the connection."""
    if kind not in LABELS:
        raise ModelError(f"unknown model kind {kind!r}: churn or expansion")
    cfg = config or load_config()
    registry.ensure_tables(con)
    # The champion's own inputs are read too (those the mart still has), so that it is scored on the
    # same test rows even when its feature list differs from this model's.
    champion_features = json.loads((registry.champion_row(con, kind) or {}).get("features") or "[]")
    source = source or DuckDBSource(con)
    present = set(snapshot_columns(source))
    data = load_training_data(
        con, as_of, list(dict.fromkeys([*features, *(f for f in champion_features if f in present)])), source
    )
    rows = data.rows.assign(label=data.rows[LABELS[kind]].astype(int))
    windows = split_periods(rows["observation_date"], cfg, data.horizon)
    rows["period"] = period_of(rows["observation_date"], windows)
    rows = rows[rows["period"].notna()].reset_index(drop=True)
    excluded = 0
    if kind == "churn":
        # A customer who had given notice on the observation day has decided: announced churn, not a
        # prediction. Those rows are left out of training and validation (the test keeps them for the
        # secondary all-rows figures).
        announced = rows[NOTICE].astype(bool) & (rows["period"] != "test")
        excluded = int(announced.sum())
        rows = rows[~announced].reset_index(drop=True)
    parts = {p: rows[rows["period"] == p].reset_index(drop=True) for p in PERIODS}
    what = "churn" if kind == "churn" else "expansion"
    # The churn model is measured on the test rows whose outcome is still open (is_open_row: active,
    # no notice, contract ending within the horizon); the expansion model on every test row.
    scope = parts["test"][OPEN].astype(bool).to_numpy() if kind == "churn" else np.ones(len(parts["test"]), bool)
    test = parts["test"][scope].reset_index(drop=True)
    for p in PERIODS:
        found = int((test if p == "test" else parts[p])["label"].sum())
        if found < cfg.min_positives[p]:
            raise TooLittleData(
                f"too few {what} examples to train: {found} positive rows in the {p} period "
                f"({windows[f'{p}_start']} to {windows[f'{p}_end']}), at least {cfg.min_positives[p]} needed "
                f"(ml/config.yml min_positives.{p})"
            )
    x = {p: feature_matrix(parts[p], features) for p in PERIODS}
    y = {p: parts[p]["label"].to_numpy() for p in PERIODS}
    weights = feedback_weights(parts["train"], data.feedback, kind, cfg)

    # The churn model's probabilities are read where the outcome is open, so its calibration map is fitted
    # on the open validation rows (notice already left out): rows like the ones its tiers are judged on.
    # The rows that cannot churn yet (contract ending after the horizon) score low margins, which the map
    # sends to its lowest rate. Expansion is calibrated on every validation row.
    calibration_rows = parts["valid"][OPEN].astype(bool).to_numpy() if kind == "churn" else None
    if calibration_rows is not None and int(y["valid"][calibration_rows].sum()) < cfg.min_positives["valid"]:
        calibration_rows = None  # too few open positives to fit a map on: every validation row
    model, params, grid = _fit_calibrated(cfg, x, y, weights, features, calibration_rows)
    p_test = model.predict(x["test"])
    model.reference = {f: drift.reference(x["train"][:, i]) for i, f in enumerate(features)}
    model.reference[drift.SCORE] = drift.reference(model.predict(x["train"]).astype(float))

    # The company's own base rate: the share of the run's labelled rows (all periods, announced churn
    # left out) that turned positive. Risk tiers are multiples of it (ml/config.yml risk_tiers).
    base_rate = float(rows["label"].mean())
    risk_high, risk_medium = cfg.risk_thresholds(base_rate)
    lr = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=2000),
    )
    lr_rows, lr_weights = sample_rows(y["train"], cfg.max_negative_rows)
    lr.fit(x["train"][lr_rows], y["train"][lr_rows], logisticregression__sample_weight=lr_weights)
    p_lr = lr.predict_proba(x["test"])[:, 1]
    health = _health_baseline(parts["test"], kind)
    y_test, p_scope = y["test"][scope], p_test[scope]
    churn_kw = {}
    if kind == "churn":
        churn_kw = {"rows": test, "churn_dates": data.churn_dates, "flag_threshold": risk_medium}
    # Headline: the scope's rows (churn: open rows), with account-clustered intervals for the model.
    metrics = {
        "xgboost": evaluate(y_test, p_scope, groups=test["account_id"].to_numpy(), **churn_kw),
        "health_score": evaluate(y_test, health[scope], is_probability=False),
        "logistic_regression": evaluate(y_test, p_lr[scope], **churn_kw),
    }
    if kind == "churn":
        # Secondary: every test row, announced churn and rows that cannot churn included.
        metrics["all_rows_xgboost"] = evaluate(y["test"], p_test)
        metrics["all_rows_health_score"] = evaluate(y["test"], health, is_probability=False)
        metrics["all_rows_logistic_regression"] = evaluate(y["test"], p_lr)
    details: dict[str, Any] = {
        "rows": {p: int(len(parts[p])) for p in PERIODS},
        "positives": {p: int(y[p].sum()) for p in PERIODS},
        "base_rate": base_rate,
    }
    if kind == "churn":
        details["rows"]["test_open"], details["positives"]["test_open"] = len(test), int(y_test.sum())
        details["evaluation"] = {
            "headline": "open test rows (is_open_row): active, no notice known, contract ending within the horizon",
            "notice_rows_left_out_of_training": excluded,
            "test_notice_rows": int(parts["test"][NOTICE].astype(bool).sum()),
        }
    weighted = int((weights > 1).sum())
    details["feedback"] = {"tasks_with_outcome": int(len(data.feedback)), "training_rows_weighted": weighted}
    if weighted:
        # The effect of the CSM feedback: the same search without the weights, on the same test rows.
        plain, _, _ = _fit_calibrated(cfg, x, y, np.ones(len(y["train"])), features, calibration_rows)
        details["feedback"]["test_without_feedback"] = evaluate(y_test, plain.predict(x["test"])[scope])

    window = f"{windows['test_start']} to {windows['test_end']}" + (" (open rows)" if kind == "churn" else "")
    champion, champion_auc, problem = _champion_on_window(con, kind, test, y_test)
    if champion_auc is not None:
        details["champion_on_test_window"] = {"model_id": champion["model_id"], "roc_auc": champion_auc}
    status, decision, retire = decide(cfg, metrics["xgboost"].get("roc_auc"), champion, champion_auc, problem, window)

    trained_at = utc_now().replace(microsecond=0)
    curve = pd.concat(
        [
            calibration_curve(y_test, p_scope).assign(breakdown="probability_bin", label=None),
            calibration_by_tier(y_test, p_scope, risk_high, risk_medium, test["account_id"].to_numpy()).assign(
                breakdown="risk_tier"
            ),
            calibration_by_decile(y_test, p_scope).assign(breakdown="decile", label=None),
        ],
        ignore_index=True,
    )
    run = registry.TrainingRun(
        model_id=f"{kind}-{trained_at:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}",
        kind=kind,
        trained_at=trained_at,
        windows=windows,
        features=features,
        params={
            **{k: v for k, v in params.items() if k != "nthread"},
            "calibration": cfg.calibration,
            "grid": grid,
        },
        metrics=metrics,
        details=details,
        data_fingerprint=fingerprint(rows, features),
        calibration=curve,
        lift=lift_curve(y_test, p_scope),
        importance=importance(model.booster, features),
        status=status,
        decision=decision,
        retire=retire,
        as_of_date=as_of,
    )
    rejected_alone = status == "rejected" and champion is None
    baseline = _baseline_run(cfg, run, parts, y, churn_kw, scope) if rejected_alone else None
    if baseline:
        run.details["baseline"] = {"model_id": baseline[0].model_id, "scorer": baseline[1].scorer}
    registry.register(con, run, model, Path(directory) if directory else models_dir())
    log.info("%s (as of %s): %s", run.model_id, as_of, decision)
    if baseline:
        registry.register(con, baseline[0], baseline[1], Path(directory) if directory else models_dir())
        log.warning("%s: %s", baseline[0].model_id, baseline[0].decision)
    return run
