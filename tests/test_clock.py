"""The one clock (core/clock.py): the as-of date comes from the warehouse's data clock, timestamps are
naive UTC, and an operator's date is checked."""

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from core import clock


def test_as_of_date_is_the_data_clock_and_none_before_dbt_built_it() -> None:
    with duckdb.connect() as con:
        assert clock.as_of_date(con) is None
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.data_clock AS SELECT DATE '2026-10-31' AS as_of_date, DATE '2024-11-01' AS "
                    "history_start_date")  # fmt: skip
        assert clock.as_of_date(con) == date(2026, 10, 31)


def test_utc_now_is_naive_utc() -> None:
    now = clock.utc_now()
    assert now.tzinfo is None
    assert abs(now - datetime.now(UTC).replace(tzinfo=None)) < timedelta(seconds=5)


def test_an_operator_date_is_parsed_or_refused_in_words() -> None:
    assert clock.parse_as_of_date(" 2026-10-15 ") == date(2026, 10, 15)
    with pytest.raises(ValueError, match="copilot/as_of_date='15/10/2026' is not a date: use YYYY-MM-DD"):
        clock.parse_as_of_date("15/10/2026")
