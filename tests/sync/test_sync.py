"""Reverse ETL against the emulators: exact field values, change-only sends, per-record errors
retried, no duplicate Tasks, the gate, and the alert lifecycle."""

from __future__ import annotations

import math
from dataclasses import replace

import duckdb
import pytest

from alerts import lifecycle
from core.clock import require_as_of_date
from core.config import ConfigError
from reverse_etl import records, sync
from tests.sync.conftest import SyncWorld


def _runs(world: SyncWorld, **kwargs: object) -> dict[str, sync.state.SyncRun]:
    with world.connect() as con:
        return {r.destination: r for r in sync.sync_all(con, world.cfg, echo=lambda _line: None, **kwargs)}


def _sf_accounts(world: SyncWorld) -> dict[str, dict]:
    store = world.emulator.store()
    try:
        rows = store.conn.execute(
            "SELECT Id, Copilot_Health_Score__c, Copilot_Health_Tier__c, Copilot_Churn_Risk__c, "
            "Copilot_Risk_Drivers__c, Copilot_Expansion_Score__c FROM sf_account"
        ).fetchall()
    finally:
        store.conn.close()
    return {r[0]: r for r in rows}


def _copilot_tasks(world: SyncWorld) -> list[tuple]:
    store = world.emulator.store()
    try:
        return store.conn.execute(
            "SELECT Copilot_Alert_Id__c, WhatId, OwnerId, Description FROM sf_task "
            "WHERE Copilot_Alert_Id__c IS NOT NULL AND COALESCE(IsDeleted, 0) = 0"
        ).fetchall()
    finally:
        store.conn.close()


def test_first_sync_writes_exact_values_and_a_rerun_sends_nothing(sync_world: SyncWorld) -> None:
    runs = _runs(sync_world)
    with sync_world.connect() as con:
        expected = records.accounts(con)
        live = con.execute("SELECT count(*) FROM alerts.alerts WHERE status IN ('open', 'sent')").fetchone()[0]
        accounts = con.execute("SELECT count(*) FROM marts.customer_360").fetchone()[0]
    assert runs["salesforce_account"].status == "ok"
    assert runs["salesforce_account"].succeeded == len(expected) == accounts
    assert runs["salesforce_account"].api == "composite"
    stored = _sf_accounts(sync_world)
    for record in expected:
        row = stored[record.key]
        v = record.values
        assert row[1] == v["Copilot_Health_Score__c"]
        assert row[2] == v["Copilot_Health_Tier__c"]
        # (an account that gave notice has no churn risk: its CRM field stays empty)
        assert row[3] is v["Copilot_Churn_Risk__c"] is None or math.isclose(row[3], v["Copilot_Churn_Risk__c"])
        assert row[4] == v["Copilot_Risk_Drivers__c"]
        assert math.isclose(row[5], v["Copilot_Expansion_Score__c"])
    tasks = _copilot_tasks(sync_world)
    assert len(tasks) == live > 0
    assert len({t[0] for t in tasks}) == len(tasks)
    with sync_world.connect() as con:
        assert con.execute("SELECT count(*) FROM alerts.alerts WHERE status = 'open'").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM alerts.alerts WHERE salesforce_task_id IS NULL").fetchone()[0] == 0
    high = runs["slack"].succeeded
    assert high > 0 and runs["slack"].failed == 0
    messages = sync_world.emulator.admin_call("GET", "slack/messages")
    channels = {m["channel"] for m in (messages["messages"] if isinstance(messages, dict) else messages)}
    assert any(c.startswith("CU") for c in channels)  # a CSM's own channel

    sync_world.reset_requests()
    again = _runs(sync_world)
    assert all(r.changed == 0 and r.sent == 0 for r in again.values())
    assert sync_world.writes() == 0
    assert len(_copilot_tasks(sync_world)) == len(tasks)


def test_only_changed_accounts_are_sent(sync_world: SyncWorld) -> None:
    _runs(sync_world)
    with sync_world.connect() as con:
        changed = [r[0] for r in con.execute("SELECT account_id FROM ml.account_scores_latest LIMIT 3").fetchall()]
        con.execute(
            "UPDATE ml.account_scores_latest SET churn_probability = 0.987, scored_at = TIMESTAMP '2026-11-02 06:00' "
            f"WHERE account_id IN {tuple(changed)}"
        )
        # a rescoring that changes no number is not a change
        con.execute("UPDATE ml.account_scores_latest SET scored_at = TIMESTAMP '2026-11-02 06:00'")
    sync_world.reset_requests()
    runs = _runs(sync_world)
    assert runs["salesforce_account"].changed == runs["salesforce_account"].succeeded == 3
    assert {a: _sf_accounts(sync_world)[a][3] for a in changed} == {a: 98.7 for a in changed}


def test_record_errors_are_logged_and_retried(sync_world: SyncWorld) -> None:
    sync_world.emulator.admin_call(
        "POST",
        "faults",
        json={
            "system": "salesforce",
            "endpoint": "composite_upsert",
            "kind": "write_error",
            "fraction": 0.1,
            "count": 1,
            "message": "validation rule says no",
        },
    )
    first = _runs(sync_world)["salesforce_account"]
    assert first.status == "partial" and first.failed > 0
    with sync_world.connect() as con:
        errors = con.execute(
            "SELECT count(*), min(error) FROM reverse_etl.sync_errors WHERE run_id = ?", [first.run_id]
        ).fetchone()
    assert errors[0] == first.failed and "validation rule says no" in errors[1]
    second = _runs(sync_world)["salesforce_account"]
    assert second.changed == second.succeeded == first.failed and second.status == "ok"


def test_tasks_never_duplicated_after_a_crash(sync_world: SyncWorld) -> None:
    # every Task call fails with 503 beyond the retries: the run stops cleanly
    sync_world.emulator.admin_call(
        "POST",
        "faults",
        json={
            "system": "salesforce",
            "endpoint": "composite_upsert",
            "object": "Task",
            "kind": "server_error",
            "status": 503,
            "count": 3,
        },
    )
    crashed = _runs(sync_world)["salesforce_task"]
    assert crashed.status == "failed" and "stopped after 0" in crashed.message
    resumed = _runs(sync_world)["salesforce_task"]
    assert resumed.status == "ok" and resumed.succeeded == resumed.changed > 0
    # a lost state (as after a crash between the write and the bookkeeping) resends: still one Task each
    with sync_world.connect() as con:
        con.execute("DELETE FROM reverse_etl.sync_state WHERE destination = 'salesforce_task'")
    _runs(sync_world)
    tasks = _copilot_tasks(sync_world)
    assert len(tasks) == len({t[0] for t in tasks}) == resumed.succeeded


def test_broken_scores_trip_the_gate_and_nothing_is_sent(sync_world: SyncWorld) -> None:
    with sync_world.connect() as con:
        con.execute(
            "UPDATE ml.account_scores_latest SET churn_probability = 1.5 WHERE account_id IN "
            "(SELECT account_id FROM ml.account_scores_latest LIMIT 5)"
        )
    sync_world.reset_requests()
    runs = _runs(sync_world)
    assert {r.status for r in runs.values()} == {"blocked"}
    assert "scores_valid" in runs["salesforce_account"].message
    assert sync_world.writes() == 0
    with sync_world.connect() as con:
        logged = con.execute("SELECT count(*) FROM reverse_etl.sync_runs WHERE status = 'blocked'").fetchone()[0]
    assert logged == 3


def test_a_jump_in_the_red_share_since_the_last_run_blocks_the_push(sync_world: SyncWorld) -> None:
    assert {r.status for r in _runs(sync_world).values()} <= {"ok", "partial"}
    with sync_world.connect() as con:
        (before,) = con.execute("SELECT avg(CASE WHEN health_tier = 'Red' THEN 1.0 ELSE 0 END) FROM marts.customer_360"
                                ).fetchone()  # fmt: skip
        con.execute(
            "UPDATE marts.customer_360 SET health_tier = 'Red' WHERE account_id IN "
            "(SELECT account_id FROM marts.customer_360 WHERE health_tier <> 'Red' ORDER BY account_id LIMIT 40)"
        )
    sync_world.reset_requests()
    runs = _runs(sync_world)
    assert {r.status for r in runs.values()} == {"blocked"}
    assert "red_share_stable" in runs["salesforce_account"].message
    assert sync_world.writes() == 0
    with sync_world.connect() as con:
        (after,) = con.execute("SELECT red_share FROM reverse_etl.gate_results WHERE red_share IS NOT NULL "
                               "ORDER BY checked_at DESC LIMIT 1").fetchone()  # fmt: skip
    assert after - float(before) > sync_world.cfg.max_red_share_change


def test_a_run_evaluates_the_gate_once_and_its_syncs_read_it(sync_world: SyncWorld) -> None:
    with sync_world.connect() as con:
        first = sync.gate_for_run(con, sync_world.cfg, "run-1")
        # The data changes after the run's gate (a Red share jump): the run's syncs still read its gate,
        # which compared the Red share with an earlier run's, not with itself.
        con.execute("UPDATE marts.customer_360 SET health_tier = 'Red'")
        again = sync.gate_for_run(con, sync_world.cfg, "run-1")
        evaluations = con.execute(
            "SELECT count(DISTINCT checked_at) FROM reverse_etl.gate_results WHERE run_id = 'run-1'"
        ).fetchone()[0]
        next_run = sync.gate_for_run(con, sync_world.cfg, "run-2")
    assert first.passed and again.passed and evaluations == 1
    assert [(c.check, c.success) for c in again.checks] == [(c.check, c.success) for c in first.checks]
    assert not next_run.passed and not next_run.by_check("red_share_stable").success


def test_dry_run_prints_and_sends_nothing(sync_world: SyncWorld) -> None:
    lines: list[str] = []
    with sync_world.connect() as con:
        runs = sync.sync_all(con, sync_world.cfg, dry_run=True, echo=lines.append)
    assert sync_world.writes() == 0
    assert all(r.dry_run and r.sent == 0 for r in runs)
    assert len(lines) == sum(r.changed for r in runs) > 0


def test_bulk_above_the_threshold(sync_world: SyncWorld) -> None:
    sync_world.cfg = replace(sync_world.cfg, bulk_threshold=50)
    run = _runs(sync_world)["salesforce_account"]
    assert run.api == "bulk" and run.status == "ok"
    requests = sync_world.emulator.admin_call("GET", "requests")["requests"]
    assert sum(r["count"] for r in requests if r["endpoint"] == "bulk_create_job") == 2  # accounts, tasks


def test_a_bulk_job_that_fails_is_logged_per_record(sync_world: SyncWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """A field Salesforce does not know fails the whole Bulk job (as Salesforce does): every record is
    logged with the job's reason, keeps its old hash, and the run says so in one line."""
    sync_world.cfg = replace(sync_world.cfg, bulk_threshold=50)
    real = records.accounts

    def with_unknown_field(con: duckdb.DuckDBPyConnection) -> list[records.Record]:
        return [records.Record(r.key, {**r.values, "Copilot_Typo__c": 1}, r.digest) for r in real(con)]

    monkeypatch.setattr(records, "accounts", with_unknown_field)
    with sync_world.connect() as con:
        run = sync.sync(con, "salesforce_account", sync_world.cfg, echo=lambda _line: None)
        errors = con.execute(
            "SELECT count(DISTINCT record_key), min(error) FROM reverse_etl.sync_errors WHERE run_id = ?", [run.run_id]
        ).fetchone()
        logged = con.execute(
            "SELECT status, message FROM reverse_etl.sync_runs WHERE run_id = ?", [run.run_id]
        ).fetchone()
        delivered = con.execute(
            "SELECT count(*) FROM reverse_etl.sync_state WHERE destination = 'salesforce_account'"
        ).fetchone()[0]
    assert (run.api, run.status, run.failed, run.succeeded) == ("bulk", "failed", run.changed, 0)
    assert errors[0] == run.changed and "Copilot_Typo__c" in errors[1]
    assert logged == ("failed", run.message) and "\n" not in run.line() and "Copilot_Typo__c" in run.message
    assert delivered == 0
    monkeypatch.setattr(records, "accounts", real)
    with sync_world.connect() as con:
        again = sync.sync(con, "salesforce_account", sync_world.cfg, echo=lambda _line: None)
    assert (again.status, again.succeeded) == ("ok", run.changed)


# --- alert lifecycle ---------------------------------------------------------------------------


@pytest.fixture
def alerts_con(sync_world: SyncWorld):
    with sync_world.connect() as con:
        yield con


def _close(con: duckdb.DuckDBPyConnection, rule_id: str, outcome: str, n: int) -> list[str]:
    """As if CSMs completed the Tasks of n alerts of a rule (the ingested Task table)."""
    ids = [
        r[0]
        for r in con.execute(
            "SELECT alert_id FROM alerts.alerts WHERE rule_id = ? ORDER BY alert_id LIMIT ?", [rule_id, n]
        ).fetchall()
    ]
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = 'stg_salesforce__tasks'"
    ).fetchone()[0]
    if kind == "VIEW":  # staging is a view over raw: make it a table the test can add Tasks to
        con.execute("CREATE TABLE staging.tasks_copy AS SELECT * FROM staging.stg_salesforce__tasks")
        con.execute("DROP VIEW staging.stg_salesforce__tasks")
        con.execute("ALTER TABLE staging.tasks_copy RENAME TO stg_salesforce__tasks")
    for alert_id in ids:
        con.execute(
            "INSERT INTO staging.stg_salesforce__tasks (task_id, account_id, status, copilot_alert_id, "
            "copilot_outcome, system_modstamp_at) SELECT 'T' || substr(alert_id, 5, 14), account_id, 'Completed', "
            "alert_id, ?, "
            "CAST(opened_on AS TIMESTAMP) + INTERVAL 1 DAY FROM alerts.alerts WHERE alert_id = ?",
            [outcome, alert_id],
        )
    return ids


def test_lifecycle_updates_not_duplicates_and_cools_down(alerts_con: duckdb.DuckDBPyConnection) -> None:
    con = alerts_con
    before = con.execute("SELECT count(*) FROM alerts.alerts").fetchone()[0]
    rerun = lifecycle.evaluate(con, require_as_of_date(con))
    assert rerun.opened == 0 and rerun.updated == before
    assert con.execute("SELECT count(*) FROM alerts.alerts").fetchone()[0] == before
    rule = con.execute("SELECT rule_id FROM alerts.alerts GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    closed = _close(con, rule, "False alarm", 2)
    evaluation = lifecycle.evaluate(con, require_as_of_date(con))
    assert evaluation.closed_by_feedback == 2 and evaluation.suppressed == 2 and evaluation.opened == 0
    status = con.execute(
        f"SELECT DISTINCT status, outcome FROM alerts.alerts WHERE alert_id IN {tuple(closed)}"
    ).fetchall()
    assert status == [("closed", "False alarm")]


def test_outcomes_give_precision_and_mute(alerts_con: duckdb.DuckDBPyConnection) -> None:
    con = alerts_con
    rule = con.execute("SELECT rule_id FROM alerts.alerts GROUP BY 1 HAVING count(*) >= 4 LIMIT 1").fetchone()[0]
    ids = _close(con, rule, "False alarm", 4)
    con.execute(
        "UPDATE staging.stg_salesforce__tasks SET copilot_outcome = 'Confirmed risk' WHERE copilot_alert_id = ?",
        [ids[0]],
    )
    con.execute("UPDATE config.alert_settings SET value = '4' WHERE setting = 'min_closed_for_precision'")
    con.execute("UPDATE alerts.alert_rule_config SET mute_below_floor = true WHERE rule_id = ?", [rule])
    lifecycle.evaluate(con, require_as_of_date(con))
    row = con.execute(
        "SELECT alerts_closed, confirmed, false_alarm, precision, below_floor, muted FROM alerts.rule_precision "
        "WHERE rule_id = ?",
        [rule],
    ).fetchone()
    assert row == (4, 1, 3, 0.25, True, True)


def _next_day(con: duckdb.DuckDBPyConnection) -> None:
    """The data clock and the day's alert candidates one day on, as the next day's dbt build leaves them."""
    con.execute("UPDATE marts.data_clock SET as_of_date = as_of_date + 1")
    con.execute("UPDATE alerts.alert_candidates SET fired_on = fired_on + 1")


def test_already_known_stops_repeats_until_the_condition_clears(alerts_con: duckdb.DuckDBPyConnection) -> None:
    con = alerts_con
    rule = con.execute("SELECT rule_id FROM alerts.alerts LIMIT 1").fetchone()[0]
    (alert_id,) = _close(con, rule, "Already known", 1)
    con.execute("UPDATE alerts.alert_rule_config SET cooldown_days = 0")
    lifecycle.evaluate(con, require_as_of_date(con))
    account = con.execute("SELECT account_id FROM alerts.alerts WHERE alert_id = ?", [alert_id]).fetchone()[0]
    live = "SELECT count(*) FROM alerts.alerts WHERE account_id = ? AND rule_id = ? AND status <> 'closed'"
    assert con.execute(live, [account, rule]).fetchone()[0] == 0
    # the next day the condition has cleared (no candidate), the day after it is back: a new alert
    con.execute(
        "CREATE TEMP TABLE gone AS SELECT * FROM alerts.alert_candidates WHERE account_id = ? AND rule_id = ?",
        [account, rule],
    )
    con.execute("DELETE FROM alerts.alert_candidates WHERE account_id = ? AND rule_id = ?", [account, rule])
    _next_day(con)
    lifecycle.evaluate(con, require_as_of_date(con))
    assert con.execute(live, [account, rule]).fetchone()[0] == 0
    _next_day(con)
    con.execute("INSERT INTO alerts.alert_candidates SELECT * REPLACE (fired_on + 2 AS fired_on) FROM gone")
    lifecycle.evaluate(con, require_as_of_date(con))
    assert con.execute(live, [account, rule]).fetchone()[0] == 1


def test_a_notice_raises_one_save_play_for_the_csm_and_no_churn_alert(alerts_con: duckdb.DuckDBPyConnection) -> None:
    """Every account that gave notice (and whose subscription has not ended) gets one high-severity
    save play owned by its CSM, with the notice day and the end in words; nobody else gets one; the
    churn rules leave those accounts out; the next days update it, and once the CSM closes it the
    same notice does not raise it again."""
    con = alerts_con
    as_of = require_as_of_date(con)
    noticed = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT c.account_id, c.notice_given_on, c.notice_ends_on, coalesce(c.csm_user_id, ?) "
            "FROM marts.customer_360 AS c WHERE c.lifecycle_state = 'notice_given' AND c.notice_ends_on >= ?",
            [lifecycle.default_owner()[0], as_of],
        ).fetchall()
    }
    assert noticed and len(noticed) < con.execute("SELECT count(*) FROM marts.customer_360").fetchone()[0] / 2
    plays = (
        "SELECT account_id, severity, owner_user_id, message, status FROM alerts.alerts "
        "WHERE rule_id = 'notice_save_play'"
    )
    alerts = con.execute(plays).fetchall()
    assert sorted(a[0] for a in alerts) == sorted(noticed)
    for account, severity, owner, message, status in alerts:
        given_on, ends_on, csm = noticed[account]
        assert (severity, owner, status) == ("high", csm, "open")
        left = (ends_on - as_of).days
        assert message == f"Customer gave notice on {given_on}, contract ends {ends_on} ({left} days left): save play"
    churn = con.execute(
        "SELECT count(*) FROM alerts.alert_candidates WHERE rule_type IN ('churn_risk_high', 'churn_risk_jump')"
    ).fetchone()[0]
    assert churn > 0
    assert con.execute(
        "SELECT count(*) FROM alerts.alert_candidates AS a JOIN marts.customer_360 AS c USING (account_id) "
        "WHERE a.rule_type IN ('churn_risk_high', 'churn_risk_jump') AND c.lifecycle_state = 'notice_given'"
    ).fetchone() == (0,)

    _next_day(con)
    lifecycle.evaluate(con, require_as_of_date(con))
    assert len(con.execute(plays).fetchall()) == len(noticed)
    _close(con, "notice_save_play", "Confirmed risk", len(noticed))
    for _ in range(2):
        _next_day(con)
        evaluation = lifecycle.evaluate(con, require_as_of_date(con))
    assert evaluation.opened == 0
    after = con.execute(plays).fetchall()
    assert len(after) == len(noticed) and {a[4] for a in after} == {"closed"}


def test_an_account_that_gave_notice_shows_the_notice_in_the_crm_not_a_churn_risk(sync_world: SyncWorld) -> None:
    """The CRM's churn risk is a prediction: an account that announced its churn gets none (the field is
    emptied), and its risk drivers open with the notice, the contract's end and the save play; every
    other scored account gets its probability in percent."""
    with sync_world.connect() as con:
        noticed = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT account_id, notice_given_on, notice_ends_on FROM marts.customer_360 "
                "WHERE lifecycle_state = 'notice_given'"
            ).fetchall()
        }
        probability = dict(con.execute("SELECT account_id, churn_probability FROM ml.account_scores_latest").fetchall())
        expected = {r.key: r.values for r in records.accounts(con)}
    assert 0 < len(noticed) < len(expected) / 2
    assert all(probability.get(a) is not None for a in noticed)  # the model scored them: the CRM leaves it out
    for account, values in expected.items():
        if account in noticed:
            given_on, ends_on = noticed[account]
            assert values["Copilot_Churn_Risk__c"] is None
            first = values["Copilot_Risk_Drivers__c"].split("\n")[0]
            assert first == (
                f"Notice given on {given_on}, contract ends {ends_on}: save play (announced churn, no churn risk)"
            )
        elif account in probability:
            assert values["Copilot_Churn_Risk__c"] == round(100 * probability[account], 1)
            assert not values["Copilot_Risk_Drivers__c"].startswith("Notice given")
    # a churn risk written before the notice is emptied in the CRM by the next sync
    account = sorted(noticed)[0]
    store = sync_world.emulator.store()
    try:
        store.conn.execute("UPDATE sf_account SET Copilot_Churn_Risk__c = 87.5 WHERE Id = ?", [account])
        store.conn.commit()
    finally:
        store.conn.close()
    assert _runs(sync_world)["salesforce_account"].status == "ok"
    stored = _sf_accounts(sync_world)
    assert {a: stored[a][3] for a in noticed} == dict.fromkeys(noticed)
    assert stored[account][4].startswith(f"Notice given on {noticed[account][0]}")


def test_churn_risk_high_fires_on_the_high_tier_of_the_base_rate(alerts_con: duckdb.DuckDBPyConnection) -> None:
    """The shipped churn_risk_high rule (threshold 5: five times the churn model's base rate) fires on
    exactly the accounts scored in the High tier, never on one that gave notice, and says the
    probability, its multiple of the base rate and the base rate."""
    con = alerts_con
    threshold, template = con.execute(
        "SELECT threshold, message_template FROM alerts.alert_rule_config WHERE rule_id = 'churn_risk_high'"
    ).fetchone()
    assert threshold == 5
    high = {
        a: (p, rate)
        for a, p, rate in con.execute(
            "SELECT s.account_id, s.churn_probability, s.churn_base_rate FROM ml.account_scores_latest AS s "
            "JOIN marts.customer_360 AS c USING (account_id) WHERE s.churn_risk_tier = 'High'"
        ).fetchall()
    }
    fired = dict(
        con.execute(
            "SELECT account_id, message FROM alerts.alert_candidates WHERE rule_id = 'churn_risk_high'"
        ).fetchall()
    )
    assert fired and set(fired) == set(high)
    # an absolute 0.5 would have fired on accounts below the High tier
    below = con.execute(
        "SELECT count(*) FROM ml.account_scores_latest WHERE churn_probability >= 0.5 AND churn_risk_tier <> 'High'"
    ).fetchone()[0]
    assert below > 0
    driver = dict(con.execute("SELECT account_id, driver_1 FROM ml.account_scores_latest").fetchall())
    for account, message in fired.items():
        p, rate = high[account]
        assert message == (
            f"Churn risk {math.floor(100 * p + 0.5)} % ({round(p / rate, 1)} x the base rate of "
            f"{round(100 * rate, 1)} %; alert at 5 x): {driver[account]}"
        ), template


def test_alerts_of_an_account_without_a_csm_go_to_the_configured_owner(
    alerts_con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback owner is a deployment's setting ([alerts] in .dlt/config.toml), not a seed row."""
    con = alerts_con
    as_of = require_as_of_date(con)
    orphan = con.execute(
        "SELECT account_id FROM alerts.alert_candidates WHERE owner_user_id IS NULL ORDER BY account_id LIMIT 1"
    ).fetchone()
    if orphan is None:  # every account has a CSM in this world: make one an orphan
        orphan = con.execute("SELECT account_id FROM alerts.alert_candidates ORDER BY account_id LIMIT 1").fetchone()
        con.execute("UPDATE alerts.alert_candidates SET owner_user_id = NULL, owner_name = NULL WHERE account_id = ?",
                    [orphan[0]])  # fmt: skip
    monkeypatch.setenv("ALERTS__DEFAULT_OWNER_USER_ID", "005000000000042AAA")
    monkeypatch.setenv("ALERTS__DEFAULT_OWNER_NAME", "VP Customer Success")
    lifecycle.evaluate(con, as_of)
    owners = con.execute(
        "SELECT DISTINCT owner_user_id, owner_name FROM alerts.alerts WHERE account_id = ? AND status = 'open'",
        [orphan[0]],
    ).fetchall()
    assert owners == [("005000000000042AAA", "VP Customer Success")]
    monkeypatch.setenv("ALERTS__DEFAULT_OWNER_USER_ID", "sandbox-user")
    with pytest.raises(ConfigError, match=r"^`alerts.default_owner_user_id` = 'sandbox-user' is not a Salesforce"):
        lifecycle.evaluate(con, as_of)
