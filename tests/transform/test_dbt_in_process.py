"""dbt inside the run's process (orchestration/dbt_in_process.py), as Dagster runs it: a subset of the
models builds exactly what the dbt CLI builds, with its tests as asset checks; a failing model fails
the step with dbt's own error; and in both cases dbt lets go of the warehouse file, so the next steps
of the run can open it with their own settings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, materialize

from orchestration.dbt_in_process import InProcessDbtResource
from orchestration.dbt_manifest import DBT_PROJECT_DIR
from orchestration.resources import WarehouseResource
from tests.pipeline import DbtRun

ACCOUNTS = AssetKey(["staging", "stg_salesforce__accounts"])


def _copy(built_warehouse: tuple[Path, DbtRun], tmp_path: Path, change: str) -> Path:
    """A copy of the CLI-built S warehouse, with `change` (SQL) applied."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built_warehouse[0], warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(change)
    return warehouse


def _build(warehouse: Path, monkeypatch: pytest.MonkeyPatch, *keys: AssetKey):
    from orchestration.defs.transform import copilot_dbt_assets  # read from the manifest: not at collection

    monkeypatch.setenv("COPILOT_WAREHOUSE", str(warehouse))  # restored after the test
    return materialize(
        [copilot_dbt_assets],
        selection=list(keys),
        resources={
            "dbt": InProcessDbtResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR)),
            "warehouse": WarehouseResource(path=str(warehouse)),
        },
        raise_on_error=False,
    )


def _count(warehouse: Path, table: str) -> int:
    # read-only: DuckDB refuses this while another connection in this process holds the file open
    # with other settings, which is how a warehouse left open by dbt would show.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_subset_builds_what_the_cli_builds(
    built_warehouse: tuple[Path, DbtRun], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = "staging.stg_salesforce__accounts"
    warehouse = _copy(built_warehouse, tmp_path, f"DROP VIEW {table}")

    result = _build(warehouse, monkeypatch, ACCOUNTS)

    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == {ACCOUNTS}  # the selection only: no other model ran
    checks = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert checks == {
        "primary_key_stg_salesforce__accounts_account_id": True,
        "accepted_values_stg_salesforce__accounts_segment__SMB__Mid_Market__Enterprise": True,
    }
    assert _count(warehouse, table) == _count(built_warehouse[0], table) > 0
    # what ran and how long, for whoever investigates a build: dbt's run_results.json of this build
    from orchestration.defs.transform import BUILD_TARGET

    results = json.loads((DBT_PROJECT_DIR / BUILD_TARGET / "run_results.json").read_text())["results"]
    ran = {r["unique_id"].split(".")[2]: (r["status"], r["execution_time"] > 0) for r in results}
    assert ran["stg_salesforce__accounts"] == ("success", True)
    assert {ran[name] for name in checks} == {("pass", True)}


def test_a_failing_model_fails_the_step_with_dbts_error(
    built_warehouse: tuple[Path, DbtRun], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a raw column the staging model cannot read as a time
    warehouse = _copy(built_warehouse, tmp_path, "ALTER TABLE raw_salesforce.account ALTER created_date TYPE VARCHAR")

    result = _build(warehouse, monkeypatch, ACCOUNTS)

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.error.message
    assert "Runtime Error in model stg_salesforce__accounts" in message and "created_date" in message
    assert _count(warehouse, "raw_salesforce.contact") > 0  # the file is free again
