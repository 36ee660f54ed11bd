"""The marts' dbt step skips its build only when its inputs are those of its last *successful* build,
and builds only what reads the raw tables that changed when nothing else did."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration import dbt_unchanged as unchanged
from orchestration.dbt_manifest import DBT_PROJECT_DIR

ACCOUNT = unchanged.RawTable("raw_crm", "account", "source:raw_crm.account", ("id", "name"))
EVENTS = unchanged.RawTable("raw_app", "events", "source:raw_app.events", ("event_id",))
FEEDBACK = unchanged.RawTable("raw_app", "feedback", "source:raw_app.feedback", ())
SOURCES = [ACCOUNT, EVENTS, FEEDBACK]
ARGS = ["build", "--vars", '{"crm": "salesforce"}']
# dlt's stored schema of the raw_app dataset: events are appended, never rewritten.
APP_SCHEMA = json.dumps({"tables": {"events": {"write_disposition": "append"}}})


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("CREATE SCHEMA raw_crm; CREATE SCHEMA raw_app; CREATE SCHEMA marts")
    # `modstamp` is a row-version column: not among the account's read columns.
    con.execute(
        "CREATE TABLE raw_crm.account AS SELECT 'a1' AS id, 'Acme' AS name, 0.5 AS copilot_score__c, "
        "TIMESTAMP '2026-10-30 08:00' AS modstamp, '1.1' AS _dlt_load_id"
    )
    con.execute("CREATE TABLE raw_app.events AS SELECT 'e1' AS event_id, '1.1' AS _dlt_load_id")
    con.execute(
        "CREATE TABLE raw_app._dlt_version AS SELECT 'app' AS schema_name, now() AS inserted_at, ? AS schema",
        [APP_SCHEMA],
    )
    con.execute("CREATE TABLE raw_app.feedback AS SELECT 1 AS feedback_id, 'useful' AS outcome")
    con.execute("CREATE TABLE marts.data_clock AS SELECT DATE '2026-10-31' AS as_of_date")
    return con


def inputs(con: duckdb.DuckDBPyConnection, args: list[str] = ARGS) -> unchanged.Inputs:
    return unchanged.inputs(con, "marts", SOURCES, args, DBT_PROJECT_DIR)


def plan(con: duckdb.DuckDBPyConnection) -> unchanged.Plan:
    return unchanged.plan(con, "marts", inputs(con))


def build(con: duckdb.DuckDBPyConnection, run_id: str, finish: bool = True) -> None:
    unchanged.record_start(con, "marts", run_id, inputs(con))
    if finish:
        unchanged.record_built(con, "marts", run_id)


def test_an_unchanged_input_skips_and_names_the_build(con: duckdb.DuckDBPyConnection) -> None:
    assert plan(con).last is None  # never built
    build(con, "run-1")
    seen = plan(con)
    assert seen.skip and (seen.last.run_id, seen.last.as_of_date) == ("run-1", date(2026, 10, 31))


@pytest.mark.parametrize(
    ("change", "rebuilt"),
    [
        ("UPDATE raw_crm.account SET name = 'Acme Inc.', _dlt_load_id = '1.2'", "source:raw_crm.account"),
        ("INSERT INTO raw_crm.account VALUES ('a2', 'Beta', NULL, now(), '1.2')", "source:raw_crm.account"),
        ("INSERT INTO raw_app.events VALUES ('e2', '1.2')", "source:raw_app.events"),
        ("UPDATE raw_app.feedback SET outcome = 'not useful'", "source:raw_app.feedback"),  # not a dlt table
        ("DROP TABLE raw_app.feedback", "source:raw_app.feedback"),
    ],
)
def test_a_changed_raw_table_rebuilds_only_what_reads_it(
    con: duckdb.DuckDBPyConnection, change: str, rebuilt: str
) -> None:
    build(con, "run-1")
    con.execute(change)
    seen = plan(con)
    assert seen.partial and seen.last.run_id == "run-1" and seen.changed == (rebuilt,)


def test_rows_rewritten_with_the_same_values_rebuild_nothing(con: duckdb.DuckDBPyConnection) -> None:
    """The copilot's own CRM writes come back at the next load: its score fields and the record's
    modstamp moved, dlt merged the rows again under a new load id; nothing the models read changed."""
    build(con, "run-1")
    con.execute("UPDATE raw_crm.account SET copilot_score__c = 0.7, modstamp = now(), _dlt_load_id = '1.2'")
    assert plan(con).skip


def test_a_load_that_appended_nothing_rebuilds_nothing(con: duckdb.DuckDBPyConnection) -> None:
    build(con, "run-1")
    con.execute("INSERT INTO raw_app._dlt_version SELECT 'app', now(), ?", [APP_SCHEMA])
    assert plan(con).skip


def test_other_vars_or_settings_build_everything(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(con, "run-1")
    pinned = [*ARGS[:2], '{"crm": "salesforce", "as_of_date": "2026-10-15"}']
    assert unchanged.plan(con, "marts", inputs(con, pinned)).last is None
    monkeypatch.setenv("COPILOT_DUCKDB_MEMORY_LIMIT", "1GB")  # read by profiles.yml
    assert plan(con).last is None


def test_a_build_that_did_not_finish_never_counts(con: duckdb.DuckDBPyConnection) -> None:
    build(con, "run-1")
    build(con, "run-2", finish=False)  # failed or killed halfway, on the same inputs
    assert plan(con).last is None
    con.execute("INSERT INTO raw_app.events VALUES ('e2', '1.2')")
    assert plan(con).last is None  # not even a partial build after it
    build(con, "run-3")
    assert plan(con).skip and plan(con).last.run_id == "run-3"


def test_marts_rebuilt_by_hand_for_another_day_build_everything(con: duckdb.DuckDBPyConnection) -> None:
    build(con, "run-1")
    con.execute("UPDATE marts.data_clock SET as_of_date = DATE '2026-10-15'")
    assert plan(con).last is None


def test_a_partial_build_keeps_the_outcomes_of_the_tests_it_did_not_run(con: duckdb.DuckDBPyConnection) -> None:
    from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey

    def outcome(asset: str, check: str, passed: bool) -> AssetCheckResult:
        return AssetCheckResult(
            asset_key=AssetKey(asset.split("/")), check_name=check, passed=passed, severity=AssetCheckSeverity.WARN
        )

    unchanged.record_start(con, "marts", "run-1", inputs(con))
    unchanged.record_built(
        con, "marts", "run-1", [outcome("marts/a", "unique", True), outcome("staging/t", "nn", True)]
    )
    con.execute("INSERT INTO raw_app.events VALUES ('e2', '1.2')")
    seen = plan(con)
    unchanged.record_start(con, "marts", "run-2", inputs(con))
    unchanged.record_built(con, "marts", "run-2", [outcome("staging/t", "nn", False)], kept=seen.last.checks)
    kept = {(c["asset"], c["check"]): c["passed"] for c in plan(con).last.checks}
    assert kept == {("marts/a", "unique"): True, ("staging/t", "nn"): False}


def test_the_step_reads_the_declared_columns_without_row_versions() -> None:
    """What the real project declares: Salesforce's Account modstamps and dlt's load id are left out
    of what the models read; the child tables of a source are read through it."""
    from orchestration.defs.transform import MANIFEST, copilot_dbt_assets

    tables = {t.relation: t for t in unchanged.step_sources(copilot_dbt_assets, MANIFEST)}
    account = tables["raw_salesforce.account"]
    assert {"id", "segment__c", "arr__c"} <= set(account.columns)
    assert not {"system_modstamp", "last_modified_date", "_dlt_load_id", "copilot_churn_risk__c"} & set(account.columns)
    assert "system_modstamp" in tables["raw_salesforce.contact"].columns  # its history is dated by it
    assert tables["raw_zendesk.tickets__tags"].source == "source:raw_zendesk.tickets"


@pytest.mark.parametrize(
    ("step", "narrow_to", "expected"),
    [
        (["--select", "fqn:*", "--exclude", "tag:alerts"], [], ["--select", "fqn:*", "--exclude", "tag:alerts"]),
        (
            ["--select", "fqn:*", "--exclude", "tag:alerts"],
            ["source:raw_crm.task+", "source:raw_app.events+"],
            ["--select", "fqn:*,source:raw_crm.task+ fqn:*,source:raw_app.events+", "--exclude", "tag:alerts"],
        ),
        ([], ["source:raw_crm.task+"], ["--select", "source:raw_crm.task+"]),
        (["--selector", "dagster_run_1"], ["source:raw_crm.task+"], ["--selector", "dagster_run_1"]),
    ],
)
def test_a_partial_build_narrows_the_steps_selection(
    step: list[str], narrow_to: list[str], expected: list[str]
) -> None:
    from orchestration.dbt_in_process import _narrowed

    assert _narrowed(step, narrow_to) == expected


def alert_plan(con: duckdb.DuckDBPyConnection) -> unchanged.Plan:
    return unchanged.plan(con, "alerts", unchanged.inputs(con, "alerts", [FEEDBACK], ARGS, DBT_PROJECT_DIR, ["marts"]))


def build_alerts(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    unchanged.record_start(
        con, "alerts", run_id, unchanged.inputs(con, "alerts", [FEEDBACK], ARGS, DBT_PROJECT_DIR, ["marts"])
    )
    unchanged.record_built(con, "alerts", run_id)


def test_a_step_after_another_skips_only_while_that_one_keeps_its_build(con: duckdb.DuckDBPyConnection) -> None:
    """The alert models read the marts: they are rebuilt whenever the marts' step built since."""
    assert alert_plan(con).last is None  # the marts' step never recorded a build: nothing to rely on
    build(con, "run-1")
    build_alerts(con, "run-1")
    assert alert_plan(con).skip  # run-2: the marts skipped, and so do the alert models
    build(con, "run-3")  # the marts were built again, from the same raw rows
    assert alert_plan(con).last is None
    build_alerts(con, "run-3")
    assert alert_plan(con).skip
    build(con, "run-4", finish=False)  # the marts' build failed halfway
    assert alert_plan(con).last is None


def test_the_run_s_later_steps_read_the_marts_step() -> None:
    """The alert models, the outbound views and the scoring hang under the marts' dbt step."""
    from orchestration.defs.alerts import copilot_alert_dbt_assets
    from orchestration.defs.ml import ml_assets
    from orchestration.defs.reverse_etl import copilot_activation_dbt_assets
    from orchestration.defs.transform import DBT_STEPS, copilot_dbt_assets

    assert {step.node_def.name for step in DBT_STEPS} == {
        "copilot_dbt_assets",
        "copilot_alert_dbt_assets",
        "copilot_activation_dbt_assets",
    }
    assert unchanged.upstream_steps(copilot_dbt_assets, DBT_STEPS) == []
    for step in (copilot_alert_dbt_assets, copilot_activation_dbt_assets, ml_assets):
        assert unchanged.upstream_steps(step, DBT_STEPS) == ["copilot_dbt_assets"]
