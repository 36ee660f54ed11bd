"""Bad configuration stops the daily run before any work, with one line naming the problem."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.clock import AS_OF_DATE_TAG
from orchestration import preflight
from tests.end_to_end.conftest import CleanRun
from tests.end_to_end.harness import REPO


def run_preflight(clean_run: CleanRun, **env: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "orchestration.preflight"]
    full_env = {**clean_run.deployment.env(), **env}
    return subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("setting", "value", "line"),
    [
        ("SOURCES__STRIPE__CREDENTIALS__API_KEY", "sk_test_wrong",
         "preflight: stripe: the API key was refused: check SOURCES__STRIPE__CREDENTIALS__API_KEY"),
        ("SOURCES__HUBSPOT__ENABLED", "true",
         "preflight: unknown source 'hubspot' (SOURCES__HUBSPOT__ENABLED): the sources are salesforce, zendesk, "
         "stripe, product_events"),
        ("REVERSE_ETL__SLACK__CREDENTIALS__BOT_TOKEN", "xoxb-wrong",
         "preflight: reverse ETL: the Slack token was refused: check REVERSE_ETL__SLACK__CREDENTIALS__BOT_TOKEN"),
        ("COPILOT_DUCKDB_MEMORY_LIMIT", "abc",
         "preflight: COPILOT_DUCKDB_MEMORY_LIMIT='abc' is not a memory size DuckDB accepts (e.g. 5GB, 512MB): "
         "Parser Error: Memory must have a number (e.g. 1GB)"),
        ("REVERSE_ETL__SALESFORCE__CA_BUNDLE", "/nowhere/ca.pem",
         "preflight: reverse ETL: the CA bundle /nowhere/ca.pem does not exist: check "
         "REVERSE_ETL__SALESFORCE__CA_BUNDLE (the sandbox writes its CA there when it serves)"),
    ],
)  # fmt: skip
def test_preflight_names_the_bad_setting_in_one_line(clean_run: CleanRun, setting: str, value: str, line: str) -> None:
    result = run_preflight(clean_run, **{setting: value})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [line]


def test_preflight_passes_a_good_configuration(clean_run: CleanRun) -> None:
    result = run_preflight(clean_run)
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "preflight: configuration ok", "")


def test_daily_run_with_a_wrong_credential_stops_before_loading_anything(clean_run: CleanRun) -> None:
    deployment = clean_run.deployment
    deployment.reset_requests()
    run = deployment.run(env={**deployment.env(), "SOURCES__SALESFORCE__CREDENTIALS__CLIENT_SECRET": "wrong"})
    assert run.returncode != 0
    assert "configuration: salesforce: the login was refused (invalid_client: invalid client credentials)" in run.output
    assert not run.started("ingest_sources")
    requests = deployment.requests()["requests"]
    # The preflight's few checks, nothing loaded, nothing written.
    assert {r["endpoint"] for r in requests if r["system"] == "salesforce"} == {"token"}
    assert deployment.requests()["writes"] == 0


def test_an_as_of_date_that_is_not_a_date_stops_the_run_first(clean_run: CleanRun) -> None:
    deployment = clean_run.deployment
    deployment.reset_requests()
    run = deployment.run(tags={AS_OF_DATE_TAG: "last friday"})
    assert run.returncode != 0
    assert "configuration: copilot/as_of_date='last friday' is not a date: use YYYY-MM-DD" in run.output
    assert not run.started("ingest_sources")
    assert deployment.requests()["writes"] == 0
