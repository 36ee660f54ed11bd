"""The warehouse helpers every layer uses: one file name, the memory cap, table helpers, the lock."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from core import warehouse
from core.config import REPO_ROOT, ConfigError


def test_the_warehouse_file_is_chosen_by_one_variable_that_dbt_reads_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COPILOT_WAREHOUSE", raising=False)
    assert warehouse.warehouse_path() == REPO_ROOT / "data" / "warehouse.duckdb"
    monkeypatch.setenv("COPILOT_WAREHOUSE", "elsewhere/w.duckdb")
    assert warehouse.warehouse_path() == REPO_ROOT / "elsewhere" / "w.duckdb"
    profile = (REPO_ROOT / "dbt_project" / "profiles.yml").read_text()
    path = re.search(r"path: \"\{\{ env_var\('(\w+)', '([^']+)'\) \}\}\"", profile)
    assert path is not None and path.groups() == (warehouse.WAREHOUSE_ENV, warehouse.DEFAULT_WAREHOUSE)
    limit = re.search(r"memory_limit: \"\{\{ env_var\('(\w+)', '([^']+)'\) \}\}\"", profile)
    assert limit is not None and limit.groups() == (warehouse.MEMORY_LIMIT_ENV, warehouse.DEFAULT_MEMORY_LIMIT)


def test_a_memory_cap_duckdb_cannot_read_is_a_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("COPILOT_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(ConfigError, match=r"^COPILOT_DUCKDB_MEMORY_LIMIT='lots' is not a memory size DuckDB accepts"):
        warehouse.connect(tmp_path / "w.duckdb")
    monkeypatch.setenv("COPILOT_DUCKDB_MEMORY_LIMIT", "256MB")
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] in ("256.0 MB", "244.1 MiB")


def test_table_helpers_create_find_and_append(tmp_path: Path) -> None:
    with warehouse.connect(tmp_path / "w.duckdb") as con:
        assert not warehouse.table_exists(con, "logs.events")
        assert warehouse.columns(con, "logs.events") == []
        ddl = "CREATE TABLE IF NOT EXISTS logs.events (happened_at TIMESTAMP, name VARCHAR, n INTEGER)"
        warehouse.ensure_tables(con, [ddl])
        warehouse.ensure_tables(con, [ddl])  # idempotent
        assert warehouse.table_exists(con, "logs.events")
        assert warehouse.columns(con, "logs.events") == ["happened_at", "name", "n"]
        warehouse.insert_rows(con, "logs.events", [(None, "a", 1), (None, None, 2)])
        warehouse.insert_rows(con, "logs.events", [])
        assert con.execute("SELECT name, n FROM logs.events ORDER BY n").fetchall() == [("a", 1), (None, 2)]


def test_a_second_writer_waits_for_the_first(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    order: list[str] = []

    def second() -> None:
        with warehouse.write_lock(path):
            order.append("second")

    with warehouse.write_lock(path):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.2)
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"]


SIDE_TABLE_DDL = ["CREATE TABLE IF NOT EXISTS side_schema.seen (source VARCHAR, n INTEGER)"]


def _record_seen(con: duckdb.DuckDBPyConnection, ready: threading.Barrier, source: str, attempt: int) -> None:
    """What a source does as it finishes: its own table created if missing, then its row."""
    own = con.cursor()
    ready.wait()
    warehouse.ensure_tables(own, SIDE_TABLE_DDL)
    own.execute("INSERT INTO side_schema.seen VALUES (?, ?)", [source, attempt])


def test_sources_finishing_together_create_a_missing_table_once(tmp_path: Path) -> None:
    # The sources load side by side, each through its own cursor of the step's connection, and each
    # records what it saw in a table of the warehouse's own (drift, quality) when it finishes: on the
    # first run after a killed one that table may not exist yet, and two sources may create it at once.
    sources = ["salesforce", "zendesk", "stripe", "product_events"]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        for attempt in range(20):
            con.execute("DROP SCHEMA IF EXISTS side_schema CASCADE")
            ready = threading.Barrier(len(sources))
            with ThreadPoolExecutor(max_workers=len(sources)) as pool:
                list(pool.map(lambda s, a=attempt, r=ready: _record_seen(con, r, s, a), sources))
            assert con.execute("SELECT count(*) FROM side_schema.seen WHERE n = ?", [attempt]).fetchone()[0] == 4
