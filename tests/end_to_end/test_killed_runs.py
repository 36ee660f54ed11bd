"""The daily job killed (SIGKILL, as a crash or the OOM killer would) during ingestion, during dbt and
during the sync: each rerun picks up where the last one died, and the last one ends with the same
warehouse and CRM as the clean run: no duplicate rows, no duplicate Tasks, nothing lost."""

from __future__ import annotations

import time

from tests.end_to_end.conftest import CleanRun
from tests.end_to_end.harness import Deployment, differing_tables, query, table_checksums

# A Task upsert that the CRM takes its time to answer: the job is killed while it waits, the CRM still
# applies the write. The rerun must not create those Tasks a second time.
SLOW_TASK_WRITE = {"system": "salesforce", "object": "Task", "method": "PATCH", "kind": "slow", "delay_ms": 2000,
                   "count": 1}  # fmt: skip


def source_reads(deployment: Deployment) -> int:
    by_system = deployment.requests()["by_system"]
    return sum(by_system.get(s, {}).get("total", 0) for s in ("salesforce", "zendesk", "stripe"))


def test_killed_runs_resume_without_duplicates_or_losses(clean_run: CleanRun, deployment: Deployment) -> None:
    # 1. Killed while the sources are being read (the product events load beside them).
    run = deployment.run(kill_when=lambda out: "ingest_sources - STEP_START" in out and source_reads(deployment) >= 30)
    assert run.returncode is None and not run.started("copilot_dbt_assets"), run.tail()

    # 2. The rerun gets through ingestion, and is killed once dbt has written its first models.
    run = deployment.run(kill_when=lambda out: "copilot_dbt_assets - ASSET_MATERIALIZATION" in out)
    assert run.returncode is None and "ingest_sources - STEP_SUCCESS" in run.output, run.tail()

    # 3. The next gets through dbt, scoring and the account sync, and is killed while its Task write
    # is in flight.
    deployment.add_faults([SLOW_TASK_WRITE])

    def task_write_in_flight(out: str) -> bool:
        return "reverse_etl__salesforce_tasks - STEP_START" in out and deployment.faults()[0]["seen"] > 0

    run = deployment.run(kill_when=task_write_in_flight)
    assert run.returncode is None and "reverse_etl__salesforce_accounts - STEP_SUCCESS" in run.output, run.tail()
    time.sleep(3)  # the CRM finishes the write its caller no longer waits for
    deployment.clear_faults()
    assert deployment.crm().tasks, "the killed run's Task write reached the CRM"

    # 4. The last run completes.
    run = deployment.run()
    assert run.succeeded, run.tail()

    crm = deployment.crm()
    assert crm.accounts == clean_run.crm.accounts
    assert crm.tasks == clean_run.crm.tasks
    assert set(crm.tasks_per_alert.values()) == {1}
    # The warehouse: as after the clean run, but that the last run also loaded what the killed sync
    # wrote to the CRM (the Copilot fields on Accounts, the Tasks), once each.
    diff = differing_tables(clean_run.checksums, table_checksums(deployment.warehouse))
    assert set(diff) <= {"raw_salesforce.account", "raw_salesforce.task"}, diff
    loaded_tasks = query(deployment.warehouse, "SELECT copilot_alert_id__c FROM raw_salesforce.task")
    assert sorted(a for (a,) in loaded_tasks) == sorted(crm.tasks)
