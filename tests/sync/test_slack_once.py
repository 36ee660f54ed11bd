"""Slack messages exactly once against the Slack emulator over HTTP: a reply slower than the client's
timeout, a process killed while Slack holds its reply, an emulator restarted mid-post; channels the
bot cannot use fall back to the default one; no transport error ends in a traceback."""

from __future__ import annotations

import signal
import threading
from collections import Counter
from dataclasses import replace

import pytest

from reverse_etl import records, sync
from reverse_etl.state import SyncRun
from sandbox.emulators.credentials import SLACK
from tests.conftest import start_emulator
from tests.sync.conftest import SyncWorld, kill_sync_after, wait_for


def _slack(world: SyncWorld) -> SyncRun:
    with world.connect() as con:
        return sync.sync(con, "slack", world.cfg, echo=lambda _line: None)


def _alerts(world: SyncWorld) -> dict[str, str]:
    """Alert id -> the channel name it should go to."""
    with world.connect() as con:
        return {r.key: r.values["channel"] for r in records.slack_messages(con, world.cfg.slack_fallback_channel)}


def _posted(world: SyncWorld) -> list[dict]:
    return [
        m
        for m in world.emulator.admin_call("GET", "slack/messages", params={"via": "chat.postMessage"})["messages"]
        if (m["payload"].get("metadata") or {}).get("event_type") == "copilot_alert"
    ]


def _per_alert(world: SyncWorld) -> Counter[str]:
    return Counter(m["payload"]["metadata"]["event_payload"]["alert_id"] for m in _posted(world))


def _fault(world: SyncWorld, **spec: object) -> None:
    world.emulator.admin_call(
        "POST", "faults", json={"system": "slack", "endpoint": "chat.postMessage", "kind": "slow", **spec}
    )


def _exactly_once(world: SyncWorld) -> None:
    wanted = _alerts(world)
    assert len(wanted) > 3
    assert _per_alert(world) == Counter(dict.fromkeys(wanted, 1))


@pytest.mark.parametrize("phase", ["before", "after"])
def test_a_reply_slower_than_the_timeout_posts_once(sync_world: SyncWorld, phase: str) -> None:
    """`before`: the message lands after the client gave up; `after`: it is there, only the answer is late."""
    sync_world.cfg = replace(sync_world.cfg, slack_timeout=1.5)
    _fault(sync_world, delay_ms=4000, skip=2, count=1, phase=phase)
    first = _slack(sync_world)
    with sync_world.connect() as con:
        errors = con.execute(
            "SELECT record_key, error FROM reverse_etl.sync_errors WHERE run_id = ?", [first.run_id]
        ).fetchall()
        logged = con.execute("SELECT status FROM reverse_etl.sync_runs WHERE run_id = ?", [first.run_id]).fetchall()
        pending = con.execute("SELECT record_key FROM reverse_etl.sync_pending").fetchall()
    assert logged == [(first.status,)]
    if phase == "after":  # the history shows it at once: the run goes on
        assert first.status == "ok" and first.succeeded == first.changed and errors == [] == pending
    else:
        assert first.status == "failed" and first.succeeded == 2 and "no answer from Slack" in first.message
        assert len(errors) == 1 and "outcome unknown" in errors[0][1] and pending == [(errors[0][0],)]
        # The held request lands; the next run finds it in the channel's history instead of posting it again.
        wait_for("the held message", lambda: _per_alert(sync_world)[errors[0][0]] == 1)
        second = _slack(sync_world)
        assert second.status == "ok" and "1 message(s) found already posted" in second.message
    _exactly_once(sync_world)
    assert _slack(sync_world).changed == 0


def test_a_process_killed_while_slack_holds_the_reply_does_not_post_twice(sync_world: SyncWorld) -> None:
    _fault(sync_world, delay_ms=20_000, skip=1, count=1, phase="after")
    # The second message is in the channel and its answer is held: kill the poster there.
    kill_sync_after(sync_world, "slack", "the second message", lambda: len(_posted(sync_world)), 2)
    resumed = _slack(sync_world)
    assert resumed.status == "ok" and "1 message(s) found already posted" in resumed.message
    _exactly_once(sync_world)


@pytest.mark.parametrize("phase", ["before", "after"])
def test_an_emulator_restart_mid_post_posts_once(sync_world: SyncWorld, phase: str) -> None:
    """`before`: the emulator dies before the message is posted; `after`: after, before the answer."""
    sync_world.cfg = replace(sync_world.cfg, slack_timeout=20)
    _fault(sync_world, delay_ms=15_000, skip=1, count=1, phase=phase)
    em = sync_world.emulator

    def crash_and_restart() -> None:
        faults = lambda: em.admin_call("GET", "faults")["faults"]  # noqa: E731
        wait_for("the held post", lambda: faults()[0]["fired"] == 1)
        if phase == "after":
            wait_for("the second message", lambda: len(_posted(sync_world)) == 2)
        em.process.send_signal(signal.SIGKILL)
        em.process.wait()
        em.process = start_emulator(em.data_dir, ports=em.ports).process

    restarter = threading.Thread(target=crash_and_restart)
    restarter.start()
    try:
        first = _slack(sync_world)
    finally:
        restarter.join()
    assert first.status == "failed" or phase == "after"
    resumed = _slack(sync_world)
    assert resumed.status == "ok"
    _exactly_once(sync_world)


def test_channels_the_bot_cannot_use_fall_back_to_the_default(sync_world: SyncWorld) -> None:
    with sync_world.connect() as con:
        con.execute("CREATE TABLE activation.alert_messages_copy AS SELECT * FROM activation.alert_messages")
        con.execute("DROP VIEW IF EXISTS activation.alert_messages")
        con.execute("DROP TABLE IF EXISTS activation.alert_messages")
        con.execute("ALTER TABLE activation.alert_messages_copy RENAME TO alert_messages")
        first, second = (
            r[0] for r in con.execute("SELECT alert_id FROM activation.alert_messages ORDER BY 1 LIMIT 2").fetchall()
        )
        con.execute("UPDATE activation.alert_messages SET owner_channel = 'random' WHERE alert_id = ?", [first])
        con.execute("UPDATE activation.alert_messages SET owner_channel = 'cs-nobody' WHERE alert_id = ?", [second])
    run = _slack(sync_world)
    assert run.status == "ok" and run.failed == 0
    where = {m["payload"]["metadata"]["event_payload"]["alert_id"]: m["channel"] for m in _posted(sync_world)}
    assert where[first] == where[second] == SLACK["channels"]["cs-alerts"]
    _exactly_once(sync_world)


def test_slack_unreachable_is_a_logged_failure(sync_world: SyncWorld) -> None:
    sync_world.cfg = replace(sync_world.cfg, slack_base_url="http://127.0.0.1:9/api/", max_attempts=1)
    run = _slack(sync_world)
    assert run.status == "failed" and "stopped after 1 of" in run.message
    with sync_world.connect() as con:
        errors = con.execute("SELECT count(*) FROM reverse_etl.sync_errors WHERE run_id = ?", [run.run_id]).fetchone()[
            0
        ]
        logged = con.execute("SELECT status FROM reverse_etl.sync_runs WHERE run_id = ?", [run.run_id]).fetchone()
    assert errors == 1 and logged == ("failed",)
