"""The project's Dagster event log: Dagster's SQLite event log with its connections kept open. What a
run records through it is what any other Dagster process (webserver, daemon) reads from the files."""

from __future__ import annotations

from pathlib import Path

from dagster import AssetKey, AssetMaterialization, DagsterInstance, asset, materialize
from dagster._core.storage.event_log import SqliteEventLogStorage

from benchmarks.first_run import dagster_yaml
from orchestration import event_log
from orchestration.event_log import PooledSqliteEventLogStorage


@asset
def accounts() -> None:
    return None


@asset(deps=[accounts])
def health_scores() -> None:
    return None


def instance_at(home: Path) -> DagsterInstance:
    """An instance configured as the project's dagster.yaml, its folders in `home`."""
    (home / "dagster.yaml").write_text(dagster_yaml(home))
    return DagsterInstance.from_config(str(home))


def test_runs_recorded_through_open_connections_read_the_same_from_the_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(event_log, "OPEN_RUN_DATABASES", 2)
    instance = instance_at(tmp_path)
    assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
    runs = [materialize([accounts, health_scores], instance=instance) for _ in range(4)]
    assert all(r.success for r in runs)
    # At most two run databases stay open (and the index).
    assert len([s for s in instance.event_log_storage._engines if s != "index"]) <= 2
    # A plain Dagster storage on the same files (another process) sees every event and the assets.
    plain = SqliteEventLogStorage(str(tmp_path / "storage" / "history" / "runs"))
    for result in runs:
        assert [e.dagster_event_type for e in plain.get_logs_for_run(result.run_id) if e.is_dagster_event] == [
            e.dagster_event_type for e in instance.all_logs(result.run_id) if e.is_dagster_event
        ]
    latest = plain.get_latest_materialization_events([AssetKey("health_scores")])[AssetKey("health_scores")]
    assert latest.run_id == runs[-1].run_id
    instance.report_runless_asset_event(AssetMaterialization("accounts"))
    assert plain.get_latest_materialization_events([AssetKey("accounts")])[AssetKey("accounts")].run_id == ""
    instance.dispose()
