"""Slack's Web API (`chat.postMessage`, `auth.test`) and incoming webhooks, recording every message.

Like Slack, Web API errors are HTTP 200 with `{"ok": false, "error": ...}`; webhooks answer in
plain text. Each message is stored in `slack_messages` so tests and the admin API can see exactly
what the product posted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

from sandbox.emulators.credentials import SLACK
from sandbox.emulators.routing import ApiRequest, Route, System, json_response, route, text_response, write_lock


def _fail(error: str, status: int = 200, **headers: str) -> Response:
    return json_response({"ok": False, "error": error}, status, headers or None)


def not_found(_req: ApiRequest | None = None) -> Response:
    return _fail("unknown_method", 404)


def internal_error() -> Response:
    return _fail("internal_error", 500)


def fault_response(kind: str, status: int, retry_after: int) -> Response:
    if kind == "rate_limit":
        return _fail("ratelimited", status, **{"Retry-After": str(retry_after)})
    return _fail("internal_error" if status == 500 else "service_unavailable", status)


def _payload(req: ApiRequest) -> dict[str, Any]:
    """Web API methods take JSON or form bodies; webhooks JSON or a form field `payload`."""
    content_type = (req.headers.get("content-type") or "").lower()
    try:
        if "json" in content_type:
            body = req.json()
            return body if isinstance(body, dict) else {}
        form = req.form()
        if "payload" in form:
            body = orjson.loads(form["payload"])
            return body if isinstance(body, dict) else {}
        return form
    except (orjson.JSONDecodeError, UnicodeDecodeError):
        return {}


def user_channels(req: ApiRequest) -> dict[str, str]:
    """One channel per active Salesforce user, `cs-<alias>` (the email's local part, dots as dashes),
    as a workspace gives each CSM a channel for their book: name -> id."""
    rows = req.store.conn.execute(
        "SELECT Id, Email FROM sf_user WHERE COALESCE(IsActive, 1) AND COALESCE(IsDeleted, 0) = 0 AND Email LIKE '%@%'"
    ).fetchall()
    return {
        "cs-" + email.split("@", 1)[0].replace(".", "-").replace("_", "-").lower(): f"CU{uid}" for uid, email in rows
    }


def _channel_id(req: ApiRequest, name: str) -> str | None:
    channels: dict[str, str] = {**SLACK["channels"], **user_channels(req)}
    wanted = name.lstrip("#")
    if wanted in channels:
        return channels[wanted]
    return wanted if wanted in channels.values() else None


def _record(req: ApiRequest, via: str, channel: str, hook: str | None, payload: dict[str, Any]) -> str:
    # The ts is sandbox time, like every other client write, so messages sort with the world's data.
    with write_lock:
        at = req.store.next_write_time()
        ts = f"{int(at.timestamp())}.{at.microsecond:06d}"
        req.store.conn.execute(
            "INSERT INTO slack_messages (via, channel, hook, text, payload, ts, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                via,
                channel,
                hook,
                payload.get("text"),
                orjson.dumps(payload).decode(),
                ts,
                datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )
        req.store.conn.commit()
    return ts


def _token_error(req: ApiRequest, payload: dict[str, Any]) -> str | None:
    scheme, _, value = (req.headers.get("authorization") or "").partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else payload.get("token")
    if not token:
        return "not_authed"
    return None if token == SLACK["bot_token"] else "invalid_auth"


def post_message(req: ApiRequest) -> Response:
    payload = _payload(req)
    problem = _token_error(req, payload)
    if problem:
        return _fail(problem)
    channel = _channel_id(req, str(payload.get("channel") or ""))
    if channel is None:
        return _fail("channel_not_found")
    if not any(payload.get(k) for k in ("text", "blocks", "attachments")):
        return _fail("no_text")
    payload.pop("token", None)
    ts = _record(req, "chat.postMessage", channel, None, payload)
    message = {
        "bot_id": SLACK["bot_id"],
        "type": "message",
        "text": payload.get("text") or "",
        "user": SLACK["bot_user_id"],
        "ts": ts,
        "team": SLACK["team_id"],
    }
    for key in ("blocks", "attachments", "thread_ts"):
        if payload.get(key):
            message[key] = payload[key]
    return json_response({"ok": True, "channel": channel, "ts": ts, "message": message})


def auth_test(req: ApiRequest) -> Response:
    problem = _token_error(req, _payload(req))
    if problem:
        return _fail(problem)
    return json_response(
        {
            "ok": True,
            "url": f"https://{SLACK['team'].lower().replace(' ', '-')}.slack.com/",
            "team": SLACK["team"],
            "user": "copilot",
            "team_id": SLACK["team_id"],
            "user_id": SLACK["bot_user_id"],
            "bot_id": SLACK["bot_id"],
            "is_enterprise_install": False,
        }
    )


def unknown_method(_req: ApiRequest) -> Response:
    return _fail("unknown_method")


def webhook(req: ApiRequest) -> Response:
    hook = req.path
    channel_name = SLACK["webhooks"].get(hook.rstrip("/"))
    if channel_name is None:
        return text_response("invalid_token", 403)
    payload = _payload(req)
    if not any(payload.get(k) for k in ("text", "blocks", "attachments")):
        return text_response("no_text", 400)
    _record(req, "webhook", SLACK["channels"][channel_name], hook.rstrip("/"), payload)
    return text_response("ok", 200, media_type="text/html")


ROUTES: tuple[Route, ...] = (
    # Tokens travel in headers or bodies, so each Web API method checks them itself.
    route("slack", "chat.postMessage", "POST", r"/api/chat\.postMessage", post_message, write=True, auth=False),
    route("slack", "auth.test", "POST", r"/api/auth\.test", auth_test, auth=False),
    route("slack", "auth.test", "GET", r"/api/auth\.test", auth_test, auth=False),
    route("slack", "unknown_method", "POST", r"/api/[\w.]+", unknown_method, auth=False),
    route("slack", "webhook", "POST", r"/slack/hooks/\w+/\w+/\w+", webhook, write=True, auth=False),
)


def _no_auth(_req: ApiRequest) -> Response | None:
    return None


SYSTEM = System("slack", ROUTES, _no_auth, fault_response, not_found, internal_error)
