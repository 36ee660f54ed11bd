"""The loaders' HTTP session: a page's JSON body is parsed once however many readers ask for it
(data selector, paginator), and a body that is not JSON fails as it did with requests."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from dlt_pipelines import http

BODIES = {
    "/page": b'{"data": [{"id": "in_1", "amount_due": 1200}], "has_more": true}',
    "/broken": b'{"data": [{"id": "in_1"',
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = BODIES[self.path]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_page_is_parsed_once_for_every_reader(base_url: str) -> None:
    # With its own response hooks, as dlt's paginate sends its requests.
    resp = http.session().get(f"{base_url}/page", hooks={"response": [lambda r, *args, **kwargs: r]})
    first = resp.json()
    assert first == {"data": [{"id": "in_1", "amount_due": 1200}], "has_more": True}
    assert resp.json() is first


def test_a_body_that_is_not_json_raises_requests_error(base_url: str) -> None:
    resp = http.session().get(f"{base_url}/broken")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        resp.json()


def test_a_data_selector_is_compiled_once_and_finds_the_records() -> None:
    assert http.selector("data") is http.selector("data")
    assert [m.value for m in http.selector("data").find({"data": [1, 2]})] == [[1, 2]]
