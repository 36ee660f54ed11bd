"""`dbt build` on Apache Spark beside DuckDB's: the loaded warehouse's raw tables exported as Parquet
(`python -m dlt_pipelines export-parquet`, timed), then the production build's models with the `spark` target
(dbt-spark's session method: a local Spark on this machine's cores, a fresh warehouse folder) over
them. The figures say what the same project costs on Spark where DuckDB does it on one machine; a
cluster divides the build across its executors (docs/DEPLOYMENT.md)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.transform import DBT_DIR, REPO, _env
from core.warehouse import connect
from devtools.spark_env import dbt_on_spark
from dlt_pipelines.parquet_export import export_raw

# The production build's models, seeds and snapshots (no alerts or activation, which the daily job
# builds after scoring); the data tests run on DuckDB's build (tests/transform/test_spark.py
# compares the marts instead).
BUILD_ARGS = ("--exclude-resource-type", "unit_test", "test", "--exclude", "tag:alerts", "tag:activation")
# The local Spark's driver memory and shuffle partitions per world size (profiles.yml reads them):
# M's 15 M events do not build in the default 2 GB driver's few partitions; 6 GB and 16 partitions do.
SPARK_SETTINGS = {"S": ("2g", "4"), "M": ("6g", "16")}


def run(warehouse: str | Path, root: str | Path, size: str = "S") -> dict[str, Any]:
    warehouse, root = Path(warehouse).resolve(), Path(root).resolve()
    if root.exists():
        shutil.rmtree(root)
    start = time.perf_counter()
    with connect(warehouse, read_only=True) as con:
        exported = export_raw(con, root / "raw")
    export_seconds = time.perf_counter() - start
    target = root / "dbt_target"
    cmd = dbt_on_spark("build", "--target", "spark", *BUILD_ARGS)
    cmd += ["--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR), "--target-path", str(target)]
    driver_memory, shuffle_partitions = SPARK_SETTINGS[size]
    env = _env(
        warehouse,
        COPILOT_RAW_PARQUET=str(root / "raw"),
        COPILOT_SPARK_WAREHOUSE=str(root / "warehouse"),
        COPILOT_SPARK_DRIVER_MEMORY=driver_memory,
        COPILOT_SPARK_SHUFFLE_PARTITIONS=shuffle_partitions,
    )
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    build_seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"dbt build on Spark failed:\n{proc.stdout[-4000:]}{proc.stderr[-2000:]}")
    results = json.loads((target / "run_results.json").read_text())["results"]
    slowest = sorted(results, key=lambda r: r["execution_time"], reverse=True)[:5]
    return {
        "raw_tables": len(exported),
        "raw_rows": sum(t.rows for t in exported),
        "export_seconds": round(export_seconds, 1),
        "build_seconds": round(build_seconds, 1),
        "nodes": len(results),
        "driver_memory": driver_memory,
        "shuffle_partitions": int(shuffle_partitions),
        "slowest_nodes": {r["unique_id"].split(".", 1)[1]: round(r["execution_time"], 1) for r in slowest},
    }


if __name__ == "__main__":
    # python -m benchmarks.spark WAREHOUSE ROOT [SIZE]
    print(json.dumps(run(sys.argv[1], sys.argv[2], *sys.argv[3:4]), indent=2))
