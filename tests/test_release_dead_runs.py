"""A run whose process died is released; its PID is trusted only while it still names the process
that started the run (PIDs are reused)."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.events import DagsterEvent, DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.dagster_run import DagsterRun

from orchestration.preflight import release_dead_runs


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[DagsterInstance]:
    with DagsterInstance.local_temp(str(tmp_path)) as inst:
        yield inst


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def started_run(instance: DagsterInstance, run_id: str, pid: int, started_at: float) -> DagsterRun:
    run = instance.add_run(DagsterRun(job_name="daily_run", run_id=run_id, status=DagsterRunStatus.STARTED))
    event = DagsterEvent(event_type_value=DagsterEventType.RUN_START.value, job_name="daily_run", pid=pid)
    instance.handle_new_event(
        EventLogEntry(
            user_message="",
            level=logging.DEBUG,
            job_name="daily_run",
            run_id=run_id,
            error_info=None,
            timestamp=started_at,
            dagster_event=event,
        )
    )
    return run


def status(instance: DagsterInstance, run_id: str) -> DagsterRunStatus:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    return run.status


def test_a_live_run_is_left_alone(instance: DagsterInstance, sleeper: subprocess.Popen[bytes]) -> None:
    # The process was running before the run started: it is the run's own.
    started_run(instance, "live-run", sleeper.pid, time.time() + 60)
    assert release_dead_runs(instance, "current") == []
    assert status(instance, "live-run") == DagsterRunStatus.STARTED


def test_a_reused_pid_does_not_keep_a_dead_run_alive(
    instance: DagsterInstance, sleeper: subprocess.Popen[bytes]
) -> None:
    # The run started a minute before the process that now has its PID: that run's process is gone.
    started_run(instance, "dead-run", sleeper.pid, time.time() - 60)
    (line,) = release_dead_runs(instance, "current")
    assert "dead-run"[:8] in line and str(sleeper.pid) in line
    assert status(instance, "dead-run") == DagsterRunStatus.FAILURE
    assert sleeper.poll() is None  # the other program is not touched


def test_a_gone_process_is_released(instance: DagsterInstance) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    started_run(instance, "gone-run", gone.pid, time.time() - 5)
    started_run(instance, "current", gone.pid, time.time() - 5)
    assert len(release_dead_runs(instance, "current")) == 1
    assert (status(instance, "gone-run"), status(instance, "current")) == (
        DagsterRunStatus.FAILURE,
        DagsterRunStatus.STARTED,
    )
