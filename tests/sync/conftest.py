"""The S world built by dbt, with model scores made from the health scores (test setup: the real
scores come from the ML part), alerts evaluated, and a private Salesforce/Slack emulator."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pytest

from alerts import lifecycle
from core.clock import require_as_of_date
from reverse_etl.config import SyncConfig
from tests.conftest import REPO, RunningEmulator, copy_world, start_emulator, stop_emulator
from tests.pipeline import DbtRun, LoadedWorld, dbt

WAIT = 60  # seconds a test waits for the emulator to reach a state (never asserted on)

# Scores derived from the health score, shaped like the ML contract (ml.account_scores[_latest]): tiers
# are multiples of the base rate (High from 5x, Medium from 2x, ml/config.yml) and an account that
# gave notice has the tier "Notice given", as ml/score.py writes them.
FAKE_BASE_RATE = 0.125
FAKE_SCORES = f"""
CREATE SCHEMA IF NOT EXISTS ml;
CREATE OR REPLACE TABLE ml.account_scores AS
WITH s AS (
    SELECT h.account_id, h.scored_as_of, h.health_score, round(1 - h.health_score / 100, 3) AS churn_probability,
        coalesce(c.lifecycle_state, '') AS lifecycle_state
    FROM marts.health_scores AS h LEFT JOIN marts.customer_360 AS c USING (account_id)
)
SELECT account_id, scored_as_of AS scored_on, TIMESTAMP '2026-11-01 06:00:00' AS scored_at,
    'churn-test' AS churn_model_id, churn_probability,
    CASE WHEN lifecycle_state = 'notice_given' THEN 'Notice given'
        WHEN churn_probability >= 5 * {FAKE_BASE_RATE} THEN 'High'
        WHEN churn_probability >= 2 * {FAKE_BASE_RATE} THEN 'Medium' ELSE 'Low' END AS churn_risk_tier,
    'expansion-test' AS expansion_model_id, round(health_score / 100, 3) AS expansion_propensity,
    'health score ' || CAST(round(health_score) AS INTEGER) AS driver_1, NULL::VARCHAR AS driver_2,
    NULL::VARCHAR AS driver_3,
    '[]' AS drivers_json, 'model' AS churn_scorer, CAST({FAKE_BASE_RATE} AS DOUBLE) AS churn_base_rate
FROM s;
CREATE OR REPLACE TABLE ml.account_scores_latest AS
SELECT s.* FROM ml.account_scores AS s JOIN marts.customer_360 AS c USING (account_id);
"""


def add_fake_scores(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute(FAKE_SCORES)


@pytest.fixture(scope="session")
def alerts_warehouse(built_warehouse: tuple[Path, DbtRun], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built S warehouse + test scores + alert models + one lifecycle evaluation + the outbound views
    (read-only: copy it)."""
    path = tmp_path_factory.mktemp("alerts") / "warehouse.duckdb"
    shutil.copyfile(built_warehouse[0], path)
    add_fake_scores(path)
    run = dbt(path, "build", "--select", "alert_rules alert_settings tag:alerts")
    assert run.returncode == 0, run.output[-3000:]
    with duckdb.connect(str(path)) as con:
        lifecycle.evaluate(con, require_as_of_date(con))
    # The outbound views read the lifecycle's state (as the daily run's third dbt step does).
    run = dbt(path, "build", "--select", "tag:activation")
    assert run.returncode == 0, run.output[-3000:]
    return path


@dataclass
class SyncWorld:
    warehouse: Path
    emulator: RunningEmulator
    cfg: SyncConfig

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.warehouse))

    def writes(self) -> int:
        return int(self.emulator.admin_call("GET", "requests")["writes"])

    def reset_requests(self) -> None:
        self.emulator.admin_call("DELETE", "requests")


def sync_config(em: RunningEmulator, **overrides: object) -> SyncConfig:
    values: dict = {
        "salesforce_login_url": em.https,
        "salesforce_api_version": "61.0",
        "salesforce_client_id": "copilot-sandbox",
        "salesforce_client_secret": "sandbox-secret",
        "ca_bundle": em.ca,
        "slack_base_url": f"{em.http}/api/",
        "slack_token": "xoxb-sandbox",
        "slack_fallback_channel": "cs-alerts",
        "bulk_threshold": 2000,
        "max_attempts": 3,
        "backoff_factor": 0.01,
        "row_count_tolerance": 0.1,
        "max_red_share_change": 0.1,
    }
    values.update(overrides)
    return SyncConfig(**values)


@pytest.fixture
def sync_world(alerts_warehouse: Path, loaded_s_world: LoadedWorld, tmp_path: Path) -> Iterator[SyncWorld]:
    """A private warehouse copy and a private emulator over a copy of the loaded S world."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(alerts_warehouse, warehouse)
    data_dir = copy_world(loaded_s_world.data_dir, tmp_path / "sandbox")
    em = start_emulator(data_dir)
    try:
        yield SyncWorld(warehouse, em, sync_config(em))
    finally:
        stop_emulator(em)


def wait_for(what: str, check: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def kill_sync_after(world: SyncWorld, destination: str, what: str, delivered: Callable[[], int], count: int) -> None:
    """Run the sync of `destination` in its own process and SIGKILL it once `count` messages have reached
    the emulator (the emulator holds the last one's answer, by a fault the test sets)."""
    cfg = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(world.cfg).items()}
    script = (
        "import json, sys, duckdb\n"
        "from reverse_etl import sync\n"
        "from reverse_etl.config import SyncConfig\n"
        "cfg = SyncConfig(**json.loads(sys.argv[2]))\n"
        "with duckdb.connect(sys.argv[1]) as con:\n"
        "    sync.sync(con, sys.argv[3], cfg)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script, str(world.warehouse), json.dumps(cfg), destination], env=env)
    try:
        wait_for(what, lambda: delivered() == count)
        assert proc.poll() is None, "the sync ended before it could be killed mid-post"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
