"""Bad configuration stops the daily run before any work, with one line naming the problem."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from core.clock import AS_OF_DATE_TAG
from tests.end_to_end.conftest import CleanRun
from tests.end_to_end.harness import REPO, Deployment
from tests.pipeline import export_world


def run_preflight(clean_run: CleanRun, **env: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "orchestration.preflight"]
    full_env = {**clean_run.deployment.env(), **env}
    return subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("setting", "value", "line"),
    [
        ("SOURCES__STRIPE__CREDENTIALS__API_KEY", "sk_test_wrong",
         "preflight: stripe: the API key was refused: check SOURCES__STRIPE__CREDENTIALS__API_KEY"),
        ("SOURCES__INTERCOM__ENABLED", "true",
         "preflight: unknown source 'intercom' (SOURCES__INTERCOM__ENABLED): the sources are salesforce, hubspot, "
         "zendesk, stripe, product_events"),
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
    # The preflight's few checks, nothing loaded, nothing written but the run's failure notice.
    assert {r["endpoint"] for r in requests if r["system"] == "salesforce"} == {"token"}
    assert_only_the_failure_notice_was_written(deployment)


def test_an_as_of_date_that_is_not_a_date_stops_the_run_first(clean_run: CleanRun) -> None:
    deployment = clean_run.deployment
    deployment.reset_requests()
    run = deployment.run(tags={AS_OF_DATE_TAG: "last friday"})
    assert run.returncode != 0
    assert "configuration: copilot/as_of_date='last friday' is not a date: use YYYY-MM-DD" in run.output
    assert not run.started("ingest_sources")
    assert_only_the_failure_notice_was_written(deployment)


def assert_only_the_failure_notice_was_written(deployment: Deployment) -> None:
    """Nothing reached the CRM; the one write is the failed run's notice in Slack."""
    seen = deployment.requests()
    assert seen["by_system"].get("salesforce", {}).get("writes", 0) == 0
    assert seen["writes"] == seen["by_system"]["slack"]["writes"] == 1


def test_the_s_world_runs_with_the_shipped_ml_settings(deployment: Deployment) -> None:
    """A young company (the S world's year) has too little history for the shipped split: the training
    steps say so, and the run still scores health and syncs it to the CRM."""
    (deployment.root / "ml_config.yml").write_text((REPO / "ml" / "config.yml").read_text())
    run = deployment.run()
    assert run.succeeded, run.tail()
    for kind in ("churn", "expansion"):
        assert f"{kind} model not trained: too little history to train: labels complete from" in run.output
    assert "no churn scores this run: no champion churn model" in run.output
    with duckdb.connect(str(deployment.warehouse), read_only=True) as con:
        scored = dict(con.execute("SELECT account_id, health_score FROM activation.crm_account_fields").fetchall())
    crm = deployment.crm()
    synced = {a: fields[0] for a, fields in crm.accounts.items() if a in scored}
    assert synced and synced == {a: s for a, s in scored.items() if a in synced}
    assert all(score is not None for score in synced.values())


def test_a_deployment_loading_from_exports_runs_with_both_destinations_off(deployment: Deployment) -> None:
    """Production, no credential and no service URL anywhere: sources from file exports, Salesforce
    write-back and Slack switched off. The preflight asks for nothing more, the steps say they are off."""
    exports = deployment.root / "exports"
    export_world(deployment.world / "world.sqlite", exports)
    env = {
        k: v for k, v in deployment.env().items() if not k.startswith(("SOURCES__", "REVERSE_ETL__", "COPILOT__SLACK"))
    }
    # What such a deployment still sets: who owns the alerts of accounts without a CSM.
    env |= {"COPILOT_ENV": "production", "ALERTS__DEFAULT_OWNER_USER_ID": "0055g0000000001AAA",
            "REVERSE_ETL__SALESFORCE__ENABLED": "false",
            "REVERSE_ETL__SLACK__ENABLED": "false",
            "SOURCES__PRODUCT_EVENTS__FILES_URL": str(deployment.world / "exports" / "events")}  # fmt: skip
    for source in ("salesforce", "zendesk", "stripe"):
        env[f"SOURCES__{source.upper()}__MODE"] = "files"
        env[f"SOURCES__{source.upper()}__FILES_URL"] = str(exports / source)
    deployment.reset_requests()
    run = deployment.run(env=env)
    assert run.succeeded, run.tail()
    for destination, system in (("salesforce_account", "salesforce"), ("salesforce_task", "salesforce"),
                                ("slack", "slack")):  # fmt: skip
        assert f"{destination}: off (none): " in run.output
        assert f"switched off (reverse_etl.{system}.enabled = false): nothing sent" in run.output
    assert deployment.requests()["requests"] == []
    with duckdb.connect(str(deployment.warehouse), read_only=True) as con:
        statuses = con.execute("SELECT DISTINCT status FROM reverse_etl.sync_runs").fetchall()
        accounts = con.execute("SELECT count(*) FROM marts.customer_360 WHERE health_score IS NOT NULL").fetchone()
    assert statuses == [("off",)] and accounts[0] > 0
