"""The edge where data leaves: destinations switch off like sources, a destination that refuses most
records fails its step, and the gate stops a sync that would blank the CRM's health scores."""

from pathlib import Path
from typing import Any

import duckdb
import pytest

from core import config
from core.config import ConfigError
from orchestration import preflight
from reverse_etl import config as sync_config
from reverse_etl import gate, state, sync
from reverse_etl.records import Record


@pytest.fixture
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A production deployment with an empty `.dlt/`: no URL, no credential."""
    monkeypatch.setattr(config, "CONFIG_DIR", tmp_path)
    monkeypatch.setenv("COPILOT_ENV", "production")
    for name in ("REVERSE_ETL__SALESFORCE__ENABLED", "REVERSE_ETL__SLACK__ENABLED"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_destinations_switched_off_need_no_url_or_credential(deployment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"^missing setting `reverse_etl.salesforce.login_url`"):
        sync_config.load()
    monkeypatch.setenv("REVERSE_ETL__SALESFORCE__ENABLED", "false")
    with pytest.raises(ConfigError, match=r"^missing setting `reverse_etl.slack.base_url`"):
        sync_config.load()
    (deployment / "config.toml").write_text("[reverse_etl.slack]\nenabled = false\n")
    cfg = sync_config.load()
    assert (cfg.salesforce_enabled, cfg.slack_enabled) == (False, False)
    # The preflight asks nothing of a destination that is off (no request is made).
    assert preflight.reverse_etl_credentials() == []


def test_a_destination_that_is_off_logs_an_off_run_and_sends_nothing(
    deployment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVERSE_ETL__SALESFORCE__ENABLED", "false")
    monkeypatch.setenv("REVERSE_ETL__SLACK__ENABLED", "false")
    cfg = sync_config.load()
    con = duckdb.connect()
    runs = [sync.sync(con, d, cfg, clients={}) for d in sync.DESTINATIONS]
    # Teams is not a chosen alert channel here: skipped and not logged, whatever the switches say.
    assert [(r.destination, r.status, r.sent) for r in runs] == [
        ("salesforce_account", "off", 0),
        ("salesforce_task", "off", 0),
        ("hubspot_company", "off", 0),  # not the configured CRM
        ("hubspot_task", "off", 0),
        ("slack", "off", 0),
        ("teams", "skipped", 0),
    ]
    assert runs[2].message == 'not the configured CRM (crm = "salesforce"): nothing sent'
    assert runs[4].line() == (
        "slack: off (none): 0 considered, 0 changed, 0 sent, 0 succeeded, 0 failed: "
        "switched off (reverse_etl.slack.enabled = false): nothing sent"
    )
    logged = con.execute("SELECT destination, status FROM reverse_etl.sync_runs ORDER BY destination").fetchall()
    assert logged == [
        ("hubspot_company", "off"),
        ("hubspot_task", "off"),
        ("salesforce_account", "off"),
        ("salesforce_task", "off"),
        ("slack", "off"),
    ]


class RefusingSalesforce:
    """A Salesforce that refuses the records whose key is in `refused` (a picklist that says no)."""

    def __init__(self, refused: set[str]) -> None:
        self.refused = refused

    def restful(self, path: str, method: str, json: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"success": False, "errors": [{"statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "message": "no"}]}
            if r["Id"] in self.refused
            else {"success": True, "id": r["Id"]}
            for r in json["records"]
        ]


@pytest.mark.parametrize(("refused", "status"), [(1, "partial"), (5, "partial"), (6, "failed")])
def test_a_destination_refusing_most_records_fails(monkeypatch: pytest.MonkeyPatch, refused: int, status: str) -> None:
    keys = [f"001{i:015d}" for i in range(10)]
    wanted = [Record(k, {"Id": k, "Copilot_Health_Tier__c": "Green"}, f"d{k}") for k in keys]
    monkeypatch.setattr(sync, "desired", lambda con, destination, cfg: wanted)
    cfg = sync_config.SyncConfig(
        "https://login.example", "61.0", "id", "secret", None, "https://slack.example/api/", "xoxb", "cs-alerts",
        2000, 1, 0.0, 0.1, 0.1,
    )  # fmt: skip
    con = duckdb.connect()
    run = sync.sync(con, "salesforce_account", cfg, clients={"salesforce": RefusingSalesforce(set(keys[:refused]))})
    assert (run.status, run.sent, run.failed) == (status, 10, refused)
    if status == "failed":
        assert run.message == (
            "6 of 10 records failed, more than reverse_etl.max_failed_share (0.5): see reverse_etl.sync_errors"
        )
    assert con.execute("SELECT status FROM reverse_etl.sync_runs").fetchone()[0] == status


def customers(con: duckdb.DuckDBPyConnection, tiers: list[str | None]) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute(
        "CREATE OR REPLACE TABLE marts.customer_360 "
        "(account_id VARCHAR, subscription_status VARCHAR, health_score DOUBLE, health_tier VARCHAR)"
    )
    rows = [(f"a{i}", "active", None if t in (None, "Unknown") else 50.0, t) for i, t in enumerate(tiers)]
    rows.append(("gone", "canceled", None, None))  # canceled accounts have no score and do not count
    con.executemany("INSERT INTO marts.customer_360 VALUES (?, ?, ?, ?)", rows)


def test_the_gate_blocks_when_health_scores_go_missing() -> None:
    con = duckdb.connect()
    state.ensure(con)
    customers(con, ["Green"] * 19 + ["Unknown"])
    checked = gate.evaluate(con, 0.1, 1.0, "run-1", max_empty_score_share=0.05)
    assert checked.passed and gate.empty_score_share(con) == pytest.approx(0.05)
    # All weights 0: every score empty, every tier Unknown; the sync would blank every CRM account.
    customers(con, [None] * 10 + ["Unknown"] * 10)
    checked = gate.evaluate(con, 0.1, 1.0, "run-2", max_empty_score_share=0.05)
    assert not checked.passed
    assert checked.by_check("health_scores_present") is not None
    assert not checked.by_check("health_scores_present").success
    assert "customer_360.health_scores_present" in checked.summary()


def test_without_copilot_env_the_preflight_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COPILOT_ENV", raising=False)
    assert preflight.problems() == [
        "COPILOT_ENV is not set: it must be one of production, ci, sandbox: set COPILOT_ENV=production for a "
        "deployment (COPILOT_ENV=sandbox runs on the sandbox company and its published credentials)"
    ]
