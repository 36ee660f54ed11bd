"""Ingestion assets: one asset per raw table, data checks (SQL expectation suites) as asset checks.

Asset keys are `[<dataset>, <table>]`, e.g. `["raw_salesforce", "account"]`: the warehouse
location of the table, and exactly the key dagster-dbt gives a dbt source table declared as source
`raw_salesforce`, table `account`. So when the dbt project declares its sources that way, the
lineage joins with no translator on the dbt side.

The asset specs come from dagster-dlt's translator over each dlt source (built without touching the
network). Execution does not use `DagsterDltResource.run`: that drops the pipeline's local state
before every run, which throws away a half-finished load package and re-extracts it; for the
append-only events table that could duplicate rows after a crash. `runner.run_source` instead
finishes a pending package first, then extracts what is new.

All sources load in one step, side by side (see `ingest_assets`); the checks of a source run right
after its load. A source is loaded as a unit: Zendesk's ticket export feeds two tables from one cursor.
"""

import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import duckdb
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    Definitions,
    Failure,
    MaterializeResult,
    MetadataValue,
    define_asset_job,
    multi_asset,
)
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from core.warehouse import open_for_writing
from dlt_pipelines import quality, runner, settings
from dlt_pipelines.http import SourceFailure
from orchestration.preflight import PREFLIGHT_KEY
from orchestration.progress import PROGRESS_EVERY_SECONDS, log_progress
from orchestration.resources import WAREHOUSE_POOL, WAREHOUSE_WRITE_TAG, WarehouseResource

INGEST_GROUP = "ingestion"


class RawTableTranslator(DagsterDltTranslator):
    """Keys dlt resources as `[dataset, table]` (see the module docstring)."""

    def __init__(self, dataset: str):
        super().__init__()
        self.dataset = dataset

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        spec = super().get_asset_spec(data)
        table = str(data.resource.table_name)
        return spec.replace_attributes(
            key=AssetKey([self.dataset, table]),
            deps=[PREFLIGHT_KEY],  # the configuration is checked before anything is loaded
            group_name=INGEST_GROUP,
            description=f"Raw `{table}` from {data.resource.source_name}, loaded by dlt into "
            f"`{self.dataset}.{table}` (merge on primary key; events append).",
            kinds={"dlt", "duckdb"},
        ).merge_attributes(metadata={"dagster/table_name": f"{self.dataset}.{table}"})


def _check_specs(source: str, keys: dict[str, AssetKey]) -> list[AssetCheckSpec]:
    out = []
    specs = {s.table: s for s in runner.table_specs(source)}
    for table, key in keys.items():
        spec = specs.get(table)
        for check in quality.CHECKS:
            if spec is not None and check == "timestamps_valid" and not spec.timestamp_fields:
                continue
            if check == "amounts_in_range" and (spec is None or not spec.non_negative):
                continue
            if check in quality.RECORD_CHECKS and spec is None:
                continue
            out.append(AssetCheckSpec(name=check, asset=key, description=f"Data check: {check.replace('_', ' ')}"))
    return out


@dataclass(frozen=True)
class SourcePlan:
    """What one source loads: its raw tables' asset keys and the checks on them."""

    name: str
    keys: dict[str, AssetKey]  # table -> asset key
    specs: list[AssetSpec]
    checks: list[AssetCheckSpec]


def source_plan(source: str) -> SourcePlan:
    dataset = settings.DATASETS[source]
    translator = RawTableTranslator(dataset)
    dlt_source = runner.build_source(source, connect=False)
    specs = [
        translator.get_asset_spec(DltResourceTranslatorData(resource=r, pipeline=None))
        for r in dlt_source.selected_resources.values()
    ]
    keys = {spec.key.path[-1]: spec.key for spec in specs}
    return SourcePlan(source, keys, specs, _check_specs(source, keys))


def _results(
    context: AssetExecutionContext, plan: SourcePlan, report: Any, con: duckdb.DuckDBPyConnection
) -> Iterator[Any]:
    """Materializations of a loaded source, then its data checks."""
    for line in report.lines():
        (context.log.warning if "quarantined" in line or "schema" in line else context.log.info)(line)
    for table, key in plan.keys.items():
        meta = report.as_metadata(table)
        yield MaterializeResult(
            asset_key=key,
            metadata={
                "rows_loaded": MetadataValue.int(meta["rows_loaded"]),
                "quarantined": MetadataValue.int(meta["quarantined"]),
                "quarantine_reasons": MetadataValue.json(meta["quarantine_reasons"]),
                "new_columns": MetadataValue.json(meta["new_columns"] + meta["variant_columns"]),
                "schema_drift": MetadataValue.json(meta["schema_drift"]),
                "open_quarantine": MetadataValue.int(meta["open_quarantine"]),
                "load_ids": MetadataValue.json(meta["load_ids"]),
            },
        )
    checked = quality.run_and_store(con, plan.name, context.run.run_id, load_ids=report.load_ids)
    results = {(r.table, r.check): r for r in checked}
    for check in plan.checks:
        result = results.get((check.asset_key.path[-1], check.name))
        yield AssetCheckResult(
            asset_key=check.asset_key,
            check_name=check.name,
            passed=bool(result and result.success),
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "summary": result.summary if result else "table not in the warehouse yet",
                "expectations": MetadataValue.json(result.expectations if result else []),
            },
        )


def _as_completed_telling(
    context: AssetExecutionContext, futures: dict[Future[Any], SourcePlan], started: float
) -> Iterator[Future[Any]]:
    """The loads as they finish; while they run, which sources are still loading, every few seconds."""
    pending = set(futures)
    while pending:
        finished, pending = wait(pending, timeout=PROGRESS_EVERY_SECONDS, return_when=FIRST_COMPLETED)
        if not finished:
            loading = ", ".join(sorted(futures[f].name for f in pending))
            log_progress(context, f"loading {loading} ({time.monotonic() - started:.0f} s)")
        yield from finished


def ingest_assets(sources: list[str]) -> AssetsDefinition:
    """One step that loads the selected sources side by side (threads: dlt runs pipelines in
    parallel threads; each source waits on its API or reads files while another normalizes). The
    step holds the warehouse once (`core.warehouse.open_for_writing`): each source loads through its own
    cursor of that connection, and DuckDB runs their loads side by side. A selection loads whole
    sources: Zendesk's ticket export feeds two tables from one cursor."""
    plans = {name: source_plan(name) for name in sources}

    @multi_asset(
        name="ingest_sources",
        specs=[spec for plan in plans.values() for spec in plan.specs],
        check_specs=[check for plan in plans.values() for check in plan.checks],
        can_subset=True,
        pool=WAREHOUSE_POOL,
        op_tags=WAREHOUSE_WRITE_TAG,
    )
    def ingest(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[Any]:
        selected = set(context.selected_asset_keys)
        selected_checks = set(context.selected_asset_check_keys)
        chosen = [p for p in plans.values() if selected & set(p.keys.values())]
        failures: list[SourceFailure] = []
        started = time.monotonic()
        with (
            open_for_writing(warehouse.file) as con,
            ThreadPoolExecutor(max_workers=len(chosen), thread_name_prefix="ingest") as pool,
        ):
            futures = {pool.submit(runner.run_source, p.name, warehouse.file, con.cursor()): p for p in chosen}
            for future in _as_completed_telling(context, futures, started):
                plan = futures[future]
                try:
                    report = future.result()
                except SourceFailure as exc:
                    context.log.error(str(exc))
                    failures.append(exc)
                    continue
                rows = sum(report.as_metadata(table)["rows_loaded"] for table in plan.keys)
                done = sum(f.done() for f in futures)
                log_progress(
                    context,
                    f"{plan.name}: {rows:,} rows loaded after {time.monotonic() - started:.0f} s "
                    f"({done} of {len(futures)} sources)",
                )
                for result in _results(context, plan, report, con):
                    if isinstance(result, AssetCheckResult):
                        if AssetCheckKey(result.asset_key, result.check_name) in selected_checks:
                            yield result
                    elif result.asset_key in selected:
                        yield result
        if failures:
            # One line per failed source (source and endpoint) is what the failure sensor posts to
            # Slack; the sources that loaded keep their materializations.
            raise Failure(
                description="; ".join(str(f) for f in failures),
                metadata={"sources": [f.source for f in failures], "endpoints": [f.endpoint for f in failures]},
            )

    return ingest


def definitions() -> Definitions:
    """Assets for every source switched on in config; a switched-off source simply has none."""
    assets = [ingest_assets(list(settings.enabled_sources()))]
    job = define_asset_job(
        "daily_ingest",
        selection=AssetSelection.groups(INGEST_GROUP),
        tags=WAREHOUSE_WRITE_TAG,
        description="Load every switched-on source into the warehouse and check it.",
    )
    return Definitions(assets=assets, jobs=[job])
