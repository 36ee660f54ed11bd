"""Who is calling: an OAuth 2.0 bearer token (a JWT) checked against the configured OIDC issuer.

The token must be signed by one of the issuer's keys (its JWKS, fetched once and again when a token
names a key not seen yet, as after a key rotation), be issued by the configured issuer for the
configured audience, and not be expired. The caller is the e-mail in the token (`email` claim by
default; Entra ID deployments may use `preferred_username`). Anything else is a 401, with the reason
in the problem's detail but never the token itself.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from api.settings import AuthSettings

REFETCH_AT_MOST_EVERY_SECONDS = 30.0


class Unauthenticated(Exception):
    """The request does not prove who it comes from; `str()` says why, without the token."""


class KeySet:
    """The issuer's signing keys by key id, from its JWKS URL (or given, in tests)."""

    def __init__(self, jwks_url: str | None = None, jwks: dict[str, Any] | None = None):
        self.jwks_url = jwks_url
        self._keys: dict[str, Any] = {}
        self._fetched = 0.0
        self._lock = threading.Lock()
        if jwks is not None:
            self._keys = self._parse(jwks)
            self._fetched = float("inf")

    @staticmethod
    def _parse(jwks: dict[str, Any]) -> dict[str, Any]:
        keys = {}
        for jwk in jwks.get("keys", []):
            try:
                keys[jwk.get("kid", "")] = jwt.PyJWK(jwk).key
            except (jwt.PyJWKError, jwt.InvalidKeyError):
                continue
        return keys

    def key(self, kid: str) -> Any:
        if kid in self._keys:
            return self._keys[kid]
        with self._lock:
            if (
                kid not in self._keys
                and self.jwks_url
                and time.monotonic() - self._fetched > REFETCH_AT_MOST_EVERY_SECONDS
            ):
                self._fetched = time.monotonic()
                try:
                    self._keys = self._parse(fetch_jwks(self.jwks_url))
                except (httpx.HTTPError, OSError, ValueError) as exc:
                    raise Unauthenticated(f"the issuer's keys could not be read ({type(exc).__name__})") from None
        if kid not in self._keys:
            raise Unauthenticated("the token is signed with a key the issuer does not publish")
        return self._keys[kid]


def fetch_jwks(url: str) -> dict[str, Any]:
    """The JWKS document at `url`: HTTP(S), or a `file://` path for a deployment that keeps the
    issuer's keys on disk."""
    if url.startswith("file://"):
        return json.loads(Path(url.removeprefix("file://")).read_text())
    resp = httpx.get(url, timeout=10)
    resp.raise_for_status()
    return resp.json()


@dataclass(frozen=True)
class Verifier:
    settings: AuthSettings
    keys: KeySet

    def claims(self, authorization: str | None) -> dict[str, Any]:
        """The verified claims of the bearer token in an Authorization header."""
        if not authorization:
            raise Unauthenticated("no bearer token: send Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header is not a bearer token")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("the bearer token is not a JWT") from None
        if header.get("alg") not in self.settings.algorithms:
            raise Unauthenticated(f"tokens signed with {header.get('alg')!r} are not accepted")
        key = self.keys.key(str(header.get("kid", "")))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(self.settings.algorithms),
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("the token is from another issuer") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("the token's signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the token is not valid ({type(exc).__name__})") from None
        email = claims.get(self.settings.email_claim)
        if not isinstance(email, str) or "@" not in email:
            raise Unauthenticated(f"the token carries no {self.settings.email_claim!r} claim")
        return claims

    def email(self, claims: dict[str, Any]) -> str:
        return str(claims[self.settings.email_claim]).strip().lower()
