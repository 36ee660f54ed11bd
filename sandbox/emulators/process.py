"""Run the emulator server as a child process: for tests, benchmarks and anything else that needs
the sandbox's APIs up for a while and then gone."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Collection
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]


def free_ports(count: int, taken: Collection[int] = ()) -> list[int]:
    """`count` different ports free on this machine now, none of them in `taken`. The sockets stay
    bound until all are picked: picked one at a time, the system may hand out the same port twice
    (a server then refuses an HTTP and an HTTPS port that are the same)."""
    with contextlib.ExitStack() as held:
        ports: list[int] = []
        while len(ports) < count:
            sock = held.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            if port not in taken:
                ports.append(port)
        return ports


def free_port() -> int:
    return free_ports(1)[0]


def start_server(
    data_dir: Path,
    stderr: IO[bytes] | int | None = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    tls_port: int = 0,
) -> tuple[subprocess.Popen[bytes], str]:
    """Serve `data_dir` over plain HTTP on a free port (and HTTPS on `tls_port` when not 0, e.g. a
    `free_port()`, for clients that speak HTTPS only); return the process and its HTTP base URL once
    it has printed its ready line. In its own session, so a test runner's Ctrl-C does not reach it."""
    port = free_ports(1, taken=(tls_port,))[0]
    cmd = [
        sys.executable,
        "-m",
        "sandbox",
        "--data-dir",
        str(data_dir),
        "serve",
        "--port",
        str(port),
        "--tls-port",
        str(tls_port),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)} if env is None else env
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True)
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    line = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in line and time.monotonic() < deadline and proc.poll() is None:
        if selector.select(timeout=0.2):
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            line += chunk
    selector.close()
    if b"ready" not in line:
        stop_server(proc)
        raise RuntimeError(f"emulator did not start: {line!r}")
    return proc, f"http://127.0.0.1:{port}"


def stop_server(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGINT first (clean shutdown), kill if it lingers; always reap it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        proc.stdout.close()
