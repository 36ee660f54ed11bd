"""Reverse-ETL settings, read through the product's settings loader (`core/config.py`): section
`[reverse_etl]` of `.dlt/config.toml`, secrets in `.dlt/secrets.toml` or environment variables (for
example REVERSE_ETL__SALESFORCE__LOGIN_URL, REVERSE_ETL__SALESFORCE__CREDENTIALS__CLIENT_SECRET).

Each destination switches off like a source: `[reverse_etl.salesforce] enabled = false` (or
REVERSE_ETL__SALESFORCE__ENABLED=false), `[reverse_etl.hubspot] enabled = false` and
`[reverse_etl.slack] enabled = false`. Only the configured CRM's write-back runs (`crm`). A destination that
is off needs neither URL nor credentials, and its sync step says it is off."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from core import config
from core.auth import SalesforceLogin
from core.config import ConfigError, env_name, resolve_path


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
    slack_timeout: float = 30.0  # seconds for one Slack answer; past it the outcome is unknown
    max_empty_score_share: float = 0.05  # the gate's bound on active accounts with no health score or tier
    max_failed_share: float = 0.5  # a destination step fails when more of its records than this share fail
    salesforce_enabled: bool = True
    slack_enabled: bool = True
    crm: str = "salesforce"  # the configured CRM (`crm`): its write-back runs, the other's is off
    hubspot_enabled: bool = True
    hubspot_base_url: str = ""
    hubspot_token: str = ""
    alert_channels: tuple[str, ...] = ("slack",)  # where alerts (and failure notices) go: slack, teams
    # Microsoft Teams: webhook / Workflows URLs (credentials) by route name, `default` for the rest.
    teams_webhooks: dict[str, str] = field(default_factory=dict)
    teams_route: str = "csm"  # csm: by the owner's channel name (cs-<alias>); team: by teams_csm_team
    teams_csm_team: dict[str, str] = field(default_factory=dict)  # cs-<alias> -> team route name
    teams_account_url: str = ""  # link on each card, `{account_id}` filled in; default: Salesforce's
    teams_timeout: float = 30.0

    def enabled(self, destination: str) -> bool:
        """Whether the destination is switched on (`teams` is chosen by alert_channel alone)."""
        if destination == "teams":
            return True
        if destination == "slack":
            return self.slack_enabled
        system = destination.split("_")[0]
        if system != self.crm:
            return False
        return self.hubspot_enabled if system == "hubspot" else self.salesforce_enabled

    def off_message(self, destination: str) -> str:
        system = destination.split("_")[0]
        if system in ("salesforce", "hubspot") and system != self.crm:
            return f'not the configured CRM (crm = "{self.crm}"): nothing sent'
        return f"switched off (reverse_etl.{system}.enabled = false): nothing sent"

    @property
    def salesforce_login(self) -> SalesforceLogin:
        return SalesforceLogin(self.salesforce_login_url, self.salesforce_client_id, self.salesforce_client_secret)


def _secret(key: str, fallback: str) -> str:
    """The reverse-ETL credential, else the loaders' one for the same system (one connected app)."""
    value = config.secret(key, required=False) or config.secret(fallback, required=False)
    if not value:
        raise ConfigError(f"missing secret `{key}`: set {env_name(key)} or add it to .dlt/secrets.toml")
    return value


def _share(key: str, default: float) -> float:
    value = config.get(key, float, default)
    if not 0 <= value <= 1:
        raise ConfigError(f"`{key}` must be a share between 0 and 1 (0.1 = 10 %), got {value!r}")
    return value


ALERT_CHANNELS = ("slack", "teams")


def _alert_channels() -> tuple[str, ...]:
    raw = config.get("reverse_etl.alert_channel", str, "slack")
    chosen = tuple(dict.fromkeys(c.strip().lower() for c in raw.replace("+", ",").split(",") if c.strip()))
    unknown = [c for c in chosen if c not in ALERT_CHANNELS]
    if unknown or not chosen:
        raise ConfigError(f'[reverse_etl] alert_channel must be slack, teams or "slack,teams", got {raw!r}')
    return chosen


def _teams_webhooks() -> dict[str, str]:
    """Route name -> URL from [reverse_etl.teams.credentials.webhooks] in secrets, and the `default`
    one from REVERSE_ETL__TEAMS__CREDENTIALS__WEBHOOKS__DEFAULT (each URL is a credential)."""
    hooks = {str(k): str(v) for k, v in config.section("reverse_etl.teams.credentials.webhooks").items()}
    default = config.secret("reverse_etl.teams.credentials.webhooks.default", required=False)
    if default:
        hooks["default"] = default
    return hooks


def _account_url(crm: str, salesforce_login_url: str) -> str:
    """The default link to an account in the CRM (`{account_id}` filled in per card)."""
    if crm == "salesforce":
        return salesforce_login_url.rstrip("/") + "/lightning/r/Account/{account_id}/view"
    portal = config.get("reverse_etl.hubspot.portal_id", str, "")
    if portal:
        return f"https://app.hubspot.com/contacts/{portal}/record/0-2/{{account_id}}"
    base = config.get("reverse_etl.hubspot.base_url", str, "") or config.get("sources.hubspot.base_url", str, "")
    return base.rstrip("/") + "/crm/v3/objects/companies/{account_id}"


def load() -> SyncConfig:
    from core.crm import crm as configured_crm

    crm = configured_crm()
    salesforce_on = crm == "salesforce" and config.get("reverse_etl.salesforce.enabled", bool, True)
    hubspot_on = crm == "hubspot" and config.get("reverse_etl.hubspot.enabled", bool, True)
    slack_on = config.get("reverse_etl.slack.enabled", bool, True)
    ca = config.get("reverse_etl.salesforce.ca_bundle", str, "") if salesforce_on else ""
    channels = _alert_channels()
    hooks = _teams_webhooks() if "teams" in channels else {}
    if "teams" in channels and "default" not in hooks:
        key = "reverse_etl.teams.credentials.webhooks.default"
        raise ConfigError(f"missing secret `{key}`: set {env_name(key)} or add it to .dlt/secrets.toml")
    login_url = config.get("reverse_etl.salesforce.login_url", str) if salesforce_on else ""
    return SyncConfig(
        crm=crm,
        hubspot_enabled=hubspot_on,
        hubspot_base_url=(
            config.get("reverse_etl.hubspot.base_url", str, "") or config.get("sources.hubspot.base_url", str)
        )
        if hubspot_on
        else "",
        hubspot_token=_secret(
            "reverse_etl.hubspot.credentials.access_token", "sources.hubspot.credentials.access_token"
        )
        if hubspot_on
        else "",
        salesforce_enabled=salesforce_on,
        slack_enabled=slack_on,
        salesforce_login_url=login_url,
        salesforce_api_version=config.get("reverse_etl.salesforce.api_version", str, "61.0"),
        salesforce_client_id=_secret(
            "reverse_etl.salesforce.credentials.client_id", "sources.salesforce.credentials.client_id"
        )
        if salesforce_on
        else "",
        salesforce_client_secret=_secret(
            "reverse_etl.salesforce.credentials.client_secret", "sources.salesforce.credentials.client_secret"
        )
        if salesforce_on
        else "",
        ca_bundle=resolve_path(ca) if ca else None,
        slack_base_url=config.get("reverse_etl.slack.base_url", str) if slack_on else "",
        slack_token=_secret("reverse_etl.slack.credentials.bot_token", "reverse_etl.slack.bot_token")
        if slack_on
        else "",
        slack_fallback_channel=config.get("reverse_etl.slack.fallback_channel", str, "cs-alerts"),
        bulk_threshold=config.get("reverse_etl.bulk_threshold", int, 2000),
        max_attempts=config.get("reverse_etl.max_attempts", int, 5),
        backoff_factor=config.get("reverse_etl.backoff_factor", float, 0.5),
        row_count_tolerance=_share("reverse_etl.gate.row_count_tolerance", 0.1),
        max_red_share_change=_share("reverse_etl.gate.max_red_share_change", 0.1),
        max_empty_score_share=_share("reverse_etl.gate.max_empty_score_share", 0.05),
        max_failed_share=_share("reverse_etl.max_failed_share", 0.5),
        slack_timeout=config.get("reverse_etl.slack.timeout", float, 30.0),
        alert_channels=channels,
        teams_webhooks=hooks,
        teams_route=config.get("reverse_etl.teams.route", str, "csm"),
        teams_csm_team={str(k): str(v) for k, v in config.section("reverse_etl.teams.csm_team").items()},
        teams_account_url=config.get("reverse_etl.teams.account_url", str, _account_url(crm, login_url)),
        teams_timeout=config.get("reverse_etl.teams.timeout", float, 30.0),
    )
