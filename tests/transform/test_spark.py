"""The dbt project on Apache Spark: the S world's raw tables exported as Parquet, built by dbt-spark
(session method, a local Spark), and the marts a user reads compared with DuckDB's build of the
same raw data: the same rows on their keys, the same values (numbers within TOLERANCE)."""

from __future__ import annotations

import json
import math
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from core.warehouse import connect
from devtools.spark_env import dbt_on_spark
from dlt_pipelines.parquet_export import ExportedTable, export_raw
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
