"""The Microsoft Teams emulator over HTTP: incoming webhooks and Workflows URLs take Adaptive Card
messages and answer as Microsoft's services do (200 `1`, 202, 400, 401, 404, 413, 429); Workflows
flows post a `copilot_key` once; failure notices reach Teams when it is the chosen channel."""

from __future__ import annotations

import copy

import pytest
import requests

from orchestration import notices
from sandbox.emulators.credentials import teams_urls
from tests.conftest import RunningEmulator

CARD = {
    "type": "message",
    "attachments": [
        {
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [{"type": "TextBlock", "text": "Acme dropped to red", "wrap": True}],
            },
        }
    ],
}


def urls(em: RunningEmulator) -> dict[str, dict[str, str]]:
    return teams_urls(em.http)


def cards(em: RunningEmulator, **params: str) -> list[dict]:
    return em.admin_call("GET", "teams/messages", params=params)["messages"]


def _with(change) -> dict:
    body = copy.deepcopy(CARD)
    change(body)
    return body


def test_an_incoming_webhook_posts_the_card_and_answers_1(emulator: RunningEmulator) -> None:
    before = len(cards(emulator, channel="CS Escalations"))
    resp = requests.post(urls(emulator)["webhooks"]["CS Escalations"], json=CARD, timeout=10)
    assert (resp.status_code, resp.text) == (200, "1")
    posted = cards(emulator, channel="CS Escalations")
    assert len(posted) == before + 1
    assert posted[-1]["via"] == "webhook" and posted[-1]["card"] == CARD["attachments"][0]["content"]
    # A webhook has no key to deduplicate on: the same body posts again.
    requests.post(urls(emulator)["webhooks"]["CS Escalations"], json=CARD, timeout=10)
    assert len(cards(emulator, channel="CS Escalations")) == before + 2


def test_a_workflow_answers_202_and_posts_a_key_once(emulator: RunningEmulator) -> None:
    url = urls(emulator)["workflows"]["CS Enterprise"]
    body = {**CARD, "copilot_key": "alert-once"}
    first = requests.post(url, json=body, timeout=10)
    again = requests.post(url, json=body, timeout=10)
    assert (first.status_code, first.content, again.status_code) == (202, b"", 202)
    keyed = [c for c in cards(emulator, via="workflow") if c["copilot_key"] == "alert-once"]
    assert len(keyed) == 1 and keyed[0]["channel"] == "CS Enterprise"
    # Without a key the flow has nothing to compare: each request posts.
    n = len(cards(emulator, channel="CS Enterprise"))
    requests.post(url, json=CARD, timeout=10)
    requests.post(url, json=CARD, timeout=10)
    assert len(cards(emulator, channel="CS Enterprise")) == n + 2


BAD_CARDS = {
    "no attachments": lambda b: b.pop("attachments"),
    "not a card": lambda b: b["attachments"][0].update(contentType="application/vnd.microsoft.card.hero"),
    "wrong type": lambda b: b["attachments"][0]["content"].update(type="MessageCard"),
    "no version": lambda b: b["attachments"][0]["content"].pop("version"),
    "too new": lambda b: b["attachments"][0]["content"].update(version="1.6"),
    "empty body": lambda b: b["attachments"][0]["content"].update(body=[]),
    "untyped element": lambda b: b["attachments"][0]["content"].update(body=[{"text": "x"}]),
}


@pytest.mark.parametrize("problem", list(BAD_CARDS))
def test_a_bad_card_is_refused_and_not_posted(emulator: RunningEmulator, problem: str) -> None:
    before = len(cards(emulator))
    body = _with(BAD_CARDS[problem])
    hook = requests.post(urls(emulator)["webhooks"]["CS Alerts"], json=body, timeout=10)
    assert (hook.status_code, hook.text) == (400, "Bad payload received by generic incoming webhook.")
    flow = requests.post(urls(emulator)["workflows"]["CS Alerts"], json=body, timeout=10)
    assert flow.status_code == 400 and flow.json()["error"]["code"] == "TriggerInputSchemaMismatch"
    assert len(cards(emulator)) == before


def test_urls_that_do_not_work(emulator: RunningEmulator) -> None:
    hook = urls(emulator)["webhooks"]["CS Alerts"]
    flow = urls(emulator)["workflows"]["CS Alerts"]
    before = len(cards(emulator))
    gone = requests.post(hook.replace("5a1e27c0ffee", "deadbeef0000"), json=CARD, timeout=10)
    assert gone.status_code == 404
    unsigned = requests.post(flow.split("&sig=")[0], json=CARD, timeout=10)
    assert unsigned.status_code == 401 and unsigned.json()["error"]["code"] == "DirectApiAuthorizationRequired"
    forged = requests.post(flow.replace("sig=sandbox-sig-alerts", "sig=forged"), json=CARD, timeout=10)
    assert forged.status_code == 401
    unknown = requests.post(flow.replace("a1e27000000000000000000000000001", "f" * 32), json=CARD, timeout=10)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "WorkflowNotFound"
    big = _with(lambda b: b["attachments"][0]["content"]["body"][0].update(text="x" * 30_000))
    assert requests.post(hook, json=big, timeout=10).status_code == 413
    assert len(cards(emulator)) == before


def test_throttling_answers_429_with_retry_after(emulator: RunningEmulator) -> None:
    emulator.admin_call(
        "POST",
        "faults",
        json={"system": "teams", "endpoint": "workflow", "kind": "rate_limit", "retry_after": 3, "count": 1},
    )
    try:
        url = urls(emulator)["workflows"]["CS Alerts"]
        before = len(cards(emulator))
        throttled = requests.post(url, json=CARD, timeout=10)
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
        assert len(cards(emulator)) == before
        assert requests.post(url, json=CARD, timeout=10).status_code == 202
    finally:
        emulator.admin_call("DELETE", "faults")


def test_failure_notices_go_to_teams_when_it_is_the_alert_channel(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVERSE_ETL__ALERT_CHANNEL", "teams")
    monkeypatch.setenv(
        "REVERSE_ETL__TEAMS__CREDENTIALS__WEBHOOKS__DEFAULT", urls(emulator)["workflows"]["Data Quality"]
    )
    monkeypatch.setenv("COPILOT__DAGSTER_UI_URL", "https://ui.example/")
    slack_before = len(emulator.admin_call("GET", "slack/messages")["messages"])
    for step in ("ingest_stripe", "ingest_zendesk"):
        notices.notify("daily_run", "run-in-teams", step, f"{step}: HTTP 503\nTraceback ...")
    (notice,) = [c for c in cards(emulator) if c["copilot_key"] == "run-failed:run-in-teams"]
    assert notice["channel"] == "Data Quality"
    assert notice["card"]["body"][0]["text"] == "daily_run failed at step ingest_stripe"
    assert notice["card"]["body"][1]["text"] == "ingest_stripe: HTTP 503"
    assert notice["card"]["actions"][0]["url"] == "https://ui.example/runs/run-in-teams"
    assert len(emulator.admin_call("GET", "slack/messages")["messages"]) == slack_before
