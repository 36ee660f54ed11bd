"""Fixtures for the ingestion tests: an S world, an emulator serving a private copy of it, and the
environment that points the loaders at that emulator and at a fresh warehouse."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.emulators.process import start_server, stop_server

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ingest_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared S world (`s_world`) when the suite provides it, else one generated here."""
    try:
        return Path(request.getfixturevalue("s_world"))
    except pytest.FixtureLookupError:
        folder = tmp_path_factory.mktemp("ingest-s-world") / "sandbox"
        sandbox(folder, "generate", "--size", "S", "--seed", "7", "--end-date", "2026-10-31")
        return folder


def sandbox(data_dir: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "sandbox", "--data-dir", str(data_dir), *args]
    subprocess.run(cmd, cwd=REPO, env=env, check=True, capture_output=True, timeout=600)


@dataclass
class Emulator:
    data_dir: Path
    url: str
    process: subprocess.Popen[bytes]

    @property
    def world(self) -> Path:
        return self.data_dir / "world.sqlite"

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = requests.request(method, f"{self.url}/__admin/{path}", timeout=10, **kwargs)
        resp.raise_for_status()
        return resp.json()

    def fault(self, **spec: Any) -> None:
        self.admin("POST", "faults", json=spec)

    def clear_faults(self) -> None:
        self.admin("DELETE", "faults")

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read the world the emulator serves (what the generator wrote), read-only."""
        con = sqlite3.connect(f"file:{self.world}?mode=ro", uri=True, timeout=30)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()


def start_emulator(data_dir: Path, timeout: float = 60) -> Emulator:
    log = (data_dir / "emulator.log").open("ab")
    proc, url = start_server(data_dir, stderr=log, timeout=timeout)
    return Emulator(data_dir, url, proc)


@dataclass
class Live:
    """An emulator over a private world copy, and the env pointing the loaders at it."""

    emulator: Emulator
    warehouse: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def data_dir(self) -> Path:
        return self.emulator.data_dir

    def use_warehouse(self, path: Path) -> None:
        self.warehouse = path
        self.monkeypatch.setenv("COPILOT_WAREHOUSE", str(path))


def loader_env(em: Emulator, warehouse: Path) -> dict[str, str]:
    return {
        "SOURCES__SALESFORCE__LOGIN_URL": em.url,
        "SOURCES__ZENDESK__BASE_URL": em.url,
        "SOURCES__STRIPE__BASE_URL": em.url,
        "SOURCES__PRODUCT_EVENTS__FILES_URL": str(em.data_dir / "exports" / "events"),
        "REVERSE_ETL__SLACK__BASE_URL": f"{em.url}/api/",  # failure notices go through the Web API
        "COPILOT_WAREHOUSE": str(warehouse),
        # Faults retry quickly in tests; the documented defaults are in .dlt/config.toml.
        "RUNTIME__REQUEST_MAX_ATTEMPTS": "4",
        "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.05",
        "RUNTIME__REQUEST_MAX_RETRY_DELAY": "2",
        "RUNTIME__REQUEST_TIMEOUT": "20",
    }


@pytest.fixture(scope="module")
def live(ingest_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("ingest")
    data_dir = root / "sandbox"
    shutil.copytree(ingest_world, data_dir, ignore=shutil.ignore_patterns("*.log", "truth"))
    em = start_emulator(data_dir)
    warehouse = root / "warehouse" / "warehouse.duckdb"
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in loader_env(em, warehouse).items():
                mp.setenv(key, value)
            yield Live(em, warehouse, mp)
    finally:
        stop_server(em.process)
