"""Ingestion end to end against the emulators on an S world: Dagster assets load every source, raw
tables equal the world record for record, a rerun loads nothing, an `advance` brings exactly what
changed. Runs in order (module-scoped world and warehouse)."""

from __future__ import annotations

import os

import duckdb
import pytest
from dagster import materialize

from dlt_pipelines import runner
from orchestration.resources import WarehouseResource
from tests.ingestion.conftest import Live, sandbox
from tests.ingestion.ingest_compare import counts, differences

EXPECTED_KEYS = {
    "raw_salesforce/user", "raw_salesforce/account", "raw_salesforce/contact", "raw_salesforce/opportunity",
    "raw_salesforce/task", "raw_zendesk/organizations", "raw_zendesk/users", "raw_zendesk/tickets",
    "raw_zendesk/ticket_metrics", "raw_zendesk/satisfaction_ratings", "raw_stripe/customers",
    "raw_stripe/subscriptions", "raw_stripe/invoices", "raw_stripe/events", "raw_product/events",
}  # fmt: skip


def test_definitions_declare_every_raw_table_with_checks_and_schedule() -> None:
    from orchestration.definitions import defs

    graph = defs.get_repository_def().asset_graph
    raw_keys = {k.to_user_string() for k in graph.get_all_asset_keys() if k.path[0].startswith("raw_")}
    # Beside the loaders' tables: the copy of what CSMs recorded in the Copilot API (api/, no source to check).
    assert raw_keys == EXPECTED_KEYS | {"raw_copilot_app/alert_feedback"}
    checked = {k.asset_key.to_user_string() for k in graph.asset_check_keys}
    assert checked >= EXPECTED_KEYS
    schedule = defs.get_schedule_def("daily_run_schedule")
    assert schedule.default_status.value == "STOPPED"
    assert defs.get_sensor_def("notify_slack_on_failure") is not None


def test_first_load_through_dagster_equals_the_world(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration.defs import ingest

    # A first load at scale is normalized in worker processes (runner.NORMALIZE_IN_WORKERS_ROWS); this
    # world is small, so the bar is lowered for the API sources' first load to take that path.
    workers: dict[str, int] = {}
    choose = runner._normalize_workers

    def recorded(extracted: object) -> int:
        workers[extracted.pipeline.pipeline_name] = chosen = choose(extracted)  # type: ignore[attr-defined]
        return chosen

    monkeypatch.setattr(runner, "NORMALIZE_IN_WORKERS_ROWS", 1_000)
    monkeypatch.setattr(runner, "_normalize_workers", recorded)
    result = materialize(
        list(ingest.definitions().assets), resources={"warehouse": WarehouseResource(path=str(live.warehouse))}
    )
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations), [
        (e.asset_key.to_user_string(), e.check_name, e.metadata) for e in evaluations if not e.passed
    ]
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()
                    for m in [m.event_specific_data.materialization]}  # fmt: skip
    assert materialized == EXPECTED_KEYS
    assert differences(live.warehouse, live.emulator.world) == {}
    in_workers = max(1, min(os.cpu_count() or 1, runner.MAX_NORMALIZE_WORKERS))
    # Product events arrive as Arrow tables, and so do Salesforce's records and Stripe's events and
    # invoices (they fit their contracts exactly, `contracts.arrow_batch`): what is left to normalize
    # row by row is too little for workers. Zendesk's tickets (lists: child tables) are not.
    assert workers == {
        "copilot_salesforce": 1, "copilot_zendesk": in_workers, "copilot_stripe": 1,
        "copilot_product_events": 1,
    }  # fmt: skip
    with duckdb.connect(str(live.warehouse), read_only=True) as con:
        stored = con.execute(
            "SELECT count(DISTINCT table_name), bool_and(success) FROM raw_quality.check_results"
        ).fetchone()
    assert stored == (len(EXPECTED_KEYS) - 1, True)  # events of Stripe and product share a name


def _loads(warehouse: object) -> dict[str, int]:
    """Load packages each raw dataset has received (dlt's `_dlt_loads`)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        datasets = [d for (d,) in con.execute("SELECT DISTINCT table_schema FROM information_schema.tables "
                                              "WHERE table_name = '_dlt_loads'").fetchall()]  # fmt: skip
        return {d: con.execute(f'SELECT count(*) FROM "{d}"._dlt_loads').fetchone()[0] for d in datasets}


def test_second_run_loads_nothing(live: Live) -> None:
    before, loads = counts(live.warehouse), _loads(live.warehouse)
    reports = runner.run_all(warehouse=live.warehouse)
    assert {r.source: r.rows_loaded for r in reports} == {r.source: 0 for r in reports}
    assert counts(live.warehouse) == before
    # Nothing new is no work: no load package normalized or loaded (the next test's day still loads
    # exactly what changed, so the cursors were kept).
    assert {r.source: r.load_ids for r in reports} == {r.source: [] for r in reports}
    assert _loads(live.warehouse) == loads


def test_advance_one_day_brings_exactly_the_new_and_changed_records(live: Live) -> None:
    before = counts(live.warehouse)
    sandbox(live.data_dir, "advance", "--days", "1")
    reports = {r.source: r for r in runner.run_all(warehouse=live.warehouse)}
    assert differences(live.warehouse, live.emulator.world) == {}
    after = counts(live.warehouse)
    assert after["raw_product.events"] > before["raw_product.events"]
    assert reports["product_events"].tables["events"].rows_loaded == (
        after["raw_product.events"] - before["raw_product.events"]
    )
    # Only changed records travel: far fewer than a full reload.
    for source in ("salesforce", "zendesk", "stripe"):
        assert 0 < reports[source].rows_loaded < sum(v for k, v in before.items() if k.startswith(f"raw_{source}"))
    # And the day after, nothing again.
    assert sum(r.rows_loaded for r in runner.run_all(warehouse=live.warehouse)) == 0


@pytest.mark.parametrize("source", ["zendesk"])
def test_switched_off_source_is_skipped_and_has_no_assets(live: Live, source: str) -> None:
    live.monkeypatch.setenv(f"SOURCES__{source.upper()}__ENABLED", "false")
    try:
        from orchestration.defs import ingest

        report = runner.run_source(source, live.warehouse)
        assert report.skipped and "switched off" in report.lines()[0]
        keys = {k.to_user_string() for a in ingest.definitions().assets for k in a.keys}
        assert keys == {k for k in EXPECTED_KEYS if not k.startswith(f"raw_{source}/")}
        others = runner.run_all([s for s in ("salesforce", "stripe") if s != source], warehouse=live.warehouse)
        assert all(not r.skipped for r in others)
    finally:
        live.monkeypatch.delenv(f"SOURCES__{source.upper()}__ENABLED")
