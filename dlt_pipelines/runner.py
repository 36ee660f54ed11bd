"""Build and run the ingestion pipelines: one dlt pipeline per source, one dataset per source.

`python -m dlt_pipelines run [source ...]` runs them from a shell; Dagster calls `run_source`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import dlt
import duckdb
from dlt.common.pipeline import ExtractInfo
from dlt.sources import DltSource

from core import warehouse as warehouse_db
from dlt_pipelines import drift, load_report, recovery, settings
from dlt_pipelines.contracts import TableSpec
from dlt_pipelines.file_exports import export_source
from dlt_pipelines.http import describe_failure
from dlt_pipelines.hubspot import tables as hs_tables
from dlt_pipelines.hubspot.source import hubspot_source
from dlt_pipelines.product_events.source import DEFAULT_GLOB, LayoutError, empty_events_table, product_events_source
from dlt_pipelines.product_events.source import TABLE as EVENTS_TABLE
from dlt_pipelines.salesforce import tables as sf_tables
from dlt_pipelines.salesforce.source import salesforce_source
from dlt_pipelines.stripe import tables as st_tables
from dlt_pipelines.stripe.source import stripe_source
from dlt_pipelines.zendesk import tables as zd_tables
from dlt_pipelines.zendesk.source import zendesk_source

# Normalized rows go to DuckDB as Parquet (DuckDB's COPY) rather than dlt's default INSERT statements:
# the same tables and values in a fraction of the load time (figures in BENCHMARKS.md's history).
LOADER_FILE_FORMAT = "parquet"

# dlt normalizes the rows a source extracted as JSON lines (row dicts) one by one in Python. In the
# run's process that shares one interpreter lock with the other sources loading beside it, so a big
# extraction (a first load, a backfill) is normalized in worker processes, one per core (at most
# four): at L, the first load of all sources went from 506 s to 356 s. Starting them costs a second
# or two, so a day's few thousand rows stay in process. Arrow items (product events, and API records
# that fit their contract: `contracts.arrow_batch`) are written as Parquet and need no normalizing.
NORMALIZE_IN_WORKERS_ROWS = 100_000
MAX_NORMALIZE_WORKERS = 4

ApiBuilder = Callable[[settings.SourceSettings, bool], DltSource]

API_SOURCES: dict[str, ApiBuilder] = {
    "salesforce": salesforce_source,
    "hubspot": hubspot_source,
    "zendesk": zendesk_source,
    "stripe": stripe_source,
}
TABLE_SPECS: dict[str, Mapping[str, TableSpec]] = {
    "salesforce": sf_tables.TABLES,
    "hubspot": hs_tables.TABLES,
    "zendesk": zd_tables.TABLES,
    "stripe": st_tables.TABLES,
}


def build_source(name: str, connect: bool = True) -> DltSource:
    """The dlt source for `name` as configured (API or file exports). `connect=False` builds it
    without any network call, to declare assets."""
    cfg = settings.source_settings(name)
    if name == "product_events":
        return product_events_source(cfg, connect)
    if cfg.mode == "files":
        return export_source(cfg, TABLE_SPECS[name])
    return API_SOURCES[name](cfg, connect)


def table_specs(name: str) -> list[TableSpec]:
    """The contracts of the tables a source loads (product events have a file contract instead)."""
    if name == "product_events":
        return []
    cfg = settings.source_settings(name)
    objects = cfg.get("objects", list, list(TABLE_SPECS[name]))
    return [TABLE_SPECS[name][o] for o in objects]


def make_pipeline(name: str, warehouse: Path, con: duckdb.DuckDBPyConnection) -> dlt.Pipeline:
    """The source's pipeline, loading through `con` (an open connection to `warehouse`, which dlt
    borrows and never closes); its working folder sits beside the warehouse."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=f"copilot_{name}",
        destination=dlt.destinations.duckdb(con),
        dataset_name=settings.DATASETS[name],
        pipelines_dir=str(settings.pipelines_dir(warehouse)),
    )


def run_source(
    name: str, warehouse: Path | None = None, con: duckdb.DuckDBPyConnection | None = None
) -> load_report.SourceReport:
    """Load one source. Raises `SourceFailure` (one line: source and endpoint) when it fails.

    `con`: the warehouse already held by the caller (`warehouse_db.open_for_writing`; a cursor of it per
    thread when sources load side by side); without it the source holds the warehouse itself."""
    warehouse = warehouse or warehouse_db.warehouse_path()
    if con is None:
        with warehouse_db.open_for_writing(warehouse) as own:
            return run_source(name, warehouse, own)
    cfg = settings.source_settings(name)
    report = load_report.SourceReport(name, cfg.dataset)
    if not cfg.enabled:
        report.skipped = cfg.why_off or f"switched off: sources.{name}.enabled = false"
        return report
    started = time.perf_counter()
    pipeline = make_pipeline(name, warehouse, con)
    before = load_report.schema_columns(pipeline)
    row_counts: dict[str, int] = {}
    # Quarantined records still open: fetched again by id (keyless ones: their table read in full).
    todo = recovery.plan(con, name, cfg.mode)
    # A table whose last run lacked a field is read in full until the field is back: the records
    # that came meanwhile hold kept (possibly outdated) values, and new ones none.
    todo.drifted = [s.table for s in table_specs(name) if drift.latest_missing(con, name, s.table)]
    try:
        pipeline.sync_destination()
        if pipeline.has_pending_data:
            # A run that stopped after extracting: finish loading exactly what it extracted (its
            # state moves with it) before extracting anything new.
            if pipeline.list_extracted_load_packages():
                pipeline.normalize()
                _add_counts(row_counts, pipeline)
            info = pipeline.load()
            info.raise_on_failed_jobs()
            report.load_ids += list(info.loads_ids)
        # Keyless quarantined records: read again from the earliest of them, or in full.
        full = recovery.rewind_for_reread(pipeline, name, todo) if todo.keyless else []
        if full or todo.drifted:
            recovery.reset_for_reread(pipeline, name, sorted({*full, *todo.drifted}))
        source = build_source(name)
        source.resources.add(*recovery.resources(cfg, todo))
        with drift.collecting(cfg.dataset, con) as fields_seen:
            extracted = pipeline.extract(source, loader_file_format=LOADER_FILE_FORMAT)
        if name == "product_events":
            _require_event_files(pipeline, cfg)
        if _nothing_new(extracted) and not (todo.before or todo.drifted):
            # No record, quarantined one or new file: the package holds at most dlt's own state
            # (the same cursor, its boundary records' hashes). Dropped, with the local state back to
            # what the warehouse holds, instead of normalizing and loading it.
            pipeline.abort_packages()
        else:
            pipeline.normalize(workers=_normalize_workers(extracted))
            _add_counts(row_counts, pipeline)
            info = pipeline.load()
            info.raise_on_failed_jobs()
            report.load_ids += list(info.loads_ids)
        _create_missing_tables(name, pipeline)
    except Exception as exc:
        raise describe_failure(name, exc) from exc
    if todo.keyless:
        recovery.mark_reread(con, name, todo.keyless)
    if todo.deleted:
        recovery.mark_deleted(con, name, todo)
    drift.store(con, name, fields_seen)
    built = load_report.build(report, pipeline, row_counts, before)
    load_report.add_recovery(built, todo, recovery.open_records(con, name), drift.report_lines(fields_seen))
    built.seconds = time.perf_counter() - started
    return built


def _nothing_new(extracted: ExtractInfo) -> bool:
    """Whether an extraction brought no row into any table (dlt's own tables aside)."""
    return not any(
        table_metrics.items_count
        for metrics in extracted.metrics.values()
        for extract in metrics
        for table, table_metrics in extract["table_metrics"].items()
        if not table.startswith("_dlt")
    )


def _normalize_workers(extracted: ExtractInfo) -> int:
    """Worker processes for normalizing what was extracted: see NORMALIZE_IN_WORKERS_ROWS."""
    rows_as_json = sum(
        job.items_count
        for metrics in extracted.metrics.values()
        for extract in metrics
        for job in extract["job_metrics"].values()
        if "jsonl" in Path(job.file_path).name
    )
    if rows_as_json < NORMALIZE_IN_WORKERS_ROWS:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_NORMALIZE_WORKERS))


def _require_event_files(pipeline: dlt.Pipeline, cfg: settings.SourceSettings) -> None:
    """A product-events folder where no file was ever found stops the load (one line naming it):
    an empty table would otherwise be created and every account would look inactive."""
    files = pipeline.state.get("sources", {}).get("product_events", {}).get("resources", {})
    if not files.get(EVENTS_TABLE, {}).get("files"):
        glob = cfg.get("file_glob", str, DEFAULT_GLOB)
        raise LayoutError(cfg.files_url.rstrip("/"), f"no file matches {glob}: nothing to load")


def _create_missing_tables(name: str, pipeline: dlt.Pipeline) -> None:
    """Create, empty, every declared table no load has created yet (dlt creates a table with its
    first row), so that a system with no records of some object still yields every raw table."""
    existing = set(pipeline.default_schema.data_table_names(seen_data_only=True))
    missing = [s for s in table_specs(name) if s.table not in existing]
    if name == "product_events" and EVENTS_TABLE not in existing:
        missing_events = [dlt.resource([empty_events_table()], name=EVENTS_TABLE, write_disposition="append")]
    else:
        missing_events = []
    resources = [dlt.resource([s.empty_table()], **s.resource_hints()) for s in missing] + missing_events
    if resources:
        pipeline.run(resources).raise_on_failed_jobs()


def _add_counts(into: dict[str, int], pipeline: dlt.Pipeline) -> None:
    trace = pipeline.last_trace
    if trace is None or trace.last_normalize_info is None:
        return
    for table, rows in trace.last_normalize_info.row_counts.items():
        into[table] = into.get(table, 0) + rows


def run_all(sources: Sequence[str] | None = None, warehouse: Path | None = None) -> list[load_report.SourceReport]:
    """Load the sources one after another, the warehouse held once for all of them."""
    warehouse = warehouse or warehouse_db.warehouse_path()
    with warehouse_db.open_for_writing(warehouse) as con:
        return [run_source(name, warehouse, con) for name in (sources or settings.SOURCES)]
