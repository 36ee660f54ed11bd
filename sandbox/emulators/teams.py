"""Microsoft Teams incoming webhooks and Power Automate Workflows URLs, recording every card.

Both take a message whose `attachments` hold Adaptive Cards
(`contentType: application/vnd.microsoft.card.adaptive`, `content: {type: AdaptiveCard, version,
body}`) and give nothing back to look up: no message id, no history.

- Incoming webhook (`/teams/webhookb2/<group>@<tenant>/IncomingWebhook/<id>/<guid>`): `200` with the
  text `1` once the card is posted; `400` in plain text for a payload it cannot render; `413` above
  28 KB; `404` for a connector that was removed.
- Workflows (`/teams/workflows/<id>/triggers/manual/paths/invoke?api-version=...&sig=...`): the
  trigger answers `202 Accepted` with no body once the run is queued (here the card is posted before
  the answer); `401` without the right `sig`; `404` for an unknown flow; `400
  TriggerInputSchemaMismatch` when the body does not match the trigger's schema (the flows here
  validate it: an Adaptive Card message). The flows are the ones `reverse_etl/README.md` asks for:
  they post a card only if its `copilot_key` was not posted before, so a repeated request posts nothing.
- Throttling: `429` with `Retry-After`, Teams' text for webhooks, Logic Apps' JSON for Workflows.

Cards are stored in `teams_messages` (admin API `GET /__admin/teams/messages`).
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

from sandbox.emulators.credentials import TEAMS
from sandbox.emulators.routing import ApiRequest, Route, System, json_response, route, text_response, write_lock

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_BYTES = 28 * 1024  # Teams' limit on a message posted through a webhook
MAX_VERSION = (1, 5)  # the newest Adaptive Card schema Teams renders
VERSION = re.compile(r"^(\d+)\.(\d+)$")
TABLE = """
CREATE TABLE IF NOT EXISTS teams_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    via TEXT NOT NULL,            -- webhook | workflow
    channel TEXT NOT NULL,
    hook TEXT NOT NULL,           -- the connector or workflow id
    copilot_key TEXT,             -- the key a Workflows flow deduplicates on, when sent
    card TEXT NOT NULL,           -- the first Adaptive Card (JSON)
    payload TEXT NOT NULL,        -- the JSON body as received
    received_at TEXT NOT NULL
)
"""


def ensure_table(conn: sqlite3.Connection) -> None:
    conn.execute(TABLE)
    conn.commit()


def _logic_error(code: str, message: str, status: int, **headers: str) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status, headers or None)


def not_found(_req: ApiRequest | None = None) -> Response:
    return text_response("Not Found", 404)


def internal_error() -> Response:
    return _logic_error("InternalServerError", "The server encountered an internal error.", 500)


def fault_response(kind: str, status: int, retry_after: int) -> Response:
    if kind == "rate_limit":
        return _logic_error(
            "WorkflowRequestsThrottled",
            "Number of requests exceeded the limit. Please wait and retry.",
            status,
            **{"Retry-After": str(retry_after)},
        )
    return _logic_error("ServiceUnavailable" if status == 503 else "InternalServerError", "Server error.", status)


def card_problem(payload: Any) -> str | None:
    """Why a message is not one Teams can post (None when it is): attachments holding Adaptive Cards."""
    if not isinstance(payload, dict):
        return "the body must be a JSON object"
    attachments = payload.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "'attachments' must be a non-empty array"
    for i, attachment in enumerate(attachments):
        if not isinstance(attachment, dict) or attachment.get("contentType") != CARD_TYPE:
            return f"attachments[{i}].contentType must be '{CARD_TYPE}'"
        card = attachment.get("content")
        if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
            return f"attachments[{i}].content.type must be 'AdaptiveCard'"
        version = VERSION.match(str(card.get("version") or ""))
        if version is None or (int(version[1]), int(version[2])) > MAX_VERSION:
            return f"attachments[{i}].content.version must be an Adaptive Card version up to 1.5"
        body = card.get("body")
        if not isinstance(body, list) or not body:
            return f"attachments[{i}].content.body must be a non-empty array"
        if not all(isinstance(e, dict) and isinstance(e.get("type"), str) for e in body):
            return f"attachments[{i}].content.body elements must be objects with a 'type'"
    return None


def _parse(req: ApiRequest) -> tuple[Any, str | None]:
    try:
        return req.json(), None
    except (orjson.JSONDecodeError, UnicodeDecodeError) as exc:
        return None, f"the body is not JSON: {exc}"


def _store(req: ApiRequest, via: str, channel: str, hook: str, payload: dict[str, Any]) -> bool:
    """Post the card; for a flow (`via` workflow) not when its `copilot_key` was posted before.
    Returns whether it was posted."""
    key = payload.get("copilot_key")
    key = str(key) if key not in (None, "") else None
    with write_lock:
        if via == "workflow" and key is not None:
            seen = req.store.conn.execute(
                "SELECT 1 FROM teams_messages WHERE via = 'workflow' AND hook = ? AND copilot_key = ?", (hook, key)
            ).fetchone()
            if seen:
                return False
        req.store.conn.execute(
            "INSERT INTO teams_messages (via, channel, hook, copilot_key, card, payload, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                via,
                channel,
                hook,
                key,
                orjson.dumps(payload["attachments"][0]["content"]).decode(),
                orjson.dumps(payload).decode(),
                datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )
        req.store.conn.commit()
    return True


def webhook(req: ApiRequest) -> Response:
    hook = req.path.removeprefix("/teams/webhookb2/").rstrip("/")
    channel = TEAMS["webhooks"].get(hook)
    if channel is None:
        return text_response("Connector configuration not found", 404)
    if len(req.body) > MAX_BYTES:
        return text_response("Webhook message delivery failed with error: Message size is too big", 413)
    payload, problem = _parse(req)
    if problem is None:
        problem = card_problem(payload)
    if problem is not None:
        return text_response("Bad payload received by generic incoming webhook.", 400)
    _store(req, "webhook", channel, hook, payload)
    return text_response("1", 200)


def workflow(req: ApiRequest) -> Response:
    workflow_id = req.path_params["workflow"]
    flow = TEAMS["workflows"].get(workflow_id)
    if flow is None:
        return _logic_error("WorkflowNotFound", f"The workflow '{workflow_id}' could not be found.", 404)
    channel, sig = flow
    if req.param("sig") is None:
        return _logic_error(
            "DirectApiAuthorizationRequired",
            "The request must be authenticated only by Shared Access scheme.",
            401,
        )
    if req.param("sig") != sig or req.param("api-version") is None:
        return _logic_error(
            "DirectApiInvalidAuthorizationSignature",
            "The provided authorization signature is not valid.",
            401,
        )
    if len(req.body) > MAX_BYTES:
        return _logic_error("MessageTooLarge", "The request body exceeds the size a card can post.", 413)
    payload, problem = _parse(req)
    if problem is None:
        problem = card_problem(payload)
    if problem is not None:
        return _logic_error(
            "TriggerInputSchemaMismatch",
            f"The input body for trigger 'manual' of type 'Request' did not match its schema definition. "
            f"Error details: '{problem}'.",
            400,
        )
    _store(req, "workflow", channel, workflow_id, payload)
    return Response(b"", 202)


ROUTES: tuple[Route, ...] = (
    route("teams", "webhook", "POST", r"/teams/webhookb2/[\w@.-]+/IncomingWebhook/\w+/[\w-]+", webhook, write=True),
    route(
        "teams",
        "workflow",
        "POST",
        r"/teams/workflows/(?P<workflow>\w+)/triggers/manual/paths/invoke",
        workflow,
        write=True,
    ),
)


def _no_auth(_req: ApiRequest) -> Response | None:
    return None  # the URL is the credential: each handler checks its own


SYSTEM = System("teams", ROUTES, _no_auth, fault_response, not_found, internal_error)
