"""Reverse-ETL settings, read like the loaders' (`dlt_pipelines/settings.py`): `.dlt/config.toml`
section `[reverse_etl]`, secrets in `.dlt/secrets.toml` or environment variables (for example
REVERSE_ETL__SALESFORCE__LOGIN_URL, REVERSE_ETL__SALESFORCE__CREDENTIALS__CLIENT_SECRET)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dlt_pipelines import settings


@dataclass(frozen=True)
class SyncConfig:
    salesforce_login_url: str
    salesforce_api_version: str
    salesforce_client_id: str
    salesforce_client_secret: str
    ca_bundle: Path | None  # a private CA to trust (the sandbox's), else the system's
    slack_base_url: str
    slack_token: str
    slack_fallback_channel: str
    bulk_threshold: int  # more changed records than this go through Bulk API 2.0
    max_attempts: int
    backoff_factor: float
    row_count_tolerance: float
    max_red_share_change: float


def _secret(key: str, fallback: str) -> str:
    """The reverse-ETL credential, else the loaders' one for the same system (one connected app)."""
    value = settings.secret(key, required=False) or settings.secret(fallback, required=False)
    if not value:
        env = key.upper().replace(".", "__")
        raise settings.ConfigError(f"missing secret `{key}`: set {env} or add it to .dlt/secrets.toml")
    return value


def load() -> SyncConfig:
    ca = settings.setting("reverse_etl.salesforce.ca_bundle", "", str)
    return SyncConfig(
        salesforce_login_url=settings.setting("reverse_etl.salesforce.login_url", "https://127.0.0.1:8766", str),
        salesforce_api_version=str(settings.setting("reverse_etl.salesforce.api_version", "61.0", str)),
        salesforce_client_id=_secret(
            "reverse_etl.salesforce.credentials.client_id", "sources.salesforce.credentials.client_id"
        ),
        salesforce_client_secret=_secret(
            "reverse_etl.salesforce.credentials.client_secret", "sources.salesforce.credentials.client_secret"
        ),
        ca_bundle=settings.resolve_path(ca) if ca else None,
        slack_base_url=settings.setting("reverse_etl.slack.base_url", "http://127.0.0.1:8765/api/", str),
        slack_token=_secret("reverse_etl.slack.credentials.bot_token", "reverse_etl.slack.bot_token"),
        slack_fallback_channel=settings.setting("reverse_etl.slack.fallback_channel", "cs-alerts", str),
        bulk_threshold=settings.setting("reverse_etl.bulk_threshold", 2000, int),
        max_attempts=settings.setting("reverse_etl.max_attempts", 5, int),
        backoff_factor=settings.setting("reverse_etl.backoff_factor", 0.5, float),
        row_count_tolerance=settings.setting("reverse_etl.gate.row_count_tolerance", 0.1, float),
        max_red_share_change=settings.setting("reverse_etl.gate.max_red_share_change", 0.1, float),
    )
