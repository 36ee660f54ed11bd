"""How the product proves who it is to each external system: one place per system.

- Salesforce: an OAuth 2.0 token from `<login url>/services/oauth2/token` (client-credentials flow,
  or the username-password flow with the security token appended to the password); every later
  request goes to the `instance_url` the answer names, as Salesforce requires.
- Zendesk: HTTP Basic with `<email>/token` and the API token.
- Stripe and Slack: a bearer token (the secret key, the bot token).

The loaders, the reverse ETL and the preflight all log in through these, so a change in a vendor's
login is made once.

Salesforce sessions end (timeout, a password change, an admin revoking them): `SalesforceSession`
keeps one token for a run, logs in again once when a request answers 401 `INVALID_SESSION_ID` and
sends that request again; it backs off on 403 `REQUEST_LIMIT_EXCEEDED` (Salesforce sends no
Retry-After) and keeps the org's API usage from each `Sforce-Limit-Info` header.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import BaseAdapter

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


log = logging.getLogger("copilot.salesforce")


def salesforce_error_code(resp: requests.Response) -> str | None:
    """The `errorCode` of a Salesforce error answer (`[{"errorCode": ..., "message": ...}]`)."""
    if resp.status_code < 400:
        return None
    try:
        body = resp.json()
    except ValueError:
        return None
    first = body[0] if isinstance(body, list) and body else body
    return first.get("errorCode") if isinstance(first, dict) else None


@dataclass
class SalesforceSession:
    """One Salesforce session for a run, shared by every requests session `attach`ed to it."""

    login: SalesforceLogin
    login_session: requests.Session  # for the token endpoint (not attached: no loops)
    limit_attempts: int = 4  # tries of a request answered REQUEST_LIMIT_EXCEEDED
    limit_backoff: float = 2.0  # seconds before the first retry, doubling
    timeout: float = 60
    token: SalesforceToken | None = None
    logins: int = 0
    api_usage: tuple[int, int] | None = None  # (used, allowed) from the last Sforce-Limit-Info
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _warned: bool = field(default=False, repr=False)

    def __deepcopy__(self, memo: dict[int, Any]) -> SalesforceSession:
        return self  # one session per run: copies of a configuration that holds it share it

    def __copy__(self) -> SalesforceSession:
        return self

    def current(self) -> SalesforceToken:
        with self._lock:
            if self.token is None:
                self._login()
            assert self.token is not None
            return self.token

    def _login(self) -> None:
        self.token = self.login.token(self.login_session, self.timeout)
        self.logins += 1

    def relogin(self, stale: str | None) -> SalesforceToken:
        """A new token, unless another thread already replaced the stale one."""
        with self._lock:
            if self.token is None or self.token.access_token == stale:
                self._login()
            assert self.token is not None
            return self.token

    def attach(self, session: requests.Session) -> requests.Session:
        """Requests of `session` to Salesforce carry the current token (whatever Authorization the
        caller built) and are re-sent once after a new login, or after a rate-limit backoff. Done at
        the transport adapter: request-level response hooks (dlt sets its own) replace a session's."""
        for prefix in ("https://", "http://"):
            session.mount(prefix, _SessionAdapter(session.adapters[prefix], self))
        return session

    def note_usage(self, resp: requests.Response) -> None:
        info = resp.headers.get("Sforce-Limit-Info", "")
        for part in info.split(","):
            name, _, value = part.strip().partition("=")
            used, _, allowed = value.partition("/")
            if name == "api-usage" and used.isdigit() and allowed.isdigit():
                self.api_usage = (int(used), int(allowed))
                if int(used) >= 0.9 * int(allowed) and not self._warned:
                    self._warned = True
                    log.warning("Salesforce API usage at %s of the org's daily allowance", value)

    def send(self, inner: BaseAdapter, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if (request.headers.get("Authorization") or "").startswith("Bearer "):
            request.headers["Authorization"] = f"Bearer {self.current().access_token}"
        resp = inner.send(request, **kwargs)
        self.note_usage(resp)
        code = salesforce_error_code(resp)
        if resp.status_code == 401 and code == "INVALID_SESSION_ID":
            sent = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
            log.info("Salesforce session expired; logging in again")
            resp = self._resend(inner, resp, self.relogin(sent), kwargs)
            code = salesforce_error_code(resp)
        attempt = 0
        while resp.status_code == 403 and code == "REQUEST_LIMIT_EXCEEDED" and attempt + 1 < self.limit_attempts:
            wait = self.limit_backoff * 2**attempt
            log.warning("Salesforce REQUEST_LIMIT_EXCEEDED (api usage %s); retrying in %.1fs", self.api_usage, wait)
            time.sleep(wait)
            attempt += 1
            resp = self._resend(inner, resp, self.current(), kwargs)
            code = salesforce_error_code(resp)
        return resp

    def _resend(
        self, inner: BaseAdapter, resp: requests.Response, token: SalesforceToken, kwargs: dict[str, Any]
    ) -> requests.Response:
        request = resp.request.copy()
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        resp.content  # noqa: B018 - read it all, so the connection goes back to the pool
        resp.close()
        new = inner.send(request, **kwargs)
        new.history = [*resp.history, resp]
        self.note_usage(new)
        return new


class _SessionAdapter(BaseAdapter):
    """A transport adapter that sends through another one, within a Salesforce session."""

    def __init__(self, inner: BaseAdapter, session: SalesforceSession):
        super().__init__()
        self.inner = inner
        self.session = session

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        return self.session.send(self.inner, request, **kwargs)

    def close(self) -> None:
        self.inner.close()


def zendesk_basic_auth(email: str, api_token: str) -> tuple[str, str]:
    """Zendesk's API-token auth: the agent's e-mail with `/token`, and the token as the password."""
    return f"{email}/token", api_token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a bearer token (Stripe's secret key, Slack's bot token, OAuth)."""
    return {"Authorization": f"Bearer {token}"}
