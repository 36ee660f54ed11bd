"""The raw tables as Parquet, where a cluster can read them: one folder per table,
`<folder>/<schema>/<table>/data.parquet`, for every table of the warehouse's `raw_*` schemas (the
dlt child tables and dlt's own tables included, as dbt's sources read them).

The folder may be a local path or an object-store URL DuckDB writes to (`s3://…`, with its httpfs
extension and credentials set up by the deployment). The dbt project reads it on Spark through
`raw_parquet_path` (dbt_project/macros/spark/raw_parquet.sql).

Types are kept, with three changes a Spark reader needs: JSON documents are written as text,
timestamps with a time zone as UTC instants, and unsigned or 128-bit integers as signed 64-bit or
decimal values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

RAW_SCHEMA_PREFIX = "raw_"


@dataclass(frozen=True)
class ExportedTable:
    schema: str
    table: str
    rows: int
    path: str


def _select_expression(name: str, data_type: str) -> str:
    quoted = '"' + name.replace('"', '""') + '"'
    upper = data_type.upper()
    if upper == "JSON":
        return f"CAST({quoted} AS VARCHAR) AS {quoted}"
    if upper in {"UTINYINT", "USMALLINT", "UINTEGER"}:
        return f"CAST({quoted} AS BIGINT) AS {quoted}"
    if upper in {"UBIGINT", "HUGEINT", "UHUGEINT"}:
        return f"CAST({quoted} AS DECIMAL(38, 0)) AS {quoted}"
    return quoted


def raw_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(schema, table) of every base table in the warehouse's raw schemas (not dlt's `*_staging`
    schemas, where a merge stages its rows)."""
    return [
        (schema, table)
        for schema, table in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND starts_with(table_schema, ?) "
            "ORDER BY table_schema, table_name",
            [RAW_SCHEMA_PREFIX],
        ).fetchall()
        if not schema.endswith("_staging")
    ]


def export_raw(con: duckdb.DuckDBPyConnection, folder: str | Path) -> list[ExportedTable]:
    """Write every raw table to `<folder>/<schema>/<table>/data.parquet` (replacing what was there)."""
    base = str(folder).rstrip("/")
    if "://" not in base:
        Path(base).mkdir(parents=True, exist_ok=True)
    exported = []
    for schema, table in raw_tables(con):
        cols = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
        select = ", ".join(_select_expression(name, data_type) for name, data_type in cols)
        target = f"{base}/{schema}/{table}"
        if "://" not in target:
            Path(target).mkdir(parents=True, exist_ok=True)
        path = f"{target}/data.parquet"
        # The session's time zone decides how DuckDB writes TIMESTAMPTZ: UTC, as every staged time is.
        con.execute("SET TimeZone = 'UTC'")
        con.execute(
            f'COPY (SELECT {select} FROM "{schema}"."{table}") TO \'{path}\' (FORMAT PARQUET, COMPRESSION ZSTD)'
        )
        rows = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
        exported.append(ExportedTable(schema, table, rows, path))
    return exported
