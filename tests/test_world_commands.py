"""generate / advance / info on the S world: determinism, chunked simulation, what advance changes,
CSMs completing the copilot's Tasks, and the folder handling (errors, atomic generation)."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sandbox.schema import ALL_OBJECTS, SF_TASK, TASK_OUTCOMES
from sandbox.store import Store, StoreError
from sandbox.world import advance, generate, info
from sandbox.world import commands as world_commands
from sandbox.world.oracle import churn_probability
from sandbox.world.state import CHURN_SIGNAL, CUSTOMER, RENEW, load_state, save_state

END = date(2026, 10, 31)


def copy_world(src: Path, dst: Path) -> Path:
    """A private copy of the shared S world to change."""
    shutil.copytree(src, dst)
    return dst


def checksums(world: Path) -> dict[str, str]:
    """A digest per API table (rows in key order), the id sequences, and every exported / truth file."""
    out: dict[str, str] = {}
    with sqlite3.connect(world / "world.sqlite") as con:
        for obj in ALL_OBJECTS.values():
            digest = hashlib.sha256()
            for row in con.execute(f'SELECT * FROM "{obj.table}" ORDER BY "{obj.key}"'):
                digest.update(repr(row).encode())
            out[obj.table] = digest.hexdigest()
        out["_sequences"] = repr(con.execute("SELECT * FROM _sequences ORDER BY name").fetchall())
    for folder in ("exports", "truth"):
        for f in sorted((world / folder).rglob("*.parquet")):
            out[str(f.relative_to(world))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def table_rows(world: Path, table: str, key: str) -> dict:
    with sqlite3.connect(world / "world.sqlite") as con:
        return {row[0]: row for row in con.execute(f'SELECT "{key}", * FROM "{table}"')}


def test_same_seed_size_and_end_give_an_identical_world(s_world: Path, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", size="S", seed=7, end_date=END)
    assert checksums(tmp_path / "again") == checksums(s_world)
    assert again["accounts"] > 190 and again["events"] > 100_000


def test_generate_then_advance_equals_generating_further(s_world: Path, tmp_path: Path) -> None:
    generate(tmp_path / "chunked", size="S", seed=7, end_date=END - timedelta(days=5))
    advance(tmp_path / "chunked", days=5)
    assert checksums(tmp_path / "chunked") == checksums(s_world)


def test_advance_writes_one_file_a_day_and_touches_only_what_changed(s_world: Path, tmp_path: Path) -> None:
    world = copy_world(s_world, tmp_path / "w")
    keys = {o.table: o.key for o in ALL_OBJECTS.values() if o.system in ("salesforce", "zendesk")}
    before = {t: table_rows(world, t, k) for t, k in keys.items()}
    files_before = set((world / "exports" / "events").iterdir())

    summary = advance(world, days=3)

    new_files = set((world / "exports" / "events").iterdir()) - files_before
    assert sorted(p.name for p in new_files) == [f"event_date={END + timedelta(days=i)}" for i in (1, 2, 3)]
    assert summary["clock"].startswith(str(END + timedelta(days=3)))
    changed = 0
    for table, key in keys.items():
        obj = ALL_OBJECTS[table]
        stamp_col = obj.field_names.index("SystemModstamp" if obj.system == "salesforce" else "updated_at") + 1
        after = table_rows(world, table, key)
        assert set(before[table]) <= set(after)
        for k, row in after.items():
            if k in before[table] and row == before[table][k]:
                continue
            changed += 1
            # Anything new or changed carries a stamp from the simulated days, nothing older moved.
            assert str(END + timedelta(days=1)) <= row[stamp_col][:10] <= str(END + timedelta(days=3)), (table, k)
    assert changed > 0
    truth_months = {p.name for p in (world / "truth" / "account_months").iterdir()}
    assert "2026-11-01.parquet" in truth_months


def test_daily_truth_is_stamped_on_the_observation_day_with_the_labels_window(s_world: Path) -> None:
    """account_days/<day>: the truth at the end of that day for the 90 days after it, so the file of the
    day before a month start holds the same probabilities as that month's account_months file."""
    days = sorted((s_world / "truth" / "account_days").iterdir())
    months = sorted((s_world / "truth" / "account_months").iterdir())
    assert len(days) >= 360
    month = months[-1]
    before = date.fromisoformat(month.stem) - timedelta(days=1)
    day = pd.read_parquet(s_world / "truth" / "account_days" / f"{before}.parquet")
    assert set(day["observation_date"]) == {before}
    joined = pd.read_parquet(month).merge(day, on="sf_account_id")
    assert len(joined) == len(day) > 100
    assert np.allclose(joined["p_churn_90d_x"], joined["p_churn_90d_y"])
    # Whoever has given notice is certain to churn within the window (their term ends inside it).
    assert (day.loc[day["notice_given"], "p_churn_90d"] == 1.0).all()


def _assign_tasks(world: Path, accounts: pd.DataFrame, subject: str, owner_role_title: str) -> list[str]:
    store = Store.open(world / "world.sqlite")
    try:
        owners = dict(store.conn.execute("SELECT Id, Title FROM sf_user").fetchall())
        csm_of = dict(store.conn.execute("SELECT Id, CSM__c FROM sf_account").fetchall())
        integration = next(i for i, t in owners.items() if t == owner_role_title) if owner_role_title else None
        ids = store.new_ids(SF_TASK, len(accounts))
        records = [
            {
                "Id": task_id,
                "WhatId": a,
                "OwnerId": integration or csm_of[a] or next(iter(owners)),
                "Subject": subject.format(name=name),
                "Description": "Raised by Customer Success Copilot",
                "Status": "Not Started",
                "Priority": "High",
                "Copilot_Alert_Id__c": f"alert-{task_id}",
            }
            for task_id, a, name in zip(ids, accounts.sf_account_id, accounts.name, strict=True)
        ]
        store.write(SF_TASK, records, store.next_write_time())
    finally:
        store.close()
    return ids


def _renewing_customers(world: Path) -> pd.DataFrame:
    """Customers that have already (secretly) decided to renew a contract ending in 3-12 weeks, with
    their true 90-day churn probability; the first half of them are switched to a decision to leave.
    The two halves differ only in that hidden decision."""
    store = Store.open(world / "world.sqlite")
    try:
        state = load_state(store)
        acc = state.accounts
        left = acc["term_end"] - state.day
        rows = np.flatnonzero((acc["status"] == CUSTOMER) & (acc["decided"] == RENEW) & (left >= 20) & (left <= 85))
        acc["decided"][rows[: len(rows) // 2]] = CHURN_SIGNAL
        save_state(store, state)
        store.conn.commit()
        p = churn_probability(state, rows, state.day, state.day + 1, state.day + 90)
    finally:
        store.close()
    return pd.DataFrame({"sf_account_id": acc["sf_id"][rows], "name": acc["name"][rows], "p": p})


def test_csms_complete_copilot_tasks_with_outcomes_that_follow_the_truth(s_world: Path, tmp_path: Path) -> None:
    world = copy_world(s_world, tmp_path / "w")
    customers = _renewing_customers(world)
    doomed, healthy = customers[customers.p == 1], customers[customers.p < 1]
    assert len(doomed) >= 8 and len(healthy) >= 8 and healthy.p.max() < 0.05
    doomed_ids = _assign_tasks(world, doomed, "Churn risk: usage dropped at {name}", "")
    healthy_ids = _assign_tasks(world, healthy, "Churn risk: usage dropped at {name}", "")
    expansion_ids = _assign_tasks(world, healthy.head(5), "Expansion opportunity at {name}", "")
    orphan_ids = _assign_tasks(world, healthy.head(5), "Churn risk at {name}", "Integration")

    advance(world, days=12)

    store = Store.open(world / "world.sqlite")
    try:
        tasks = pd.DataFrame(store.select(SF_TASK)).set_index("Id")
    finally:
        store.close()
    done = tasks[tasks.Status == "Completed"]
    assert 0.7 <= len(done) / len(tasks.drop(orphan_ids)) < 1  # most are worked, a few never are
    assert tasks.loc[orphan_ids].Status.eq("Not Started").all()  # nobody works the integration user's
    assert set(done.Copilot_Outcome__c) <= set(TASK_OUTCOMES)
    created = pd.to_datetime(tasks.CreatedDate)
    delay = (pd.to_datetime(done.LastModifiedDate) - created.loc[done.index]).dt.days
    assert delay.between(0, 10).all() and delay.nunique() > 2

    def share(ids: list[str], outcome: str) -> float:
        worked = done.loc[done.index.intersection(ids)]
        return float(np.mean(worked.Copilot_Outcome__c == outcome))

    # The same kind of alert on accounts that differ only in their hidden state.
    assert share(doomed_ids, "Confirmed risk") > 0.6
    assert share(healthy_ids, "False alarm") > 0.7
    assert set(done.loc[done.index.intersection(expansion_ids)].Copilot_Outcome__c) <= set(TASK_OUTCOMES)


def test_user_errors_are_one_clear_sentence(s_world: Path, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="already holds a world; pass --force"):
        generate(s_world, size="S", seed=7, end_date=END)
    with pytest.raises(StoreError, match="no sandbox world in"):
        advance(tmp_path / "nothing", days=1)
    with pytest.raises(StoreError, match="no sandbox world in"):
        info(tmp_path / "nothing")
    broken = copy_world(s_world, tmp_path / "broken")
    with sqlite3.connect(broken / "world.sqlite") as con:
        con.execute("UPDATE _state SET value = x'00' WHERE name = 'table:accounts'")
    with pytest.raises(StoreError, match="unreadable.*generate the world again with --force"):
        advance(broken, days=1)
    with sqlite3.connect(broken / "world.sqlite") as con:
        con.execute("DROP TABLE _state")
    with pytest.raises(StoreError, match="no simulation state"):
        advance(broken, days=1)
    (broken / "world.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="not a readable sandbox world"):
        info(broken)


def test_generation_is_all_or_nothing(s_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real = world_commands.simulate_day

    def failing_day(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 40:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(world_commands, "simulate_day", failing_day)
    target = tmp_path / "sandbox"
    with pytest.raises(KeyboardInterrupt):
        generate(target, size="S", seed=7, end_date=END)
    assert not target.exists() and list(tmp_path.iterdir()) == []

    existing = copy_world(s_world, tmp_path / "existing")
    before = checksums(existing)
    calls["n"] = 0
    with pytest.raises(KeyboardInterrupt):
        generate(existing, size="S", seed=8, end_date=END, force=True)
    assert checksums(existing) == before  # --force replaces the old world only on success
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]


def test_info_reports_the_world(s_world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = info(s_world)
    assert out["size"] == "S" and out["seed"] == 7 and out["clock"].startswith("2026-10-31T23:00")
    assert out["event_files"] == 365 and out["events"] > 100_000
    assert out["records"]["sf_account"] >= 190
    printed = capsys.readouterr().out
    assert "size S, seed 7" in printed and "sf_account" in printed


def test_a_history_of_another_length(s_world: Path, tmp_path: Path) -> None:
    """`--months`: the same company with a shorter history, one event file a day of it."""
    generate(tmp_path / "short", size="S", seed=7, end_date=END, months=2)
    short, full = info(tmp_path / "short"), info(s_world)
    assert 59 <= short["event_files"] <= 62 and full["event_files"] == 365
    assert 0 < short["events"] < full["events"] / 3
    with pytest.raises(StoreError, match="at least one month"):
        generate(tmp_path / "none", size="S", seed=7, end_date=END, months=0)
