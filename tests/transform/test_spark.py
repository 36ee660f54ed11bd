"""The dbt project on Apache Spark: the S world's raw tables exported as Parquet, built by dbt-spark
(session method, a local Spark), and the marts a user reads compared with DuckDB's build of the
same raw data: the same rows on their keys, the same values (numbers within TOLERANCE); then the
models trained and the accounts scored from either engine's marts."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from core.clock import require_as_of_date
from core.warehouse import connect
from devtools.spark_env import dbt_on_spark, spark_python
from dlt_pipelines.parquet_export import ExportedTable, export_raw
from ml.config import CONFIG_FILE, load_config
from ml.feature_source import DuckDBSource, ParquetSource, Rows
from ml.features import LABELS, OPEN, churn_dates, feature_matrix, read_snapshots
from ml.metrics import roc_auc
from ml.registry import load_scoring_model
from ml.score import score
from ml.train import train
from tests.ml.conftest import S_SETTINGS
from tests.pipeline import DBT_DIR, REPO, DbtRun, LoadedWorld, _env

# The marts compared, with their keys: customer 360, health scores, the ML snapshots (features and
# labels) and the alert candidates (the alert rules' output).
MARTS = {
    "marts.customer_360": "account_id",
    "marts.health_scores": "account_id",
    "marts.ml_account_snapshots": "snapshot_id",
    "alerts.alert_candidates": "candidate_id",
}
# Numbers agree within 1e-9 of their size or 1e-6 absolute: the engines sum doubles in different
# orders, nothing more may differ.
REL_TOL, ABS_TOL = 1e-9, 1e-6


@dataclass
class SparkBuild:
    run: DbtRun
    warehouse_dir: Path
    exported: list[ExportedTable]


@pytest.fixture(scope="module")
def spark_build(loaded_s_world: LoadedWorld, tmp_path_factory: pytest.TempPathFactory) -> SparkBuild:
    """The raw tables as Parquet, and `dbt build --target spark` of what the compared marts need
    (models, seeds and snapshots; the data tests run on DuckDB's build) in one local Spark."""
    root = tmp_path_factory.mktemp("spark")
    with connect(loaded_s_world.raw_warehouse, read_only=True) as con:
        exported = export_raw(con, root / "raw")
    warehouse_dir = root / "spark-warehouse"
    selection = " ".join(f"+{name.split('.')[1]}" for name in MARTS)
    cmd = dbt_on_spark(
        "build",
        "--target",
        "spark",
        "--threads",
        "2",
        "--select",
        *selection.split(),
        "--exclude",
        "resource_type:test",
        "resource_type:unit_test",
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(root / "dbt_target"),
    )
    env = _env(
        COPILOT_RAW_PARQUET=str(root / "raw"),
        COPILOT_SPARK_WAREHOUSE=str(warehouse_dir),
        COPILOT_SPARK_DRIVER_MEMORY="1g",
    )
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    results_file = root / "dbt_target" / "run_results.json"
    results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
    return SparkBuild(DbtRun(proc.returncode, proc.stdout + proc.stderr, results), warehouse_dir, exported)


def _normal(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _same(a: object, b: object) -> bool:
    a, b = _normal(a), _normal(b)
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return a == b


def _rows(con: duckdb.DuckDBPyConnection, relation: str, key: str) -> tuple[list[str], dict[object, tuple]]:
    cur = con.execute(f"select * from {relation}")
    columns = [d[0].lower() for d in cur.description]
    rows = cur.fetchall()
    index = columns.index(key)
    return columns, {row[index]: row for row in rows}


def test_spark_builds_what_the_marts_need(spark_build: SparkBuild) -> None:
    failed = [r["unique_id"] for r in spark_build.run.results if r["status"] not in ("success", "pass")]
    assert spark_build.run.returncode == 0 and not failed, f"failed: {failed}\n{spark_build.run.output[-4000:]}"


@pytest.mark.parametrize("mart", list(MARTS))
def test_spark_marts_equal_duckdb(
    mart: str, spark_build: SparkBuild, built_warehouse: tuple[Path, DbtRun], tmp_path: Path
) -> None:
    warehouse, run = built_warehouse
    assert run.returncode == 0, run.output[-2000:]
    schema, table = mart.split(".")
    files = spark_build.warehouse_dir / f"{schema}.db" / table
    assert files.is_dir(), f"{mart} was not built on Spark"
    key = MARTS[mart]
    reader = duckdb.connect()
    reader.execute("SET TimeZone = 'UTC'")
    spark_columns, spark_rows = _rows(reader, f"read_parquet('{files}/*.parquet')", key)
    # A copy: the DuckDB build is shared by the session, read-only.
    with connect(warehouse, read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        duck_columns, duck_rows = _rows(con, mart, key)

    assert spark_columns == duck_columns
    assert len(duck_rows) > 0 or mart == "alerts.alert_candidates"
    assert sorted(map(str, spark_rows)) == sorted(map(str, duck_rows)), f"{mart}: the keys differ"
    differences = [
        f"{k} {column}: spark {s!r} duckdb {d!r}"
        for k, duck in duck_rows.items()
        for column, d, s in zip(duck_columns, duck, spark_rows[k], strict=True)
        if not _same(s, d)
    ]
    assert not differences, f"{mart}: {len(differences)} values differ, e.g.\n" + "\n".join(differences[:15])


def test_parquet_export_keeps_every_raw_row(loaded_s_world: LoadedWorld, spark_build: SparkBuild) -> None:
    exported = {(t.schema, t.table): t for t in spark_build.exported}
    assert ("raw_product", "events") in exported and ("raw_salesforce", "account") in exported
    assert not any(schema.endswith("_staging") for schema, _ in exported)
    reader = duckdb.connect()
    with connect(loaded_s_world.raw_warehouse, read_only=True) as con:
        for (schema, table), t in exported.items():
            in_duckdb = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            assert t.rows == in_duckdb
            assert reader.execute(f"select count(*) from read_parquet('{t.path}')").fetchone()[0] == in_duckdb


# Training and scoring read the snapshot rows as Arrow record batches (ml/feature_source.py): from the
# DuckDB file, or from the Parquet folders Spark wrote. The marts agree within REL_TOL, and the stated
# schema casts both to the same types, so the model's float32 matrix (and everything after it) is the
# same: the figures must agree to ML_TOL, the rounding of a float32 feature value and nothing more.
ML_TOL = 1e-6
ML_FIGURES = ("roc_auc", "pr_auc", "brier", "ece", "top_decile_lift", "recall_60d")
# XGBoost's Spark estimator against the in-memory model on the same rows. With S's settings (no row or
# column subsampling) its workers build the same histogram bins (the quantile sketch is exact at this
# size) and sum their gradient histograms, so the trees are the in-memory model's up to the order of
# float sums: ROC AUC within 0.005 (one of S's 11 open test churners ranked differently moves it by up
# to 0.09) and probabilities within 1e-4 (float32 leaf sums).
AUC_TOL, PROBABILITY_TOL = 0.005, 1e-4


def _ml_copy(built_warehouse: tuple[Path, DbtRun], folder: Path) -> Path:
    """A private copy of the built S warehouse (its file name kept: the staging views name their catalog after it)."""
    path, run = built_warehouse
    assert run.returncode == 0, run.output[-2000:]
    folder.mkdir(parents=True)
    return Path(shutil.copyfile(path, folder / "warehouse.duckdb"))


def test_ml_rows_from_spark_batches_equal_duckdbs(
    spark_build: SparkBuild, built_warehouse: tuple[Path, DbtRun]
) -> None:
    spark = ParquetSource(spark_build.warehouse_dir)
    with connect(built_warehouse[0], read_only=True) as con:
        as_of = require_as_of_date(con)
        for rows in (Rows(complete_on=as_of), Rows.observed_on(as_of)):
            duck = read_snapshots(DuckDBSource(con), rows)
            from_spark = read_snapshots(spark, rows)
            assert len(duck) > 0
            pd.testing.assert_frame_equal(from_spark, duck, check_exact=False, rtol=REL_TOL, atol=ABS_TOL)
        assert churn_dates(spark).sort_index().equals(churn_dates(DuckDBSource(con)).sort_index())
        assert len(churn_dates(spark)) > 0


def test_training_and_scoring_from_spark_marts_equal_duckdbs(
    spark_build: SparkBuild, built_warehouse: tuple[Path, DbtRun], tmp_path: Path
) -> None:
    """Both models trained and every account scored from each engine's batches (the registry, scores and
    CSM verdicts in a copy of the DuckDB file each): the same split, rows, chosen parameters, figures
    and scores."""
    cfg = load_config(**S_SETTINGS)
    outcome = {}
    for engine, source in (("duckdb", None), ("spark", ParquetSource(spark_build.warehouse_dir))):
        with connect(_ml_copy(built_warehouse, tmp_path / engine)) as con:
            as_of = require_as_of_date(con)
            runs = {k: train(con, k, as_of, cfg, tmp_path / engine / "models", source=source) for k in LABELS}
            result = score(con, as_of, cfg, scored_at=datetime(2020, 1, 1), source=source)
            scores = con.execute(
                "select account_id, churn_probability, churn_risk_tier, expansion_propensity, driver_1, driver_2 "
                "from ml.account_scores order by account_id"
            ).fetchall()
            realised = con.execute("select count(*) from ml.realised_performance").fetchone()[0]
        outcome[engine] = runs, result, scores, realised
    (duck_runs, duck_result, duck_scores, duck_realised), (runs, result, scores, realised) = outcome.values()
    for kind, run in runs.items():
        duck = duck_runs[kind]
        assert run.windows == duck.windows
        assert run.details["rows"] == duck.details["rows"] and run.details["positives"] == duck.details["positives"]
        assert run.params["grid"] == duck.params["grid"]  # the same entry and rounds chosen
        assert run.status == duck.status
        for scorer, figures in duck.metrics.items():
            for name in ML_FIGURES:
                if figures.get(name) is not None:
                    assert math.isclose(run.metrics[scorer][name], figures[name], abs_tol=ML_TOL), (kind, scorer, name)
    assert (result.accounts, result.high_risk) == (duck_result.accounts, duck_result.high_risk) and result.accounts > 0
    assert [s[0] for s in scores] == [d[0] for d in duck_scores]
    for s, d in zip(scores, duck_scores, strict=True):
        assert math.isclose(s[1], d[1], abs_tol=ML_TOL) and math.isclose(s[3], d[3], abs_tol=ML_TOL)
        assert s[2] == d[2] and s[4:] == d[4:]
    assert realised == duck_realised


def test_spark_estimator_trains_churn_like_the_in_memory_model(
    spark_build: SparkBuild, built_warehouse: tuple[Path, DbtRun], tmp_path: Path
) -> None:
    """ml/spark_training.py (XGBoost's Spark estimator, two workers, in the Spark environment) on the
    Spark-built snapshots beside ml/train.py on DuckDB's, with the same S settings: the same split,
    row counts, grid choice and rounds, the same validation and open-test ROC AUC (the booster's, before
    calibration: the Spark path does not calibrate) and the same probabilities for the accounts the
    daily scoring scores, within AUC_TOL / PROBABILITY_TOL."""
    settings = tmp_path / "ml.yml"
    settings.write_text(yaml.safe_dump({**yaml.safe_load(CONFIG_FILE.read_text()), **S_SETTINGS}))
    cfg = load_config(settings)
    with connect(_ml_copy(built_warehouse, tmp_path / "duckdb")) as con:
        as_of = require_as_of_date(con)
        run = train(con, "churn", as_of, cfg, tmp_path / "models")
        scored = score(con, as_of, cfg)
        model_id, model, _ = load_scoring_model(con, "churn")
        w = run.windows
        test = read_snapshots(con, Rows(w["test_start"], w["test_end"], complete_on=as_of), run.features)
        today = read_snapshots(con, Rows.observed_on(as_of), run.features)
    assert model_id == run.model_id
    test = test[test[OPEN].astype(bool)]
    memory_auc = roc_auc(test[LABELS["churn"]].to_numpy(), model.margin(feature_matrix(test, run.features)))
    margin_today = model.margin(feature_matrix(today, run.features))
    memory_today = dict(zip(today["account_id"], 1 / (1 + np.exp(-margin_today)), strict=True))

    out, scores = tmp_path / "spark-churn.json", tmp_path / "spark-scores"
    python = str(spark_python())
    cmd = [python, "-m", "ml.spark_training", "--tables", str(spark_build.warehouse_dir)]
    cmd += ["--as-of-date", as_of.isoformat(), "--out", str(out), "--scores", str(scores)]
    env = _env(COPILOT_ML_CONFIG=str(settings), PYSPARK_PYTHON=python, COPILOT_SPARK_DRIVER_MEMORY="1g")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    spark = json.loads(out.read_text())

    assert spark["num_workers"] >= 2  # distributed: the histograms are summed across workers
    assert spark["windows"] == {k: v.isoformat() for k, v in w.items()}
    assert spark["rows"] == run.details["rows"] and spark["positives"] == run.details["positives"]
    assert len(test) == spark["rows"]["test_open"]
    chosen = max(run.params["grid"], key=lambda g: g["valid_score"])
    assert (spark["params"]["max_depth"], spark["params"]["n_estimators"]) == (chosen["max_depth"], chosen["rounds"])
    assert abs(spark["valid_roc_auc"] - chosen["valid_score"]) <= AUC_TOL
    assert spark["test_roc_auc"] is not None and abs(spark["test_roc_auc"] - memory_auc) <= AUC_TOL, (
        spark["test_roc_auc"],
        memory_auc,
    )
    # Every account the daily scoring scores, once, with the in-memory booster's probability.
    reader = duckdb.connect()
    spark_today = dict(
        reader.execute(f"select account_id, churn_probability from read_parquet('{scores}/*.parquet')").fetchall()
    )
    assert spark["scored_rows"] == len(spark_today) == scored.accounts == len(memory_today)
    assert spark_today.keys() == memory_today.keys()
    worst = max(abs(spark_today[a] - p) for a, p in memory_today.items())
    assert worst <= PROBABILITY_TOL, worst
