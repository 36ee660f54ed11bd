"""The data checks run as SQL in DuckDB: each expectation is met or not as Great Expectations judged
it, and what is recorded (`N unexpected, e.g. [...]`, or the observed value) names the offending
values a reader looks for."""

from __future__ import annotations

import duckdb
import pandas as pd

from core import checks as e
from core.checks import literal_relation, run_suites, validate


def _by_type(result: e.CheckResult) -> dict[tuple[str, str | None], dict]:
    return {(o["expectation"], o["column"]): o for o in result.expectations}


def test_each_expectation_judges_the_values_and_names_the_offending_ones() -> None:
    frame = pd.DataFrame(
        {
            "a": ["x", "x", "y", None, "z", "z", "z"],
            "n": [1, 2, -3, None, 5, 6, 7],
            "ts": pd.to_datetime(["2026-01-01"] * 6 + ["1990-01-01"], utc=True),
        }
    )
    result = validate(
        frame,
        "src",
        "tbl",
        "suite",
        [
            e.ExpectColumnValuesToBeUnique(column="a"),
            e.ExpectColumnValuesToNotBeNull(column="a"),
            e.ExpectColumnValuesToBeBetween(column="n", min_value=0),
            e.ExpectColumnValuesToBeNull(column="a"),
            e.ExpectColumnValuesToBeInSet(column="a", value_set=["x", "y"]),
            e.ExpectColumnPairValuesToBeEqual(column_A="n", column_B="n"),
            e.ExpectColumnValuesToBeBetween(
                column="ts",
                min_value=pd.Timestamp("2000-01-01", tz="UTC"),
                max_value=pd.Timestamp("2100-01-01", tz="UTC"),
            ),
            e.ExpectColumnMaxToBeBetween(column="n", max_value=3),
            e.ExpectTableRowCountToBeBetween(min_value=7, max_value=7),
        ],
    )
    got = _by_type(result)
    assert not result.success
    # Every row of a repeated value is unexpected (x twice, z three times); nulls are not compared.
    assert got[("expect_column_values_to_be_unique", "a")]["observed"] == "5 unexpected, e.g. ['x', 'x', 'z']"
    assert got[("expect_column_values_to_not_be_null", "a")]["observed"] == "1 unexpected, e.g. ['None']"
    assert got[("expect_column_values_to_be_between", "n")]["observed"] == "1 unexpected, e.g. ['-3.0']"
    assert got[("expect_column_values_to_be_null", "a")]["observed"].startswith("6 unexpected")
    assert got[("expect_column_values_to_be_in_set", "a")]["observed"] == "3 unexpected, e.g. ['z', 'z', 'z']"
    assert got[("expect_column_pair_values_to_be_equal", "n")]["success"]
    assert got[("expect_column_values_to_be_between", "ts")]["observed"].startswith("1 unexpected, e.g. ['1990-01-01")
    assert got[("expect_column_max_to_be_between", "n")] == {
        "expectation": "expect_column_max_to_be_between", "column": "n", "success": False, "observed": "7.0",
        "error": None,
    }  # fmt: skip
    assert got[("expect_table_row_count_to_be_between", None)]["success"]
    assert [o["success"] for o in result.expectations].count(True) == 2


def test_a_check_that_cannot_be_evaluated_fails_with_its_error_and_the_others_still_run() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 'a' AS name, 1 AS id")
    results = run_suites(
        con,
        "t",
        "src",
        "t",
        {
            "ranges": [e.ExpectColumnValuesToBeBetween(column="name", min_value=0)],
            "keys": [e.ExpectColumnValuesToNotBeNull(column="id"), e.ExpectColumnValuesToBeUnique(column="id")],
        },
    )
    ranges, keys = results
    assert not ranges.success and "VARCHAR" in ranges.expectations[0]["error"]
    assert keys.success and keys.summary == "2 expectation(s) met"


def test_an_empty_column_has_no_maximum_and_figures_computed_in_python_are_checked_as_relations() -> None:
    con = duckdb.connect()
    empty = run_suites(
        con, literal_relation("total", [], "BIGINT"), "s", "t", {"c": [e.ExpectColumnMaxToBeBetween(column="total")]}
    )
    assert not empty[0].success and empty[0].expectations[0]["observed"] == "None"
    missing = run_suites(
        con,
        literal_relation("missing_field", ["o'name", None], "VARCHAR"),
        "s",
        "t",
        {"fields_present": [e.ExpectColumnValuesToBeNull(column="missing_field")]},
    )
    assert missing[0].expectations[0]["observed"] == '1 unexpected, e.g. ["o\'name"]'
    share = literal_relation("quarantined_share", [0.2], "DOUBLE")
    limit = [e.ExpectColumnMaxToBeBetween(column="quarantined_share", min_value=0, max_value=0.05)]
    assert run_suites(con, share, "s", "t", {"quarantine_share": limit})[0].expectations[0]["observed"] == "0.2"
