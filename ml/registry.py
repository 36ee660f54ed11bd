"""The model registry and the evaluation tables in the warehouse's `ml` schema.

A training run writes its model file first, then every row about it (registry, metrics, curves,
importance, and the old champion's retirement) in one transaction; if that fails the file is removed,
so a model is either fully registered or not at all. Scoring loads the champion; a champion whose
file is gone or altered is skipped with a warning for the previous champion that still loads.

While a kind has no champion (its first model fell below ml/config.yml promotion.min_roc_auc), the
same training run registers a calibrated baseline (status 'baseline', model id `<kind>-baseline-...`)
and scoring uses it, saying so; training's message never sends a user back to train.

Each model records the as-of date of the run that trained it (core/clock.py): the day its data
describes, which is what "the data has moved on since the latest model" is measured from: a model
is due (`training_due`) once that has moved on by ml/config.yml `retrain_every_days`."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from core import warehouse
from ml import model_file
from ml.errors import ModelError, NoModel
from ml.model_file import CalibratedModel

log = logging.getLogger(__name__)

DDL = [
    """create table if not exists ml.model_registry (
        model_id varchar primary key, model_kind varchar not null, trained_at timestamp not null,
        train_start date, train_end date, valid_start date, valid_end date, test_start date, test_end date,
        features varchar, params varchar, metrics varchar, data_fingerprint varchar, file_path varchar,
        file_sha256 varchar, status varchar not null, decision varchar, decided_at timestamp, as_of_date date)""",
    # Registries created before the as-of date was recorded gain the column (NULL for their models).
    "alter table ml.model_registry add column if not exists as_of_date date",
    """create table if not exists ml.model_metrics (
        model_id varchar, model_kind varchar, scorer varchar, metric varchar, value double)""",
    # Calibration on the headline test rows (churn: open rows), broken down by `breakdown`:
    # probability_bin (ten equal-width bins, bin 0-9), risk_tier (bin 1-3, label High/Medium/Low) or
    # decile (bin 1 = highest probabilities). Registries from before the breakdowns gain the columns
    # (NULL: probability bins).
    """create table if not exists ml.calibration_curve (
        model_id varchar, bin integer, mean_predicted double, observed_rate double, rows bigint,
        breakdown varchar, label varchar)""",
    "alter table ml.calibration_curve add column if not exists breakdown varchar",
    "alter table ml.calibration_curve add column if not exists label varchar",
    # Risk tiers: the observed rate's 95 % interval from a bootstrap of the tier's accounts (NULL elsewhere).
    "alter table ml.calibration_curve add column if not exists observed_ci_low double",
    "alter table ml.calibration_curve add column if not exists observed_ci_high double",
    """create table if not exists ml.lift_curve (
        model_id varchar, decile integer, rows bigint, positives bigint, positive_rate double, lift double)""",
    """create table if not exists ml.feature_importance (
        model_id varchar, feature varchar, importance double, rank integer)""",
    """create table if not exists ml.account_scores (
        account_id varchar not null, scored_on date not null, scored_at timestamp not null,
        churn_model_id varchar, churn_probability double, churn_risk_tier varchar,
        expansion_model_id varchar, expansion_propensity double,
        driver_1 varchar, driver_2 varchar, driver_3 varchar, drivers_json varchar,
        primary key (account_id, scored_on))""",
    # Which scorer produced the churn score: 'model' (the champion) or 'baseline: <scorer>'.
    "alter table ml.account_scores add column if not exists churn_scorer varchar",
    # The churn model's training base rate the risk tiers (and the churn_risk_high alert) are multiples of.
    "alter table ml.account_scores add column if not exists churn_base_rate double",
    """create table if not exists ml.feature_drift (
        computed_on date, model_id varchar, feature varchar, psi double, drift_level varchar)""",
    """create table if not exists ml.realised_performance (
        model_id varchar, scored_on date, accounts bigint, churned bigint, mean_probability double,
        observed_rate double, roc_auc double)""",
]


REGISTRY_COLUMNS = [
    "model_id", "model_kind", "trained_at", "train_start", "train_end", "valid_start", "valid_end", "test_start",
    "test_end", "features", "params", "metrics", "data_fingerprint", "file_path", "file_sha256", "status", "decision",
    "decided_at", "as_of_date",
]  # fmt: skip


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    warehouse.ensure_tables(con, DDL)


@dataclass
class TrainingRun:
    """Everything recorded about one training run."""

    model_id: str
    kind: str
    trained_at: datetime
    windows: dict[str, date]  # train_start ... test_end
    features: list[str]
    params: dict[str, Any]
    metrics: dict[str, dict[str, float]]  # scorer -> metric -> value
    details: dict[str, Any]  # extra evaluation figures kept in the registry's metrics JSON
    data_fingerprint: str
    calibration: pd.DataFrame
    lift: pd.DataFrame
    importance: pd.DataFrame
    status: str = "challenger"
    decision: str = ""
    retire: list[str] = field(default_factory=list)
    as_of_date: date | None = None  # the run's as-of date: the day the training data describes


def champion_row(con: duckdb.DuckDBPyConnection, kind: str) -> dict[str, Any] | None:
    rows = con.execute(
        "select * from ml.model_registry where model_kind = ? and status = 'champion' order by decided_at desc",
        [kind],
    ).df()
    return rows.iloc[0].to_dict() if len(rows) else None


def latest_as_of(con: duckdb.DuckDBPyConnection, kind: str) -> date | None:
    """The as-of date of the newest model of `kind`, whatever its status (a model kept as challenger or
    rejected was trained too), or None while `kind` has no champion. A model registered before the
    as-of date was recorded counts from the end of its test period, which its as-of date follows."""
    if champion_row(con, kind) is None:
        return None
    return con.execute(
        "select max(coalesce(as_of_date, test_end)) from ml.model_registry where model_kind = ?", [kind]
    ).fetchone()[0]


def training_due(kind: str, as_of: date, latest_as_of: date | None, retrain_every_days: int) -> str | None:
    """Why a `kind` model is due on the run's as-of date, or None when it is not: due while there is no
    champion of its kind (`latest_as_of` None, see registry.latest_as_of), or once the as-of date has
    moved on by `retrain_every_days` from the latest model's as-of date. A day before it (an operator
    rebuilding a past day) is never due."""
    if latest_as_of is None:
        return f"no champion {kind} model yet"
    days = (as_of - latest_as_of).days
    if days >= retrain_every_days:
        return (
            f"as of {as_of}, {days} days past the latest {kind} model's as-of date {latest_as_of} "
            f"(retrain_every_days: {retrain_every_days})"
        )
    return None


def register(con: duckdb.DuckDBPyConnection, run: TrainingRun, model: CalibratedModel, directory: Path) -> Path:
    ensure_tables(con)
    path = Path(directory) / f"{run.model_id}.json"
    checksum = model_file.write(model, path)
    registry_row = [
        run.model_id,
        run.kind,
        run.trained_at,
        *(run.windows[k] for k in ("train_start", "train_end", "valid_start", "valid_end", "test_start", "test_end")),
        json.dumps(run.features),
        json.dumps(run.params),
        json.dumps({**run.metrics, **run.details}),
        run.data_fingerprint,
        str(path.resolve()),
        checksum,
        run.status,
        run.decision,
        run.trained_at,
        run.as_of_date,
    ]
    metric_rows = [
        (run.model_id, run.kind, scorer, metric, value)
        for scorer, figures in run.metrics.items()
        for metric, value in figures.items()
    ]
    try:
        con.begin()
        columns, marks = ", ".join(REGISTRY_COLUMNS), ", ".join("?" * len(registry_row))
        con.execute(f"insert into ml.model_registry ({columns}) values ({marks})", registry_row)
        if metric_rows:
            con.executemany("insert into ml.model_metrics values (?, ?, ?, ?, ?)", metric_rows)
        for table, frame in (
            ("calibration_curve", run.calibration),
            ("lift_curve", run.lift),
            ("feature_importance", run.importance),
        ):
            rows = frame.assign(model_id=run.model_id)
            columns = [c[0] for c in con.execute(f"describe ml.{table}").fetchall()]
            rows = rows.assign(**{c: None for c in columns if c not in rows})  # optional columns: NULL
            con.register("new_rows", rows)
            con.execute(f"insert into ml.{table} select {', '.join(columns)} from new_rows")
            con.unregister("new_rows")
        for old in run.retire:
            con.execute(
                "update ml.model_registry set status = 'retired', decision = ?, decided_at = ? where model_id = ?",
                [f"replaced by {run.model_id}", run.trained_at, old],
            )
        con.commit()
    except BaseException:
        con.rollback()
        path.unlink(missing_ok=True)
        raise
    return path


def load_scoring_model(con: duckdb.DuckDBPyConnection, kind: str) -> tuple[str, CalibratedModel, str | None]:
    """(model_id, model, warning): the champion, or when its file cannot be read, the most recent
    earlier champion that still loads (the warning says so). No usable model: ModelError."""
    ensure_tables(con)
    candidates = con.execute(
        "select model_id, file_path, file_sha256, status from ml.model_registry "
        "where model_kind = ? and (status = 'champion' or (status = 'retired' and decision like 'replaced by %')) "
        "order by status = 'champion' desc, decided_at desc",
        [kind],
    ).fetchall()
    if not candidates or candidates[0][3] != "champion":
        return _load_baseline(con, kind)
    problems = []
    for model_id, path, checksum, _ in candidates:
        try:
            model = model_file.read(path, checksum)
        except ModelError as exc:
            problems.append(str(exc))
            continue
        warning = None
        if problems:
            warning = f"{kind} champion {candidates[0][0]} unusable ({problems[0]}): scoring with {model_id}"
            log.warning(warning)
        return model_id, model, warning
    raise ModelError(f"no usable {kind} model: {problems[0]}")


def _load_baseline(con: duckdb.DuckDBPyConnection, kind: str) -> tuple[str, CalibratedModel, str | None]:
    """The newest baseline of a kind without a champion; the error says why there is none."""
    baseline = con.execute(
        "select model_id, file_path, file_sha256 from ml.model_registry "
        "where model_kind = ? and status = 'baseline' order by decided_at desc limit 1",
        [kind],
    ).fetchone()
    if baseline:
        model = model_file.read(baseline[1], baseline[2])
        warning = (
            f"no {kind} model has passed ml/config.yml promotion.min_roc_auc yet: scoring with the baseline "
            f"{baseline[0]} ({getattr(model, 'scorer', 'baseline')})"
        )
        log.warning(warning)
        return baseline[0], model, warning
    latest = con.execute(
        "select model_id, decision from ml.model_registry where model_kind = ? order by trained_at desc limit 1", [kind]
    ).fetchone()
    if latest:
        raise NoModel(
            f"no {kind} model to score with: the latest, {latest[0]}, was {latest[1]}, and no baseline beat chance"
        )
    raise NoModel(f"no champion {kind} model in ml.model_registry: run `python -m ml train` first")


def base_rate(con: duckdb.DuckDBPyConnection, model_id: str) -> float:
    """The share of positive rows in the model's training run (risk tiers are multiples of it); for
    models registered before it was recorded, from the run's row and positive counts."""
    raw = con.execute("select metrics from ml.model_registry where model_id = ?", [model_id]).fetchone()
    figures = json.loads(raw[0]) if raw and raw[0] else {}
    if "base_rate" in figures:
        return float(figures["base_rate"])
    rows, positives = sum(figures.get("rows", {}).values()), sum(figures.get("positives", {}).values())
    if not rows:
        raise ModelError(f"model {model_id} records no training rows: its base rate (risk tiers) is unknown")
    return positives / rows
