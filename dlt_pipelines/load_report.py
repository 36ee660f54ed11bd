"""What a load did, per table: rows loaded, records quarantined and why, schema changes.

Printed at the end of every run (CLI and Dagster logs) and attached to the Dagster materializations,
so a quarantined record or a new column is never silent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import dlt
import orjson

from dlt_pipelines.contracts import EXTRA_COLUMN, QUARANTINE_TABLE

DLT_COLUMNS = ("_dlt_load_id", "_dlt_id", "_dlt_parent_id", "_dlt_root_id", "_dlt_list_idx")


@dataclass
class TableReport:
    rows_loaded: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)  # reason -> records
    new_columns: list[str] = field(default_factory=list)
    variant_columns: list[str] = field(default_factory=list)  # a value's type changed under a column
    drift: list[str] = field(default_factory=list)  # fields no record of the run carried, one line each
    refetched: int = 0  # open quarantined records asked for again by id
    recovered: int = 0  # open quarantined records loaded by this run
    not_found: int = 0  # open quarantined records the source no longer returns
    deleted: int = 0  # open quarantined records the source deleted since (resolved, nothing to load)
    reread: bool = False  # read again for keyless quarantined records (in full, or from `reread_from`)
    reread_from: Any = None  # the cursor value a keyless re-read started from, when not in full
    drift_reread: bool = False  # read in full again because the last run lacked a field
    open_quarantine: int = 0  # records in quarantine after the run, not loaded since nor discarded
    extra_fields: dict[str, int] = field(default_factory=dict)  # unknown field kept in _extra_fields -> records

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())


@dataclass
class SourceReport:
    source: str
    dataset: str
    seconds: float = 0.0
    skipped: str | None = None  # why the source did not run (switched off)
    load_ids: list[str] = field(default_factory=list)
    tables: dict[str, TableReport] = field(default_factory=dict)
    new_tables: list[str] = field(default_factory=list)

    def table(self, name: str) -> TableReport:
        return self.tables.setdefault(name, TableReport())

    @property
    def rows_loaded(self) -> int:
        return sum(t.rows_loaded for t in self.tables.values())

    @property
    def quarantined_total(self) -> int:
        return sum(t.quarantined_total for t in self.tables.values())

    def lines(self) -> list[str]:
        if self.skipped:
            return [f"{self.source}: skipped ({self.skipped})"]
        out = [
            f"{self.source}: {self.rows_loaded} rows into {self.dataset} in {self.seconds:.1f}s"
            + (f", {self.quarantined_total} quarantined" if self.quarantined_total else "")
        ]
        for name in sorted(self.tables):
            t = self.tables[name]
            if t.rows_loaded:
                out.append(f"  {name}: {t.rows_loaded} rows")
            for reason, n in sorted(t.quarantined.items(), key=lambda kv: -kv[1]):
                out.append(f"  {name}: {n} record(s) quarantined: {reason}")
            if t.new_columns:
                out.append(f"  {name}: schema evolved, new column(s) {', '.join(t.new_columns)}")
            if t.extra_fields:
                out.append(
                    f"  {name}: field(s) the contract does not know, kept in {EXTRA_COLUMN}: "
                    + ", ".join(f"{f} ({n})" for f, n in sorted(t.extra_fields.items()))
                )
            if t.variant_columns:
                out.append(
                    f"  {name}: a field changed type, values kept in variant column(s) {', '.join(t.variant_columns)}"
                )
            if t.drift_reread:
                out.append(f"  {name}: read in full again after a field went missing ({len(t.drift)} still missing)")
            out += [f"  {self.dataset}.{name}: {line}" for line in t.drift]
            if t.refetched or t.reread:
                how = f"re-fetched {t.refetched} by id"
                if t.reread:
                    how = f"read again from {t.reread_from}" if t.reread_from else "read the table in full again"
                gone = f", {t.not_found} no longer at the source" if t.not_found else ""
                gone += f", {t.deleted} deleted at the source (resolved)" if t.deleted else ""
                out.append(f"  {name}: quarantine recovery: {how}, {t.recovered} recovered{gone}")
            if t.open_quarantine:
                out.append(
                    f"  {name}: {t.open_quarantine} record(s) still quarantined, fetched again next run "
                    f"(python -m dlt_pipelines quarantine list {self.source})"
                )
        for name in self.new_tables:
            out.append(f"  new table {name}")
        return out

    def as_metadata(self, table: str) -> dict[str, Any]:
        t = self.tables.get(table, TableReport())
        return {
            "rows_loaded": t.rows_loaded,
            "quarantined": t.quarantined_total,
            "quarantine_reasons": dict(t.quarantined),
            "new_columns": list(t.new_columns),
            "variant_columns": list(t.variant_columns),
            "schema_drift": list(t.drift),
            "open_quarantine": t.open_quarantine,
            "recovered": t.recovered,
            "extra_fields": sorted(t.extra_fields),
            "load_ids": list(self.load_ids),
        }


def schema_columns(pipeline: dlt.Pipeline) -> dict[str, set[str]]:
    """Columns per data table of the pipeline's schema (empty before the first run)."""
    if not pipeline.default_schema_name:
        return {}
    schema = pipeline.default_schema
    return {
        name: {c for c in schema.get_table_columns(name) if c not in DLT_COLUMNS} for name in schema.data_table_names()
    }


def build(
    report: SourceReport,
    pipeline: dlt.Pipeline,
    row_counts: Mapping[str, int],
    before: Mapping[str, set[str]],
) -> SourceReport:
    for table, rows in row_counts.items():
        if table != QUARANTINE_TABLE and not table.startswith("_dlt"):
            report.table(table).rows_loaded += rows
    after = schema_columns(pipeline)
    for table, cols in after.items():
        if table == QUARANTINE_TABLE:
            continue
        if table not in before:
            if before:  # the first load creates every table: not news
                report.new_tables.append(table)
            continue
        added = sorted(cols - before[table])
        variants = [c for c in added if "__v_" in c]
        if added:
            report.table(table).new_columns += [c for c in added if c not in variants]
            report.table(table).variant_columns += variants
    extra_tables = [t for t, cols in after.items() if EXTRA_COLUMN in cols and t != QUARANTINE_TABLE]
    if extra_tables and report.load_ids:
        _count_extra_fields(report, pipeline, extra_tables)
    if QUARANTINE_TABLE in after and report.load_ids:
        with pipeline.sql_client() as client:
            marks = ", ".join(f"'{lid}'" for lid in report.load_ids)
            rows = client.execute_sql(
                f"SELECT source_table, reason, count(*) FROM {client.make_qualified_table_name(QUARANTINE_TABLE)} "
                f"WHERE _dlt_load_id IN ({marks}) GROUP BY 1, 2"
            )
        for table, reason, n in rows or []:
            report.table(table).quarantined[reason] = n
    return report


def add_recovery(
    report: SourceReport, todo: Any, still_open: list[Any], drift_lines: Mapping[str, list[str]]
) -> SourceReport:
    """Quarantine recovery (`recovery.Plan`, the records open after the run) and vanished fields."""
    open_keys: dict[str, set[str]] = {}
    for record in still_open:
        report.table(record.table).open_quarantine += 1
        if record.key is not None:
            open_keys.setdefault(record.table, set()).add(record.key)
    for table, before in todo.before.items():
        t = report.table(table)
        t.refetched = len(todo.keys.get(table, []))
        t.reread = table in todo.keyless
        t.reread_from = todo.rewound.get(table)
        t.not_found = todo.not_found.get(table, 0)
        t.deleted = len(todo.deleted.get(table, []))
        # Keyless records count as recovered by the full re-read (a still broken one is quarantined anew).
        keyed = {k for k in before if k is not None}
        deleted = set(todo.deleted.get(table, []))
        t.recovered = len(keyed - open_keys.get(table, set()) - deleted) + len(todo.keyless.get(table, []))
    for table in todo.drifted:
        report.table(table).drift_reread = True
    for table, lines in drift_lines.items():
        report.table(table).drift += lines
    return report


def _count_extra_fields(report: SourceReport, pipeline: dlt.Pipeline, tables: list[str]) -> None:
    """Per table, the unknown fields this run's records carried in `_extra_fields`, with how many
    records carried each."""
    marks = ", ".join(f"'{lid}'" for lid in report.load_ids)
    with pipeline.sql_client() as client:
        for table in tables:
            rows = client.execute_sql(
                f"SELECT {EXTRA_COLUMN} FROM {client.make_qualified_table_name(table)} "
                f"WHERE _dlt_load_id IN ({marks}) AND {EXTRA_COLUMN} IS NOT NULL"
            )
            counts = report.table(table).extra_fields
            for (value,) in rows or []:
                extra = orjson.loads(value) if isinstance(value, str | bytes) else value
                for name in extra if isinstance(extra, dict) else ():
                    counts[name] = counts.get(name, 0) + 1
