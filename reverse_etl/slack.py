"""Posts to Slack with slack-sdk's WebClient, whose retry handlers wait out rate limits
(Retry-After) and retry server errors."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

from reverse_etl.config import SyncConfig


def connect(cfg: SyncConfig) -> WebClient:
    client = WebClient(token=cfg.slack_token, base_url=cfg.slack_base_url, timeout=30)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=cfg.max_attempts - 1))
    client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=cfg.max_attempts - 1))
    return client


def post(client: WebClient, channel: str, text: str) -> str | None:
    """None when posted, else Slack's error (channel_not_found, ...) for the sync log. Errors that
    outlast the retries (rate limits, 5xx) raise: the run stops there and resumes next time."""
    try:
        client.chat_postMessage(channel=f"#{channel}", text=text)
    except SlackApiError as exc:
        status = exc.response.status_code
        if status == 429 or status >= 500:
            raise
        return str(exc.response.get("error") or exc)
    return None
