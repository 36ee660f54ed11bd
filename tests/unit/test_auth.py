"""Salesforce's login, written once for the loaders, the reverse ETL and the preflight."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
import requests

from core.auth import LoginRefused, SalesforceLogin, zendesk_basic_auth


class TokenEndpoint(BaseHTTPRequestHandler):
    """Answers like Salesforce's /services/oauth2/token for one known client."""

    forms: list[dict[str, str]] = []

    def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
        TokenEndpoint.forms.append(form)
        if self.path != "/services/oauth2/token":
            self._answer(404, {"error": "not_found"})
        elif form.get("client_secret") != "right":
            self._answer(400, {"error": "invalid_client", "error_description": "invalid client credentials"})
        else:
            self._answer(200, {"access_token": "00Dtoken", "instance_url": "https://org.my.example"})

    def _answer(self, status: int, body: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def login_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    TokenEndpoint.forms.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_a_token_names_the_instance_every_later_request_goes_to(login_url: str) -> None:
    token = SalesforceLogin(login_url, "app", "right").token(requests.Session(), timeout=5)
    assert (token.access_token, token.instance_url) == ("00Dtoken", "https://org.my.example")
    assert token.headers == {"Authorization": "Bearer 00Dtoken"}
    assert TokenEndpoint.forms == [{"grant_type": "client_credentials", "client_id": "app", "client_secret": "right"}]


def test_the_password_flow_sends_the_user_and_password(login_url: str) -> None:
    SalesforceLogin(login_url, "app", "right", "password", "me@example.com", "pwTOKEN").token(requests.Session())
    assert TokenEndpoint.forms[0]["grant_type"] == "password"
    assert (TokenEndpoint.forms[0]["username"], TokenEndpoint.forms[0]["password"]) == ("me@example.com", "pwTOKEN")


def test_a_refused_login_says_why_in_one_line(login_url: str) -> None:
    with pytest.raises(LoginRefused) as refused:
        SalesforceLogin(login_url, "app", "wrong").token(requests.Session(), timeout=5)
    assert str(refused.value) == "salesforce: the login was refused (invalid_client: invalid client credentials)"


def test_an_unknown_flow_is_refused_before_any_request() -> None:
    with pytest.raises(ValueError, match="Salesforce auth flow 'jwt'"):
        SalesforceLogin("https://login.salesforce.com", "app", "secret", "jwt")


def test_zendesk_token_auth_is_the_email_with_slash_token() -> None:
    assert zendesk_basic_auth("agent@example.com", "t0k") == ("agent@example.com/token", "t0k")
