"""Failure notices against the Slack emulator: one message per run however many steps fail and
whichever path (the run's hook, the daemon's sensor) posts first; the link points at the run. The
hook inside a real run: tests/end_to_end/test_failure_notice.py."""

from __future__ import annotations

import pytest

from orchestration import notices
from sandbox.emulators.credentials import SLACK
from tests.conftest import RunningEmulator


def run_notices(em: RunningEmulator, run_id: str) -> list[dict]:
    return [
        m
        for m in em.admin_call("GET", "slack/messages", params={"via": "chat.postMessage"})["messages"]
        if (m["payload"].get("metadata") or {}).get("event_payload") == {"run_id": run_id}
    ]


@pytest.fixture
def slack_env(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    monkeypatch.setenv("REVERSE_ETL__SLACK__BASE_URL", f"{emulator.http}/api/")
    monkeypatch.setenv("COPILOT__DAGSTER_UI_URL", "https://ui.example/")
    return emulator


def test_two_failed_steps_post_one_notice(slack_env: RunningEmulator) -> None:
    for step in ("ingest_stripe", "ingest_zendesk"):
        notices.notify("daily_run", "run-two-steps", step, f"{step}: HTTP 503\nTraceback ...")
    (notice,) = run_notices(slack_env, "run-two-steps")
    assert notice["text"] == (
        ":red_circle: `daily_run` failed at step `ingest_stripe`: ingest_stripe: HTTP 503\n"
        "<https://ui.example/runs/run-two-steps|Run run-two- in Dagster>"
    )
    assert notice["channel"] == SLACK["channels"]["data-quality"]
    notices.notify("daily_run", "another-run", None, "run failed")
    assert len(run_notices(slack_env, "another-run")) == 1


def test_a_channel_the_bot_is_not_in_falls_back(slack_env: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPILOT__FAILURE_CHANNEL", "random")
    notices.notify("daily_run", "run-fallback", "preflight", "configuration: stripe: the API key was refused")
    (notice,) = run_notices(slack_env, "run-fallback")
    assert notice["channel"] == SLACK["channels"]["cs-alerts"]
