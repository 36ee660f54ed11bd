"""Slack's Web API (`chat.postMessage` and `chat.update` with message metadata, `conversations.list`,
`conversations.open`, `conversations.history`, `users.lookupByEmail`, `auth.test`) and incoming
webhooks, recording every message.

Like Slack, Web API errors are HTTP 200 with `{"ok": false, "error": ...}`; webhooks answer in
plain text. Each message is stored in `slack_messages` so tests and the admin API can see exactly
what the product posted.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

from sandbox.emulators.credentials import SLACK
from sandbox.emulators.routing import ApiRequest, Route, System, json_response, route, text_response, write_lock

# Public channels the bot is not in: posting there or reading them gives not_in_channel.
NOT_JOINED = {"random": "C0RANDOM", "sales-wins": "C0SALESWIN"}


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
    """Web API methods take query parameters (GET) and JSON or form bodies (POST); webhooks JSON or a
    form field `payload`. Query parameters and body are merged, the body winning."""
    content_type = (req.headers.get("content-type") or "").lower()
    query = dict(req.query)
    try:
        if "json" in content_type:
            body = req.json()
            return {**query, **body} if isinstance(body, dict) else query
        form = req.form()
        if "payload" in form:
            body = orjson.loads(form["payload"])
            return body if isinstance(body, dict) else {}
        return {**query, **form}
    except (orjson.JSONDecodeError, UnicodeDecodeError):
        return query


def _users(req: ApiRequest) -> list[dict[str, Any]]:
    """Active Salesforce users with an email, as workspace members: `U<Salesforce id>`."""
    rows = req.store.conn.execute(
        "SELECT Id, Email, FirstName, LastName FROM sf_user "
        "WHERE COALESCE(IsActive, 1) AND COALESCE(IsDeleted, 0) = 0 AND Email LIKE '%@%' ORDER BY Id"
    ).fetchall()
    return [
        {
            "id": f"U{uid}",
            "sf_id": uid,
            "email": email,
            "alias": email.split("@", 1)[0].replace(".", "-").replace("_", "-").lower(),
            "real_name": " ".join(p for p in (first, last) if p) or email,
        }
        for uid, email, first, last in rows
    ]


def user_channels(req: ApiRequest) -> dict[str, str]:
    """One channel per active Salesforce user, `cs-<alias>` (the email's local part, dots as dashes),
    as a workspace gives each CSM a channel for their book: name -> id."""
    return {f"cs-{u['alias']}": f"CU{u['sf_id']}" for u in _users(req)}


def member_channels(req: ApiRequest) -> dict[str, str]:
    """Channels the bot is in: name -> id."""
    return {**SLACK["channels"], **user_channels(req)}


def _channel_id(req: ApiRequest, name: str) -> str | None:
    """The id of a channel the bot may post to (a name with or without `#`, an id, or a DM id)."""
    channels = member_channels(req)
    wanted = name.lstrip("#")
    if wanted in channels:
        return channels[wanted]
    if wanted in channels.values():
        return wanted
    if wanted.startswith("D") and any(u["id"] == f"U{wanted[1:]}" for u in _users(req)):
        return wanted
    return None


def _channel_problem(req: ApiRequest, name: str) -> tuple[str | None, str | None]:
    """(channel id, None) when the bot may use it, else (None, channel_not_found | not_in_channel)."""
    found = _channel_id(req, name)
    if found is not None:
        return found, None
    wanted = name.lstrip("#")
    if wanted in NOT_JOINED or wanted in NOT_JOINED.values():
        return None, "not_in_channel"
    return None, "channel_not_found"


def _metadata(payload: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """Message metadata ({event_type, event_payload}), a dict in JSON bodies or a JSON string in forms."""
    raw = payload.get("metadata")
    if raw in (None, ""):
        return None, None
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None, "invalid_metadata_format"
    if not isinstance(raw, dict):
        return None, "invalid_metadata_format"
    if not isinstance(raw.get("event_type"), str) or not isinstance(raw.get("event_payload", {}), dict):
        return None, "invalid_metadata_schema"
    return {"event_type": raw["event_type"], "event_payload": raw.get("event_payload") or {}}, None


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


def _message(via: str, ts: str, payload: dict[str, Any], *, with_metadata: bool = True) -> dict[str, Any]:
    """A stored message as the Web API shows it."""
    message: dict[str, Any] = {"type": "message", "text": payload.get("text") or "", "ts": ts}
    if via == "webhook":
        message |= {"subtype": "bot_message", "bot_id": SLACK["bot_id"]}
    else:
        message |= {"bot_id": SLACK["bot_id"], "user": SLACK["bot_user_id"], "team": SLACK["team_id"]}
    for key in ("blocks", "attachments", "thread_ts", "edited"):
        if payload.get(key):
            message[key] = payload[key]
    metadata, _ = _metadata(payload)
    if metadata is not None and with_metadata:
        message["metadata"] = metadata
    return message


def _has_content(payload: dict[str, Any]) -> bool:
    return any(payload.get(k) for k in ("text", "blocks", "attachments"))


def post_message(req: ApiRequest) -> Response:
    payload = _payload(req)
    problem = _token_error(req, payload)
    if problem:
        return _fail(problem)
    channel, problem = _channel_problem(req, str(payload.get("channel") or ""))
    if problem:
        return _fail(problem)
    if not _has_content(payload):
        return _fail("no_text")
    _, problem = _metadata(payload)
    if problem:
        return _fail(problem)
    payload.pop("token", None)
    ts = _record(req, "chat.postMessage", channel, None, payload)
    return json_response(
        {"ok": True, "channel": channel, "ts": ts, "message": _message("chat.postMessage", ts, payload)}
    )


def chat_update(req: ApiRequest) -> Response:
    """Edit a message the bot posted: text, blocks, attachments, metadata; the ts stays."""
    payload = _payload(req)
    problem = _token_error(req, payload)
    if problem:
        return _fail(problem)
    channel, problem = _channel_problem(req, str(payload.get("channel") or ""))
    if problem:
        return _fail(problem)
    ts = str(payload.get("ts") or "")
    _, problem = _metadata(payload)
    if problem:
        return _fail(problem)
    with write_lock:
        row = req.store.conn.execute(
            "SELECT id, via, payload FROM slack_messages WHERE channel = ? AND ts = ?", (channel, ts)
        ).fetchone()
        if row is None:
            return _fail("message_not_found")
        if row[1] != "chat.postMessage":
            return _fail("cant_update_message")
        changes = {k: payload[k] for k in ("text", "blocks", "attachments", "metadata") if k in payload}
        if not _has_content({**orjson.loads(row[2]), **changes}):
            return _fail("no_text")
        at = req.store.next_write_time()
        stored = {**orjson.loads(row[2]), **changes}
        stored["edited"] = {"user": SLACK["bot_user_id"], "ts": f"{int(at.timestamp())}.{at.microsecond:06d}"}
        req.store.conn.execute(
            "UPDATE slack_messages SET text = ?, payload = ? WHERE id = ?",
            (stored.get("text"), orjson.dumps(stored).decode(), row[0]),
        )
        req.store.conn.commit()
    message = _message("chat.postMessage", ts, stored)
    return json_response({"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": message})


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes")


def _limit(payload: dict[str, Any], default: int, most: int) -> int | None:
    try:
        n = int(payload.get("limit") or default)
    except (TypeError, ValueError):
        return None
    return default if n <= 0 else min(n, most)


def _cursor(payload: dict[str, Any]) -> int | None:
    """Cursors are opaque to clients; here base64 of `offset:<n>`. None for a cursor we did not give."""
    raw = str(payload.get("cursor") or "")
    if not raw:
        return 0
    try:
        kind, _, offset = base64.b64decode(raw.encode(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return int(offset) if kind == "offset" and offset.isdigit() else None


def _page_meta(offset: int, shown: int, total: int) -> dict[str, Any]:
    more = offset + shown < total
    cursor = base64.b64encode(f"offset:{offset + shown}".encode()).decode() if more else ""
    return {"has_more": more, "response_metadata": {"next_cursor": cursor}}


def conversations_list(req: ApiRequest) -> Response:
    """Public channels, the bot's (is_member) and others, in name order, cursor paged (limit <= 1000)."""
    payload = _payload(req)
    problem = _token_error(req, payload)
    if problem:
        return _fail(problem)
    offset, limit = _cursor(payload), _limit(payload, 100, 1000)
    if offset is None:
        return _fail("invalid_cursor")
    if limit is None:
        return _fail("invalid_limit")
    types = {t.strip() for t in str(payload.get("types") or "public_channel").split(",") if t.strip()}
    channels = []
    if "public_channel" in types:
        members = member_channels(req)
        everything = {**{n: (i, True) for n, i in members.items()}, **{n: (i, False) for n, i in NOT_JOINED.items()}}
        for name in sorted(everything):
            cid, joined = everything[name]
            channels.append(
                {
                    "id": cid,
                    "name": name,
                    "is_channel": True,
                    "is_group": False,
                    "is_im": False,
                    "is_private": False,
                    "is_archived": False,
                    "is_general": name == "general",
                    "is_member": joined,
                }
            )
    page = channels[offset : offset + limit]
    meta = _page_meta(offset, len(page), len(channels))
    return json_response({"ok": True, "channels": page, "response_metadata": meta["response_metadata"]})


def conversations_open(req: ApiRequest) -> Response:
    """A direct message with one workspace member (`users`): its channel id, `D<...>`."""
    payload = _payload(req)
    problem = _token_error(req, payload)
    if problem:
        return _fail(problem)
    if payload.get("channel"):
        channel = _channel_id(req, str(payload["channel"]))
        return json_response({"ok": True, "channel": {"id": channel}}) if channel else _fail("channel_not_found")
    wanted = [u.strip() for u in str(payload.get("users") or "").split(",") if u.strip()]
    if not wanted:
        return _fail("users_list_not_supplied")
    if len(wanted) > 1:  # group DMs are not emulated
        return _fail("method_not_supported_for_channel_type")
    known = {u["id"] for u in _users(req)}
    if wanted[0] not in known:
        return _fail("user_not_found")
    channel: dict[str, Any] = {"id": f"D{wanted[0][1:]}"}
    if _truthy(payload.get("return_im")):
        channel |= {"is_im": True, "user": wanted[0], "created": 0, "is_user_deleted": False}
    return json_response({"ok": True, "no_op": False, "already_open": False, "channel": channel})


def _ts_value(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def conversations_history(req: ApiRequest) -> Response:
    """A channel's messages newest first: `oldest` / `latest` bounds (exclusive unless `inclusive`),
    `limit` (default 100, at most 999), cursor paging; metadata only with `include_all_metadata`."""
    payload = _payload(req)
    problem = _token_error(req, payload)
    if problem:
        return _fail(problem)
    channel, problem = _channel_problem(req, str(payload.get("channel") or ""))
    if problem:
        return _fail(problem)
    offset, limit = _cursor(payload), _limit(payload, 100, 999)
    if offset is None:
        return _fail("invalid_cursor")
    if limit is None:
        return _fail("invalid_limit")
    oldest = _ts_value(payload.get("oldest") or 0)
    latest = _ts_value(payload.get("latest")) if payload.get("latest") else None
    if oldest is None or (payload.get("latest") and latest is None):
        return _fail("invalid_ts_oldest" if oldest is None else "invalid_ts_latest")
    inclusive = _truthy(payload.get("inclusive"))
    rows = req.store.conn.execute(
        "SELECT via, ts, payload FROM slack_messages WHERE channel = ? ORDER BY CAST(ts AS REAL) DESC, id DESC",
        (channel,),
    ).fetchall()

    def within(ts: float) -> bool:
        above = ts >= oldest if inclusive else ts > oldest
        below = latest is None or (ts <= latest if inclusive else ts < latest)
        return above and below

    chosen = [r for r in rows if within(float(r[1]))]
    page = chosen[offset : offset + limit]
    with_metadata = _truthy(payload.get("include_all_metadata"))
    messages = [_message(via, ts, orjson.loads(body), with_metadata=with_metadata) for via, ts, body in page]
    return json_response(
        {"ok": True, "messages": messages, "pin_count": 0, **_page_meta(offset, len(page), len(chosen))}
    )


def users_lookup_by_email(req: ApiRequest) -> Response:
    payload = _payload(req)
    problem = _token_error(req, payload)
    if problem:
        return _fail(problem)
    email = str(payload.get("email") or "").strip().lower()
    if not email:
        return _fail("invalid_arguments")
    user = next((u for u in _users(req) if u["email"].lower() == email), None)
    if user is None:
        return _fail("users_not_found")
    return json_response(
        {
            "ok": True,
            "user": {
                "id": user["id"],
                "team_id": SLACK["team_id"],
                "name": user["alias"],
                "real_name": user["real_name"],
                "deleted": False,
                "is_bot": False,
                "profile": {"email": user["email"], "real_name": user["real_name"], "display_name": user["alias"]},
            },
        }
    )


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


def _web_api(name: str, handler: Any, *, write: bool = False) -> tuple[Route, ...]:
    # Tokens travel in headers or bodies, so each Web API method checks them itself; slack-sdk calls
    # some methods with GET and query parameters, others with POST bodies: both are served.
    path = r"/api/" + name.replace(".", r"\.")
    return tuple(route("slack", name, m, path, handler, write=write, auth=False) for m in ("POST", "GET"))


ROUTES: tuple[Route, ...] = (
    *_web_api("chat.postMessage", post_message, write=True),
    *_web_api("chat.update", chat_update, write=True),
    *_web_api("conversations.list", conversations_list),
    *_web_api("conversations.open", conversations_open),
    *_web_api("conversations.history", conversations_history),
    *_web_api("users.lookupByEmail", users_lookup_by_email),
    *_web_api("auth.test", auth_test),
    route("slack", "unknown_method", "POST", r"/api/[\w.]+", unknown_method, auth=False),
    route("slack", "unknown_method", "GET", r"/api/[\w.]+", unknown_method, auth=False),
    route("slack", "webhook", "POST", r"/slack/hooks/\w+/\w+/\w+", webhook, write=True, auth=False),
)


def _no_auth(_req: ApiRequest) -> Response | None:
    return None


SYSTEM = System("slack", ROUTES, _no_auth, fault_response, not_found, internal_error)
