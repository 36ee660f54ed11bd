"""The daily job with every source and sink misbehaving: rate limits, server errors and slow answers on
10 % of requests. It completes, and the warehouse and the CRM end exactly as after the clean run."""

from __future__ import annotations

from tests.end_to_end.conftest import CleanRun
from tests.end_to_end.harness import Deployment, differing_tables, table_checksums

TEN_PERCENT = [
    {"system": "*", "kind": "rate_limit", "rate": 0.1, "seed": 1},
    {"system": "*", "kind": "server_error", "rate": 0.1, "status": 503, "seed": 2},
    {"system": "*", "kind": "slow", "rate": 0.1, "delay_ms": 400, "seed": 3},
]


def test_run_under_faults_ends_as_the_clean_run(clean_run: CleanRun, deployment: Deployment) -> None:
    deployment.add_faults(TEN_PERCENT)
    run = deployment.run()
    fired = {f["kind"]: f["fired"] for f in deployment.clear_faults()}
    assert run.succeeded, run.tail()
    # Every kind hit the run, on reads and writes alike.
    assert all(fired[kind] > 0 for kind in ("rate_limit", "server_error", "slow")), fired
    by_system = deployment.requests()["by_system"]
    assert {"salesforce", "zendesk", "stripe", "slack"} <= set(by_system)

    assert differing_tables(clean_run.checksums, table_checksums(deployment.warehouse)) == {}
    crm = deployment.crm()
    assert crm.accounts == clean_run.crm.accounts
    assert crm.tasks == clean_run.crm.tasks
    assert set(crm.tasks_per_alert.values()) == {1}
