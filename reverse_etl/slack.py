"""Posts to Slack with slack-sdk's WebClient, each message exactly once.

A post is not idempotent: Slack has no idempotency key, and a reply can be lost after the message
is in the channel (a timeout, a reset connection, a process killed while it waited). So:

- every message carries its key as Slack message metadata (`event_type` `copilot_alert`, payload
  `{"alert_id": ...}`; failure notices `copilot_run_failed` with the run id);
- before posting, the intent (record, channel) is written to `reverse_etl.sync_pending`; after the
  answer it is cleared, with the delivered hash saved;
- a record whose intent is still there (an earlier run stopped before the answer) is first looked up
  in the channel's recent history (`conversations.history` with metadata); found, it counts as
  delivered and is not posted again;
- a 5xx answer means Slack finished with the request: the history says whether the message landed,
  and only if not is it posted again. A timeout or a lost connection says nothing (the request may
  still be held): the history is read once, and if the message is not there the run stops, the
  record is logged in `sync_errors` and keeps its intent, so the next run looks again before posting.

Rate limits (429: nothing was posted) are waited out by slack-sdk's handler (Retry-After); posts are
never retried on connection errors by slack-sdk itself (its default handler would post twice).
Channels are resolved with `conversations.list`; a channel that does not exist or that the bot is
not in falls back to the default channel.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from reverse_etl import state
from reverse_etl.config import SyncConfig

DESTINATION = "slack"
ALERT_EVENT = "copilot_alert"
HISTORY_SCAN = 1000  # most recent messages of a channel read when an earlier post's outcome is unknown
HISTORY_PAGE = 200
FALLBACK_ERRORS = ("channel_not_found", "not_in_channel", "is_archived")
# What a lost answer looks like from urllib (slack-sdk's transport): timeouts, resets, refused
# connections and URLError are OSErrors; a reply cut short is an HTTPException.
TRANSPORT_ERRORS = (OSError, http.client.HTTPException)


class Stopped(Exception):
    """Slack could not be reached (or kept failing): the run stops, the rest goes next run."""


class OutcomeUnknown(Exception):
    """The post may or may not have landed: no answer came."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def connect(cfg: SyncConfig) -> WebClient:
    """A client for reads: rate limits, server errors and connection errors are retried."""
    client = WebClient(token=cfg.slack_token, base_url=cfg.slack_base_url, timeout=cfg.slack_timeout)
    client.retry_handlers = [
        ConnectionErrorRetryHandler(max_retry_count=cfg.max_attempts - 1),
        RateLimitErrorRetryHandler(max_retry_count=cfg.max_attempts - 1),
        ServerErrorRetryHandler(max_retry_count=cfg.max_attempts - 1),
    ]
    return client


def connect_for_posts(cfg: SyncConfig) -> WebClient:
    """A client for posts: only rate limits are retried (Slack did nothing); a server or connection
    error may hide a posted message, so the caller checks the history before posting again."""
    client = WebClient(token=cfg.slack_token, base_url=cfg.slack_base_url, timeout=cfg.slack_timeout)
    client.retry_handlers = [RateLimitErrorRetryHandler(max_retry_count=cfg.max_attempts - 1)]
    return client


@dataclass
class Poster:
    """One run's Slack client: channel directory, history lookups, posts carrying their key."""

    cfg: SyncConfig
    reads: WebClient = field(init=False)
    writes: WebClient = field(init=False)
    _channels: dict[str, tuple[str, bool]] | None = field(default=None, init=False)
    _seen: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict, init=False)
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self.reads = connect(self.cfg)
        self.writes = connect_for_posts(self.cfg)

    def channels(self) -> dict[str, tuple[str, bool]]:
        """Channel name (and id) -> (id, bot is a member), from conversations.list."""
        if self._channels is None:
            found: dict[str, tuple[str, bool]] = {}
            cursor = None
            while True:
                page = self.reads.conversations_list(
                    types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
                )
                for c in page["channels"]:
                    found[c["name"]] = found[c["id"]] = (c["id"], bool(c.get("is_member")))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
            self._channels = found
        return self._channels

    def resolve(self, name: str) -> tuple[str | None, str | None]:
        """(channel id to post to, None), falling back to the default channel when `name` does not
        exist or the bot is not in it; (None, error) when the default channel is not usable either."""
        directory = self.channels()
        wanted = name.lstrip("#")
        for candidate in (wanted, self.cfg.slack_fallback_channel.lstrip("#")):
            if candidate not in directory:
                problem = "channel_not_found"
                continue
            channel_id, member = directory[candidate]
            if member:
                return channel_id, None
            problem = "not_in_channel"
        return None, f"{problem}: neither #{wanted} nor the default #{self.cfg.slack_fallback_channel}"

    def fallback_id(self) -> str | None:
        found = self.channels().get(self.cfg.slack_fallback_channel.lstrip("#"))
        return found[0] if found and found[1] else None

    def find(self, channel_id: str, event_type: str, key_name: str, key: str, *, fresh: bool = False) -> str | None:
        """The ts of the message carrying `key` among the channel's recent messages, else None."""
        cache_key = (channel_id, event_type)
        if fresh or cache_key not in self._seen:
            seen: dict[str, str] = {}
            cursor = None
            read = 0
            while read < HISTORY_SCAN:
                page = self.reads.conversations_history(
                    channel=channel_id, include_all_metadata=True, limit=HISTORY_PAGE, cursor=cursor
                )
                for message in page["messages"]:
                    metadata = message.get("metadata") or {}
                    if metadata.get("event_type") == event_type:
                        found = str((metadata.get("event_payload") or {}).get(key_name))
                        seen.setdefault(found, message["ts"])
                read += len(page["messages"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not cursor or not page["messages"]:
                    break
            self._seen[cache_key] = seen
        return self._seen[cache_key].get(key)

    def post(self, channel_id: str, text: str, event_type: str, payload: dict[str, str]) -> str:
        """Post once; on a 5xx, post again only when the history shows it did not land. Returns the
        ts. Raises SlackApiError for Slack's refusals, OutcomeUnknown when no answer came."""
        key_name, key = next(iter(payload.items()))
        metadata = {"event_type": event_type, "event_payload": payload}
        for attempt in range(self.cfg.max_attempts):
            try:
                return self.writes.chat_postMessage(channel=channel_id, text=text, metadata=metadata)["ts"]
            except SlackApiError as exc:
                if exc.response.status_code < 500 or attempt == self.cfg.max_attempts - 1:
                    raise
            except TRANSPORT_ERRORS as exc:
                raise OutcomeUnknown(_first_line(exc)) from exc
            # Slack answered 5xx: it is done with the request, so its history is the truth.
            ts = self.find(channel_id, event_type, key_name, key, fresh=True)
            if ts is not None:
                return ts
            self.sleep(self.cfg.backoff_factor * 2**attempt)
        raise AssertionError("unreachable")


def deliver(
    con: duckdb.DuckDBPyConnection,
    poster: Poster,
    records: list[Any],
    run_id: str,
    done: Callable[[dict[str, str | None], dict[str, str]], None],
) -> int:
    """Post each record's message once (see the module's docstring); `done` logs each outcome.
    Returns how many were found already posted. Raises Stopped when Slack cannot be reached."""
    pending = state.pending(con, DESTINATION)
    recovered = 0
    for record in records:
        key = record.key
        try:
            if key in pending and poster.find(pending[key], ALERT_EVENT, "alert_id", key) is not None:
                state.clear_pending(con, DESTINATION, key)
                done({key: None}, {})
                recovered += 1
                continue
            channel_id, problem = poster.resolve(record.values["channel"])
        except (SlackApiError, *TRANSPORT_ERRORS) as exc:
            done({key: f"looking up the channel: {_describe(exc)}"}, {})
            raise Stopped(_describe(exc)) from exc
        if channel_id is None:
            done({key: problem}, {})
            continue
        _post_one(con, poster, record, channel_id, run_id, done)
    return recovered


def _post_one(
    con: duckdb.DuckDBPyConnection,
    poster: Poster,
    record: Any,
    channel_id: str,
    run_id: str,
    done: Callable[[dict[str, str | None], dict[str, str]], None],
) -> None:
    key, text = record.key, record.values["text"]
    payload = {"alert_id": key}
    state.save_pending(con, DESTINATION, key, channel_id, run_id)
    try:
        try:
            poster.post(channel_id, text, ALERT_EVENT, payload)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            fallback = poster.fallback_id()
            if error not in FALLBACK_ERRORS or fallback in (None, channel_id):
                raise
            # The channel went away (or the bot left it) since the directory was read.
            state.save_pending(con, DESTINATION, key, fallback, run_id)
            poster.post(fallback, text, ALERT_EVENT, payload)
    except SlackApiError as exc:
        status = exc.response.status_code
        if status == 429 or status >= 500:  # retries exhausted: Slack is not taking messages now
            done({key: _describe(exc)}, {})
            raise Stopped(_describe(exc)) from exc
        state.clear_pending(con, DESTINATION, key)  # Slack refused it: nothing was posted
        done({key: str(exc.response.get("error") or exc)}, {})
        return
    except OutcomeUnknown as exc:
        # The request may still be held: if the message is not in the channel yet, leave the intent
        # for the next run (which looks again before posting) rather than risk a second message.
        try:
            found = poster.find(state.pending(con, DESTINATION)[key], ALERT_EVENT, "alert_id", key, fresh=True)
        except (SlackApiError, *TRANSPORT_ERRORS):
            found = None
        if found is None:
            done({key: f"no answer from Slack, outcome unknown ({exc}); checked before the next post"}, {})
            raise Stopped(f"no answer from Slack: {exc}") from exc
    state.clear_pending(con, DESTINATION, key)
    done({key: None}, {})


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return f"Slack answered {exc.response.status_code}: {exc.response.get('error') or 'error'}"
    return _first_line(exc)


def post_once(cfg: SyncConfig, channel: str, text: str, event_type: str, payload: dict[str, str]) -> str:
    """Post a message carrying `payload` (one key) unless the channel's recent history has it already
    (another process posted it). Returns the ts, the found one or the new one."""
    poster = Poster(cfg)
    channel_id, problem = poster.resolve(channel)
    if channel_id is None:
        raise ValueError(f"Slack: {problem}")
    key_name, key = next(iter(payload.items()))
    found = poster.find(channel_id, event_type, key_name, key, fresh=True)
    return found or poster.post(channel_id, text, event_type, payload)
