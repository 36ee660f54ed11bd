"""Data checks: one way to run a check and to record its outcome, for every layer.

A check is a named suite of Great Expectations expectations validated on a pandas frame read from
the warehouse (one ephemeral GE context per process: its set-up is slow). The ingestion checks
(`dlt_pipelines/quality.py`) and the reverse-ETL gate (`reverse_etl/gate.py`) both run through
`validate` and store one row per expectation (`expectation_rows`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

# Offline by default: Great Expectations would otherwise send usage statistics.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


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


_context: Any = None


def frame_batch(frame: pd.DataFrame) -> Any:
    """A GE batch over an in-memory frame (one ephemeral context per process: its set-up is slow)."""
    global _context
    import great_expectations as gx

    if _context is None:
        _context = gx.get_context(mode="ephemeral")
        _context.variables.progress_bars = {"globally": False}
        _context.data_sources.add_pandas("warehouse").add_dataframe_asset("frame").add_batch_definition_whole_dataframe(
            "whole"
        )
    definition = _context.data_sources.get("warehouse").get_asset("frame").get_batch_definition("whole")
    return definition.get_batch(batch_parameters={"dataframe": frame})


def _outcome(result: Any) -> dict[str, Any]:
    cfg = result.expectation_config
    observed = result.result.get("observed_value")
    if observed is None and "unexpected_count" in result.result:
        observed = f"{result.result['unexpected_count']} unexpected"
        sample = result.result.get("partial_unexpected_list") or []
        if sample:
            observed += f", e.g. {[str(v) for v in sample[:3]]}"
    raised = result.exception_info.get("raised_exception") if isinstance(result.exception_info, dict) else False
    return {
        "expectation": cfg.type,
        "column": cfg.kwargs.get("column") or cfg.kwargs.get("column_A"),
        "success": bool(result.success),
        "observed": str(observed),
        "error": str(result.exception_info.get("exception_message")) if raised else None,
    }


def check_batch(batch: Any, source: str, table: str, check: str, expectations: list[Any]) -> CheckResult:
    """One named check (a suite of expectations) on a batch from `frame_batch` (several checks of
    one table share a batch)."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=f"{source}.{table}.{check}", expectations=expectations)
    outcomes = [_outcome(r) for r in batch.validate(suite).results]
    return CheckResult(source, table, check, all(o["success"] for o in outcomes), outcomes)


def validate(frame: pd.DataFrame, source: str, table: str, check: str, expectations: list[Any]) -> CheckResult:
    """One named check on a frame."""
    return check_batch(frame_batch(frame), source, table, check, expectations)


def expectation_rows(results: Iterable[CheckResult]) -> Iterator[tuple[CheckResult, dict[str, Any]]]:
    """Each expectation's outcome with its check, in order: what the results tables store, one row each."""
    for result in results:
        for outcome in result.expectations:
            yield result, outcome
