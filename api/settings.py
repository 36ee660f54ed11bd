"""The API's settings, read through core/config.py (environment > .dlt/secrets.toml > .dlt/config.toml >
.dlt/sandbox.toml). The issuer, audience and JWKS URL have no default in code: a deployment names its
identity provider (Okta, Entra ID, Google, ...), the sandbox its own local issuer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from api.snapshot import serving_dir
from core import config

DEFAULT_PORT = 8770


@dataclass(frozen=True)
class AuthSettings:
    issuer: str
    audience: str
    jwks_url: str
    email_claim: str = "email"
    algorithms: tuple[str, ...] = ("RS256",)
    leeway_seconds: int = 30
    # The browser sign-in to the reports site (authorization code flow): this client at the issuer.
    client_id: str = "copilot-reports"
    client_secret: str | None = None


@dataclass(frozen=True)
class ApiSettings:
    host: str
    port: int
    database_url: str
    serving_dir: Path
    access_file: Path
    cors_origins: tuple[str, ...]
    rate_per_minute: int
    rate_burst: int
    reports_dir: Path


def auth_settings() -> AuthSettings:
    return AuthSettings(
        issuer=config.get("api.auth.issuer", str),
        audience=config.get("api.auth.audience", str),
        jwks_url=config.get("api.auth.jwks_url", str),
        email_claim=config.get("api.auth.email_claim", str, "email"),
        algorithms=tuple(config.get("api.auth.algorithms", list, ["RS256"])),
        leeway_seconds=config.get("api.auth.leeway_seconds", int, 30),
        client_id=config.get("api.auth.client_id", str, "copilot-reports"),
        client_secret=config.secret("api.auth.client_secret", required=False),
    )


def database_url() -> str:
    """The application's own database: SQLite by default, any SQLAlchemy URL (PostgreSQL) by setting."""
    url = config.get("api.database_url", str, "")
    if url:
        return url
    path = config.resolve_path("data/api/copilot_app.sqlite")
    return f"sqlite:///{path}"


def api_settings() -> ApiSettings:
    return ApiSettings(
        # Loopback unless a deployment says otherwise.
        host=config.get("api.host", str, "127.0.0.1"),
        port=config.get("api.port", int, DEFAULT_PORT),
        database_url=database_url(),
        serving_dir=serving_dir(),
        access_file=config.resolve_path(config.get("api.access_file", str, "data/api/access.toml")),
        # CORS closed unless origins are listed.
        cors_origins=tuple(config.get("api.cors_origins", list, [])),
        rate_per_minute=config.get("api.rate_limit.per_minute", int, 600),
        rate_burst=config.get("api.rate_limit.burst", int, 120),
        reports_dir=config.resolve_path(config.get("api.reports_dir", str, "reports/build")),
    )
