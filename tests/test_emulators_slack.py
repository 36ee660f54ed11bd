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


def test_web_api_methods_through_slack_sdk(emulator: RunningEmulator) -> None:
    """The methods the product's Slack client uses, as Slack's Web API documents them."""
    web = client(emulator)
    # users.lookupByEmail and conversations.open: a direct message to a CSM
    user = web.users_lookupByEmail(email="csm1@copilot.sandbox")["user"]
    assert user["profile"]["email"] == "csm1@copilot.sandbox" and user["id"].startswith("U")
    with pytest.raises(SlackApiError) as info:
        web.users_lookupByEmail(email="nobody@copilot.sandbox")
    assert info.value.response["error"] == "users_not_found"
    dm = web.conversations_open(users=user["id"])["channel"]["id"]
    assert web.chat_postMessage(channel=dm, text="direct")["channel"] == dm

    # conversations.list, paged by cursor: every channel once, the bot's marked as member
    seen: list[dict] = []
    cursor = None
    while True:
        page = web.conversations_list(limit=3, cursor=cursor)
        assert len(page["channels"]) <= 3
        seen += page["channels"]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    by_name = {c["name"]: c for c in seen}
    assert len(by_name) == len(seen) > len(SLACK["channels"])
    assert by_name["cs-alerts"]["id"] == SLACK["channels"]["cs-alerts"] and by_name["cs-alerts"]["is_member"]
    assert by_name["cs-csm1"]["is_member"] and not by_name["random"]["is_member"]

    # chat.postMessage with metadata; conversations.history newest first, metadata only when asked
    channel = SLACK["channels"]["cs-leadership"]
    posted = [
        web.chat_postMessage(
            channel=channel,
            text=f"alert {i}",
            metadata={"event_type": "copilot_alert", "event_payload": {"alert_id": f"A{i}"}},
        )
        for i in range(3)
    ]
    assert posted[0]["message"]["metadata"] == {"event_type": "copilot_alert", "event_payload": {"alert_id": "A0"}}
    oldest = posted[0]["ts"]  # exclusive: the first of the three is left out
    page = web.conversations_history(channel=channel, oldest=oldest, limit=1, include_all_metadata=True)
    assert [m["text"] for m in page["messages"]] == ["alert 2"] and page["has_more"]
    assert page["messages"][0]["metadata"]["event_payload"] == {"alert_id": "A2"}
    rest = web.conversations_history(
        channel=channel, oldest=oldest, limit=1, cursor=page["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in rest["messages"]] == ["alert 1"] and not rest["has_more"]
    assert "metadata" not in rest["messages"][0]
    inclusive = web.conversations_history(channel=channel, oldest=oldest, latest=posted[1]["ts"], inclusive=True)
    assert [m["text"] for m in inclusive["messages"]] == ["alert 1", "alert 0"]

    # chat.update edits in place: same ts, new text, no second message
    count = len(messages(emulator))
    updated = web.chat_update(channel=channel, ts=posted[2]["ts"], text="alert 2 (resolved)")
    assert (updated["ts"], updated["text"]) == (posted[2]["ts"], "alert 2 (resolved)")
    newest = web.conversations_history(channel=channel, limit=1, include_all_metadata=True)["messages"][0]
    assert (newest["text"], newest["ts"], newest["metadata"]["event_payload"]) == (
        "alert 2 (resolved)",
        posted[2]["ts"],
        {"alert_id": "A2"},
    )
    assert "edited" in newest and len(messages(emulator)) == count
    with pytest.raises(SlackApiError) as info:
        web.chat_update(channel=channel, ts="1.000001", text="x")
    assert info.value.response["error"] == "message_not_found"


@pytest.mark.parametrize(
    ("channel", "error"), [("#random", "not_in_channel"), ("#no-such-channel", "channel_not_found")]
)
def test_channels_the_bot_cannot_use(emulator: RunningEmulator, channel: str, error: str) -> None:
    web = client(emulator)
    for call in (
        lambda: web.chat_postMessage(channel=channel, text="x"),
        lambda: web.conversations_history(channel=channel),
    ):
        with pytest.raises(SlackApiError) as info:
            call()
        assert (info.value.response.status_code, info.value.response.data) == (200, {"ok": False, "error": error})
