"""The reports site behind the same sign-in as the API, for the roles that may see the whole
portfolio (the site holds every account, every CSM's page and contacts' names).

A browser without a session is sent through the OIDC authorization code flow of the configured
issuer (`/auth/login` -> the issuer's sign-in -> `/auth/callback`); the token the issuer returns is
checked exactly as a bearer token is, and kept in an HttpOnly session cookie until it expires. The
built site (`api.reports_dir`, default reports/build) is then served for admin, cs_ops and analyst;
anyone else gets 403. Without a built site the paths answer 404.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.access import Directory, Forbidden
from api.auth import Unauthenticated, Verifier
from api.serving import SnapshotHolder

SESSION_COOKIE = "copilot_session"
STATE_COOKIE = "copilot_signin"
DISCOVERY_TTL_SECONDS = 3600.0


class OidcClient:
    """The issuer's endpoints (from its discovery document) and the code exchange."""

    def __init__(self, issuer: str, client_id: str, client_secret: str | None, http: httpx.Client | None = None):
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.http = http or httpx.Client(timeout=10)
        self._discovery: tuple[float, dict[str, Any]] | None = None

    def discovery(self) -> dict[str, Any]:
        if self._discovery is None or time.monotonic() - self._discovery[0] > DISCOVERY_TTL_SECONDS:
            resp = self.http.get(f"{self.issuer}/.well-known/openid-configuration")
            resp.raise_for_status()
            self._discovery = (time.monotonic(), resp.json())
        return self._discovery[1]

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email profile",
            "state": state,
        }
        return f"{self.discovery()['authorization_endpoint']}?{urlencode(query)}"

    def exchange(self, code: str, redirect_uri: str) -> str:
        """The signed token for an authorization code: the ID token (its audience is this client) or,
        from an issuer that returns none, the access token."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "client_id": self.client_id}  # fmt: skip
        if self.client_secret:
            form["client_secret"] = self.client_secret
        resp = self.http.post(self.discovery()["token_endpoint"], data=form)
        if resp.status_code != 200:
            raise Unauthenticated("the issuer refused the sign-in code")
        body = resp.json()
        return body.get("id_token") or body["access_token"]


def add_site(
    app: FastAPI, site_dir: Path, verifier: Verifier, oidc: OidcClient, holder: SnapshotHolder, directory: Directory
) -> None:
    site_dir = Path(site_dir)

    def redirect_uri(request: Request) -> str:
        return str(request.url_for("signin_callback"))

    @app.get("/auth/login", include_in_schema=False)
    def signin(request: Request, next: str = "/") -> Response:  # noqa: A002 - the conventional name
        state = secrets.token_urlsafe(24)
        target = next if next.startswith("/") and not next.startswith("//") else "/"
        resp = RedirectResponse(oidc.authorize_url(redirect_uri(request), state), status_code=303)
        resp.set_cookie(STATE_COOKIE, f"{state}|{target}", max_age=600, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/auth")  # fmt: skip
        return resp

    @app.get("/auth/callback", name="signin_callback", include_in_schema=False)
    def signin_callback(request: Request, code: str = "", state: str = "") -> Response:
        expected, _, target = (request.cookies.get(STATE_COOKIE) or "").partition("|")
        if not code or not expected or not secrets.compare_digest(expected, state):
            raise Unauthenticated("the sign-in did not start here (state mismatch): start again at /auth/login")
        token = oidc.exchange(code, redirect_uri(request))
        claims = verifier.claims(f"Bearer {token}")
        resp = RedirectResponse(target or "/", status_code=303)
        resp.set_cookie(SESSION_COOKIE, token, max_age=max(1, int(claims["exp"] - time.time())), httponly=True,
                        samesite="lax", secure=request.url.scheme == "https")  # fmt: skip
        resp.delete_cookie(STATE_COOKIE, path="/auth")
        return resp

    @app.get("/auth/logout", include_in_schema=False)
    def signout() -> Response:
        resp = RedirectResponse("/auth/login", status_code=303)
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    @app.get("/{path:path}", include_in_schema=False)
    def site(request: Request, path: str) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        try:
            claims = verifier.claims(f"Bearer {token}" if token else None)
        except Unauthenticated:
            return RedirectResponse(f"/auth/login?{urlencode({'next': '/' + path})}", status_code=303)
        snapshot = holder.current()
        if snapshot is None:
            raise Forbidden("no serving snapshot yet: roles are not known")
        principal = directory.principal(verifier.email(claims), snapshot.users, snapshot.file)
        if not principal.sees_whole_portfolio:
            raise Forbidden(f"the reports show the whole portfolio: not for the {principal.role} role")
        file = _site_file(site_dir, path)
        if file is None:
            return Response(status_code=404)
        return FileResponse(file)


def _site_file(site_dir: Path, path: str) -> Path | None:
    """The built file for a URL path (a page is `<path>/index.html`), never outside the site."""
    root = site_dir.resolve()
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root):
        return None
    if candidate.is_dir():
        candidate = candidate / "index.html"
    return candidate if candidate.is_file() else None
