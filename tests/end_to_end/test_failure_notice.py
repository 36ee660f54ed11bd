"""A failed daily run reaches people: started from the command line (no daemon), it posts one Slack
message naming the failed step and its first error line, with a link to the run; the daemon's
run-failure sensor, coming later, finds it posted and does not post again."""

from __future__ import annotations

import pytest
from dagster import DagsterEventType, DagsterInstance, build_run_status_sensor_context

from orchestration.defs.sensors import notify_slack_on_failure
from tests.end_to_end.harness import Deployment

UI = "https://dagster.example:3000"


def notices(deployment: Deployment) -> list[dict]:
    messages = deployment.emulator.admin_call("GET", "slack/messages", params={"via": "chat.postMessage"})["messages"]
    return [m for m in messages if (m["payload"].get("metadata") or {}).get("event_type") == "copilot_run_failed"]


def test_a_failed_run_posts_one_notice_naming_the_step(deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        **deployment.env(),
        "SOURCES__SALESFORCE__CREDENTIALS__CLIENT_SECRET": "wrong",
        "COPILOT__DAGSTER_UI_URL": UI,
    }
    run = deployment.run(env=env)
    assert run.returncode not in (0, None)
    (notice,) = notices(deployment)
    run_id = notice["payload"]["metadata"]["event_payload"]["run_id"]
    assert run_id in run.output
    first, link = notice["text"].splitlines()
    first = first.removeprefix(":red_circle: ")
    assert first.startswith("`daily_run` failed at step `preflight`: configuration: salesforce: the login was refused")
    assert link == f"<{UI}/runs/{run_id}|Run {run_id[:8]} in Dagster>"

    # The daemon's sensor for the same run, later: the notice is there, nothing more is posted.
    for key in ("REVERSE_ETL__SLACK__BASE_URL", "COPILOT__DAGSTER_UI_URL", "DAGSTER_HOME"):
        monkeypatch.setenv(key, env[key])
    instance = DagsterInstance.get()
    failure = instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE)[-1].dagster_event
    context = build_run_status_sensor_context(
        sensor_name="notify_slack_on_failure",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run_id),
    ).for_run_failure()
    notify_slack_on_failure(context)
    assert len(notices(deployment)) == 1
