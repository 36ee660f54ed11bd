"""Fixtures for the Evidence report tests: install, an offline build against a small fixture
warehouse, a local static server and one scripted Chromium session over the site.

The site is built once per test session (~1 min, Evidence has no incremental build) in a temporary
copy of reports/ that shares reports/node_modules, so the tests never touch reports/build or the
read copy of the real warehouse.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .expected import Expected, expected_figures
from .reports_testlib import REPO, REPORTS, BuiltSite, copy_reports_project, make_report_warehouse

ARTIFACTS = REPO / "data" / "test-artifacts" / "reports"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def _run(cmd: list[str], *, timeout: float, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def _tail(proc: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    return "\n".join((proc.stdout + proc.stderr).splitlines()[-lines:])


@pytest.fixture(scope="session")
def reports_node_modules() -> Path:
    """reports/node_modules from the lockfile, with the offline patch applied (no-op when current)."""
    proc = _run([str(REPORTS / "scripts" / "install.sh"), "--no-browser"], timeout=900)
    assert proc.returncode == 0, f"reports/scripts/install.sh --no-browser failed:\n{_tail(proc)}"
    return REPORTS / "node_modules"


@pytest.fixture(scope="session")
def chromium(reports_node_modules: Path) -> Path:
    """Debian's chromium, installed if missing; the tests skip only when it cannot be installed."""
    if not CHROMIUM.exists():
        proc = _run([str(REPORTS / "scripts" / "install.sh"), "--browser-only"], timeout=900)
        if not CHROMIUM.exists():
            pytest.skip(f"chromium is not installed and could not be installed:\n{_tail(proc, 20)}")
    return CHROMIUM


def network_can_be_cut() -> bool:
    """`unshare -n` (root, or unprivileged user namespaces) runs a command with no network at all."""
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="session")
def report_warehouse(built_warehouse: tuple[Path, object], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The S warehouse built by dbt plus constructed score, alert and sync tables (read-only for tests)."""
    return make_report_warehouse(built_warehouse[0], tmp_path_factory.mktemp("reports-warehouse") / "warehouse.duckdb")


@pytest.fixture(scope="session")
def built_site(
    reports_node_modules: Path, report_warehouse: Path, tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> BuiltSite:
    warehouse = report_warehouse
    project = copy_reports_project(tmp_path_factory.mktemp("reports-site") / "reports")

    offline = network_can_be_cut()
    cmd = [str(project / "scripts" / "build.sh"), str(warehouse)]
    started = time.monotonic()
    proc = _run(["unshare", "-n", *cmd] if offline else cmd, cwd=project, timeout=900)
    seconds = time.monotonic() - started
    network = "cut (unshare -n)" if offline else "available"
    summary = f"reports/scripts/build.sh, network {network}, {seconds:.0f} s, exit {proc.returncode}"
    (artifacts_dir / "build.log").write_text(f"{summary}\n\n{proc.stdout}{proc.stderr}")
    assert proc.returncode == 0, f"report build failed (network {network}):\n{_tail(proc)}"
    return BuiltSite(project, project / "build", warehouse, offline, seconds)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def site_url(built_site: BuiltSite) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(built_site.build))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser_run(chromium: Path, site_url: str, artifacts_dir: Path, expected: Expected) -> dict:
    """One Chromium session over the site (tests/reports/browser_check.mjs); what it observed."""
    spec = {
        "baseUrl": site_url,
        "artifactsDir": str(artifacts_dir),
        "pages": expected.pages,
        "segment": expected.segment,
        "clickedAccountName": expected.clicked_account_name,
        "accountName": expected.account_name,
        "chromium": str(chromium),
    }
    proc = _run(["node", str(Path(__file__).with_name("browser_check.mjs")), json.dumps(spec)], timeout=600)
    assert proc.returncode == 0, f"browser_check.mjs failed:\n{_tail(proc)}"
    observed = json.loads(proc.stdout)
    (artifacts_dir / "browser-observations.json").write_text(json.dumps(observed, indent=2))
    return observed


@pytest.fixture(scope="session")
def expected(built_site: BuiltSite) -> Expected:
    return expected_figures(built_site.warehouse)
