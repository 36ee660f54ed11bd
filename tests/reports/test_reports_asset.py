"""The report site as a Dagster asset: its place in the graph, and a failed build failing the run."""

from __future__ import annotations

from pathlib import Path

import duckdb
from dagster import AssetKey, materialize

from orchestration.defs.report_site import build_log_file, first_error_line, report_site
from orchestration.resources import WarehouseResource


def test_site_asset_follows_marts_scores_alerts_and_sync() -> None:
    from orchestration.definitions import defs  # the whole code location: loaded by this test only

    graph = defs.resolve_asset_graph()
    parents = graph.get(AssetKey(["reports", "site"])).parent_keys
    syncs = {k for k in graph.executable_asset_keys if k.path[0] == "reverse_etl"}
    assert len(syncs) == 4  # Salesforce accounts and tasks, Slack, Teams
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
    log_file = build_log_file(warehouse)
    # The first error line of the build (not Evidence's closing advice), and where the whole log is.
    assert failure.description.startswith("report build failed (exit 1): snapshot-warehouse: ")
    assert "lacks tables the reports read: marts.health_scores" in failure.description
    assert failure.description.endswith(f"(full log: {log_file})")
    assert "lacks tables the reports read: marts.health_scores" in log_file.read_text()


# What Evidence printed when a page query failed: the reason comes three lines before the end, and the
# last line is Evidence's advice to preview the build.
EVIDENCE_QUERY_FAILURE = """\
[INFO]:  Enabling strict mode
  accounts ✔ Finished, wrote 184 rows.
Warning: Column "closed_at" (type Date) contains only null values so it has been cast to Float64
reports: build FAILED, page queries with errors:
realised | Error in Query!
Error: could not load source table "warehouse"."realised_performance": ENOENT: no such file
--

Run npm run preview to preview your production build locally.
"""


def test_the_first_error_line_is_the_reason() -> None:
    assert first_error_line(EVIDENCE_QUERY_FAILURE) == (
        'realised | Error in Query! Error: could not load source table "warehouse"."realised_performance": '
        "ENOENT: no such file"
    )
    assert first_error_line("all good\nthen the end") == "then the end"
    assert first_error_line("") == "no output"
