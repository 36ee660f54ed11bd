"""No dbt work (nor scoring) for what has not changed since the last successful build.

A daily run with nothing new in any source (the same day run again, a retry after a later step
failed, a source that published nothing) would rebuild every model from the same rows and get the
same tables; a run where only one source changed would rebuild the models of all the others. Before
each dbt step builds (the marts; the alert models; the outbound views), it takes the **inputs** of
the build:

- the data of every table the step reads through a dbt source (the raw tables with the dlt child
  tables staged through them, the scores, the alerts' state), as the models read it: only the
  source's declared columns (`macros/select_source.sql` selects nothing else), without the columns
  that merely say when a row was last written (dlt's `_dlt_load_id`, and the columns a source
  declares `row_version`, such as Salesforce's SystemModstamp: the copilot's own writes to the CRM
  move them, and no model past staging keeps them). A table dlt only appends to is taken by its
  row count and latest load (no row of it is ever rewritten); any other by its row count and a
  hash of those columns;
- the builds of the dbt steps upstream of it in the run (the alert models read the marts): each
  step's latest build, by run id (any other build of it since means a full build); a step that
  skipped keeps its earlier build, so the steps after it skip too when nothing else changed;
- the dbt command line: the build's arguments and `--vars` (the configured CRM, the run's pinned
  as-of date when an operator set one);
- the project's code: the contents of every file dbt reads (models, macros, seeds, snapshots,
  dbt_project.yml, profiles.yml) and dbt's version;
- the settings that reach dbt: the environment variables the project reads (`env_var(...)`), e.g.
  the warehouse file and the target.

Each build is recorded in `ops.dbt_builds` (one row per build: step, run id, fingerprint, inputs,
as-of date, status). The row is written as `building` *before* dbt starts and becomes `built` only
after dbt finished without an error: a build that failed, or a process killed halfway, leaves
`building` as the step's latest row, and the next run builds everything. Against the step's latest
row when it is `built`, and the warehouse's clock (`marts.data_clock`) still says the as-of date that
build made (a build by hand with another as-of date changed the marts since), the step:

- **skips dbt** when every input is the same;
- **builds only what reads the changed tables** when the code, command line and settings are the
  same and only some raw tables changed (`--select source:<source>.<table>+`, within the step's
  selection): the other models would be built from the same rows into the same tables. The run
  after a sync is the common case: it reads back the CRM Tasks the copilot created, and those feed
  one staging view;
- builds everything otherwise.

What the run shows when the step skips: one line in its log ("dbt: nothing new since run <id> (as
of <date>), models unchanged"); the models later steps read (scoring, alerts, syncs, the serving
snapshot) materialized with metadata `unchanged`, `built_by_run`, `as_of_date`, so those steps run
as on any day (they are idempotent on the same as-of date: nothing is sent twice, the snapshot names
this run); the other models and the data tests are not reported again: their latest
materialization and check outcomes stay the build's, which made and tested these very tables (the
build's outcomes are also kept in its `ops.dbt_builds` row). A partial build reports what dbt built
and tested, and the models later steps read that it did not build as unchanged; its row keeps the
earlier build's test outcomes for the tests it did not run.

The data clock is a fact of the data (core/clock.py): the same rows give the same as-of date, so
unchanged inputs mean the same day's marts.

The scoring (orchestration/defs/ml.py) keeps its scores the same way, and its builds are recorded in
the same table (step `account_scores`): its inputs are the model registry, the marts' build and the
scoring code. So a run with nothing new builds nothing after ingestion either: the marts skip, the
scores are kept, and the alert models and outbound views, which read only those, skip too.

Only a DuckDB target is fingerprinted: on Spark the raw tables are Parquet files outside the
warehouse (macros/spark/raw_parquet.sql) and every build runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from graphlib import TopologicalSorter
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetCheckResult, AssetKey, AssetsDefinition, MaterializeResult

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
    # Added with partial builds: what the build read, table by table (see `Inputs`).
    f"ALTER TABLE {BUILDS} ADD COLUMN IF NOT EXISTS inputs VARCHAR",
]
BUILDING, BUILT = "building", "built"
# The environment variables the project reads: `env_var('NAME', ...)` in profiles.yml, dbt_project.yml
# and the macros.
ENV_VAR = re.compile(r"env_var\(\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]")
SPARK_TARGET = "spark"
# dlt's id of the load that last wrote a row: a merge that rewrote a row with the same values moves it.
LOAD_ID = "_dlt_load_id"
# A source column's meta flag: it only says when the row was last written (see the module docstring).
ROW_VERSION = "row_version"
# How an upstream step's latest build is named among a build's inputs.
UPSTREAM = "build:"
# dagster-dbt's metadata naming an asset's dbt node.
DBT_ID = "dagster_dbt/unique_id"


@dataclass(frozen=True)
class RawTable:
    """A warehouse table a dbt step reads, the dbt source it is read through, and the columns read."""

    schema: str
    name: str
    source: str  # the dbt selector of the source table: `source:<source_name>.<table>`
    columns: tuple[str, ...]  # the declared columns the models read (row-version columns left out)

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Inputs:
    """What a build reads: `setup` (a hash of the code, command line and settings) and `data` (each
    raw table's state, None when the table does not exist)."""

    setup: str
    data: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict, compare=False)  # relation -> dbt selector

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps([self.setup, self.data], sort_keys=True, default=str).encode()).hexdigest()

    def as_json(self) -> str:
        return json.dumps({"setup": self.setup, "data": self.data}, sort_keys=True, default=str)


@dataclass(frozen=True)
class LastBuild:
    run_id: str
    as_of_date: date | None
    checks: list[dict[str, Any]]  # the build's data tests: asset, check, passed, severity


@dataclass(frozen=True)
class Plan:
    """What the step does: build everything (`last` None), nothing (`changed` empty), or only what
    reads the `changed` sources (dbt selectors), starting from the `last` build."""

    last: LastBuild | None
    changed: tuple[str, ...] = ()

    @property
    def skip(self) -> bool:
        return self.last is not None and not self.changed

    @property
    def partial(self) -> bool:
        return self.last is not None and bool(self.changed)


_MANIFESTS: dict[tuple[Path, float], dict[str, Any]] = {}


def _manifest(path: Path) -> dict[str, Any]:
    key = (path, path.stat().st_mtime)
    if key not in _MANIFESTS:
        _MANIFESTS.clear()
        _MANIFESTS[key] = json.loads(path.read_text())
    return _MANIFESTS[key]


def _meta(node: dict[str, Any]) -> dict[str, Any]:
    """A manifest node's meta: dbt keeps it both as `meta` and under `config` (where newer yml sets it)."""
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def _read_columns(columns: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(c["name"] for c in columns if c["name"] != LOAD_ID and not _meta(c).get(ROW_VERSION))


def step_sources(assets_def: AssetsDefinition, manifest_path: Path) -> list[RawTable]:
    """The warehouse tables of the dbt sources a dbt step's models and their tests read, with the dlt
    child tables staged through them (a source's meta `child_tables`, macros/select_source.sql)."""
    manifest = _manifest(manifest_path)
    nodes = manifest["nodes"]
    ids = {str(spec.metadata.get(DBT_ID)) for spec in assets_def.specs}
    parents = {u: set(node.get("depends_on", {}).get("nodes", [])) for u, node in nodes.items()}
    ids |= {u for u, node in nodes.items() if node.get("resource_type") == "test" and parents[u] & ids}
    tables: list[RawTable] = []
    for unique_id in sorted({d for u in ids for d in parents.get(u, ()) if d.startswith("source.")}):
        source = manifest["sources"][unique_id]
        selector = f"source:{source['source_name']}.{source['name']}"
        columns = _read_columns(source.get("columns", {}).values())
        tables.append(RawTable(source["schema"], source["identifier"], selector, columns))
        for child, declared in (_meta(source).get("child_tables") or {}).items():
            name = f"{source['identifier']}__{child}"
            tables.append(RawTable(source["schema"], name, selector, _read_columns(declared)))
    return sorted(tables, key=lambda t: t.relation)


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


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows]


def _appended_only(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    """The tables of a dlt dataset that dlt only appends to (write disposition `append`, as its
    stored schemas say; a child table has its parent's)."""
    if not table_exists(con, f"{schema}._dlt_version"):
        return set()
    rows = con.execute(
        f'SELECT schema FROM "{schema}"._dlt_version v WHERE inserted_at = '
        f'(SELECT max(inserted_at) FROM "{schema}"._dlt_version w WHERE w.schema_name = v.schema_name)'
    ).fetchall()
    appended: set[str] = set()
    for (stored,) in rows:
        tables = json.loads(stored).get("tables", {})
        appended |= {name for name in tables if _disposition(tables, name) == "append"}
    return appended


def _disposition(tables: dict[str, Any], name: str) -> str | None:
    table = tables.get(name, {})
    return table.get("write_disposition") or (_disposition(tables, table["parent"]) if table.get("parent") else None)


def data_state(con: duckdb.DuckDBPyConnection, tables: Iterable[RawTable]) -> dict[str, Any]:
    """Each raw table's data as the models read it (see the module docstring), cheaply."""
    state: dict[str, Any] = {}
    appended: dict[str, set[str]] = {}
    for table in sorted(set(tables), key=lambda t: t.relation):
        if not table_exists(con, table.relation):
            state[table.relation] = None
            continue
        quoted = f'"{table.schema}"."{table.name}"'
        present = _columns(con, table.schema, table.name)
        if table.schema not in appended:
            appended[table.schema] = _appended_only(con, table.schema)
        if table.name in appended[table.schema] and LOAD_ID in present:
            count, latest = con.execute(f'SELECT count(*), max("{LOAD_ID}") FROM {quoted}').fetchone()
            state[table.relation] = ["appended", count, latest]
            continue
        read = [c for c in table.columns if c in present] or [c for c in present if c != LOAD_ID]
        row = ", ".join(f'"{c}"' for c in read)
        count, rows_hash = con.execute(f"SELECT count(*), sum(hash({row})::HUGEINT) FROM {quoted}").fetchone()
        state[table.relation] = [count, str(rows_hash), read]
    return state


def inputs(
    con: duckdb.DuckDBPyConnection,
    step: str,
    sources: Iterable[RawTable],
    args: list[str],
    project_dir: Path,
    upstream: Iterable[str] = (),
) -> Inputs:
    """The inputs of a dbt step's build (see the module docstring); `upstream`: the steps whose
    tables it reads besides the raw ones."""
    setup = {
        "step": step,
        "args": args,
        "code": _code(project_dir),
        "env": {name: os.environ.get(name) for name in project_env_vars(project_dir)},
    }
    return step_inputs(con, setup, sources, upstream)


def step_inputs(
    con: duckdb.DuckDBPyConnection, setup: dict[str, Any], tables: Iterable[RawTable], upstream: Iterable[str] = ()
) -> Inputs:
    """A step's inputs: its `setup` (code, command line, settings), the data state of the `tables` it
    reads and the latest builds of the `upstream` steps. Only tables read through a dbt source (a
    selector) can be rebuilt alone; a change to any other input means the whole build."""
    tables = list(tables)
    data = data_state(con, tables)
    data.update({f"{UPSTREAM}{name}": latest_build(con, name) for name in upstream})
    return Inputs(
        setup=hashlib.sha256(json.dumps(setup, sort_keys=True, default=str).encode()).hexdigest(),
        data=data,
        sources={t.relation: t.source for t in tables if t.source},
    )


def _latest_row(con: duckdb.DuckDBPyConnection, step: str) -> dict[str, Any] | None:
    """A step's latest build row (the last one started), None before its first build."""
    if not table_exists(con, BUILDS):
        return None
    ensure_tables(con, BUILDS_DDL)
    cursor = con.execute(f"SELECT * FROM {BUILDS} WHERE step = ? ORDER BY started_at DESC LIMIT 1", [step])
    row = cursor.fetchone()
    return dict(zip([c[0] for c in cursor.description], row, strict=True)) if row else None


def latest_build(con: duckdb.DuckDBPyConnection, step: str) -> list[str] | None:
    """A step's latest build: [run id, status], None when it never recorded one."""
    row = _latest_row(con, step)
    return [row["run_id"], row["status"]] if row else None


def plan(con: duckdb.DuckDBPyConnection, step: str, now: Inputs) -> Plan:
    """What the step builds, from its latest build (see the module docstring)."""
    row = _latest_row(con, step)
    if row is None or row["status"] != BUILT or row["as_of_date"] is None or as_of_date(con) != row["as_of_date"]:
        return Plan(last=None)
    if any(key.startswith(UPSTREAM) and (b is None or b[1] != BUILT) for key, b in now.data.items()):
        return Plan(last=None)  # an upstream step built without a record (on Spark), or did not finish
    last = LastBuild(run_id=row["run_id"], as_of_date=row["as_of_date"], checks=json.loads(row["checks"] or "[]"))
    if row["fingerprint"] == now.fingerprint:
        return Plan(last=last)
    before = json.loads(row["inputs"]) if row["inputs"] else None
    if before is None or before["setup"] != now.setup:
        return Plan(last=None)
    changed = {r for r in set(now.data) | set(before["data"]) if before["data"].get(r) != now.data.get(r)}
    if not changed <= set(now.sources):
        return Plan(last=None)  # the step reads other tables than it did
    return Plan(last=last, changed=tuple(sorted({now.sources[r] for r in changed})))


def begin(con: duckdb.DuckDBPyConnection, step: str, run_id: str, now: Inputs) -> Plan:
    """The step's plan against its last build; unless it skips, its build is recorded as begun."""
    planned = plan(con, step, now)
    if not planned.skip:
        record_start(con, step, run_id, now)
    return planned


def record_start(con: duckdb.DuckDBPyConnection, step: str, run_id: str, now: Inputs) -> None:
    """The build begins: from now until `record_built`, the step's latest build is not a success."""
    ensure_tables(con, BUILDS_DDL)
    con.execute(
        f"INSERT INTO {BUILDS} (step, run_id, fingerprint, inputs, started_at, status) VALUES (?, ?, ?, ?, ?, ?)",
        [step, run_id, now.fingerprint, now.as_json(), utc_now(), BUILDING],
    )


def record_built(
    con: duckdb.DuckDBPyConnection,
    step: str,
    run_id: str,
    checks: Iterable[AssetCheckResult] = (),
    kept: Iterable[dict[str, Any]] = (),
) -> date | None:
    """dbt finished without an error: the build counts as the step's last successful one. Its data
    tests' outcomes are kept, for the runs that carry them over; `kept`: the earlier build's outcomes,
    for the tests a partial build did not run."""
    day = as_of_date(con)
    outcomes = {(c["asset"], c["check"]): c for c in kept}
    for c in checks:
        if c.asset_key is not None and c.check_name is not None:
            asset = c.asset_key.to_user_string()
            outcomes[(asset, c.check_name)] = {
                "asset": asset,
                "check": c.check_name,
                "passed": c.passed,
                "severity": c.severity.value,
            }
    con.execute(
        f"UPDATE {BUILDS} SET status = ?, finished_at = ?, as_of_date = ?, checks = ? "
        "WHERE step = ? AND run_id = ? AND status = ?",
        [BUILT, utc_now(), day, json.dumps(list(outcomes.values())), step, run_id, BUILDING],
    )
    return day


def upstream_steps(assets_def: AssetsDefinition, dbt_steps: Iterable[AssetsDefinition]) -> list[str]:
    """Which of the project's `dbt_steps` make the models the step `assets_def` reads (the marts'
    step, for the alert models). From the definitions, not from the run's job: a job that runs only
    the later step still reads what the marts' step built in another run."""
    own = set(assets_def.keys)
    read = {dep for deps in assets_def.asset_deps.values() for dep in deps} - own
    return sorted(step.node_def.name for step in dbt_steps if step is not assets_def and read & set(step.keys))


def rebuilt_by(context: Any, changed: Iterable[str]) -> set[AssetKey]:
    """The step's assets a partial build makes: those downstream of the changed sources (dbt selectors
    `source:<source_name>.<table>`, whose asset keys are `[source_name, table]`, orchestration/defs/transform.py)."""
    selected = set(context.selected_asset_keys)
    graph = context.job_def.asset_layer.asset_graph
    frontier = [AssetKey(selector.removeprefix("source:").split(".", 1)) for selector in changed]
    reached: set[AssetKey] = set()
    while frontier:
        key = frontier.pop()
        if not graph.has(key):
            continue
        for child in graph.get(key).child_keys:
            if child in selected and child not in reached:
                reached.add(child)
                frontier.append(child)
    return reached


def carried_over(context: Any, last: LastBuild, rebuilt: Iterable[AssetKey] = ()) -> Iterator[MaterializeResult]:
    """What a step reports of the models it does not build: those that steps after it in the run read
    are materialized as unchanged, naming the build that made them (so those steps run as on any
    day: scoring, alerts and syncs are idempotent on the same as-of date). The other models are not
    materialized, and no data test runs again: each model's latest materialization and its checks'
    latest outcomes stay the build's, which tested these very tables. Every event costs the run
    (~0.1 s each on 2 cores: Dagster looks up each materialized asset's upstream records), so the
    ~140 models and tests are not reported again. `rebuilt`: what a partial build is about to make
    (never upstream of what it does not make, so these come first, as Dagster wants a step's assets
    in lineage order)."""
    said = {"unchanged": True, "built_by_run": last.run_id, "as_of_date": str(last.as_of_date)}
    selected = set(context.selected_asset_keys)
    graph = context.job_def.asset_layer.asset_graph
    read_later = {key for key in selected if any(child not in selected for child in graph.get(key).child_keys)}
    read_later -= set(rebuilt)
    order = TopologicalSorter({key: context.assets_def.asset_deps.get(key, set()) & selected for key in selected})
    for key in order.static_order():
        if key in read_later:
            yield MaterializeResult(asset_key=key, metadata=said)
