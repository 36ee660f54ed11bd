"""The report site as a Dagster asset: its place in the graph, and a failed build failing the run."""

from __future__ import annotations

from pathlib import Path

import duckdb
from dagster import AssetKey, materialize

from orchestration.definitions import defs
from orchestration.defs.reports import report_site
from orchestration.resources import WarehouseResource


def test_site_asset_follows_marts_scores_alerts_and_sync() -> None:
    graph = defs.resolve_asset_graph()
    parents = graph.get(AssetKey(["reports", "site"])).parent_keys
    syncs = {k for k in graph.executable_asset_keys if k.path[0] == "reverse_etl"}
    assert len(syncs) == 3
    assert {AssetKey(["marts", "customer_360"]), AssetKey(["ml", "account_scores"]), AssetKey(["alerts", "alerts"])} | (
        syncs
    ) <= parents
    # Every input is an asset the product builds, so the daily run orders the site after all of them.
    assert parents <= graph.executable_asset_keys


def test_site_asset_fails_with_the_build_error(reports_node_modules: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create table marts.customer_360 as select 'a' as account_id")

    result = materialize(
        [report_site], resources={"warehouse": WarehouseResource(path=str(warehouse))}, raise_on_error=False
    )

    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert failure.description.startswith("report build failed")
    assert "lacks tables the reports read: marts.health_scores" in failure.metadata["log"].text
