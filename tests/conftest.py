"""Shared pytest fixtures."""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.emulators import fixture_world
from sandbox.emulators.credentials import SALESFORCE
from sandbox.emulators.process import free_ports
from sandbox.store import Store
from tests.pipeline import DbtRun, LoadedWorld, dbt, load_world

REPO = Path(__file__).resolve().parent.parent
# The tests run on the sandbox company (core/config.py: COPILOT_ENV has no default); a test of what a
# deployment sees sets its own.
os.environ.setdefault("COPILOT_ENV", "sandbox")

# Zendesk allows 10 incremental-export requests a minute and the emulators apply it; the suite loads
# worlds many times a minute, so its emulators (which inherit this environment) run without it.
# tests/sandbox/test_zendesk_as_published.py starts one with the limit.
os.environ.setdefault("SANDBOX_ZENDESK_EXPORTS_PER_MINUTE", "0")

# --- the dbt manifest ---------------------------------------------------------------------------


def pytest_sessionstart(session: pytest.Session) -> None:
    """The dbt manifest the Dagster definitions read, made once for the session before any test
    loads them (they never parse the project): on a fresh clone or after a change to dbt_project/,
    `dbt parse`; otherwise nothing (`make test` has done it already). A project that does not parse
    is one line here; the tests that load the definitions then fail with theirs."""
    from devtools.prepare_dbt import failure_line, prepare

    capture = session.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        try:
            prepare()
        except Exception as exc:  # noqa: BLE001 - reported in one line, the session goes on
            print(f"dbt parse failed: {failure_line(exc)}", flush=True)


# --- the API emulators -------------------------------------------------------------------------


@dataclass
class RunningEmulator:
    """An emulator server in a subprocess, started the way `python -m sandbox serve` is."""

    data_dir: Path
    http: str
    https: str
    ca: Path
    process: subprocess.Popen[bytes]
    ports: tuple[int, int]
    log: Path
    faults: Path | None = None
    admin: requests.Session = field(default_factory=requests.Session)

    @property
    def world(self) -> Path:
        return self.data_dir / "world.sqlite"

    def store(self) -> Store:
        """A fresh read connection to the world the server serves (close it after use)."""
        return Store.open(self.world)

    def https_session(self) -> requests.Session:
        """A requests session that trusts the emulator's CA."""
        session = requests.Session()
        session.verify = str(self.ca)
        # REQUESTS_CA_BUNDLE in the environment would otherwise override `verify` (a requests quirk).
        session.trust_env = False
        return session

    def salesforce_token(self, base: str | None = None, **form: str) -> requests.Response:
        """The OAuth token response (client credentials unless `form` says otherwise), over HTTPS by default."""
        data = {
            "grant_type": "client_credentials",
            "client_id": SALESFORCE["client_id"],
            "client_secret": SALESFORCE["client_secret"],
            **form,
        }
        return self.https_session().post(f"{base or self.https}/services/oauth2/token", data=data, timeout=10)

    def admin_call(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.admin.request(method, f"{self.http}/__admin/{path}", timeout=10, **kwargs)
        resp.raise_for_status()
        return resp.json()

    def restart(self) -> None:
        stop_emulator(self)
        started = start_emulator(self.data_dir, faults=self.faults, ports=self.ports)
        self.process, self.log = started.process, started.log


def start_emulator(
    data_dir: Path, faults: Path | None = None, ports: tuple[int, int] | None = None, timeout: float = 30
) -> RunningEmulator:
    """Start the server and wait for its ready line; raise with its stderr if it does not come."""
    port, tls_port = ports or free_ports(2)
    log = data_dir / f"emulator-{port}.log"
    cmd = [sys.executable, "-m", "sandbox", "--data-dir", str(data_dir), "serve"]
    cmd += ["--port", str(port), "--tls-port", str(tls_port)]
    if faults:
        cmd += ["--faults", str(faults)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("wb") as err:
        # Own session: a Ctrl-C in the terminal reaches pytest, whose teardown stops the server.
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=err, start_new_session=True)
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
        proc.kill()
        proc.wait()
        raise RuntimeError(f"emulator did not start: {line!r}\n{log.read_text()}")
    return RunningEmulator(
        data_dir,
        f"http://127.0.0.1:{port}",
        f"https://127.0.0.1:{tls_port}",
        data_dir / "tls" / "ca.pem",
        proc,
        (port, tls_port),
        log,
        faults,
    )


def stop_emulator(em: RunningEmulator, timeout: float = 10) -> int:
    """SIGINT, as Ctrl-C would; kill only if it does not stop in time."""
    if em.process.poll() is None:
        em.process.send_signal(signal.SIGINT)
        try:
            em.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            em.process.kill()
            em.process.wait()
    if em.process.stdout:
        em.process.stdout.close()
    return em.process.returncode


def copy_world(src: Path, dst: Path) -> Path:
    """A private copy of a world folder, so one test's writes never reach another's server."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.log", "credentials.json"))
    return dst


@pytest.fixture(scope="session")
def emulator_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The emulators' fixture world (pristine: copy it with `copy_world` before serving it)."""
    folder = tmp_path_factory.mktemp("emulator-world")
    fixture_world.build(folder)
    return folder


@pytest.fixture(scope="session")
def emulator(emulator_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """One emulator server for the session, over a private copy of the fixture world."""
    data_dir = copy_world(emulator_world, tmp_path_factory.mktemp("emulator") / "sandbox")
    em = start_emulator(data_dir)
    try:
        yield em
    finally:
        stop_emulator(em)


# --- the generated sandbox company ----------------------------------------------------------


@pytest.fixture(scope="session")
def s_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated size S world (seed 7, history ending 2026-10-31), shared by the session.

    Treat it as read-only: copy it (`copy_world`) before advancing it or writing to it.
    """
    from sandbox.world import generate

    folder = tmp_path_factory.mktemp("s-world") / "sandbox"
    generate(folder, size="S", seed=7, end_date=date(2026, 10, 31))
    return folder


# --- the S world loaded by the real pipelines and built by dbt ---------------------------------------


@pytest.fixture(scope="session")
def loaded_s_world(s_world: Path, tmp_path_factory: pytest.TempPathFactory) -> LoadedWorld:
    """A private copy of the S world, served and loaded by the project's dlt pipelines (once a session).

    Treat both as read-only: copy the raw warehouse (`copy_warehouse`) before building on it."""
    root = tmp_path_factory.mktemp("loaded")
    data_dir = copy_world(s_world, root / "sandbox")
    warehouse = root / "raw" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    load_world(data_dir, warehouse)
    return LoadedWorld(data_dir, warehouse)


@pytest.fixture(scope="session")
def built_warehouse(loaded_s_world: LoadedWorld, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DbtRun]:
    """`dbt build` (models, seeds, data tests, unit tests) over a copy of the loaded S warehouse.

    Read-only for tests: copy the file before writing to it."""
    warehouse = loaded_s_world.copy_warehouse(tmp_path_factory.mktemp("built") / "warehouse.duckdb")
    return warehouse, dbt(warehouse, "build")


# --- the S company as a HubSpot shop, run by the daily job ------------------------------------------


@pytest.fixture(scope="session")
def hubspot_days(s_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The S company as a HubSpot shop with Teams as its channel, run twice on the same day by the real
    daily job (tests/end_to_end/hubspot.py `HubSpotDays`): the end-to-end proof, and the HubSpot
    build the CRM tests start from."""
    from tests.end_to_end.hubspot import hubspot_days as run_days

    yield from run_days(s_world, tmp_path_factory.mktemp("hubspot-days"))
