"""The sandbox's OIDC issuer: discovery, keys and tokens for sandbox users, which the API accepts."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from api.auth import KeySet, Verifier
from api.settings import AuthSettings
from sandbox.emulators import oidc


def test_issuer_mints_tokens_the_api_verifies(tmp_path: Path) -> None:
    app = Starlette(routes=[Mount("/oidc", app=oidc.create_issuer(tmp_path))])
    client = TestClient(app, base_url="http://127.0.0.1:8765")
    discovery = client.get("/oidc/.well-known/openid-configuration").json()
    assert discovery["issuer"] == "http://127.0.0.1:8765/oidc"
    assert discovery["jwks_uri"] == "http://127.0.0.1:8765/oidc/jwks"
    jwks = client.get("/oidc/jwks").json()
    minted = client.post("/oidc/token", data={"user": "ops@copilot.sandbox", "audience": "copilot-api"})
    assert minted.status_code == 200
    verifier = Verifier(AuthSettings(discovery["issuer"], "copilot-api", discovery["jwks_uri"]), KeySet(jwks=jwks))
    claims = verifier.claims(f"Bearer {minted.json()['access_token']}")
    assert verifier.email(claims) == "ops@copilot.sandbox"
    assert client.post("/oidc/token", data={"user": "stranger@example.com"}).status_code == 400
    # The key is kept: a restarted issuer signs with the same one.
    assert TestClient(oidc.create_issuer(tmp_path)).get("/jwks").json() == jwks
