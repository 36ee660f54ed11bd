"""The marts' dbt step skips its build only when its inputs are those of its last *successful* build."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration import dbt_unchanged as unchanged
from orchestration.dbt_manifest import DBT_PROJECT_DIR

SOURCES = [("raw_crm", "account"), ("raw_app", "feedback")]
ARGS = ["build", "--vars", '{"crm": "salesforce"}']


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("CREATE SCHEMA raw_crm; CREATE SCHEMA raw_app; CREATE SCHEMA marts")
    con.execute("CREATE TABLE raw_crm.account AS SELECT 'a1' AS id, '1.1' AS _dlt_load_id")
    con.execute("CREATE TABLE raw_crm._dlt_loads AS SELECT '1.1' AS load_id, 0 AS status")
    con.execute("CREATE TABLE raw_app.feedback AS SELECT 1 AS feedback_id, 'useful' AS outcome")
    con.execute("CREATE TABLE marts.data_clock AS SELECT DATE '2026-10-31' AS as_of_date")
    return con


def fingerprint(con: duckdb.DuckDBPyConnection, args: list[str] = ARGS) -> str:
    return unchanged.fingerprint(con, "marts", SOURCES, args, DBT_PROJECT_DIR)


def build(con: duckdb.DuckDBPyConnection, run_id: str, finish: bool = True) -> str:
    seen = fingerprint(con)
    unchanged.record_start(con, "marts", run_id, seen)
    if finish:
        unchanged.record_built(con, "marts", run_id)
    return seen


def test_an_unchanged_input_skips_and_names_the_build(con: duckdb.DuckDBPyConnection) -> None:
    assert unchanged.unchanged_since(con, "marts", fingerprint(con)) is None  # never built
    build(con, "run-1")
    last = unchanged.unchanged_since(con, "marts", fingerprint(con))
    assert last is not None and (last.run_id, last.as_of_date) == ("run-1", date(2026, 10, 31))


@pytest.mark.parametrize(
    "change",
    [
        # a dlt load that merged a changed row: same count, a new completed load
        "INSERT INTO raw_crm._dlt_loads VALUES ('1.2', 0)",
        "INSERT INTO raw_crm.account VALUES ('a2', '1.2')",
        "UPDATE raw_app.feedback SET outcome = 'not useful'",  # a table without dlt's columns
        "DROP TABLE raw_app.feedback",
    ],
)
def test_any_change_of_the_raw_data_builds(con: duckdb.DuckDBPyConnection, change: str) -> None:
    build(con, "run-1")
    con.execute(change)
    assert unchanged.unchanged_since(con, "marts", fingerprint(con)) is None


def test_other_vars_or_settings_build(con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    build(con, "run-1")
    pinned = [*ARGS[:2], '{"crm": "salesforce", "as_of_date": "2026-10-15"}']
    assert unchanged.unchanged_since(con, "marts", fingerprint(con, pinned)) is None
    monkeypatch.setenv("COPILOT_DUCKDB_MEMORY_LIMIT", "1GB")  # read by profiles.yml
    assert unchanged.unchanged_since(con, "marts", fingerprint(con)) is None


def test_a_build_that_did_not_finish_never_counts(con: duckdb.DuckDBPyConnection) -> None:
    build(con, "run-1")
    build(con, "run-2", finish=False)  # failed or killed halfway, on the same inputs
    assert unchanged.unchanged_since(con, "marts", fingerprint(con)) is None
    build(con, "run-3")
    assert unchanged.unchanged_since(con, "marts", fingerprint(con)).run_id == "run-3"


def test_marts_rebuilt_by_hand_for_another_day_build(con: duckdb.DuckDBPyConnection) -> None:
    build(con, "run-1")
    con.execute("UPDATE marts.data_clock SET as_of_date = DATE '2026-10-15'")
    assert unchanged.unchanged_since(con, "marts", fingerprint(con)) is None
