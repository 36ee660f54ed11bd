"""The churn model trained where the feature table lives, for snapshot tables past one machine's memory:
XGBoost's Spark estimator (`xgboost.spark.SparkXGBClassifier`, one XGBoost worker per Spark task, the
rows never leave the executors) on the Spark-built `marts.ml_account_snapshots`. It learns what
ml/train.py learns from: the same features and encoding (ml/features.py), label, rows (labels complete on
the as-of day; announced churn left out of training and validation), out-of-time split (ml/split.py),
fixed parameters, grid, rounds and early stopping (ml/config.yml); the grid entry with the best
validation ROC AUC wins. Only the observation days, counts and ROC AUCs come to the driver.

Runs in the Spark environment (.venv-spark; PYSPARK_PYTHON is set to it when unset):

    python -m ml.spark_training --tables data/spark-warehouse --as-of-date 2026-10-31 \\
        --out data/spark-ml/churn.json --scores data/spark-ml/scores

`--tables` is the Spark target's warehouse folder (`COPILOT_SPARK_WAREHOUSE`; on a cluster the
object-store URL its tables are in). It writes the run's figures as JSON and the as-of day's churn
probabilities (uncalibrated) as Parquet. Calibration, the baselines, CSM feedback weights and the
model registry stay with ml/train.py (docs/DEPLOYMENT.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from ml.config import MlConfig, load_config
from ml.errors import TooLittleData
from ml.features import CODES, FEATURES, LABELS, NOTICE, OPEN, SNAPSHOTS
from ml.split import PERIODS, split_periods


def spark_session() -> Any:
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(os.environ.get("COPILOT_SPARK_MASTER", "local[2]"))
        .appName("copilot-churn-training")
        .config("spark.driver.memory", os.environ.get("COPILOT_SPARK_DRIVER_MEMORY", "2g"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", os.environ.get("COPILOT_SPARK_SHUFFLE_PARTITIONS", "4"))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )


def snapshots(spark: Any, tables: str) -> Any:
    """The Spark target's snapshot table (its Parquet folder `<tables>/marts.db/ml_account_snapshots`)."""
    schema, table = SNAPSHOTS.split(".")
    return spark.read.parquet(f"{tables.rstrip('/')}/{schema}.db/{table}")


def encoded(frame: Any, features: list[str]) -> Any:
    """The features as doubles, missing values NaN (XGBoost learns where they go), the text columns as
    ml/features.py's codes: the in-memory model's matrix, column by column."""
    from pyspark.sql import functions as F

    nan = F.lit(float("nan"))
    for name in features:
        if name in CODES:
            codes = F.create_map(*[F.lit(v) for pair in CODES[name].items() for v in pair])
            value = codes[F.col(name)].cast("double")
        else:
            value = F.col(name).cast("double")
        frame = frame.withColumn(name, F.coalesce(value, nan))
    return frame


def _auc(frame: Any, score: str = "rawPrediction") -> float | None:
    """Exact ROC AUC over a distributed frame (numBins 0: every distinct score is a threshold)."""
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.sql import functions as F

    labels = {r[0] for r in frame.select("label").distinct().collect()}
    if labels != {0.0, 1.0}:
        return None
    evaluator = BinaryClassificationEvaluator(
        rawPredictionCol=score, labelCol="label", metricName="areaUnderROC", numBins=0
    )
    return float(evaluator.evaluate(frame.withColumn("label", F.col("label").cast("double"))))


def train_churn(
    spark: Any,
    frame: Any,
    as_of: date,
    cfg: MlConfig | None = None,
    features: list[str] = FEATURES,
    num_workers: int | None = None,
) -> tuple[Any, dict[str, Any]]:
    """(the fitted Spark model, the run's figures) of the churn model as of `as_of` on `frame`
    (the snapshot table as a Spark DataFrame)."""
    from pyspark.sql import functions as F
    from xgboost.spark import SparkXGBClassifier

    cfg = cfg or load_config()
    num_workers = num_workers or spark.sparkContext.defaultParallelism
    complete = frame.where(
        F.col("label_is_complete") & (F.date_add("observation_date", F.col("label_horizon_days")) <= F.lit(as_of))
    )
    horizon = complete.agg(F.max("label_horizon_days")).first()[0]
    days = pd.Series([r[0] for r in complete.select("observation_date").distinct().collect()], dtype=object)
    windows = split_periods(days, cfg, int(horizon) if horizon is not None else 90)
    period = F.lit(None).cast("string")
    for name in reversed(PERIODS):
        inside = F.col("observation_date").between(F.lit(windows[f"{name}_start"]), F.lit(windows[f"{name}_end"]))
        period = F.when(inside, F.lit(name)).otherwise(period)
    rows = complete.withColumn("period", period).where(F.col("period").isNotNull())
    # Announced churn (notice given on the observation day) is no prediction: out of training and
    # validation; the test keeps it for the all-rows figure, the headline is on the open test rows.
    rows = rows.where(~(F.coalesce(F.col(NOTICE), F.lit(False)) & (F.col("period") != "test")))
    rows = encoded(rows, features).select(
        "account_id",
        "observation_date",
        "period",
        F.coalesce(F.col(OPEN), F.lit(False)).alias("is_open"),
        F.col(LABELS["churn"]).cast("int").alias("label"),
        (F.col("period") == "valid").alias("is_valid"),
        *features,
    )
    counts = {
        r["period"]: (r["rows"], r["positives"])
        for r in rows.groupBy("period").agg(F.count("*").alias("rows"), F.sum("label").alias("positives")).collect()
    }
    open_test = (
        rows.where((F.col("period") == "test") & F.col("is_open"))
        .agg(F.count("*").alias("rows"), F.sum("label").alias("positives"))
        .first()
    )
    found = {p: int(counts.get(p, (0, 0))[1] or 0) for p in PERIODS} | {"test": int(open_test["positives"] or 0)}
    for p in PERIODS:
        if found[p] < cfg.min_positives[p]:
            raise TooLittleData(
                f"too few churn examples to train: {found[p]} positive rows in the {p} period, at least "
                f"{cfg.min_positives[p]} needed (ml/config.yml min_positives.{p})"
            )
    fit_rows = rows.where(F.col("period").isin("train", "valid")).cache()
    positives, total = counts["train"][1], counts["train"][0]
    # The classifier's objective is binary:logistic, the config's; threads are Spark's (spark.task.cpus).
    objective = cfg.xgb_fixed.get("objective", "binary:logistic")
    if objective != "binary:logistic":
        raise ValueError(f"XGBoost's Spark classifier trains binary:logistic, not {objective!r} (ml/config.yml)")
    base = {k: v for k, v in cfg.xgb_fixed.items() if k not in ("nthread", "objective")}
    base |= {"scale_pos_weight": (total - positives) / positives, "random_state": 0}
    best: tuple[float, Any, dict[str, Any]] | None = None
    grid = []
    for entry in cfg.xgb_grid:
        started = time.perf_counter()
        estimator = SparkXGBClassifier(
            features_col=list(features),
            label_col="label",
            validation_indicator_col="is_valid",
            n_estimators=cfg.max_rounds,
            early_stopping_rounds=cfg.early_stopping_rounds,
            num_workers=num_workers,
            missing=float("nan"),
            **base,
            **entry,
        )
        model = estimator.fit(fit_rows)
        valid_auc = _auc(model.transform(fit_rows.where(F.col("is_valid"))))
        booster = model.get_booster()
        rounds = int(getattr(booster, "best_iteration", booster.num_boosted_rounds() - 1)) + 1
        grid.append({**entry, "valid_roc_auc": valid_auc, "rounds": rounds, "seconds": time.perf_counter() - started})
        if valid_auc is not None and (best is None or valid_auc > best[0]):
            best = (valid_auc, model, {"objective": objective, **base, **entry, "n_estimators": rounds})
    fit_rows.unpersist()
    if best is None:
        raise TooLittleData("no grid entry has a validation ROC AUC (one class in the validation rows)")
    valid_auc, model, params = best
    test = model.transform(rows.where(F.col("period") == "test"))
    figures = {
        "kind": "churn",
        "as_of_date": as_of.isoformat(),
        "windows": {k: v.isoformat() for k, v in windows.items()},
        "rows": {p: int(counts.get(p, (0, 0))[0]) for p in PERIODS} | {"test_open": int(open_test["rows"])},
        "positives": {p: int(counts.get(p, (0, 0))[1] or 0) for p in PERIODS}
        | {"test_open": int(open_test["positives"] or 0)},
        "params": params,
        "grid": grid,
        "num_workers": num_workers,
        "valid_roc_auc": valid_auc,
        "test_roc_auc": _auc(test.where(F.col("is_open"))),  # the headline: open test rows
        "all_rows_test_roc_auc": _auc(test),
    }
    return model, figures


def score_day(model: Any, frame: Any, day: date, features: list[str] = FEATURES) -> Any:
    """account_id, observation_date and the (uncalibrated) churn probability of the rows observed on `day`."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    rows = encoded(frame.where(F.col("observation_date") == F.lit(day)), features)
    scored = model.transform(rows)
    return scored.select("account_id", "observation_date", vector_to_array("probability")[1].alias("churn_probability"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.spark_training", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", required=True, help="the Spark target's warehouse folder or URL")
    parser.add_argument("--as-of-date", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    parser.add_argument("--out", required=True, help="JSON file of the run's figures")
    parser.add_argument("--scores", help="Parquet folder for the as-of day's churn probabilities")
    args = parser.parse_args(argv)
    spark = spark_session()
    try:
        started = time.perf_counter()
        frame = snapshots(spark, args.tables)
        model, figures = train_churn(spark, frame, args.as_of_date)
        figures["training_seconds"] = round(time.perf_counter() - started, 1)
        scores = score_day(model, frame, args.as_of_date).cache()
        figures["scored_rows"] = scores.count()
        if args.scores:
            scores.write.mode("overwrite").parquet(args.scores)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(figures, indent=2, default=str))
        print(
            f"churn on Spark as of {args.as_of_date}: test ROC AUC {figures['test_roc_auc']} on "
            f"{figures['rows']['test_open']} open test rows; {figures['scored_rows']} rows scored"
        )
    except TooLittleData as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
