"""No dbt build when nothing it reads has changed since its last successful build.

A daily run with nothing new in any source (the same day run again, a retry after a later step
failed, a source that published nothing) would rebuild every model from the same rows and get the
same tables. Before the marts' dbt step builds, it takes the **fingerprint** of everything the build
depends on:

- the loaded data of every raw table the step reads (the dbt sources upstream of its models): the
  table's row count and, for dlt's datasets, every completed load (`<dataset>._dlt_loads`: a load
  that merged, appended or deleted rows has its own id); a table written otherwise (the Copilot
  API's feedback copy) by a hash of its rows;
- the dbt command line: the build's arguments and `--vars` (the configured CRM, the run's pinned
  as-of date when an operator set one);
- the project's code: the contents of every file dbt reads (models, macros, seeds, snapshots,
  dbt_project.yml, profiles.yml) and dbt's version;
- the settings that reach dbt: the environment variables the project reads (`env_var(...)`), e.g.
  the warehouse file and the target.

Each build is recorded in `ops.dbt_builds` (one row per build: step, run id, fingerprint, as-of date,
status). The row is written as `building` *before* dbt starts and becomes `built` only after dbt
finished without an error: a build that failed, or a process killed halfway, leaves `building` as
the step's latest row, and the next run builds. The step skips dbt only when its latest row is
`built` with the same fingerprint, and the warehouse's clock (`marts.data_clock`) still says the
as-of date that build made (a build by hand with another as-of date changed the marts since).

What the run shows when the step skips: one line in its log ("dbt: nothing new since run <id> (as
of <date>), marts unchanged"); the models later steps read (scoring, alerts, syncs, the serving
snapshot) materialized with metadata `unchanged`, `built_by_run`, `as_of_date`, so those steps run
as on any day (they are idempotent on the same as-of date: nothing is sent twice, the snapshot names
this run); the other models and the data tests are not reported again: their latest
materialization and check outcomes stay the build's, which made and tested these very tables (the
build's outcomes are also kept in its `ops.dbt_builds` row).

The data clock is a fact of the data (core/clock.py): the same rows give the same as-of date, so an
unchanged fingerprint means the same day's marts.

Only a DuckDB target is fingerprinted: on Spark the raw tables are Parquet files outside the
warehouse (macros/spark/raw_parquet.sql) and every build runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from graphlib import TopologicalSorter
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetCheckResult, AssetsDefinition, MaterializeResult

from core.clock import as_of_date, utc_now
from core.warehouse import ensure_tables, table_exists
from orchestration.dbt_manifest import project_files

BUILDS = "ops.dbt_builds"
BUILDS_DDL = [
    f"""CREATE TABLE IF NOT EXISTS {BUILDS} (
        step VARCHAR NOT NULL,
        run_id VARCHAR NOT NULL,
        fingerprint VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        as_of_date DATE,
        status VARCHAR NOT NULL,
        checks VARCHAR
    )""",
]
BUILDING, BUILT = "building", "built"
# The environment variables the project reads: `env_var('NAME', ...)` in profiles.yml, dbt_project.yml
# and the macros.
ENV_VAR = re.compile(r"env_var\(\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]")
SPARK_TARGET = "spark"


@dataclass(frozen=True)
class LastBuild:
    run_id: str
    as_of_date: date | None
    checks: list[dict[str, Any]]  # the build's data tests: asset, check, passed, severity


_MANIFESTS: dict[tuple[Path, float], dict[str, Any]] = {}


def _manifest(path: Path) -> dict[str, Any]:
    key = (path, path.stat().st_mtime)
    if key not in _MANIFESTS:
        _MANIFESTS.clear()
        _MANIFESTS[key] = json.loads(path.read_text())
    return _MANIFESTS[key]


def step_sources(assets_def: AssetsDefinition, manifest_path: Path) -> list[tuple[str, str]]:
    """The warehouse tables (schema, name) of the dbt sources a dbt step's models and their tests read."""
    manifest = _manifest(manifest_path)
    nodes = manifest["nodes"]
    ids = {str(spec.metadata.get("dagster_dbt/unique_id")) for spec in assets_def.specs}
    parents = {u: set(node.get("depends_on", {}).get("nodes", [])) for u, node in nodes.items()}
    ids |= {u for u, node in nodes.items() if node.get("resource_type") == "test" and parents[u] & ids}
    sources = {d for u in ids for d in parents.get(u, ()) if d.startswith("source.")}
    return sorted((manifest["sources"][s]["schema"], manifest["sources"][s]["identifier"]) for s in sources)


def project_env_vars(project_dir: Path) -> list[str]:
    """The names of the environment variables the dbt project reads."""
    names: set[str] = set()
    for path in project_files(project_dir):
        if path.suffix in (".yml", ".yaml", ".sql"):
            names.update(ENV_VAR.findall(path.read_text(errors="replace")))
    return sorted(names)


def fingerprintable() -> bool:
    """Whether the build's inputs are all in the DuckDB warehouse (not on the Spark target)."""
    return os.environ.get("COPILOT_DBT_TARGET", "local") != SPARK_TARGET


def _code(project_dir: Path) -> str:
    digest = hashlib.sha256(version("dbt-core").encode())
    for path in sorted(project_files(project_dir)):
        digest.update(str(path.relative_to(project_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def _loads(con: duckdb.DuckDBPyConnection, dataset: str) -> list[object]:
    """A dlt dataset's completed loads: how many and the latest id (ids grow with time)."""
    if not table_exists(con, f"{dataset}._dlt_loads"):
        return [0, None]
    return list(con.execute(f'SELECT count(*), max(load_id) FROM "{dataset}"._dlt_loads WHERE status = 0').fetchone())


def data_state(con: duckdb.DuckDBPyConnection, tables: Iterable[tuple[str, str]]) -> dict[str, object]:
    """What the raw tables hold, cheaply: row counts, dlt's completed loads, a row hash for the rest."""
    state: dict[str, object] = {}
    datasets: set[str] = set()
    for schema, table in sorted(set(tables)):
        name = f"{schema}.{table}"
        if not table_exists(con, name):
            state[name] = None
            continue
        quoted = f'"{schema}"."{table}"'
        if "_dlt_load_id" in _columns(con, schema, table):
            datasets.add(schema)
            state[name] = con.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
        else:
            count, rows_hash = con.execute(f"SELECT count(*), sum(hash(t)::HUGEINT) FROM {quoted} AS t").fetchone()
            state[name] = [count, str(rows_hash)]
    for dataset in sorted(datasets):
        state[f"{dataset}._dlt_loads"] = _loads(con, dataset)
    return state


def fingerprint(
    con: duckdb.DuckDBPyConnection,
    step: str,
    sources: Iterable[tuple[str, str]],
    args: list[str],
    project_dir: Path,
) -> str:
    """The fingerprint of a dbt step's build (see the module docstring)."""
    inputs = {
        "step": step,
        "args": args,
        "code": _code(project_dir),
        "env": {name: os.environ.get(name) for name in project_env_vars(project_dir)},
        "data": data_state(con, sources),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def unchanged_since(con: duckdb.DuckDBPyConnection, step: str, fingerprint_: str) -> LastBuild | None:
    """The step's last build when it succeeded with this fingerprint and the marts still hold its
    as-of date; None when dbt must build."""
    if not table_exists(con, BUILDS):
        return None
    row = con.execute(
        f"SELECT run_id, fingerprint, status, as_of_date, checks FROM {BUILDS} WHERE step = ? "
        "ORDER BY started_at DESC LIMIT 1",
        [step],
    ).fetchone()
    if row is None or row[2] != BUILT or row[1] != fingerprint_:
        return None
    if row[3] is None or as_of_date(con) != row[3]:
        return None
    return LastBuild(run_id=row[0], as_of_date=row[3], checks=json.loads(row[4] or "[]"))


def record_start(con: duckdb.DuckDBPyConnection, step: str, run_id: str, fingerprint_: str) -> None:
    """The build begins: from now until `record_built`, the step's latest build is not a success."""
    ensure_tables(con, BUILDS_DDL)
    con.execute(
        f"INSERT INTO {BUILDS} (step, run_id, fingerprint, started_at, status) VALUES (?, ?, ?, ?, ?)",
        [step, run_id, fingerprint_, utc_now(), BUILDING],
    )


def record_built(
    con: duckdb.DuckDBPyConnection, step: str, run_id: str, checks: Iterable[AssetCheckResult] = ()
) -> date | None:
    """dbt finished without an error: the build counts as the step's last successful one. Its data
    tests' outcomes are kept, for the runs that carry them over."""
    day = as_of_date(con)
    outcomes = [
        {
            "asset": c.asset_key.to_user_string(),
            "check": c.check_name,
            "passed": c.passed,
            "severity": c.severity.value,
        }
        for c in checks
        if c.asset_key is not None and c.check_name is not None
    ]
    con.execute(
        f"UPDATE {BUILDS} SET status = ?, finished_at = ?, as_of_date = ?, checks = ? "
        "WHERE step = ? AND run_id = ? AND status = ?",
        [BUILT, utc_now(), day, json.dumps(outcomes), step, run_id, BUILDING],
    )
    return day


def carried_over(context: Any, last: LastBuild) -> Iterator[MaterializeResult]:
    """What a step that did not build reports: the models that steps after it in the run read are
    materialized as unchanged, naming the build that made them (so those steps run as on any day:
    scoring, alerts and syncs are idempotent on the same as-of date). The other models are not
    materialized, and no data test runs again: each model's latest materialization and its checks'
    latest outcomes stay the build's, which tested these very tables. Every event costs the run
    (~0.1 s each on 2 cores: Dagster looks up each materialized asset's upstream records), so the
    ~140 models and tests are not reported again."""
    said = {"unchanged": True, "built_by_run": last.run_id, "as_of_date": str(last.as_of_date)}
    selected = set(context.selected_asset_keys)
    graph = context.job_def.asset_layer.asset_graph
    read_later = {key for key in selected if any(child not in selected for child in graph.get(key).child_keys)}
    # In lineage order, as Dagster wants a step's assets (and dbt built them).
    order = TopologicalSorter({key: context.assets_def.asset_deps.get(key, set()) & selected for key in selected})
    for key in order.static_order():
        if key in read_later:
            yield MaterializeResult(asset_key=key, metadata=said)
