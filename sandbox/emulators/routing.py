"""What every emulated endpoint shares: the request it gets, how it is routed, how it answers.

Handlers are plain synchronous functions run in a worker thread (each thread has its own SQLite
connection), so a slow query never blocks the event loop that serves both ports.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response

from sandbox.store import Store

# One writer at a time in this process: client-write stamps (store.next_write_time) are a
# read-modify-write, and an upsert must not create the same external id twice when requests race.
# Reentrant so a handler holding it can call helpers that take it too. SQLite's own lock covers
# other processes.
write_lock = threading.RLock()


class ApiError(Exception):
    """An error a handler answers with; `response` is already in the emulated system's own shape."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


@dataclass
class FaultHit:
    """A fault that fired for this request; `seed` drives its per-record choices."""

    kind: str
    params: dict[str, Any]
    seed: str


@dataclass
class ApiRequest:
    method: str
    path: str
    path_params: dict[str, str]
    query: list[tuple[str, str]]
    headers: Headers
    body: bytes
    base_url: str  # scheme://host:port as the client reached us, for URLs we hand back
    store: Store = field(init=False)  # this worker thread's connection, set before the handler runs
    faults: list[FaultHit] = field(default_factory=list)

    def param(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return default

    def params(self, name: str) -> list[str]:
        return [value for key, value in self.query if key == name]

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body.strip() else None

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))


Handler = Callable[[ApiRequest], Response]


@dataclass(frozen=True)
class Route:
    system: str
    name: str  # stable endpoint name: request counts and fault matching use it
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    write: bool = False  # changes data (counted apart, so tests can assert "no writes")
    auth: bool = True
    object_of: Callable[[ApiRequest], str | None] | None = None  # the object a fault may target


def route(
    system: str,
    name: str,
    method: str,
    path: str,
    handler: Handler,
    *,
    write: bool = False,
    auth: bool = True,
    object_of: Callable[[ApiRequest], str | None] | None = None,
) -> Route:
    """A route whose `path` is a regex without anchors; a trailing slash is always accepted because
    official clients differ (simple-salesforce asks for `query/?q=`, others for `query?q=`)."""
    return Route(system, name, method, re.compile(f"^{path}/?$"), handler, write, auth, object_of)


@dataclass(frozen=True)
class System:
    name: str
    routes: tuple[Route, ...]
    authenticate: Callable[[ApiRequest], Response | None]
    fault_response: Callable[[str, int, int], Response]  # (kind, status, retry_after)
    not_found: Callable[[ApiRequest], Response]
    internal_error: Callable[[], Response]


def match(routes: tuple[Route, ...], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for r in routes:
        if r.method == method:
            m = r.pattern.match(path)
            if m:
                return r, m.groupdict()
    return None


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status, headers, media_type="application/json")


def text_response(text: str, status: int = 200, media_type: str = "text/plain") -> Response:
    return Response(text.encode(), status, media_type=media_type)
