"""A build of the past never depends on what happened later: the S world is built (as the session's
fixture does), then the same world is advanced by a quarter, the new data is loaded into the same
warehouse by the product's own pipelines (as the daily run does: CRM edits, renewals, new events),
and everything is rebuilt from scratch (`--full-refresh`). Every column of every
`marts.ml_account_snapshots` row observed up to the first build's as-of date must come out identical:
features always, labels where their horizon ended by then.

Unlike the cut-off test in test_transform.py (which deletes later rows from the event-like raw
tables), this one lets the CRM and billing systems really change afterwards: a champion replaced or
flagged as gone, a contact edited, a customer moved from yearly to monthly billing or to another
segment."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from sandbox.schema import SF_ACCOUNT, ST_SUBSCRIPTIONS
from sandbox.store import Store
from sandbox.world import advance
from tests.conftest import copy_world
from tests.pipeline import DbtRun, LoadedWorld, dbt, load_world

ADVANCE_DAYS = 92
PLAN_CHANGES = 20
SEGMENT_CHANGES = 10
LABELS = {"churned_within_horizon", "expanded_within_horizon", "label_is_complete", "label_horizon_days"}


@pytest.fixture(scope="module")
def advanced_warehouse(
    built_warehouse: tuple[Path, DbtRun], loaded_s_world: LoadedWorld, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The session's built S warehouse, given a quarter more of the same world and rebuilt."""
    root = tmp_path_factory.mktemp("advanced")
    data_dir = copy_world(loaded_s_world.data_dir, root / "sandbox")
    advance(data_dir, days=ADVANCE_DAYS)
    assert _change_plans(data_dir, PLAN_CHANGES) == PLAN_CHANGES
    assert _move_segments(data_dir, SEGMENT_CHANGES) == SEGMENT_CHANGES
    warehouse = root / "wh" / loaded_s_world.raw_warehouse.name
    warehouse.parent.mkdir()
    shutil.copyfile(built_warehouse[0], warehouse)
    # dlt's working folder of the first load travels with the warehouse (the daily run's situation)
    state = loaded_s_world.raw_warehouse.parent / f".{loaded_s_world.raw_warehouse.stem}.dlt"
    if state.exists():
        shutil.copytree(state, warehouse.parent / state.name)
    load_world(data_dir, warehouse)
    run = dbt(
        warehouse,
        "build",
        "--full-refresh",
        "--select",
        "+ml_account_snapshots",
        "--resource-type",
        "model",
        "seed",
        "snapshot",
        target_path=root / "target",
    )
    assert run.returncode == 0, run.output[-3000:]
    return warehouse


def _change_plans(data_dir: Path, count: int) -> int:
    """Some yearly customers move to monthly billing on a 1-month term at the end of the quarter (the
    sandbox never changes a plan; a real company does), written as Stripe would: the subscription
    updated, with its event."""
    store = Store.open(data_dir / "world.sqlite")
    try:
        changed = []
        for sub in store.select(ST_SUBSCRIPTIONS, "status = 'active'"):
            items = sub["items"]
            if len(changed) == count or items["data"][0]["price"]["recurring"]["interval"] != "year":
                continue
            for item in items["data"]:
                item["price"]["recurring"] = {"interval": "month", "interval_count": 1}
                item["price"]["unit_amount"] = round(item["price"]["unit_amount"] / 10)
            changed.append({"id": sub["id"], "items": items, "metadata": {"contract_term_months": "1"}})
        store.write(ST_SUBSCRIPTIONS, changed, store.now() - timedelta(hours=12))
    finally:
        store.close()
    return len(changed)


def _move_segments(data_dir: Path, count: int) -> int:
    """Some customer accounts are moved to another segment in the CRM at the end of the quarter."""
    store = Store.open(data_dir / "world.sqlite")
    try:
        moved = {"SMB": "Mid-Market", "Mid-Market": "Enterprise", "Enterprise": "Mid-Market"}
        accounts = store.select(SF_ACCOUNT, '"Type" = \'Customer\' order by "Id"')[:count]
        records = [{"Id": a["Id"], "Segment__c": moved[a["Segment__c"]]} for a in accounts]
        store.write(SF_ACCOUNT, records, store.now() - timedelta(hours=12))
    finally:
        store.close()
    return len(records)


def _columns(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_catalog = ? and table_schema = 'marts' "
            "and table_name = 'ml_account_snapshots' order by ordinal_position",
            [catalog],
        ).fetchall()
    ]


def snapshot_differences(first: Path, later: Path) -> tuple[dict[str, int], int, str]:
    """Rows of `later`'s ML snapshots observed up to `first`'s as-of date that differ from `first`'s,
    counted per column (labels only where their horizon ended by that date); also the number of rows
    compared and the as-of date."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{first}' as s (read_only)")
        con.execute(f"attach '{later}' as a (read_only)")
        (as_of,) = con.execute("select cast(as_of_date as varchar) from s.intermediate.int_data_clock").fetchone()
        columns = _columns(con, "s")
        assert columns == _columns(con, "a")
        checks = []
        for c in columns:
            if c == "snapshot_id":
                continue
            differs = f"s.{c} is distinct from a.{c}"
            if con.execute(
                f"select data_type from information_schema.columns where table_catalog = 's' "
                f"and table_schema = 'marts' and table_name = 'ml_account_snapshots' and column_name = '{c}'"
            ).fetchone()[0] in ("DOUBLE", "FLOAT"):
                differs = f"({differs}) and not coalesce(abs(s.{c} - a.{c}) < 1e-9, false)"
            if c in LABELS:
                differs = f"({differs}) and s.label_is_complete"
            checks.append(f'count(*) filter (where {differs}) as "{c}"')
        sql = f"""
            select count(*) as compared, {", ".join(checks)}
            from s.marts.ml_account_snapshots as s
            inner join a.marts.ml_account_snapshots as a on s.snapshot_id = a.snapshot_id
            where s.observation_date <= date '{as_of}'
        """
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        row = dict(zip(names, cur.fetchone(), strict=True))
        # every row observed before the cut is still there (the first build's extra as-of-day row aside)
        (missing,) = con.execute(
            f"""select count(*) from s.marts.ml_account_snapshots as s
            where s.observation_date < date '{as_of}'
              and s.snapshot_id not in (select snapshot_id from a.marts.ml_account_snapshots)"""
        ).fetchone()
        assert missing == 0, f"{missing} snapshot rows observed before {as_of} vanished from the later build"
    finally:
        con.close()
    compared = row.pop("compared")
    return {c: n for c, n in row.items() if n}, compared, as_of


def test_snapshots_of_the_past_are_the_same_a_quarter_later(
    built_warehouse: tuple[Path, DbtRun], advanced_warehouse: Path
) -> None:
    differing, compared, as_of = snapshot_differences(built_warehouse[0], advanced_warehouse)
    con = duckdb.connect(str(advanced_warehouse), read_only=True)
    try:
        (days_later,) = con.execute(f"select as_of_date - date '{as_of}' from intermediate.int_data_clock").fetchone()
    finally:
        con.close()
    assert days_later >= ADVANCE_DAYS - 1, f"the later build reaches only {days_later} days past {as_of}"
    assert compared > 1000, f"only {compared} snapshot rows observed up to {as_of} to compare"
    assert not differing, f"rows observed up to {as_of} that differ a quarter later, per column: {differing}"


PERIODS_PER_YEAR = {"day": 365, "week": 52, "month": 12, "year": 1}


def test_arr_counts_each_items_interval_and_seats_leave_add_ons_out(
    loaded_s_world: LoadedWorld, tmp_path: Path
) -> None:
    """A company that bills every 6 months and sells add-ons (the sandbox does neither): monthly prices
    become 6-monthly and every subscription gets an add-on item of 2 at $10. ARR is each item's amount
    times its periods a year (2, not 12, for 6-monthly), and seats stay the seat item's quantity."""
    warehouse = loaded_s_world.copy_warehouse(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(warehouse))
    try:
        items = "raw_stripe.subscriptions__items__data"
        con.execute(
            f"update {items} set price__recurring__interval_count = 6 where price__recurring__interval = 'month'"
        )
        con.execute(
            f"""insert into {items} (id, quantity, price__unit_amount, price__product, price__recurring__interval,
                price__recurring__interval_count, _dlt_root_id, _dlt_parent_id, _dlt_list_idx, _dlt_id)
            select id || '_addon', 2, 1000, 'prod_addon', price__recurring__interval, price__recurring__interval_count,
                _dlt_root_id, _dlt_parent_id, 1, _dlt_id || '_addon'
            from {items}"""
        )
        rows = con.execute(
            f"""select s.id, s.status, i._dlt_list_idx, i.quantity, i.price__unit_amount, i.price__recurring__interval,
                i.price__recurring__interval_count
            from raw_stripe.subscriptions as s inner join {items} as i on i._dlt_parent_id = s._dlt_id"""
        ).fetchall()
    finally:
        con.close()
    expected: dict[str, tuple[int, float]] = {}
    for sub, status, idx, quantity, unit, interval, count in rows:
        seats, arr = expected.get(sub, (0, 0.0))
        if idx == 0:
            seats = quantity
        if status in ("active", "past_due", "trialing"):
            arr += quantity * unit / 100 * PERIODS_PER_YEAR[interval] / (count or 1)
        expected[sub] = (seats, arr)
    run = dbt(
        warehouse,
        "build",
        "--select",
        "+int_accounts__subscriptions",
        "--resource-type",
        "model",
        "seed",
        target_path=tmp_path / "target",
    )
    assert run.returncode == 0, run.output[-3000:]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        got = con.execute("select subscription_id, seats, arr from intermediate.int_accounts__subscriptions").fetchall()
    finally:
        con.close()
    assert len(got) > 100
    assert {(r[5], r[6]) for r in rows} == {("month", 6), ("year", 1)}
    wrong = {
        s: (seats, arr, expected[s])
        for s, seats, arr in got
        if (seats, round(arr, 2)) != (expected[s][0], round(expected[s][1], 2))
    }
    assert not wrong, f"{len(wrong)} subscriptions with wrong seats or ARR, e.g. {list(wrong.items())[:3]}"
