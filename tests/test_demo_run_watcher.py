"""`make demo` follows its run through the Dagster instance's event log: every step appears with its
real duration, a failed step with the first line of its reason, and the progress a step logs."""

import json
import time

import pytest
from dagster import DagsterInstance, Failure, OpExecutionContext, job, op

from core.clock import AS_OF_DATE_TAG
from devtools.demo import RunOutcome, RunWatcher, StepResult, daily_job_command, failed_run_line
from orchestration.progress import log_progress


@op
def load(context: OpExecutionContext) -> int:
    log_progress(context, "salesforce: 184 rows")
    time.sleep(0.3)
    return 184


@op
def build(context: OpExecutionContext, rows: int) -> None:
    raise Failure(description=f"report build failed (exit 1): no table after {rows} rows\nsecond line")


@job
def two_steps() -> None:
    build(load())


def test_watcher_reports_steps_durations_failures_and_progress(capsys: pytest.CaptureFixture[str]) -> None:
    with DagsterInstance.ephemeral() as instance:
        started = time.time()
        result = two_steps.execute_in_process(instance=instance, raise_on_error=False)
        watcher = RunWatcher(instance, result.run_id, started)
        watcher.poll()

    outcome = watcher.outcome
    assert not outcome.ok
    assert {step: r.status for step, r in outcome.steps.items()} == {"load": "ok", "build": "FAILED"}
    assert outcome.steps["load"].seconds >= 0.3
    assert [f.reason for f in outcome.failures()] == ["report build failed (exit 1): no table after 184 rows"]
    printed = capsys.readouterr().out
    assert "load: salesforce: 184 rows" in printed
    assert "build: FAILED in " in printed and "no table after 184 rows" in printed


def test_demo_passes_the_as_of_date_as_the_run_tag_the_preflight_and_dbt_read() -> None:
    assert "--tags" not in daily_job_command()
    command = daily_job_command("2026-10-15")
    assert json.loads(command[command.index("--tags") + 1]) == {AS_OF_DATE_TAG: "2026-10-15"}


def test_a_failed_run_is_named_with_its_page_in_the_ui() -> None:
    outcome = RunOutcome(ok=False, wall_seconds=3.0, run_id="abc123")
    outcome.steps["ingest_sources"] = StepResult("ingest_sources", "ok", 1.0)
    outcome.steps["preflight"] = StepResult("preflight", "FAILED", 1.0, reason="configuration: stripe: refused")
    lines = failed_run_line(outcome, "http://127.0.0.1:3000", "http://127.0.0.1:8765").strip().splitlines()
    assert lines[0] == "THE RUN FAILED at preflight: configuration: stripe: refused"
    assert lines[1].endswith("http://127.0.0.1:3000/runs/abc123")
