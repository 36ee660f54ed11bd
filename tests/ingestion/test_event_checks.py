"""The product-events suite after a load checks the days that load touched: a repeated event id on a
loaded day fails `keys_present_and_unique`, rows lost since the last check fail
`row_count_not_shrinking`, and a day the load did not touch is not read again."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dlt_pipelines import quality

EVENTS = "raw_product.events"


def _add(con: duckdb.DuckDBPyConnection, load_id: str, day: str, ids: list[str]) -> None:
    con.executemany(
        f"INSERT INTO {EVENTS} VALUES (?, 'acc-1', 'user-1', 'login', ?::TIMESTAMPTZ, '{{}}', ?)",
        [(event_id, f"{day} 10:00:00+00", load_id) for event_id in ids],
    )


def _checks(con: duckdb.DuckDBPyConnection, load_ids: list[str] | None) -> dict[str, quality.CheckResult]:
    results = quality.run_checks(con, "product_events", [], load_ids)
    quality.store(con, results, run_id="test")
    return {r.check: r for r in results}


@pytest.fixture
def con(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA raw_product")
    con.execute(
        f"""CREATE TABLE {EVENTS} (event_id VARCHAR, account_id VARCHAR, user_id VARCHAR, event_name VARCHAR,
            event_timestamp TIMESTAMPTZ, properties VARCHAR, _dlt_load_id VARCHAR)"""
    )
    yield con
    con.close()


def test_a_repeated_event_on_the_loaded_day_fails_and_is_named(con: duckdb.DuckDBPyConnection) -> None:
    _add(con, "load-1", "2026-10-01", ["e1", "e2"])
    assert all(r.success for r in _checks(con, ["load-1"]).values())
    _add(con, "load-2", "2026-10-02", ["e3", "e3", "e4"])
    results = _checks(con, ["load-2"])
    assert not results["keys_present_and_unique"].success
    assert "n_rows" in results["keys_present_and_unique"].summary
    assert results["timestamps_valid"].success and results["row_count_not_shrinking"].success


def test_an_old_day_is_not_read_again_by_a_later_load(con: duckdb.DuckDBPyConnection) -> None:
    _add(con, "load-1", "2026-10-01", ["e1", "e1"])  # a repeat the first load's check already reported
    assert not _checks(con, ["load-1"])["keys_present_and_unique"].success
    _add(con, "load-2", "2026-10-05", ["e2"])
    assert _checks(con, ["load-2"])["keys_present_and_unique"].success
    # Without load ids every day is read, so the old repeat shows again.
    assert not _checks(con, None)["keys_present_and_unique"].success


def test_a_load_with_no_events_checks_the_latest_day(con: duckdb.DuckDBPyConnection) -> None:
    _add(con, "load-1", "2026-10-01", ["e1"])
    _add(con, "load-2", "2026-10-02", ["e2", "e2"])
    results = _checks(con, ["load-3"])
    assert not results["keys_present_and_unique"].success
    observed = {e["expectation"]: e["observed"] for e in results["row_count_not_shrinking"].expectations}
    assert observed == {"expect_column_max_to_be_between": "3"}


def test_rows_lost_since_the_last_check_fail_row_count_not_shrinking(con: duckdb.DuckDBPyConnection) -> None:
    _add(con, "load-1", "2026-10-01", ["e1", "e2", "e3"])
    assert _checks(con, ["load-1"])["row_count_not_shrinking"].success
    con.execute(f"DELETE FROM {EVENTS} WHERE event_id = 'e3'")
    result = _checks(con, ["load-2"])["row_count_not_shrinking"]
    assert not result.success
    assert result.expectations[0]["observed"] == "2"
