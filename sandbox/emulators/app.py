"""The ASGI app that serves all the emulated systems and the admin API from one process.

Every request: find the system by path prefix, count it, authenticate it, let the faults that match
it fire, then run the handler in a worker thread with that thread's own SQLite connection.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.routing import Route as StarletteRoute

from sandbox.emulators import admin, faults, hubspot, oidc, salesforce, slack, stripe_api, teams, zendesk
from sandbox.emulators.routing import ApiError, ApiRequest, Route, System, json_response, match
from sandbox.store import Store

WORLD_FILE = "world.sqlite"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def world_path(data_dir: Path) -> Path:
    return data_dir / WORLD_FILE


def system_for(path: str) -> System | None:
    if path.startswith("/services/"):
        return salesforce.SYSTEM
    if path.startswith("/api/v2/"):
        return zendesk.SYSTEM
    if path.startswith("/crm/"):
        return hubspot.SYSTEM
    if path.startswith("/v1/"):
        return stripe_api.SYSTEM
    if path.startswith(("/api/", "/slack/")):
        return slack.SYSTEM
    if path.startswith("/teams/"):
        return teams.SYSTEM
    return None


class RequestLog:
    """Requests per system, method and endpoint since start or the last reset (admin API)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str, bool]] = Counter()

    def add(self, system: str, method: str, endpoint: str, write: bool) -> None:
        with self._lock:
            self._counts[(system, method, endpoint, write)] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            items = sorted(self._counts.items())
        by_system: Counter[str] = Counter()
        writes: Counter[str] = Counter()
        for (system, _, _, write), n in items:
            by_system[system] += n
            if write:
                writes[system] += n
        return {
            "total": sum(by_system.values()),
            "writes": sum(writes.values()),
            "by_system": {s: {"total": by_system[s], "writes": writes[s]} for s in sorted(by_system)},
            "requests": [
                {"system": s, "method": m, "endpoint": e, "write": w, "count": n} for (s, m, e, w), n in items
            ],
        }


@dataclass
class Delay:
    """Answer after `seconds` (a slow fault), with `response` or, if None, the handler's."""

    seconds: float
    response: Response | None


class Emulators:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.world = world_path(data_dir)
        store = Store.open(self.world)  # raises StoreError with advice when there is no world
        try:
            store.now()  # a world without a clock was not fully generated
            faults.ensure_table(store.conn)
            teams.ensure_table(store.conn)
        finally:
            store.close()
        self.requests = RequestLog()
        self._local = threading.local()

    def store(self) -> Store:
        """This thread's connection to the world (sqlite connections are not shared across threads)."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store.open(self.world)
        return store

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        method = request.method
        if path.startswith("/__admin/"):
            body = await request.body()
            return await run_in_threadpool(admin.handle, self, method, path, dict(request.query_params), body)
        system = system_for(path)
        if system is None:
            return json_response({"error": f"no emulated API at {path}"}, 404)
        found = match(system.routes, method, path)
        self.requests.add(system.name, method, found[0].name if found else "unknown", bool(found and found[0].write))
        if found is None:
            return system.not_found(None)
        route_, path_params = found
        req = ApiRequest(
            method,
            path,
            path_params,
            list(request.query_params.multi_items()),
            request.headers,
            await request.body(),
            f"{request.url.scheme}://{request.url.netloc}",
        )
        result = await run_in_threadpool(self._prepare, system, route_, req)
        if isinstance(result, Delay):
            await asyncio.sleep(result.seconds)
            result = result.response or await run_in_threadpool(self._run, system, route_, req)
        if system is salesforce.SYSTEM and path.startswith("/services/data/"):
            result.headers["Sforce-Limit-Info"] = salesforce.limit_info()
        return result

    def _prepare(self, system: System, route_: Route, req: ApiRequest) -> Response | Delay:
        """Authenticate and fire faults; answer now, later (slow) or through the handler."""
        req.store = self.store()
        if route_.auth:
            denied = system.authenticate(req)
            if denied is not None:
                return denied
        obj = None
        if route_.object_of is not None:
            try:
                obj = route_.object_of(req)
            except Exception:  # a malformed request has no object; its handler will say what is wrong
                obj = None
        hits = faults.fire(req.store, system.name, route_.name, req.path, req.method, obj)
        slow = [h for h in hits if h.kind == "slow"]
        delay = sum(h.params["delay_ms"] for h in slow) / 1000
        refusal = next((h for h in hits if h.kind in faults.RESPONSE_KINDS), None)
        response = None
        if refusal is not None:
            response = system.fault_response(refusal.kind, refusal.params["status"], refusal.params["retry_after"])
        req.faults = [h for h in hits if h.kind in faults.RECORD_KINDS]
        if delay and response is None and any(h.params.get("phase") == "after" for h in slow):
            # The work is done (a message posted, a record written), only the answer is late.
            return Delay(delay, self._run(system, route_, req))
        if delay:
            return Delay(delay, response)
        return response or self._run(system, route_, req)

    def _run(self, system: System, route_: Route, req: ApiRequest) -> Response:
        req.store = self.store()
        try:
            return route_.handler(req)
        except ApiError as exc:
            return exc.response
        except Exception:
            req.store.conn.rollback()
            print(f"sandbox emulators: error in {system.name} {route_.name}:", file=sys.stderr)
            traceback.print_exc()
            return system.internal_error()


def create_app(data_dir: Path) -> Starlette:
    """The emulators as an ASGI app over the world in `data_dir` (raises StoreError if there is none)."""
    emulators = Emulators(Path(data_dir))
    app = Starlette(
        routes=[
            # The OIDC issuer the Copilot API signs its users in with.
            Mount("/oidc", app=oidc.create_issuer(Path(data_dir))),
            StarletteRoute("/{path:path}", emulators.handle, methods=METHODS),
        ]
    )
    app.state.emulators = emulators
    return app
