"""The daily job from an empty warehouse to Salesforce and Slack, then again on the same input, then
on the next day with some records drifting or broken."""

from __future__ import annotations

import json
import math
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from core.clock import AS_OF_DATE_TAG
from tests.end_to_end.conftest import CleanRun, FollowingRun
from tests.end_to_end.harness import Deployment, query, table_checksums

ACTIVE = "SELECT account_id FROM marts.customer_360 WHERE subscription_status IN ('active', 'past_due', 'trialing')"


def marts_build_outcomes(warehouse: Path) -> list[dict]:
    """The data test outcomes of the marts' latest build (ops.dbt_builds records every step's builds)."""
    latest = "SELECT checks FROM ops.dbt_builds WHERE step = 'copilot_dbt_assets' ORDER BY started_at DESC LIMIT 1"
    return json.loads(query(warehouse, latest)[0][0])


def test_clean_run_reaches_every_active_account_in_salesforce(clean_run: CleanRun) -> None:
    warehouse = clean_run.warehouse
    active = {a for (a,) in query(warehouse, ACTIVE)}
    scored = {a for (a,) in query(warehouse, "SELECT account_id FROM ml.account_scores_latest")}
    assert len(active) > 150 and scored == active
    crm = clean_run.crm
    assert {a for a, values in crm.accounts.items() if values[0] is not None} == active
    live = {a for (a,) in query(warehouse, "SELECT alert_id FROM alerts.alerts WHERE status <> 'closed'")}
    assert live and set(crm.tasks) == live
    assert set(crm.tasks_per_alert.values()) == {1}
    # The first sync of ~180 accounts: one composite call for the Accounts.
    (sent,) = query(
        warehouse, "SELECT sum(rows_sent) FROM reverse_etl.sync_runs WHERE destination = 'salesforce_account'"
    )
    assert sent[0] == len(active)


def test_same_input_twice_changes_nothing_and_writes_nothing(clean_run: CleanRun, second_run: FollowingRun) -> None:
    warehouse = clean_run.deployment.warehouse
    marts_after = table_checksums(warehouse, ("marts",))
    assert marts_after == {t: v for t, v in clean_run.checksums.items() if t.startswith("marts.")}
    assert second_run.requests["by_system"]["salesforce"]["writes"] == 0
    assert second_run.requests["by_system"].get("slack", {}).get("writes", 0) == 0
    assert second_run.crm == second_run.crm_before


def test_models_materialize_only_in_the_runs_that_train_them(clean_run: CleanRun, second_run: FollowingRun) -> None:
    """The first run trains both models, then scores with them; the same day again trains nothing and
    records no model materialization, and still scores."""
    deployment = clean_run.deployment
    first = [key for key in deployment.materialized(clean_run.run) if key.startswith("ml/")]
    assert first == ["ml/churn_model", "ml/expansion_model", "ml/account_scores"]
    again = [key for key in deployment.materialized(second_run.run) if key.startswith("ml/")]
    assert again == ["ml/account_scores"]
    assert "churn model not due as of" in second_run.run.output


def test_the_run_after_a_sync_builds_only_what_reads_the_crm_tasks(
    clean_run: CleanRun, second_run: FollowingRun
) -> None:
    """The second run loads back what the first run's sync wrote to the CRM: the Copilot fields on the
    Accounts (their modstamps moved) and the Tasks. Of what the models read, only the Tasks are new:
    dbt builds what reads them, and the marts later steps read are reported unchanged."""
    deployment = clean_run.deployment
    loaded = re.search(r"salesforce: ([\d,]+) rows into raw_salesforce", second_run.run.output)
    scored = [a for a, values in clean_run.crm.accounts.items() if values[0] is not None]
    assert loaded and int(loaded[1].replace(",", "")) >= len(scored)  # the Accounts it scored came back
    assert (
        f"dbt: since run {clean_run.run.run_id} only source:raw_salesforce.task changed: building what reads them"
        in second_run.run.output
    )
    made, tested = deployment.step_results(second_run.run, "copilot_dbt_assets")
    built = {asset for asset, meta in made.items() if not meta.get("unchanged")}
    assert built == {"staging/stg_salesforce__tasks", "staging/stg_crm__tasks"}
    assert tested and {asset for asset, _ in tested} <= built
    kept = {asset: meta for asset, meta in made.items() if meta.get("unchanged")}
    assert {"marts/customer_360", "marts/health_scores", "marts/ml_account_snapshots"} <= set(kept)
    assert all(meta["built_by_run"] == clean_run.run.run_id for meta in kept.values())
    # The build's row keeps the first build's test outcomes beside the ones it ran again.
    _, first_tested = deployment.step_results(clean_run.run, "copilot_dbt_assets")
    recorded = {(o["asset"], o["check"]): o["passed"] for o in marts_build_outcomes(deployment.warehouse)}
    assert recorded == {**first_tested, **tested} and len(first_tested) > 50


def test_nothing_new_builds_nothing_and_still_serves_the_day(
    clean_run: CleanRun, second_run: FollowingRun, third_run: FollowingRun
) -> None:
    """With nothing new in any source, dbt does not build: the marts are the earlier runs'; the models
    the later steps read report themselves unchanged, naming the last build. Nor do the scoring, the
    alert models and the outbound views, which read only the marts and each other: the scores are
    those of the second run. The alert lifecycle and the syncs run as on any day and change nothing."""
    deployment = clean_run.deployment
    warehouse = deployment.warehouse
    builds = query(warehouse, "SELECT step, run_id, status FROM ops.dbt_builds ORDER BY started_at")
    # The first run built everything, the second what reads the Tasks (and so the scores, the alert
    # models and the outbound views again, from the rebuilt marts); the third did not build.
    steps = ["copilot_dbt_assets", "account_scores", "copilot_alert_dbt_assets", "copilot_activation_dbt_assets"]
    assert [(step, status) for step, _, status in builds] == [(step, "built") for step in steps] * 2
    assert {run_id for _, run_id, _ in builds[len(steps) :]} == {second_run.run.run_id}
    assert f"dbt: nothing new since run {second_run.run.run_id} (as of " in third_run.run.output
    assert f"scores: models and marts as in run {second_run.run.run_id} (as of " in third_run.run.output
    assert third_run.run.output.count(f"dbt: nothing new since run {second_run.run.run_id}") == 3
    assert "copilot_dbt_assets - STEP_SUCCESS" in third_run.run.output
    assert table_checksums(warehouse, ("marts",)) == {
        t: v for t, v in clean_run.checksums.items() if t.startswith("marts.")
    }
    # The steps after dbt ran as on any day.
    ran = set(deployment.materialized(third_run.run))
    assert {"ml/account_scores", "alerts/alerts", "reverse_etl/salesforce_accounts", "reverse_etl/slack_alerts"} <= ran
    built, built_checks = deployment.step_results(clean_run.run, "copilot_dbt_assets")
    kept, kept_checks = deployment.step_results(third_run.run, "copilot_dbt_assets")
    read_later = {"marts/customer_360", "marts/health_scores", "marts/ml_account_snapshots", "staging/stg_crm__tasks"}
    assert read_later <= set(kept) < set(built) and len(built_checks) > 50 and not kept_checks
    assert all(m["unchanged"] and m["built_by_run"] == second_run.run.run_id for m in kept.values())
    # The outcomes of the builds' data tests are kept with the last one.
    assert len(marts_build_outcomes(warehouse)) == len(built_checks)
    # The alert models the lifecycle reads, and the scores, say they are the second run's.
    alerts_made, alert_checks = deployment.step_results(third_run.run, "copilot_alert_dbt_assets")
    assert "alerts/alert_candidates" in alerts_made and not alert_checks
    scores, _ = deployment.step_results(third_run.run, "ml_models_and_scores.account_scores")
    for made in (*alerts_made.values(), scores["ml/account_scores"]):
        assert made["unchanged"] and made["built_by_run"] == second_run.run.run_id
    assert third_run.requests["by_system"]["salesforce"]["writes"] == 0
    assert third_run.requests["by_system"].get("slack", {}).get("writes", 0) == 0
    assert third_run.crm == second_run.crm


def test_next_day_loads_only_the_new_day(clean_run: CleanRun, next_day: FollowingRun) -> None:
    deployment: Deployment = clean_run.deployment
    new_file = deployment.world / "exports" / "events" / "event_date=2026-11-01" / "events.parquet"
    (new_events,) = duckdb.sql(f"SELECT count(*) FROM read_parquet('{new_file}')").fetchone()
    (before,) = query(clean_run.warehouse, "SELECT count(*) FROM raw_product.events")[0]
    (after, distinct) = query(
        deployment.warehouse, "SELECT count(*), count(DISTINCT event_id) FROM raw_product.events"
    )[0]
    assert new_events > 0 and after == before + new_events == distinct


def test_next_day_sends_only_the_accounts_that_changed(clean_run: CleanRun, next_day: FollowingRun) -> None:
    before, after = next_day.crm_before, next_day.crm
    changed = {a for a in after.accounts if after.accounts[a] != before.accounts.get(a)}
    sent = {a for a in after.scored_at if after.scored_at[a] != before.scored_at.get(a)}
    assert changed and sent == changed
    runs = query(
        clean_run.deployment.warehouse,
        "SELECT rows_sent, rows_failed FROM reverse_etl.sync_runs WHERE destination = 'salesforce_account' "
        "ORDER BY started_at DESC LIMIT 1",
    )
    assert runs == [(len(sent), 0)]
    # Composite calls for Accounts and Tasks: a handful, never one a record.
    writes = next_day.requests["by_system"]["salesforce"]["writes"]
    assert 1 <= writes <= math.ceil(len(sent) / 200) + 2


def test_next_day_keeps_drifted_and_broken_records_as_the_contract_says(
    clean_run: CleanRun, next_day: FollowingRun, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert all(f["fired"] > 0 for f in next_day.faults), next_day.faults
    # Read a copy: the warehouse as the data-quality page's snapshot reads it.
    copy = shutil.copyfile(clean_run.deployment.warehouse, tmp_path_factory.mktemp("dq") / "warehouse.duckdb")
    drift_columns = query(
        copy, "SELECT table_schema, column_name FROM information_schema.columns WHERE column_name LIKE 'drift_field%'"
    )
    # Salesforce tables and Stripe's event feed (where the day's billing changes arrive) evolve: the
    # new field becomes a column.
    assert {("raw_salesforce", "drift_field__c"), ("raw_stripe", "drift_field")} <= set(drift_columns)
    # Broken Zendesk timestamps are put aside, per table, as the data-quality page lists them.
    quarantined = dict(query(copy, "SELECT source_table, count(*) FROM raw_zendesk.quarantine GROUP BY ALL"))
    assert quarantined and all(n > 0 for n in quarantined.values())
    assert not query(clean_run.warehouse, "SELECT * FROM information_schema.tables WHERE table_name = 'quarantine'")


def test_an_operator_rebuilds_a_past_day_with_the_as_of_date_tag(deployment: Deployment) -> None:
    """The run's as-of date is decided once (dbt's clock, here pinned by the run tag) and every layer
    uses it: the marts, the scores and the alerts all describe that day."""
    run = deployment.run(tags={AS_OF_DATE_TAG: "2026-10-15"})
    assert run.succeeded, run.tail()
    warehouse = deployment.warehouse
    assert query(warehouse, "SELECT as_of_date FROM marts.data_clock") == [(date(2026, 10, 15),)]
    assert query(warehouse, "SELECT DISTINCT as_of_date FROM marts.customer_360") == [(date(2026, 10, 15),)]
    assert query(warehouse, "SELECT DISTINCT scored_on FROM ml.account_scores") == [(date(2026, 10, 15),)]
    assert query(warehouse, "SELECT DISTINCT CAST(scored_at AS DATE) FROM ml.account_scores") == [(date(2026, 10, 15),)]
    assert query(warehouse, "SELECT DISTINCT opened_on FROM alerts.alerts") == [(date(2026, 10, 15),)]
    # The models (trained by this first run) learnt what was known that day.
    models = query(warehouse, "SELECT model_kind, as_of_date, test_end FROM ml.model_registry ORDER BY 1")
    pinned = date(2026, 10, 15)
    assert [(kind, day) for kind, day, _ in models] == [("churn", pinned), ("expansion", pinned)]
    assert all((pinned - test_end).days >= 90 for _, _, test_end in models)
