"""The sandbox's OpenID Connect issuer, for the Copilot API's sign-in: emulated like the other systems.

Served under `/oidc` by the emulators:

- `GET /oidc/.well-known/openid-configuration`: the discovery document;
- `GET /oidc/jwks`: the public signing key (RS256), kept in `<data_dir>/oidc/signing-key.pem`, made
  on first use, so tokens stay valid across restarts;
- `POST /oidc/token`: a signed token for a sandbox user, form fields `user` (e-mail), optional
  `audience` and `expires_in` (seconds). Sandbox users: the CRM's users of the world, plus three
  staff accounts without a CRM user (admin, CS ops and an analyst; `STAFF`);
- the browser sign-in (authorization code flow): `GET /oidc/authorize` lists the sandbox users to sign
  in as (or takes `login_hint`) and redirects back with a code, which `POST /oidc/token`
  (`grant_type=authorization_code`) exchanges for the user's token.

The real identity provider (Okta, Entra ID, Google) replaces it by configuration: the API reads the
issuer, audience and JWKS URL from its settings.
"""

from __future__ import annotations

import base64
import hashlib
import html
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

DEFAULT_AUDIENCE = "copilot-api"
DEFAULT_LIFETIME = 3600
MAX_LIFETIME = 24 * 3600
CODE_LIFETIME = 120
STAFF = {
    "admin@copilot.sandbox": "Ada Admin",
    "ops@copilot.sandbox": "Olivia Ops",
    "analyst@copilot.sandbox": "Arjun Analyst",
}


def signing_key(data_dir: Path) -> rsa.RSAPrivateKey:
    path = Path(data_dir) / "oidc" / "signing-key.pem"
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(f".{uuid.uuid4().hex[:6]}")
    temp.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    temp.replace(path)
    return key


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def public_jwk(key: rsa.RSAPrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "RSA", "n": _b64(numbers.n), "e": _b64(numbers.e)}
    kid = hashlib.sha256(f'{{"e":"{jwk["e"]}","kty":"RSA","n":"{jwk["n"]}"}}'.encode()).hexdigest()[:16]
    return jwk | {"kid": kid, "alg": "RS256", "use": "sig"}


def sandbox_users(data_dir: Path) -> dict[str, str]:
    """E-mail -> name of everyone who may sign in: the world's CRM users and the staff accounts."""
    users = dict(STAFF)
    world = Path(data_dir) / "world.sqlite"
    if world.exists():
        con = sqlite3.connect(f"file:{world}?mode=ro", uri=True)
        try:
            for email, name in con.execute("SELECT Email, Name FROM sf_user WHERE Email IS NOT NULL"):
                users[str(email).lower()] = name
        except sqlite3.Error:
            pass
        finally:
            con.close()
    return users


def mint(key: rsa.RSAPrivateKey, issuer: str, email: str, name: str | None, audience: str, lifetime: int) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": hashlib.sha256(email.encode()).hexdigest()[:24],
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "email": email,
        "email_verified": True,
        "name": name,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": public_jwk(key)["kid"]})


def create_issuer(data_dir: Path) -> Starlette:
    key = signing_key(data_dir)
    jwk = public_jwk(key)

    def issuer_of(request: Request) -> str:
        return str(request.base_url).rstrip("/") + "/oidc"

    async def discovery(request: Request) -> JSONResponse:
        issuer = issuer_of(request)
        return JSONResponse(
            {
                "issuer": issuer,
                "jwks_uri": f"{issuer}/jwks",
                "token_endpoint": f"{issuer}/token",
                "authorization_endpoint": f"{issuer}/authorize",
                "response_types_supported": ["code", "token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "claims_supported": ["sub", "email", "name"],
            }
        )

    async def jwks(_: Request) -> JSONResponse:
        return JSONResponse({"keys": [jwk]})

    async def authorize(request: Request) -> Response:
        params = request.query_params
        redirect_uri, state = params.get("redirect_uri", ""), params.get("state", "")
        if params.get("response_type") != "code" or not redirect_uri.startswith(("http://", "https://")):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        users = sandbox_users(data_dir)
        hint = (params.get("login_hint") or "").strip().lower()
        if hint in users:
            code = jwt.encode(
                {
                    "typ": "code",
                    "email": hint,
                    "client_id": params.get("client_id", ""),
                    "redirect_uri": redirect_uri,
                    "exp": int(time.time()) + CODE_LIFETIME,
                },
                key,
                algorithm="RS256",
            )
            return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=303)
        links = "".join(
            f'<li><a href="?{html.escape(urlencode({**params, "login_hint": email}))}">{html.escape(str(name))}</a> '
            f"({html.escape(email)})</li>"
            for email, name in sorted(users.items())
        )
        return HTMLResponse(f"<!doctype html><title>Sandbox sign-in</title><h1>Sign in as</h1><ul>{links}</ul>")

    async def token(request: Request) -> JSONResponse:
        # A URL-encoded form, read by hand (Starlette's form parser needs a package the sandbox lacks).
        form: Any = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") == "authorization_code":
            try:
                code = jwt.decode(str(form.get("code") or ""), key.public_key(), algorithms=["RS256"])
            except jwt.PyJWTError:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if code.get("typ") != "code" or code.get("redirect_uri") != form.get("redirect_uri"):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            # The ID token is for the client that signed the user in; the access token for the API.
            email = code["email"]
            return JSONResponse(
                {
                    "access_token": mint(key, issuer_of(request), email, None, DEFAULT_AUDIENCE, DEFAULT_LIFETIME),
                    "id_token": mint(key, issuer_of(request), email, None, code["client_id"], DEFAULT_LIFETIME),
                    "token_type": "Bearer",
                    "expires_in": DEFAULT_LIFETIME,
                }
            )
        email = str(form.get("user") or "").strip().lower()
        users = sandbox_users(data_dir)
        if email not in users:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "no such sandbox user"}, status_code=400
            )
        try:
            lifetime = min(int(form.get("expires_in") or DEFAULT_LIFETIME), MAX_LIFETIME)
        except ValueError:
            return JSONResponse({"error": "invalid_request", "error_description": "expires_in"}, status_code=400)
        audience = str(form.get("audience") or DEFAULT_AUDIENCE)
        signed = mint(key, issuer_of(request), email, users[email], audience, lifetime)
        return JSONResponse({"access_token": signed, "token_type": "Bearer", "expires_in": lifetime})

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/jwks", jwks),
            Route("/token", token, methods=["POST"]),
            Route("/authorize", authorize),
        ]
    )
