"""Resources shared by the code location: the DuckDB warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource
from pydantic import Field

from core import warehouse
from core.config import resolve_path


class WarehouseResource(ConfigurableResource):
    """The DuckDB file every layer reads and writes. DuckDB allows one writing process at a time,
    so every asset that writes it runs in the `warehouse` pool (limit 1, see dagster.yaml)."""

    path: str = Field(
        default_factory=lambda: str(warehouse.warehouse_path()),
        description="DuckDB file; default COPILOT_WAREHOUSE or data/warehouse.duckdb",
    )

    @property
    def file(self) -> Path:
        return resolve_path(self.path)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = warehouse.connect(self.file, read_only=read_only)
        try:
            yield con
        finally:
            con.close()


WAREHOUSE_POOL = "warehouse"
# Runs that write the warehouse carry this tag; dagster.yaml lets one such run go at a time.
WAREHOUSE_WRITE_TAG = {"copilot/warehouse": "write"}
