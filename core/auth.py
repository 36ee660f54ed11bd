"""How the product proves who it is to each external system: one place per system.

- Salesforce: an OAuth 2.0 token from `<login url>/services/oauth2/token` (client-credentials flow,
  or the username-password flow with the security token appended to the password); every later
  request goes to the `instance_url` the answer names, as Salesforce requires.
- Zendesk: HTTP Basic with `<email>/token` and the API token.
- Stripe and Slack: a bearer token (the secret key, the bot token).

The loaders, the reverse ETL and the preflight all log in through these, so a change in a vendor's
login is made once.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

SALESFORCE_FLOWS = ("client_credentials", "password")
# A login answered with one of these was refused (wrong credentials or app), not failed.
REFUSED_STATUSES = (400, 401, 403)


class LoginRefused(Exception):
    """The system refused the credentials: `str()` is one line naming the system and its reason."""

    def __init__(self, system: str, reason: str):
        self.system = system
        self.reason = reason
        super().__init__(f"{system}: the login was refused ({reason})")


@dataclass(frozen=True)
class SalesforceToken:
    access_token: str
    instance_url: str  # where every request of this session goes

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.access_token)


@dataclass(frozen=True)
class SalesforceLogin:
    login_url: str  # https://login.salesforce.com, a My Domain URL, or the sandbox's
    client_id: str
    client_secret: str
    flow: str = "client_credentials"
    username: str | None = None
    password: str | None = None  # with the security token appended (username-password flow)

    def __post_init__(self) -> None:
        if self.flow not in SALESFORCE_FLOWS:
            raise ValueError(f"Salesforce auth flow {self.flow!r}: use one of {', '.join(SALESFORCE_FLOWS)}")

    @property
    def token_url(self) -> str:
        return f"{self.login_url.rstrip('/')}/services/oauth2/token"

    def form(self) -> dict[str, str]:
        data = {"grant_type": self.flow, "client_id": self.client_id, "client_secret": self.client_secret}
        if self.flow == "password":
            data |= {"username": self.username or "", "password": self.password or ""}
        return data

    def token(self, session: requests.Session, timeout: float = 60) -> SalesforceToken:
        """A new access token. LoginRefused when Salesforce refuses the credentials; other HTTP
        failures raise requests.HTTPError (after the session's own retries)."""
        resp = session.post(self.token_url, data=self.form(), timeout=timeout)
        if resp.status_code in REFUSED_STATUSES:
            raise LoginRefused("salesforce", _oauth_error(resp))
        resp.raise_for_status()
        body = resp.json()
        return SalesforceToken(body["access_token"], body.get("instance_url") or self.login_url)


def _oauth_error(resp: requests.Response) -> str:
    """OAuth's own reason (`invalid_client: ...`), else the status."""
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if not error:
        return f"HTTP {resp.status_code}"
    description = body.get("error_description")
    return f"{error}: {description}" if description else str(error)


def zendesk_basic_auth(email: str, api_token: str) -> tuple[str, str]:
    """Zendesk's API-token auth: the agent's e-mail with `/token`, and the token as the password."""
    return f"{email}/token", api_token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a bearer token (Stripe's secret key, Slack's bot token, OAuth)."""
    return {"Authorization": f"Bearer {token}"}
