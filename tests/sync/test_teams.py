"""Alerts as Adaptive Cards in Microsoft Teams against the emulator over HTTP: the card's content per
alert, routes per CSM or per team, reruns that post nothing, throttling waited out, a reply slower
than the timeout and a process killed mid-post ending with one card per alert through a Workflows
URL (at most one through an incoming webhook), and a refused card in the sync log."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace

import pytest

from reverse_etl import records, sync, teams
from reverse_etl.state import SyncRun
from sandbox.emulators.credentials import teams_urls
from tests.sync.conftest import SyncWorld, kill_sync_after, wait_for


@pytest.fixture
def world(sync_world: SyncWorld) -> SyncWorld:
    """Teams as the only alert channel; every alert to the CS Alerts flow (Workflows)."""
    urls = teams_urls(sync_world.emulator.http)
    sync_world.cfg = replace(
        sync_world.cfg,
        alert_channels=("teams",),
        teams_webhooks={"default": urls["workflows"]["CS Alerts"]},
        teams_account_url="https://crm.example/lightning/r/Account/{account_id}/view",
        teams_timeout=10,
    )
    return sync_world


def _urls(world: SyncWorld) -> dict[str, dict[str, str]]:
    return teams_urls(world.emulator.http)


def _teams(world: SyncWorld) -> SyncRun:
    with world.connect() as con:
        return sync.sync(con, "teams", world.cfg, echo=lambda _line: None)


def _alerts(world: SyncWorld) -> list[records.Record]:
    with world.connect() as con:
        return records.teams_cards(con)


def _cards(world: SyncWorld) -> list[dict]:
    return world.emulator.admin_call("GET", "teams/messages")["messages"]


def _per_alert(world: SyncWorld) -> Counter[str]:
    return Counter(c["payload"]["copilot_key"] for c in _cards(world))


def _exactly_once(world: SyncWorld) -> None:
    wanted = [r.key for r in _alerts(world)]
    assert len(wanted) > 3
    assert _per_alert(world) == Counter(dict.fromkeys(wanted, 1))


def _errors(world: SyncWorld, run: SyncRun) -> list[tuple[str, str]]:
    with world.connect() as con:
        return con.execute(
            "SELECT record_key, error FROM reverse_etl.sync_errors WHERE run_id = ? ORDER BY 1", [run.run_id]
        ).fetchall()


def _pending(world: SyncWorld) -> list[str]:
    with world.connect() as con:
        return [r[0] for r in con.execute("SELECT record_key FROM reverse_etl.sync_pending").fetchall()]


def _fault(world: SyncWorld, **spec: object) -> None:
    world.emulator.admin_call("POST", "faults", json={"system": "teams", **spec})


def test_each_alert_is_one_card_with_its_content_and_a_rerun_posts_nothing(world: SyncWorld) -> None:
    wanted = _alerts(world)
    # One CSM's alerts go to their own channel, through an incoming webhook; the rest to the default flow.
    csm = next(r.values["owner_channel"] for r in wanted if r.values["owner_channel"])
    hooks = {"default": _urls(world)["workflows"]["CS Alerts"], csm: _urls(world)["webhooks"]["CS Escalations"]}
    world.cfg = replace(world.cfg, teams_webhooks=hooks)
    with world.connect() as con:
        truth = {
            row[0]: row[1:]
            for row in con.execute(
                "SELECT a.alert_id, c.account_name, a.severity, a.message, t.due_date, a.account_id "
                "FROM alerts.alerts AS a JOIN activation.crm_alert_tasks AS t USING (alert_id) "
                "JOIN marts.customer_360 AS c ON c.account_id = a.account_id WHERE a.severity = 'high' "
                "AND a.status IN ('open', 'sent', 'acknowledged')"
            ).fetchall()
        }
    run = _teams(world)
    assert run.status == "ok" and run.api == "teams" and run.succeeded == run.changed == len(wanted) == len(truth)
    cards = {c["payload"]["copilot_key"]: c for c in _cards(world)}
    assert set(cards) == set(truth)
    for record in wanted:
        card = cards[record.key]
        name, severity, reason, due, account_id = truth[record.key]
        body = card["card"]["body"]
        facts = {f["title"]: f["value"] for f in body[2]["facts"]}
        assert (body[0]["text"], body[1]["text"]) == (name, reason)
        assert facts["Severity"] == severity.capitalize() == "High"
        assert facts["Due"] == due.isoformat() and facts["Alert"] == record.key
        assert card["card"]["actions"][0]["url"] == f"https://crm.example/lightning/r/Account/{account_id}/view"
        routed = "CS Escalations" if record.values["owner_channel"] == csm else "CS Alerts"
        assert (card["channel"], card["via"]) == (routed, "webhook" if routed == "CS Escalations" else "workflow")

    world.reset_requests()
    again = _teams(world)
    assert again.changed == again.sent == 0 and world.writes() == 0
    _exactly_once(world)


def test_a_team_route_and_only_the_chosen_channel(world: SyncWorld) -> None:
    wanted = _alerts(world)
    owners = sorted({r.values["owner_channel"] for r in wanted if r.values["owner_channel"]})
    enterprise = set(owners[: max(1, len(owners) // 2)])
    world.cfg = replace(
        world.cfg,
        teams_route="team",
        teams_csm_team=dict.fromkeys(enterprise, "enterprise"),
        teams_webhooks={**world.cfg.teams_webhooks, "enterprise": _urls(world)["workflows"]["CS Enterprise"]},
    )
    with world.connect() as con:
        runs = {r.destination: r for r in sync.sync_all(con, world.cfg, echo=lambda _line: None)}
    assert "slack" not in runs and runs["teams"].status == "ok"
    where = {c["payload"]["copilot_key"]: c["channel"] for c in _cards(world)}
    for record in wanted:
        team = "CS Enterprise" if record.values["owner_channel"] in enterprise else "CS Alerts"
        assert where[record.key] == team
    assert world.emulator.admin_call("GET", "slack/messages")["messages"] == []
    with world.connect() as con:  # a channel not chosen, asked for by name, is skipped and not logged
        assert sync.sync(con, "slack", world.cfg).status == "skipped"
        logged = con.execute("SELECT destination FROM reverse_etl.sync_runs WHERE destination IN ('slack', 'teams')")
        assert logged.fetchall() == [("teams",)]


def test_throttling_is_waited_out(world: SyncWorld) -> None:
    _fault(world, endpoint="workflow", kind="rate_limit", retry_after=1, skip=1, count=2)
    run = _teams(world)
    assert run.status == "ok" and run.failed == 0
    assert world.emulator.admin_call("GET", "faults")["faults"][0]["fired"] == 2
    _exactly_once(world)


def test_throttling_past_the_attempts_stops_the_run_and_the_next_resumes(world: SyncWorld) -> None:
    _fault(world, endpoint="workflow", kind="rate_limit", retry_after=0, skip=2, count=world.cfg.max_attempts)
    first = _teams(world)
    assert first.status == "failed" and first.succeeded == 2 and "429" in first.message
    (error,) = _errors(world, first)
    assert "Teams answered 429" in error[1] and _pending(world) == []
    assert _teams(world).status == "ok"
    _exactly_once(world)


@pytest.mark.parametrize("phase", ["before", "after"])
def test_a_reply_slower_than_the_timeout_through_a_workflow_posts_once(world: SyncWorld, phase: str) -> None:
    """`before`: the card lands after the client gave up; `after`: it is there, only the answer is late.
    The request is sent again with the same key; the flow posts a key once."""
    world.cfg = replace(world.cfg, teams_timeout=1.5)
    _fault(world, endpoint="workflow", kind="slow", delay_ms=4000, skip=2, count=1, phase=phase)
    run = _teams(world)
    assert run.status == "ok" and run.failed == 0 and _pending(world) == []
    wait_for("the held request", lambda: world.emulator.admin_call("GET", "faults")["faults"][0]["fired"] == 1)
    time.sleep(4)  # let a held request finish in the emulator before counting
    _exactly_once(world)


def test_a_reply_slower_than_the_timeout_through_a_webhook_is_never_posted_twice(world: SyncWorld) -> None:
    """An incoming webhook cannot deduplicate: the doubtful card is not sent again (at most once), and
    each run names it in sync_errors until someone clears its intent."""
    world.cfg = replace(world.cfg, teams_timeout=1.5, teams_webhooks={"default": _urls(world)["webhooks"]["CS Alerts"]})
    _fault(world, endpoint="webhook", kind="slow", delay_ms=4000, skip=2, count=1, phase="after")
    first = _teams(world)
    assert first.status == "failed" and first.succeeded == 2 and "no answer from Teams" in first.message
    (error,) = _errors(world, first)
    assert "outcome unknown" in error[1] and "not posted again" in error[1] and _pending(world) == [error[0]]
    second = _teams(world)
    assert second.status == "partial" and second.failed == 1
    assert _errors(world, second) == [(error[0], "outcome unknown since an earlier run (default); not posted again")]
    _exactly_once(world)  # the held card landed; it was not posted a second time


def test_a_process_killed_mid_post_ends_with_one_card_per_alert(world: SyncWorld) -> None:
    _fault(world, endpoint="workflow", kind="slow", delay_ms=20_000, skip=1, count=1, phase="after")
    # The second card is in the channel and its answer is held: kill the poster there.
    kill_sync_after(world, "teams", "the second card", lambda: len(_cards(world)), 2)
    assert len(_pending(world)) == 1
    resumed = _teams(world)
    assert resumed.status == "ok" and "1 card(s) of an interrupted run sent again" in resumed.message
    assert _pending(world) == []
    _exactly_once(world)


def test_a_bad_card_is_refused_and_logged(world: SyncWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = _alerts(world)
    bad = wanted[1].key
    good_card = teams.alert_card

    def card(values: dict, account_url: str) -> dict:
        made = good_card(values, account_url)
        return {**made, "version": "2.0"} if values["alert_id"] == bad else made

    monkeypatch.setattr(teams, "alert_card", card)
    run = _teams(world)
    assert run.status == "partial" and run.failed == 1 and run.succeeded == len(wanted) - 1
    ((key, error),) = _errors(world, run)
    assert key == bad and error.startswith("Teams answered 400:") and "TriggerInputSchemaMismatch" in error
    assert _pending(world) == [] and bad not in _per_alert(world)
    monkeypatch.setattr(teams, "alert_card", good_card)
    assert _teams(world).succeeded == 1  # retried next run
    _exactly_once(world)


def test_teams_unreachable_is_a_logged_failure(world: SyncWorld) -> None:
    world.cfg = replace(world.cfg, teams_webhooks={"default": "http://127.0.0.1:9/teams/webhookb2/x"}, max_attempts=1)
    run = _teams(world)
    assert run.status == "failed" and "stopped after 1 of" in run.message
    assert len(_errors(world, run)) == 1
