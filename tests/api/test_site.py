"""The reports site through the same sign-in: the authorization code flow with the sandbox's issuer,
then the built site for the roles that may see the whole portfolio, and for no one else."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.routing import Mount

from api.app import create_app
from api.auth import KeySet
from api.settings import ApiSettings, AuthSettings
from api.store import AppStore
from sandbox.emulators import oidc
from tests.api.conftest import AUDIENCE, ISSUER, STAFF, People, make_api
from tests.pipeline import LoadedWorld


@pytest.fixture
def signed_in(api_warehouse: Path, people: People, loaded_s_world: LoadedWorld, tmp_path: Path):  # noqa: ANN201
    issuer_dir = tmp_path / "issuer"
    issuer_dir.mkdir()
    shutil.copyfile(loaded_s_world.world, issuer_dir / "world.sqlite")  # its CRM users may sign in
    issuer = TestClient(Starlette(routes=[Mount("/oidc", app=oidc.create_issuer(issuer_dir))]),
                        base_url="http://127.0.0.1:8765")  # fmt: skip
    key = oidc.signing_key(issuer_dir)
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(api_warehouse, warehouse)
    world = make_api(tmp_path, warehouse, key, people)  # publishes the snapshot and writes the access file
    site = tmp_path / "site"
    (site / "accounts").mkdir(parents=True)
    (site / "index.html").write_text("<h1>Portfolio</h1>")
    (site / "accounts" / "index.html").write_text("<h1>Accounts</h1>")
    (tmp_path / "secret.txt").write_text("not part of the site")
    settings = ApiSettings("127.0.0.1", 0, f"sqlite:///{tmp_path / 'app2.sqlite'}", world.serving,
                           tmp_path / "access.toml", (), 60_000, 10_000, site)  # fmt: skip
    store = AppStore(settings.database_url)
    app = create_app(settings, AuthSettings(ISSUER, AUDIENCE, "unused"),
                     KeySet(jwks={"keys": [oidc.public_jwk(key)]}), store, oidc_http=issuer)  # fmt: skip
    client = TestClient(app, base_url="http://127.0.0.1:8770")

    def sign_in(email: str) -> TestClient:
        first = client.get("/accounts/", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"].startswith("/auth/login")
        login = client.get(first.headers["location"], follow_redirects=False)
        assert login.status_code == 303
        authorize = urlparse(login.headers["location"])
        assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{ISSUER}/authorize"
        back = issuer.get(f"{authorize.path}?{authorize.query}&login_hint={email}", follow_redirects=False)
        assert back.status_code == 303
        callback = urlparse(back.headers["location"])
        assert parse_qs(callback.query)["state"] == parse_qs(authorize.query)["state"]
        done = client.get(f"{callback.path}?{callback.query}", follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/accounts/"
        return client

    yield sign_in
    client.close()
    store.dispose()
    world.store.dispose()


@pytest.mark.parametrize("role", ["admin", "cs_ops", "analyst"])
def test_whole_portfolio_roles_get_the_site(signed_in, role: str) -> None:
    client = signed_in(STAFF[role])
    page = client.get("/accounts/")
    assert page.status_code == 200 and "Accounts" in page.text
    assert client.get("/").text == "<h1>Portfolio</h1>"
    assert client.get("/../secret.txt").status_code == 404
    assert client.get("/%2e%2e/secret.txt").status_code == 404


def test_a_csm_or_manager_is_refused_the_site(signed_in, people: People) -> None:
    for email in (people.csm, people.manager):
        client = signed_in(email)
        refused = client.get("/accounts/")
        assert refused.status_code == 403
        assert "Accounts" not in refused.text
        client.cookies.clear()


def test_a_callback_without_the_sign_ins_state_is_refused(signed_in) -> None:
    client = signed_in(STAFF["cs_ops"])
    client.cookies.clear()
    assert client.get("/auth/callback?code=x&state=y", follow_redirects=False).status_code == 401
    assert client.get("/", follow_redirects=False).status_code == 303
