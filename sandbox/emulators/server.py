"""`python -m sandbox serve`: one process, one event loop, the same app on HTTP and HTTPS."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
import sys
from collections.abc import Generator
from pathlib import Path

import uvicorn

from sandbox.emulators import faults as fault_store
from sandbox.emulators.app import create_app, world_path
from sandbox.emulators.credentials import write_credentials
from sandbox.emulators.tls import ensure_certificates
from sandbox.store import Store, StoreError

GRACE_SECONDS = 1.0


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to `serve`, which stops both servers on one signal
    (each uvicorn server would otherwise replace the other's handler)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, bound now so a busy port is reported before anything starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StoreError(
                f"port {port} on {host} is already in use (another emulator running?): stop it or pick "
                "other ports with --port / --tls-port"
            ) from None
        raise StoreError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    return sock


def _url(scheme: str, host: str, sock: socket.socket) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{sock.getsockname()[1]}"


def serve(data_dir: Path, host: str, port: int, tls_port: int | None, faults: Path | None = None) -> None:
    """Serve until SIGINT/SIGTERM; `faults` is a YAML file of faults to switch on at start."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise StoreError(
            f"no sandbox data folder at {data_dir}: run `python -m sandbox generate` first (or pass --data-dir)"
        )
    app = create_app(data_dir)
    specs = fault_store.load_file(faults) if faults else []
    if tls_port is not None and tls_port == port:
        raise StoreError(f"--port and --tls-port are both {port}: give HTTPS its own port")
    sockets = [bind(host, port)]
    if tls_port is not None:
        sockets.append(bind(host, tls_port))
    # Only now that the ports are ours: a second server refused a busy port must not touch the
    # faults of the one already serving this world.
    store = Store.open(world_path(data_dir))
    try:
        store.create_lookup_indexes()
        # A fresh server starts with exactly the faults it was given; the admin API changes them later.
        fault_store.clear(store)
        fault_store.add(store, specs)
    finally:
        store.close()
    common = {"log_level": "warning", "access_log": False, "lifespan": "off", "timeout_graceful_shutdown": 10}
    servers = [_Server(uvicorn.Config(app, **common))]
    urls = [_url("http", host, sockets[0])]
    tls = None
    if tls_port is not None:
        tls = ensure_certificates(data_dir)
        servers.append(_Server(uvicorn.Config(app, ssl_certfile=str(tls.cert), ssl_keyfile=str(tls.key), **common)))
        urls.append(_url("https", host, sockets[1]))
    credentials = write_credentials(data_dir, urls[0], urls[1] if tls else None)
    ready = (
        f"sandbox emulators ready: {' '.join(urls)}"
        + (f" (CA {tls.ca})" if tls else "")
        + f"; credentials in {credentials}; Ctrl-C to stop"
    )
    asyncio.run(_run(servers, sockets, ready))


async def _run(servers: list[_Server], sockets: list[socket.socket], ready: str) -> None:
    loop = asyncio.get_running_loop()

    def force() -> None:
        for server in servers:
            server.force_exit = True

    def stop() -> None:
        if any(server.should_exit for server in servers):
            force()  # a second Ctrl-C stops at once
            return
        for server in servers:
            server.should_exit = True
        # Open requests get a moment to finish; idle keep-alive and TLS connections whose clients never
        # answer the close would otherwise hold shutdown for the whole graceful timeout.
        loop.call_later(GRACE_SECONDS, force)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    tasks = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in zip(servers, sockets, strict=True)]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            stop()
            break
        await asyncio.sleep(0.02)
    else:
        print(ready, flush=True)
    await asyncio.gather(*tasks)
    for sock in sockets:
        sock.close()
    print("sandbox emulators stopped", file=sys.stderr, flush=True)
