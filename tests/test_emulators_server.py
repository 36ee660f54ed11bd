"""`python -m sandbox serve`: start, stop, restart, errors a person can act on, faults from YAML."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from sandbox.emulators.credentials import STRIPE
from sandbox.schema import SF_ACCOUNT
from tests.conftest import REPO, copy_world, start_emulator, stop_emulator


@pytest.fixture
def private(emulator_world: Path, tmp_path: Path) -> Path:
    return copy_world(emulator_world, tmp_path / "sandbox")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_restart_keeps_written_data_sessions_and_certificate(private: Path) -> None:
    em = start_emulator(private)
    try:
        headers = {"Authorization": f"Bearer {em.salesforce_token().json()['access_token']}"}
        url = f"{em.http}/services/data/v61.0/sobjects/Account/Product_Account_Id__c/ws_777777"
        created = requests.patch(url, json={"Name": "Written before restart"}, headers=headers)
        assert created.status_code == 201
        ca = em.ca.read_bytes()
        credentials = json.loads((private / "credentials.json").read_text())
        assert credentials["salesforce"]["instance_url"] == em.https
        assert credentials["stripe"]["api_base"] == em.http
        em.restart()
        got = requests.get(
            f"{em.http}/services/data/v61.0/sobjects/Account/Product_Account_Id__c/ws_777777", headers=headers
        )
        assert got.status_code == 200 and got.json()["Id"] == created.json()["id"]
        assert em.ca.read_bytes() == ca
        assert em.https_session().get(f"{em.https}/__admin/health").json()["ok"] is True
    finally:
        stop_emulator(em)
    store = em.store()
    try:
        assert store.select(SF_ACCOUNT, "Product_Account_Id__c = 'ws_777777'")[0]["Name"] == "Written before restart"
    finally:
        store.close()


def test_sigterm_stops_cleanly(private: Path) -> None:
    em = start_emulator(private)
    em.process.send_signal(signal.SIGTERM)
    assert em.process.wait(timeout=10) == 0
    assert "stopped" in em.log.read_text()


def test_busy_port_is_one_clear_line(private: Path) -> None:
    em = start_emulator(private)
    try:
        em.admin_call("POST", "faults", json={"system": "stripe", "kind": "slow", "delay_ms": 1})
        result = run_cli("--data-dir", str(private), "serve", "--port", str(em.ports[0]), "--tls-port", "0")
        # The refused server left the running one's faults alone.
        assert len(em.admin_call("GET", "faults")["faults"]) == 1
    finally:
        stop_emulator(em)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"port {em.ports[0]} on 127.0.0.1 is already in use" in result.stderr


def test_missing_world_or_folder_is_one_clear_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder, expected in ((empty, "no sandbox world at"), (tmp_path / "absent", "no sandbox data folder at")):
        result = run_cli("--data-dir", str(folder), "serve", "--port", "0", "--tls-port", "0")
        assert result.returncode == 2
        assert result.stderr.startswith(f"sandbox: {expected}") and "generate" in result.stderr
        assert result.stderr.strip().count("\n") == 0


def test_faults_from_yaml_at_start(private: Path, tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text(
        "faults:\n"
        "  - {system: stripe, endpoint: customers, kind: rate_limit, count: 1, retry_after: 1}\n"
        "  - {system: salesforce, endpoint: 'query*', object: Account, kind: schema_drift,\n"
        "     change: removed, field: Name}\n"
    )
    em = start_emulator(private, faults=faults)
    try:
        listed = em.admin_call("GET", "faults")["faults"]
        assert [(f["system"], f["kind"], f["active"]) for f in listed] == [
            ("stripe", "rate_limit", True),
            ("salesforce", "schema_drift", True),
        ]
        headers = {"Authorization": f"Bearer {STRIPE['secret_key']}"}
        assert requests.get(f"{em.http}/v1/customers", headers=headers).status_code == 429
        assert requests.get(f"{em.http}/v1/customers", headers=headers).status_code == 200
    finally:
        stop_emulator(em)
    faults.write_text("faults:\n  - {system: stripe, kind: earthquake}\n")
    result = run_cli("--data-dir", str(private), "serve", "--port", "0", "--tls-port", "0", "--faults", str(faults))
    assert result.returncode == 2 and "fault kind must be one of" in result.stderr
