"""Writes: a CSM acknowledges, snoozes or closes an alert with an outcome; each write is audited and
reaches the next daily run like a Salesforce Task's outcome (the latest of the two wins), so the
alert lifecycle closes the alert and training weighs the verdict."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest
from dagster import materialize

from alerts import lifecycle
from api.snapshot import publish
from core.clock import require_as_of_date, utc_now
from ml.train import load_feedback
from orchestration.defs.serving import copilot_app_alert_feedback
from orchestration.resources import WarehouseResource
from tests.api.conftest import STAFF, ApiWorld, People
from tests.pipeline import dbt


def alert_of(api: ApiWorld, owner_id: str, status: str = "sent") -> tuple[str, str, str]:
    with duckdb.connect(str(api.warehouse), read_only=True) as con:
        row = con.execute(
            "SELECT a.alert_id, a.account_id, a.rule_id FROM alerts.alerts AS a JOIN marts.customer_360 AS c "
            "USING (account_id) WHERE c.csm_user_id = ? AND a.status IN ('open', 'sent') ORDER BY a.alert_id LIMIT 1",
            [owner_id],
        ).fetchone()
    assert row, f"no live alert on the accounts of {owner_id}"
    return row


@pytest.mark.parametrize("role", ["admin", "cs_ops", "manager", "csm"])
def test_writers_record_in_scope_and_get_404_outside(api: ApiWorld, people: People, token, role: str) -> None:
    email = {"admin": STAFF["admin"], "cs_ops": STAFF["cs_ops"], "manager": people.manager, "csm": people.csm}[role]
    headers = token(email)
    alert_id, _, _ = alert_of(api, people.csm_id)
    ack = api.client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=headers, json={"note": "calling them"})
    assert ack.status_code == 200
    assert ack.json()["alert"]["status"] == "acknowledged"
    snoozed = api.client.post(f"/v1/alerts/{alert_id}/snooze", headers=headers, json={"days": 7})
    assert snoozed.status_code == 200
    assert snoozed.json()["alert"]["snoozed_until"] == str(utc_now().date() + timedelta(days=7))
    live = api.client.get("/v1/alerts", headers=headers, params={"scope": "all", "status": "snoozed"}).json()
    assert alert_id in {a["alert_id"] for a in live["items"]}
    done = api.client.post(f"/v1/alerts/{alert_id}/outcome", headers=headers, json={"outcome": "False alarm"})
    assert done.status_code == 200
    assert (done.json()["alert"]["status"], done.json()["alert"]["outcome"]) == ("closed", "False alarm")
    assert api.client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=headers).status_code == 409
    outside, _, _ = alert_of(api, people.other_csm_id)
    if role in ("manager", "csm"):
        assert api.client.post(f"/v1/alerts/{outside}/acknowledge", headers=headers).status_code == 404
    audit = api.store.audit()
    assert [(a["action"], a["actor"]) for a in audit[:3]] == [
        ("alert.outcome", email),
        ("alert.snooze", email),
        ("alert.acknowledge", email),
    ]
    assert audit[0]["before"]["status"] == "acknowledged" and audit[0]["after"]["status"] == "closed"


def test_analyst_is_read_only_and_writes_need_a_token(api: ApiWorld, people: People, token) -> None:
    alert_id, _, _ = alert_of(api, people.csm_id)
    for path, body in [("acknowledge", {}), ("snooze", {"days": 3}), ("outcome", {"outcome": "Already known"})]:
        assert (
            api.client.post(f"/v1/alerts/{alert_id}/{path}", headers=token(STAFF["analyst"]), json=body).status_code
            == 403
        )
        assert api.client.post(f"/v1/alerts/{alert_id}/{path}", json=body).status_code == 401
    bad = api.client.post(f"/v1/alerts/{alert_id}/outcome", headers=token(people.csm), json={"outcome": "Maybe"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "outcome"
    assert api.store.audit() == []


def next_run_feedback(api: ApiWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the daily run does with the API's writes: copy them in, stage them, evaluate the alerts."""
    monkeypatch.setenv("API__DATABASE_URL", api.store.url)
    result = materialize(
        [copilot_app_alert_feedback], resources={"warehouse": WarehouseResource(path=str(api.warehouse))}
    )
    assert result.success
    run = dbt(api.warehouse, "build", "--select", "stg_copilot_app__alert_feedback")
    assert run.returncode == 0, run.output[-2000:]
    with duckdb.connect(str(api.warehouse)) as con:
        lifecycle.evaluate(con, require_as_of_date(con))


def test_an_outcome_closes_the_alert_in_the_next_run_and_reaches_training(
    api: ApiWorld, people: People, token, monkeypatch: pytest.MonkeyPatch
) -> None:
    alert_id, account_id, rule_id = alert_of(api, people.csm_id)
    acked, _, _ = alert_of(api, people.manager_id)
    headers = token(people.csm)
    assert (
        api.client.post(
            f"/v1/alerts/{alert_id}/outcome",
            headers=headers,
            json={"outcome": "Confirmed risk", "note": "they told us"},
        ).status_code
        == 200
    )
    assert api.client.post(f"/v1/alerts/{acked}/acknowledge", headers=token(people.manager)).status_code == 200
    next_run_feedback(api, monkeypatch)
    with duckdb.connect(str(api.warehouse), read_only=True) as con:
        state = dict(
            con.execute(
                "SELECT alert_id, status || '/' || coalesce(outcome, '-') FROM alerts.alerts WHERE alert_id IN (?, ?)",
                [alert_id, acked],
            ).fetchall()
        )
        feedback = load_feedback(con)
        precision = con.execute("SELECT confirmed FROM alerts.rule_precision WHERE rule_id = ?", [rule_id]).fetchone()
    assert state == {alert_id: "closed/Confirmed risk", acked: "acknowledged/-"}
    assert precision[0] >= 1
    verdicts = feedback[feedback["account_id"] == account_id]
    assert list(verdicts["outcome"]) == ["Confirmed risk"]

    # The next snapshot serves the closed alert from the warehouse itself.
    with duckdb.connect(str(api.warehouse), read_only=True) as con:
        publish(con, api.serving)
    api.app.state.holder.load_now()
    served = api.client.get("/v1/alerts", headers=headers, params={"scope": "all", "status": "closed"}).json()
    assert {a["alert_id"]: a["outcome"] for a in served["items"]}[alert_id] == "Confirmed risk"


def test_the_latest_of_task_and_api_wins(api: ApiWorld, people: People, token, monkeypatch: pytest.MonkeyPatch) -> None:
    alert_id, account_id, _ = alert_of(api, people.csm_id)
    # A Salesforce Task for the alert, completed yesterday as "Confirmed risk" ...
    yesterday = utc_now() - timedelta(days=1)
    with duckdb.connect(str(api.warehouse)) as con:
        con.execute("CREATE OR REPLACE TABLE staging.tasks_copy AS SELECT * FROM staging.stg_salesforce__tasks")
        con.execute("DROP VIEW staging.stg_salesforce__tasks")
        con.execute("ALTER TABLE staging.tasks_copy RENAME TO stg_salesforce__tasks")
        con.execute(
            "INSERT INTO staging.stg_salesforce__tasks (task_id, account_id, subject, status, copilot_alert_id, "
            "copilot_outcome, created_at, system_modstamp_at) "
            "VALUES ('00TTEST', ?, 'Copilot alert: x', 'Completed', ?, 'Confirmed risk', ?, ?)",
            [account_id, alert_id, yesterday, yesterday],
        )
    # ... then today, in the Copilot: "False alarm". The later verdict wins.
    assert (
        api.client.post(
            f"/v1/alerts/{alert_id}/outcome", headers=token(people.csm), json={"outcome": "False alarm"}
        ).status_code
        == 200
    )
    next_run_feedback(api, monkeypatch)
    with duckdb.connect(str(api.warehouse), read_only=True) as con:
        assert (
            con.execute("SELECT outcome FROM alerts.alerts WHERE alert_id = ?", [alert_id]).fetchone()[0]
            == "False alarm"
        )
        feedback = load_feedback(con)
    assert list(feedback[feedback["account_id"] == account_id]["outcome"]) == ["False alarm"]

    # A Task completed after that changes the verdict once more.
    later = datetime.combine(utc_now().date() + timedelta(days=1), datetime.min.time())
    with duckdb.connect(str(api.warehouse)) as con:
        con.execute(
            "UPDATE staging.stg_salesforce__tasks SET copilot_outcome = 'Already known', system_modstamp_at = ? "
            "WHERE task_id = '00TTEST'",
            [later],
        )
        lifecycle.evaluate(con, require_as_of_date(con))
        assert (
            con.execute("SELECT outcome FROM alerts.alerts WHERE alert_id = ?", [alert_id]).fetchone()[0]
            == "Already known"
        )
