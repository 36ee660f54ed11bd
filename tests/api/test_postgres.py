"""The API's database by URL on PostgreSQL (a throwaway cluster, tests/api/postgres.py): every write
path (acknowledge, snooze, outcome, each with its audit row) and the daily run's copy of the writes
into the warehouse (`raw_copilot_app.alert_feedback`), as on the default SQLite file."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from dagster import materialize
from sqlalchemy import text

from core.clock import utc_now
from orchestration.defs.serving import copilot_app_alert_feedback
from orchestration.resources import WarehouseResource
from tests.api import postgres
from tests.api.conftest import ApiWorld, People, make_api
from tests.api.test_feedback import alert_of


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres.cluster() as url:
        yield url


@pytest.fixture
def pg_api(api_warehouse: Path, signing_key, people: People, tmp_path: Path, postgres_url: str) -> Iterator[ApiWorld]:  # noqa: ANN001
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(api_warehouse, warehouse)
    world = make_api(tmp_path, warehouse, signing_key, people, database_url=postgres_url)
    yield world
    world.client.close()
    world.store.dispose()


def test_writes_audit_and_the_runs_copy_on_postgresql(
    pg_api: ApiWorld, people: People, token, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = pg_api
    with api.store.engine.connect() as con:
        assert con.execute(text("SELECT version()")).scalar().startswith("PostgreSQL")
    headers = token(people.csm)
    alert_id, account_id, rule_id = alert_of(api, people.csm_id)
    before = utc_now()
    ack = api.client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=headers, json={"note": "calling them"})
    assert ack.status_code == 200 and ack.json()["alert"]["status"] == "acknowledged"
    snoozed = api.client.post(f"/v1/alerts/{alert_id}/snooze", headers=headers, json={"days": 5})
    assert snoozed.status_code == 200
    until = utc_now().date() + timedelta(days=5)
    assert snoozed.json()["alert"]["snoozed_until"] == str(until)
    done = api.client.post(
        f"/v1/alerts/{alert_id}/outcome", headers=headers, json={"outcome": "Confirmed risk", "note": "they said so"}
    )
    assert done.status_code == 200
    assert (done.json()["alert"]["status"], done.json()["alert"]["outcome"]) == ("closed", "Confirmed risk")
    # Read back from PostgreSQL: the closed alert refuses another acknowledgement.
    assert api.client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=headers).status_code == 409
    listed = api.client.get("/v1/alerts", headers=headers, params={"scope": "all", "status": "closed"}).json()
    assert {a["alert_id"]: a["outcome"] for a in listed["items"]}.get(alert_id) == "Confirmed risk"

    audit = api.store.audit()
    assert [(a["action"], a["actor"], a["target"]) for a in audit] == [
        ("alert.outcome", people.csm, alert_id),
        ("alert.snooze", people.csm, alert_id),
        ("alert.acknowledge", people.csm, alert_id),
    ]
    assert (audit[0]["before"]["status"], audit[0]["after"]["status"]) == ("acknowledged", "closed")
    assert audit[2]["before"]["status"] in ("open", "sent") and audit[2]["after"]["note"] == "calling them"

    # The daily run copies the writes into the warehouse, with their types and times intact (naive
    # UTC, whatever the database server's time zone).
    monkeypatch.setenv("API__DATABASE_URL", api.store.url)
    result = materialize(
        [copilot_app_alert_feedback], resources={"warehouse": WarehouseResource(path=str(api.warehouse))}
    )
    assert result.success
    with duckdb.connect(str(api.warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT alert_id, account_id, rule_id, action, outcome, note, snoozed_until, recorded_by_user_id, "
            "recorded_at FROM raw_copilot_app.alert_feedback ORDER BY feedback_id"
        ).fetchall()
    assert [r[:8] for r in rows] == [
        (alert_id, account_id, rule_id, "acknowledge", None, "calling them", None, people.csm_id),
        (alert_id, account_id, rule_id, "snooze", None, None, until, people.csm_id),
        (alert_id, account_id, rule_id, "outcome", "Confirmed risk", "they said so", None, people.csm_id),
    ]
    recorded = [r[8] for r in rows]
    assert recorded == sorted(recorded)
    assert before - timedelta(seconds=1) <= recorded[0] and recorded[-1] <= utc_now() + timedelta(seconds=1)
