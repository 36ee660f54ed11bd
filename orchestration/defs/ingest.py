"""Ingestion assets: one multi-asset per source, one asset per raw table, GE suites as asset checks.

Asset keys are `[<dataset>, <table>]`, e.g. `["raw_salesforce", "account"]`: the warehouse
location of the table, and exactly the key dagster-dbt gives a dbt source table declared as source
`raw_salesforce`, table `account`. So when the dbt project declares its sources that way, the
lineage joins with no translator on the dbt side.

The asset specs come from dagster-dlt's translator over each dlt source (built without touching the
network). Execution does not use `DagsterDltResource.run`: that drops the pipeline's local state
before every run, which throws away a half-finished load package and re-extracts it; for the
append-only events table that could duplicate rows after a crash. `runner.run_source` instead
finishes a pending package first, then extracts what is new.

A source is loaded as a unit (no subsetting): Zendesk's ticket export feeds two tables from one
cursor, and the checks of a source run right after its load, in the same step.

Sources run side by side (they are not in the warehouse pool): each extracts and normalizes on its
own, and they take turns on the warehouse file only to load and check (`settings.warehouse_write_lock`).
The longest loads start first (`dagster/priority`).
"""

from collections.abc import Iterator
from typing import Any

from dagster import (
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

from dlt_pipelines import quality, runner, settings
from dlt_pipelines.http import SourceFailure
from orchestration.resources import WAREHOUSE_WRITE_TAG, WarehouseResource

INGEST_GROUP = "ingestion"
# Higher runs first when steps wait for a free process: the longest loads on M first.
PRIORITY = {"product_events": 3, "stripe": 2, "zendesk": 1, "salesforce": 0}


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
            deps=[],
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
            out.append(
                AssetCheckSpec(name=check, asset=key, description=f"Great Expectations: {check.replace('_', ' ')}")
            )
    return out


def source_assets(source: str) -> AssetsDefinition:
    dataset = settings.DATASETS[source]
    translator = RawTableTranslator(dataset)
    dlt_source = runner.build_source(source, connect=False)
    specs = [
        translator.get_asset_spec(DltResourceTranslatorData(resource=r, pipeline=None))
        for r in dlt_source.selected_resources.values()
    ]
    keys = {spec.key.path[-1]: spec.key for spec in specs}
    checks = _check_specs(source, keys)

    @multi_asset(
        name=f"ingest_{source}",
        specs=specs,
        check_specs=checks,
        can_subset=False,
        op_tags={**WAREHOUSE_WRITE_TAG, "dagster/priority": str(PRIORITY.get(source, 0))},
    )
    def ingest(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[Any]:
        try:
            report = runner.run_source(source, warehouse.file)
        except SourceFailure as exc:
            # One line naming source and endpoint is what the failure sensor posts to Slack.
            raise Failure(description=str(exc), metadata={"source": exc.source, "endpoint": exc.endpoint}) from None
        for line in report.lines():
            (context.log.warning if "quarantined" in line or "schema" in line else context.log.info)(line)
        for table, key in keys.items():
            meta = report.as_metadata(table)
            yield MaterializeResult(
                asset_key=key,
                metadata={
                    "rows_loaded": MetadataValue.int(meta["rows_loaded"]),
                    "quarantined": MetadataValue.int(meta["quarantined"]),
                    "quarantine_reasons": MetadataValue.json(meta["quarantine_reasons"]),
                    "new_columns": MetadataValue.json(meta["new_columns"] + meta["variant_columns"]),
                    "load_ids": MetadataValue.json(meta["load_ids"]),
                },
            )
        results = {(r.table, r.check): r for r in quality.run_and_store(warehouse.file, source, context.run.run_id)}
        for check in checks:
            table = check.asset_key.path[-1]
            result = results.get((table, check.name))
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

    return ingest


def definitions() -> Definitions:
    """Assets for every source switched on in config; a switched-off source simply has none."""
    assets = [source_assets(name) for name in settings.enabled_sources()]
    job = define_asset_job(
        "daily_ingest",
        selection=AssetSelection.groups(INGEST_GROUP),
        tags=WAREHOUSE_WRITE_TAG,
        description="Load every switched-on source into the warehouse and check it.",
    )
    return Definitions(assets=assets, jobs=[job])
