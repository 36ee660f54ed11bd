"""HTTP sessions with retries, and the one-line message a failed run ends with.

dlt's `Client` retries 429 (waiting for `Retry-After`), 5xx, connection errors and timeouts with
exponential backoff. Its attempts, backoff, maximum delay and timeout come from the `[runtime]`
section of `.dlt/config.toml` (`request_max_attempts`, ...), so they are tuned without code.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import urlsplit

import orjson
import requests
from dlt.common.configuration.resolve import resolve_configuration
from dlt.common.configuration.specs import RuntimeConfiguration
from dlt.common.jsonpath import JSONPath, compile_path
from dlt.sources.helpers.requests import Client

from core.auth import LoginRefused
from core.config import ConfigError


def session() -> requests.Session:
    """A retrying session that does not raise on error statuses itself (dlt's RESTClient checks
    them after its response actions run). Its responses parse their JSON body once."""
    runtime = resolve_configuration(RuntimeConfiguration())
    client = Client(raise_for_status=False)
    client.update_from_config(runtime)
    session = client.session
    # Wrapped around dlt's retrying `send` as dlt wraps it: a response hook would not do, since a
    # request that brings its own response hooks (dlt's paginate does) replaces the session's.
    retrying_send = session.send

    def send(request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        return _parse_json_once(retrying_send(request, **kwargs))

    session.send = send  # type: ignore[method-assign]
    return session


def _parse_json_once(resp: requests.Response) -> requests.Response:
    """Make `resp.json()` parse the body once, with orjson. A page's body is read by the data
    selector and again by the paginator (`has_more`, cursors): at L parsing was the largest share of
    a source's CPU. Invalid JSON raises requests' own `JSONDecodeError`, as before."""
    parsed: list[object] = []

    def json(**_kwargs: object) -> object:
        if not parsed:
            try:
                parsed.append(orjson.loads(resp.content))
            except orjson.JSONDecodeError as exc:
                raise requests.exceptions.JSONDecodeError(exc.msg, exc.doc, exc.pos) from exc
        return parsed[0]

    resp.json = json  # type: ignore[method-assign]
    return resp


@cache
def selector(path: str) -> JSONPath:
    """A data selector compiled once: given as text, dlt compiles it again on every page, and
    jsonpath_ng builds its whole parser each time (a twentieth of a source's CPU at L)."""
    return compile_path(path)


def endpoint_of(url: str) -> str:
    """The path of a URL without its query: SOQL and cursors make query strings long and noisy."""
    return urlsplit(url).path or url


def api_error(resp: requests.Response) -> str | None:
    """The API's own error code and message from an error answer, in the shapes the sources use:
    Salesforce `[{"errorCode", "message"}]`, OAuth `{"error", "error_description"}`, Stripe
    `{"error": {"code" or "type", "message"}}`, Zendesk `{"error", "description"}`."""
    try:
        body = resp.json()
    except ValueError:
        return None
    if isinstance(body, list) and body and isinstance(body[0], dict) and body[0].get("errorCode"):
        return f"{body[0]['errorCode']}: {body[0].get('message', '')}".rstrip(": ")
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        code = error.get("code") or error.get("type") or error.get("title")
        message = error.get("message")
        return f"{code}: {message}" if code and message else (code or message)
    if isinstance(error, str):
        detail = body.get("error_description") or body.get("description")
        return f"{error}: {detail}" if isinstance(detail, str) and detail else error
    return None


class SourceFailure(Exception):
    """A source that failed after its retries: `str()` is one line naming source and endpoint."""

    def __init__(self, source: str, endpoint: str, problem: str):
        self.source = source
        self.endpoint = endpoint
        self.problem = problem
        super().__init__(f"{source}: {endpoint} failed: {problem}")


def describe_failure(source: str, exc: BaseException) -> SourceFailure:
    """Find the HTTP (or file) error at the root of a dlt failure and phrase it in one line."""
    seen: set[int] = set()
    current: BaseException | None = exc
    innermost: BaseException = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, SourceFailure):
            return current
        if isinstance(current, LoginRefused):
            return SourceFailure(source, "login", f"refused ({current.reason})")
        if isinstance(current, requests.HTTPError) and current.response is not None:
            resp = current.response
            method = resp.request.method if resp.request is not None else "GET"
            code = api_error(resp)
            return SourceFailure(
                source,
                f"{method} {endpoint_of(resp.url)}",
                f"HTTP {resp.status_code} {resp.reason or ''}".strip()
                + (f" {code}" if code else "")
                + " (after retries)",
            )
        if isinstance(current, requests.RequestException):
            request = current.request
            url = getattr(request, "url", None) or ""
            method = getattr(request, "method", None) or "GET"
            kind = "timed out" if isinstance(current, requests.Timeout) else "could not connect"
            return SourceFailure(source, f"{method} {endpoint_of(url)}", f"{kind} (after retries)")
        if isinstance(current, ConfigError):
            return SourceFailure(source, "configuration", str(current))
        if isinstance(current, OSError) and getattr(current, "filename", None):
            return SourceFailure(source, str(current.filename), current.strerror or str(current))
        innermost = current
        current = current.__cause__ or current.__context__
    # Nothing HTTP-shaped: the innermost error says what went wrong (dlt's own message around it
    # ends in "with exception:" and the detail on the next lines).
    first_line = (str(innermost).strip().splitlines() or [type(innermost).__name__])[0]
    step = getattr(exc, "step", None)
    return SourceFailure(source, f"pipeline {step}" if step else "pipeline", first_line)
