"""Data checks: one way to run a check and to record its outcome, for every layer.

A check is a named suite of expectations on one relation: a warehouse table, a query over it, or a
small pandas frame. The expectations carry Great Expectations' names and arguments
(`ExpectColumnValuesToNotBeNull(column="id")`, recorded as `expect_column_values_to_not_be_null`)
and are evaluated as SQL by DuckDB where the data lies: every expectation of a table in one
aggregate query, with a second query for the first offending values only when one fails. A table
is never copied into a frame to be checked, and the checks import nothing beyond DuckDB.

The ingestion checks (`dlt_pipelines/quality.py`) and the reverse-ETL gate (`reverse_etl/gate.py`)
both run through here and store one row per expectation (`expectation_rows`): the expectation's
name, its column, whether it was met, and what was observed (`N unexpected, e.g. [...]` for a rule
on every value, the value itself for a table's row count or a column's maximum).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import duckdb
import pandas as pd

SAMPLE = 3  # offending values shown with a failed expectation


@dataclass
class CheckResult:
    source: str
    table: str
    check: str
    success: bool
    expectations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        failed = [e for e in self.expectations if not e["success"]]
        if not failed:
            return f"{len(self.expectations)} expectation(s) met"
        return "; ".join(f"{e['expectation']}({e['column'] or 'table'}): observed {e['observed']}" for e in failed)


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _param(value: Any) -> Any:
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


class Expectation:
    """One expectation: `measure` is an aggregate over the relation (a count of offending rows, or
    the observed value); `judge` turns it into success."""

    type: ClassVar[str]
    column: str | None = None
    counts_rows: ClassVar[bool] = True  # the measure counts offending rows (else it is the observed value)

    def measure(self) -> tuple[str, list[Any]]:
        raise NotImplementedError

    def offending(self, relation: str) -> tuple[str, list[Any]]:
        """A predicate on the rows that break the expectation (for the sample of a failed one)."""
        raise NotImplementedError

    def judge(self, value: Any) -> bool:
        return value == 0


def _bounds(column: str, low: Any, high: Any) -> tuple[str, list[Any]]:
    parts, params = [], []
    if low is not None:
        parts.append(f"{column} < ?")
        params.append(_param(low))
    if high is not None:
        parts.append(f"{column} > ?")
        params.append(_param(high))
    return " OR ".join(parts) or "false", params


@dataclass(frozen=True)
class ExpectColumnValuesToNotBeNull(Expectation):
    column: str
    type: ClassVar[str] = "expect_column_values_to_not_be_null"

    def measure(self) -> tuple[str, list[Any]]:
        return f"count(*) - count({_quoted(self.column)})", []

    def offending(self, relation: str) -> tuple[str, list[Any]]:
        return f"{_quoted(self.column)} IS NULL", []


@dataclass(frozen=True)
class ExpectColumnValuesToBeNull(Expectation):
    column: str
    type: ClassVar[str] = "expect_column_values_to_be_null"

    def measure(self) -> tuple[str, list[Any]]:
        return f"count({_quoted(self.column)})", []

    def offending(self, relation: str) -> tuple[str, list[Any]]:
        return f"{_quoted(self.column)} IS NOT NULL", []


@dataclass(frozen=True)
class ExpectColumnValuesToBeUnique(Expectation):
    """Every row whose value occurs more than once is unexpected (nulls are not compared)."""

    column: str
    type: ClassVar[str] = "expect_column_values_to_be_unique"

    def measure(self) -> tuple[str, list[Any]]:
        # 0 exactly when no value repeats; the count of repeated rows is taken only when one does.
        return f"count({_quoted(self.column)}) - count(DISTINCT {_quoted(self.column)})", []

    def offending(self, relation: str) -> tuple[str, list[Any]]:
        c = _quoted(self.column)
        return f"{c} IN (SELECT {c} FROM {relation} AS repeated GROUP BY 1 HAVING count(*) > 1)", []


@dataclass(frozen=True)
class ExpectColumnValuesToBeBetween(Expectation):
    """Values within [min_value, max_value] (either bound may be left out; nulls are not judged)."""

    column: str
    min_value: Any = None
    max_value: Any = None
    type: ClassVar[str] = "expect_column_values_to_be_between"

    def measure(self) -> tuple[str, list[Any]]:
        where, params = _bounds(_quoted(self.column), self.min_value, self.max_value)
        return f"count(*) FILTER (WHERE {where})", params

    def offending(self, relation: str) -> tuple[str, list[Any]]:
        return _bounds(_quoted(self.column), self.min_value, self.max_value)


@dataclass(frozen=True)
class ExpectColumnValuesToBeInSet(Expectation):
    column: str
    value_set: Sequence[Any] = ()
    type: ClassVar[str] = "expect_column_values_to_be_in_set"

    def offending(self, relation: str) -> tuple[str, list[Any]]:
        c = _quoted(self.column)
        if not self.value_set:
            return f"{c} IS NOT NULL", []
        marks = ", ".join("?" for _ in self.value_set)
        return f"{c} IS NOT NULL AND {c} NOT IN ({marks})", [_param(v) for v in self.value_set]

    def measure(self) -> tuple[str, list[Any]]:
        where, params = self.offending("")
        return f"count(*) FILTER (WHERE {where})", params


@dataclass(frozen=True)
class ExpectColumnPairValuesToBeEqual(Expectation):
    column_A: str  # noqa: N815 (Great Expectations' argument names)
    column_B: str  # noqa: N815
    type: ClassVar[str] = "expect_column_pair_values_to_be_equal"

    @property
    def column(self) -> str:  # type: ignore[override]
        return self.column_A

    def offending(self, relation: str) -> tuple[str, list[Any]]:
        return f"{_quoted(self.column_A)} IS DISTINCT FROM {_quoted(self.column_B)}", []

    def measure(self) -> tuple[str, list[Any]]:
        return f"count(*) FILTER (WHERE {self.offending('')[0]})", []


@dataclass(frozen=True)
class ExpectColumnMaxToBeBetween(Expectation):
    """The column's largest value within the bounds; an empty (or all-null) column fails."""

    column: str
    min_value: Any = None
    max_value: Any = None
    type: ClassVar[str] = "expect_column_max_to_be_between"
    counts_rows: ClassVar[bool] = False

    def measure(self) -> tuple[str, list[Any]]:
        return f"max({_quoted(self.column)})", []

    def judge(self, value: Any) -> bool:
        low, high = _param(self.min_value), _param(self.max_value)
        return value is not None and (low is None or value >= low) and (high is None or value <= high)


@dataclass(frozen=True)
class ExpectTableRowCountToBeBetween(Expectation):
    min_value: int | None = None
    max_value: int | None = None
    type: ClassVar[str] = "expect_table_row_count_to_be_between"
    counts_rows: ClassVar[bool] = False

    def measure(self) -> tuple[str, list[Any]]:
        return "count(*)", []

    def judge(self, value: Any) -> bool:
        low, high = self.min_value, self.max_value
        return (low is None or value >= low) and (high is None or value <= high)


def _measures(con: duckdb.DuckDBPyConnection, relation: str, expectations: Sequence[Expectation]) -> list[Any]:
    """Each expectation's measure, all in one query; one query each when that fails (then a broken
    one, e.g. a bound of the wrong type for its column, yields its error and the others still run)."""
    if not expectations:
        return []
    parts = [x.measure() for x in expectations]
    sql = f"SELECT {', '.join(p[0] for p in parts)} FROM {relation} AS checked"
    try:
        return list(con.execute(sql, [v for p in parts for v in p[1]]).fetchone())
    except duckdb.Error:
        out: list[Any] = []
        for expr, params in parts:
            try:
                out.append(con.execute(f"SELECT {expr} FROM {relation} AS checked", params).fetchone()[0])
            except duckdb.Error as exc:
                out.append(exc)
        return out


def _outcome(con: duckdb.DuckDBPyConnection, relation: str, x: Expectation, value: Any) -> dict[str, Any]:
    outcome = {"expectation": x.type, "column": x.column, "success": False, "observed": "None", "error": None}
    if isinstance(value, Exception):
        return outcome | {"error": str(value).splitlines()[0]}
    if not x.counts_rows:
        return outcome | {"success": bool(x.judge(value)), "observed": str(value)}
    if x.judge(value):
        return outcome | {"success": True, "observed": f"{value} unexpected"}
    where, params = x.offending(relation)
    try:
        count = con.execute(f"SELECT count(*) FROM {relation} AS checked WHERE {where}", params).fetchone()[0]
        sample = con.execute(
            f"SELECT {_quoted(x.column)} FROM {relation} AS checked WHERE {where} LIMIT {SAMPLE}", params
        ).fetchall()
    except duckdb.Error as exc:
        return outcome | {"observed": f"{value} unexpected", "error": str(exc).splitlines()[0]}
    observed = f"{count} unexpected"
    if sample:
        observed += f", e.g. {[str(v) for (v,) in sample]}"
    return outcome | {"observed": observed}


def run_suites(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    source: str,
    table: str,
    suites: Mapping[str, Sequence[Expectation]],
) -> list[CheckResult]:
    """The named checks (`suites`: check -> expectations) of one relation (a table name or a
    parenthesised query), evaluated together in one pass over it."""
    flat = [(check, x) for check, expectations in suites.items() for x in expectations]
    values = _measures(con, relation, [x for _, x in flat])
    outcomes: dict[str, list[dict[str, Any]]] = {check: [] for check in suites}
    for (check, x), value in zip(flat, values, strict=True):
        outcomes[check].append(_outcome(con, relation, x, value))
    return [
        CheckResult(source, table, check, all(o["success"] for o in found), found) for check, found in outcomes.items()
    ]


def literal_relation(column: str, values: Sequence[str | float | None], sql_type: str) -> str:
    """A one-column relation of the given values (figures computed in Python), to check in SQL
    without a frame: `literal_relation("share", [0.02], "DOUBLE")`."""

    def literal(value: str | float | None) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, str):
            return "'" + value.replace("'", "''") + "'"
        return repr(float(value))

    rows = ", ".join(f"({literal(v)}::{sql_type})" for v in values) or f"(NULL::{sql_type})"
    where = "" if values else " WHERE false"
    return f"(SELECT * FROM (VALUES {rows}) AS v({_quoted(column)}){where})"


_frames = threading.local()  # one in-memory DuckDB per thread for frames (its start costs ~0.1 s)


def validate(frame: pd.DataFrame, source: str, table: str, check: str, expectations: list[Expectation]) -> CheckResult:
    """One named check on an in-memory frame (rows already read for another purpose)."""
    con = getattr(_frames, "con", None)
    if con is None:
        con = _frames.con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
    con.register("frame", frame)
    try:
        return run_suites(con, "frame", source, table, {check: expectations})[0]
    finally:
        con.unregister("frame")


def expectation_rows(results: Iterable[CheckResult]) -> Iterator[tuple[CheckResult, dict[str, Any]]]:
    """Each expectation's outcome with its check, in order: what the results tables store, one row each."""
    for result in results:
        for outcome in result.expectations:
            yield result, outcome
