"""Posts alerts to Microsoft Teams as Adaptive Cards, through an incoming webhook or a Power Automate
Workflows URL, and says plainly how often each lands.

Neither transport gives a message id or a history to read back, so the Slack way (look before
posting again) is not available. What is done instead:

- every post carries a stable key, the alert id: as `copilot_key` at the top of the request body
  (a Workflows flow reads it as `triggerBody()?['copilot_key']`) and as the card's "Alert" fact;
- before posting, the intent (alert, route) is written to `reverse_etl.sync_pending`; a definite
  answer clears it (2xx: delivered; 4xx: refused, nothing posted, logged in `sync_errors`);
- 429 means nothing was posted: waited out (Retry-After) and retried;
- an unknown outcome (timeout, lost connection, 5xx) depends on the URL:
  - a Workflows URL (`/workflows/.../triggers/manual/paths/invoke`) goes to a flow that posts a card
    only if its `copilot_key` was not posted before (the flow README.md asks for), so the same
    request is retried (backoff), in this run and the next: **exactly once**;
  - an incoming webhook cannot deduplicate: the post is never repeated. The intent stays, the run
    stops, and every later run logs the alert in `sync_errors` as "outcome unknown" instead of
    posting it: **at most once**, with each doubtful alert named. Deleting its `sync_pending` row
    (after checking the channel) lets the next run post it.

Routes: `[reverse_etl.teams] route = "csm"` looks the URL up by the owner's channel name
(`cs-<alias>`), `"team"` by the team `[reverse_etl.teams.csm_team]` gives the owner; an alert with
no URL of its own goes to `default`. URLs are credentials: secrets or environment only.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import httpx

from reverse_etl import state
from reverse_etl.config import SyncConfig

DESTINATION = "teams"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
SEVERITY_COLOR = {"high": "Attention", "medium": "Warning", "low": "Default"}


class Stopped(Exception):
    """Teams could not be reached or the outcome of a post is unknown: the run stops here."""


class OutcomeUnknown(Exception):
    """The post may or may not have landed."""


class Refused(Exception):
    def __init__(self, status: int, text: str):
        super().__init__(f"Teams answered {status}: {text}")
        self.status = status


def is_workflow(url: str) -> bool:
    """A Power Automate / Logic Apps trigger URL (its flow deduplicates on `copilot_key`)."""
    return "/workflows/" in url and "/triggers/" in url


def alert_card(values: dict[str, Any], account_url: str) -> dict[str, Any]:
    """An Adaptive Card for one alert: account, severity, reason, due date, a link to the account."""
    severity = str(values.get("severity") or "high")
    facts = [
        {"title": "Severity", "value": severity.capitalize()},
        {"title": "Due", "value": values.get("due_date") or "not set"},
        {"title": "Owner", "value": values.get("owner_name") or "unassigned"},
        {"title": "Alert", "value": values["alert_id"]},
    ]
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": [
            {
                "type": "TextBlock",
                "text": str(values["account_name"]),
                "size": "Large",
                "weight": "Bolder",
                "color": SEVERITY_COLOR.get(severity, "Default"),
                "wrap": True,
            },
            {"type": "TextBlock", "text": str(values["reason"]), "wrap": True},
            {"type": "FactSet", "facts": facts},
        ],
        "actions": [
            {
                "type": "Action.OpenUrl",
                "title": "Open the account",
                "url": account_url.format(account_id=values["account_id"]),
            }
        ],
        "msteams": {"width": "Full"},
    }


def message(card: dict[str, Any], key: str, summary: str) -> dict[str, Any]:
    """The request body: a Teams message holding the card, with the key a flow deduplicates on."""
    return {
        "type": "message",
        "summary": summary[:250],
        "copilot_key": key,
        "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": card}],
    }


def _retry_after(response: httpx.Response, fallback: float) -> float:
    raw = response.headers.get("retry-after")
    if raw is None:
        return fallback
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:  # an HTTP date
        return max(0.0, (email.utils.parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return fallback


@dataclass
class Poster:
    cfg: SyncConfig
    sleep: Callable[[float], None] = time.sleep
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(timeout=self.cfg.teams_timeout)

    def route(self, channel: str | None) -> tuple[str, str]:
        """(route name, URL) for an alert whose owner's channel is `channel` (cs-<alias> or None)."""
        hooks = self.cfg.teams_webhooks
        name = channel
        if self.cfg.teams_route == "team":
            name = self.cfg.teams_csm_team.get(channel or "")
        if name and name in hooks:
            return name, hooks[name]
        return "default", hooks["default"]

    def post(self, url: str, body: dict[str, Any]) -> None:
        """Post until a definite answer. Raises Refused (4xx, or 429 / 5xx past the attempts) and
        OutcomeUnknown (no answer, or a 5xx where a repeat could post twice)."""
        retry_unknown = is_workflow(url)
        last: BaseException | None = None
        for attempt in range(self.cfg.max_attempts):
            wait = self.cfg.backoff_factor * 2**attempt
            try:
                response = self.client.post(url, json=body)
            except httpx.TransportError as exc:
                last = OutcomeUnknown(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
                if not retry_unknown:
                    raise last from exc
                self.sleep(wait)
                continue
            if response.is_success:
                return
            text = response.text.strip().splitlines()[0][:300] if response.text.strip() else response.reason_phrase
            if response.status_code == 429:
                last = Refused(429, text)
                self.sleep(_retry_after(response, wait))
                continue
            if response.status_code >= 500:
                if not retry_unknown:
                    raise OutcomeUnknown(f"Teams answered {response.status_code}: {text}")
                last = Refused(response.status_code, text)
                self.sleep(wait)
                continue
            raise Refused(response.status_code, text)
        assert last is not None
        raise last


def deliver(
    con: duckdb.DuckDBPyConnection,
    poster: Poster,
    records: list[Any],
    run_id: str,
    done: Callable[[dict[str, str | None], dict[str, str]], None],
) -> int:
    """Post each record's card (see the module's docstring); `done` logs each outcome. Returns how
    many were posted again with their key after an unknown outcome. Raises Stopped."""
    pending = state.pending(con, DESTINATION)
    resent = 0
    for record in records:
        key = record.key
        target, url = poster.route(record.values.get("owner_channel"))
        if key in pending:
            if not is_workflow(url):
                done({key: f"outcome unknown since an earlier run ({pending[key]}); not posted again"}, {})
                continue
            resent += 1
        card = alert_card(record.values, poster.cfg.teams_account_url)
        body = message(card, key, f"{record.values['account_name']}: {record.values['reason']}")
        state.save_pending(con, DESTINATION, key, target, run_id)
        try:
            poster.post(url, body)
        except Refused as exc:
            state.clear_pending(con, DESTINATION, key)  # Teams refused it: nothing was posted
            done({key: str(exc)}, {})
            if exc.status == 429 or exc.status >= 500:
                raise Stopped(str(exc)) from exc
            continue
        except OutcomeUnknown as exc:
            how = "posted again with its key next run" if is_workflow(url) else "not posted again"
            done({key: f"no answer from Teams, outcome unknown ({exc}); {how}"}, {})
            raise Stopped(f"no answer from Teams: {exc}") from exc
        state.clear_pending(con, DESTINATION, key)
        done({key: None}, {})
    return resent


def post_once(cfg: SyncConfig, route: str | None, title: str, text: str, link: str, key: str) -> None:
    """A notice card (title, text, a link) with `key`: through a Workflows URL a repeat posts nothing."""
    poster = Poster(cfg)
    _, url = poster.route(route)
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": [
            {"type": "TextBlock", "text": title, "weight": "Bolder", "color": "Attention", "wrap": True},
            {"type": "TextBlock", "text": text, "wrap": True},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open the run", "url": link}],
    }
    poster.post(url, message(card, key, title))
