"""The warehouse: which DuckDB file, how every layer opens it, its write lock and table helpers.

One name chooses the file: the `COPILOT_WAREHOUSE` environment variable, else `data/warehouse.duckdb`
under the repository root. dbt's profile (`dbt_project/profiles.yml`) reads the same variable with
the same default, so the dbt CLI, the loaders and Dagster always build the same file.
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from core.config import ConfigError, resolve_path

WAREHOUSE_ENV = "COPILOT_WAREHOUSE"
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"

# Without a cap DuckDB keeps up to 80 % of the machine's memory in its buffers. Every connection
# (and dbt's, through profiles.yml: same variable, same default) caps it so that the daily run at L
# stays within 8 GB; DuckDB spills to disk beyond the cap.
# The warehouse's raw layer, which the loaders write and later layers read: a dataset per source, and
# the loaders' check results (the reverse-ETL gate refuses to push scores built on a failed load).
RAW_DATASETS = {
    "salesforce": "raw_salesforce",
    "hubspot": "raw_hubspot",
    "zendesk": "raw_zendesk",
    "stripe": "raw_stripe",
    "product_events": "raw_product",
}
INGESTION_CHECK_RESULTS = "raw_quality.check_results"

MEMORY_LIMIT_ENV = "COPILOT_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "5GB"


def warehouse_path() -> Path:
    """The DuckDB file: `COPILOT_WAREHOUSE`, else `data/warehouse.duckdb` (relative to the repository)."""
    return resolve_path(os.environ.get(WAREHOUSE_ENV) or DEFAULT_WAREHOUSE)


def memory_limit() -> str:
    """DuckDB's memory cap, e.g. "5GB"; ConfigError when DuckDB does not read it as a size."""
    value = (os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT).strip()
    _check_memory_limit(value)
    return value


def _memory_limit_sql(value: str) -> str:
    return f"SET memory_limit = '{value}'"


@functools.cache
def _check_memory_limit(value: str) -> None:
    """DuckDB itself says what it accepts (5GB, 512MiB, ...): the statement every connection runs,
    tried once per value on an in-memory database."""
    with duckdb.connect(":memory:") as con:
        try:
            con.execute(_memory_limit_sql(value))
        except duckdb.Error as exc:
            reason = str(exc).splitlines()[0]
            raise ConfigError(
                f"{MEMORY_LIMIT_ENV}={value!r} is not a memory size DuckDB accepts (e.g. 5GB, 512MB): {reason}"
            ) from None


# The warehouse holds contacts' names and e-mail addresses; beside it dlt keeps its state and load
# packages, and DuckDB its write-ahead log and spill files. A process that writes the warehouse
# creates every file from then on readable by its own user only (0600, folders 0700): set through
# the umask before the first file exists, so no file is ever world-readable, not even for a moment.
PRIVATE_UMASK = 0o077


def keep_files_private() -> None:
    """From now on this process (and what it starts) creates files and folders for its user only."""
    os.umask(os.umask(PRIVATE_UMASK) | PRIVATE_UMASK)


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse with DuckDB's memory cap: every layer opens the file this way."""
    path = Path(path)
    if not read_only:
        keep_files_private()
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    # SET rather than connect(config=...): a second connection in the same process with another
    # config would be refused while the first is open.
    con.execute(_memory_limit_sql(memory_limit()))
    return con


@contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """Hold the warehouse for writing. DuckDB lets one process at a time open the file (even to read
    while another writes), so a process that loads waits here for another one to finish. An OS file
    lock (flock) beside the warehouse: released by the OS when its holder dies, so a killed run
    never leaves it stuck."""
    keep_files_private()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def open_for_writing(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse held for a step that writes: its lock and one connection that every writer of
    the process shares (each thread through its own cursor). The file is opened and checkpointed
    once instead of once per writer."""
    with write_lock(path), connect(path) as con:
        yield con


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `schema.table` (or a view of that name) exists."""
    schema, _, name = table.rpartition(".")
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema or "main", name],
        ).fetchone()[0]
    )


def columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The column names of `schema.table` in order; empty when the table does not exist."""
    schema, _, name = table.rpartition(".")
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [schema or "main", name],
    ).fetchall()
    return [row[0] for row in rows]


_CREATE_TABLE = re.compile(r"^\s*create\s+table\s+if\s+not\s+exists\s+(\w+)\.", re.IGNORECASE)


# One thread at a time creates tables: threads of a step writing through cursors of one connection
# (the sources loading side by side) would otherwise create the same missing schema or table at once,
# and DuckDB refuses the second with a write-write conflict, IF NOT EXISTS or not.
_CREATING = threading.Lock()


def ensure_tables(con: duckdb.DuckDBPyConnection, ddl: Sequence[str]) -> None:
    """Create a layer's own tables when missing, in order: `CREATE TABLE IF NOT EXISTS schema.name
    (...)` statements (the schema is created first), or other idempotent DDL such as `ALTER TABLE
    ... ADD COLUMN IF NOT EXISTS` for a table that gained a column."""
    with _CREATING:
        for statement in ddl:
            if match := _CREATE_TABLE.match(statement):
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {match.group(1)}")
            con.execute(statement)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[Any]]) -> None:
    """Append `rows` (in the table's column order) in one insert from a frame: `executemany` would
    run one statement per row (~2-4 ms each)."""
    if rows:
        import pandas as pd

        con.register("new_rows", pd.DataFrame(list(rows)))
        try:
            con.execute(f"INSERT INTO {table} SELECT * FROM new_rows")
        finally:
            con.unregister("new_rows")
