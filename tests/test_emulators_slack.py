"""The Slack emulator through slack-sdk, unmodified: Web API and incoming webhook, messages recorded."""

from __future__ import annotations

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from sandbox.emulators.credentials import SLACK, SLACK_WEBHOOK_PATH
from tests.conftest import RunningEmulator


def client(em: RunningEmulator, token: str = SLACK["bot_token"]) -> WebClient:
    return WebClient(token=token, base_url=f"{em.http}/api/")


def messages(em: RunningEmulator, **params: str) -> list[dict]:
    return em.admin_call("GET", "slack/messages", params=params)["messages"]


def test_chat_post_message_is_recorded(emulator: RunningEmulator) -> None:
    before = messages(emulator)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Acme* dropped to red"}}]
    resp = client(emulator).chat_postMessage(channel="#cs-alerts", text="Acme dropped to red", blocks=blocks)
    assert resp["ok"] is True and resp["channel"] == SLACK["channels"]["cs-alerts"]
    assert resp["message"]["text"] == "Acme dropped to red" and resp["message"]["ts"] == resp["ts"]
    (new,) = messages(emulator, after_id=str(before[-1]["id"]) if before else "0")
    assert (new["via"], new["channel"], new["text"], new["ts"]) == (
        "chat.postMessage",
        SLACK["channels"]["cs-alerts"],
        "Acme dropped to red",
        resp["ts"],
    )
    assert new["payload"]["blocks"] == blocks
    store = emulator.store()
    try:
        row = store.conn.execute("SELECT channel, text FROM slack_messages WHERE ts = ?", (resp["ts"],)).fetchone()
        # The ts is sandbox time: at or after the world's clock.
        assert float(resp["ts"]) >= store.now().timestamp()
    finally:
        store.close()
    assert tuple(row) == (SLACK["channels"]["cs-alerts"], "Acme dropped to red")
    by_id = client(emulator).chat_postMessage(channel=SLACK["channels"]["general"], text="by channel id")
    assert by_id["channel"] == SLACK["channels"]["general"]
    assert float(by_id["ts"]) > float(resp["ts"])


def test_form_encoded_post_with_token_in_the_body(emulator: RunningEmulator) -> None:
    resp = requests.post(
        f"{emulator.http}/api/chat.postMessage",
        data={"token": SLACK["bot_token"], "channel": "cs-escalations", "text": "form body"},
    )
    assert resp.status_code == 200 and resp.json()["ok"] is True
    assert messages(emulator, channel=SLACK["channels"]["cs-escalations"])[-1]["text"] == "form body"


@pytest.mark.parametrize(
    ("token", "channel", "error"),
    [
        ("xoxb-wrong", "#cs-alerts", "invalid_auth"),
        ("", "#cs-alerts", "not_authed"),
        (SLACK["bot_token"], "#no-such-channel", "channel_not_found"),
    ],
)
def test_web_api_errors_are_http_200_with_ok_false(
    emulator: RunningEmulator, token: str, channel: str, error: str
) -> None:
    count = len(messages(emulator))
    with pytest.raises(SlackApiError) as info:
        client(emulator, token).chat_postMessage(channel=channel, text="x")
    assert info.value.response.status_code == 200
    assert info.value.response["error"] == error
    assert len(messages(emulator)) == count


def test_auth_test(emulator: RunningEmulator) -> None:
    resp = client(emulator).auth_test()
    assert (resp["team_id"], resp["user_id"], resp["bot_id"]) == (
        SLACK["team_id"],
        SLACK["bot_user_id"],
        SLACK["bot_id"],
    )
    with pytest.raises(SlackApiError):
        client(emulator, "xoxb-wrong").auth_test()


def test_incoming_webhook(emulator: RunningEmulator) -> None:
    resp = WebhookClient(f"{emulator.http}{SLACK_WEBHOOK_PATH}").send(text="Renewal at risk: Borealis")
    assert (resp.status_code, resp.body) == (200, "ok")
    last = messages(emulator, via="webhook")[-1]
    assert (last["text"], last["hook"], last["channel"]) == (
        "Renewal at risk: Borealis",
        SLACK_WEBHOOK_PATH,
        SLACK["channels"]["cs-alerts"],
    )
    unknown = WebhookClient(f"{emulator.http}/slack/hooks/T0SANDBOX/B0OTHER/guess").send(text="x")
    assert (unknown.status_code, unknown.body) == (403, "invalid_token")
    empty = WebhookClient(f"{emulator.http}{SLACK_WEBHOOK_PATH}").send(text="")
    assert (empty.status_code, empty.body) == (400, "no_text")
