"""`generate`, `advance` and `info`: the world's commands, with the data folder handled safely.

Generation builds into a hidden folder next to the target and renames it into place only when
complete, so an interrupted run never leaves a half-written world (and --force replaces the old
world only on success).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from sandbox.schema import ALL_OBJECTS
from sandbox.store import Store, StoreError
from sandbox.world import truth
from sandbox.world.calendar import clock_after, date_of, day_of, history_start
from sandbox.world.crm_shop import CRMS, world_crm
from sandbox.world.event_files import EventFiles
from sandbox.world.founding import found
from sandbox.world.product import events_dir
from sandbox.world.sizes import size_named
from sandbox.world.state import CHURNED, CUSTOMER, PROSPECT, World, load_state, save_state
from sandbox.world.step import simulate_day

WORLD_FILE = "world.sqlite"


def _say(text: str) -> None:
    print(text, flush=True)


def generate(
    data_dir: Path,
    size: str,
    seed: int,
    end_date: date,
    force: bool = False,
    crm: str = "salesforce",
    months: int | None = None,
) -> dict[str, Any]:
    """`crm`: the CRM the company runs its customers in (sandbox/world/crm_shop.py); the same seed
    makes the same company either way, only the CRM ids its other systems keep differ. `months`: the
    length of the history, instead of the size's."""
    if crm not in CRMS:
        raise StoreError(f"unknown CRM {crm!r}: choose one of {', '.join(CRMS)}")
    if months is not None and months < 1:
        raise StoreError(f"--months {months}: a history of at least one month")
    preset = size_named(size)
    if months is not None:
        preset = replace(preset, months=months)
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise StoreError(f"{data_dir} is a file, not a folder; choose another --data-dir")
    if data_dir.exists() and any(data_dir.iterdir()) and not force:
        raise StoreError(f"{data_dir} already holds a world; pass --force to replace it, or choose another --data-dir")
    start = history_start(end_date, preset.months)
    started = time.monotonic()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    building = data_dir.parent / f".{data_dir.name}.building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    _say(f"generating a size {preset.name} {crm} world (seed {seed}) from {start} to {end_date} into {data_dir}")
    try:
        building.mkdir()
        store = Store.create(building / WORLD_FILE)
        try:
            # A failed generation is discarded whole, so the file need not survive a power cut mid-way.
            store.conn.execute("PRAGMA synchronous=OFF")
            store.set_meta("world", {"size": preset.name, "seed": seed, "start_date": start.isoformat(), "crm": crm})
            world = found(store, preset, seed, day_of(start))
            counts = _run(store, world, building, day_of(end_date) - world.day, save_each_day=False)
            save_state(store, world)
            store.conn.commit()
            store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            truth.write_summary(world, building)
            summary = _summary(store, world, data_dir, counts, time.monotonic() - started)
        finally:
            store.close()
        _swap_into_place(building, data_dir)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _print_summary(summary)
    return summary


def _swap_into_place(building: Path, data_dir: Path) -> None:
    old = data_dir.parent / f".{data_dir.name}.old-{os.getpid()}"
    had_old = data_dir.exists()
    if had_old:
        os.replace(data_dir, old)
    try:
        os.replace(building, data_dir)
    except BaseException:
        if had_old:
            os.replace(old, data_dir)  # put the previous world back
        raise
    shutil.rmtree(old, ignore_errors=True)


def _open(data_dir: Path) -> Store:
    path = Path(data_dir) / WORLD_FILE
    if not path.exists():
        raise StoreError(f"no sandbox world in {data_dir}: run `python -m sandbox generate` first (or pass --data-dir)")
    try:
        return Store.open(path)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a readable sandbox world ({exc}); generate it again with --force") from None


def advance(data_dir: Path, days: int) -> dict[str, Any]:
    if days < 1:
        raise StoreError(f"days must be at least 1, got {days}")
    data_dir = Path(data_dir)
    started = time.monotonic()
    store = _open(data_dir)
    try:
        world = load_state(store)
        if store.now() != clock_after(world.day):
            raise StoreError(
                f"the world in {data_dir} is inconsistent (clock {store.now():%Y-%m-%d %H:%M} but state at "
                f"{date_of(world.day)}); generate it again with --force"
            )
        _say(f"advancing the world in {data_dir} by {days} day{'s' if days != 1 else ''} from {date_of(world.day)}")
        counts = _run(store, world, data_dir, days, save_each_day=True)
        truth.write_summary(world, data_dir)
        summary = _summary(store, world, data_dir, counts, time.monotonic() - started)
    finally:
        store.close()
    _print_summary(summary)
    return summary


def _run(store: Store, world: World, data_dir: Path, days: int, save_each_day: bool) -> dict[str, int]:
    counts: dict[str, int] = {}
    report_every = max(1, days // 10)
    t0 = time.monotonic()
    files = EventFiles()
    try:
        for i in range(days):
            d = simulate_day(store, world, data_dir, files, save=save_each_day)
            for k, v in d.counts.items():
                counts[k] = counts.get(k, 0) + v
            if days >= 20 and ((i + 1) % report_every == 0 or i + 1 == days):
                acc = world.accounts
                _say(
                    f"  {d.date}  {int((acc['status'] == CUSTOMER).sum()):>6,} customers  "
                    f"{counts.get('events', 0):>12,} events  {counts.get('tickets', 0):>8,} tickets  "
                    f"({time.monotonic() - t0:.0f} s)"
                )
    finally:
        files.close()
    return counts


def _summary(store: Store, world: World, data_dir: Path, counts: dict[str, int], seconds: float) -> dict[str, Any]:
    acc = world.accounts
    records = {obj.table: store.count(obj) for obj in ALL_OBJECTS.values()}
    return {
        "size": world.size,
        "seed": world.seed,
        "start_date": date_of(world.start_day).isoformat(),
        "clock": store.now().isoformat(),
        "accounts": int((acc["status"] != PROSPECT).sum()),  # customers ever
        "customers": int((acc["status"] == CUSTOMER).sum()),
        "churned": int((acc["status"] == CHURNED).sum()),
        "churn_rate_annual": round(annual_churn_rate(world), 4),
        "events": counts.get("events", 0),  # written by this command
        "tickets": records["zd_tickets"],
        "invoices": records["st_invoices"],
        "tasks_completed": counts.get("tasks_completed", 0),
        "records": records,
        "seconds": round(seconds, 1),
        "data_dir": str(data_dir),
    }


def annual_churn_rate(world: World) -> float:
    """Logos lost over the last year (or the history, if shorter) per customer at its start, per year."""
    acc = world.accounts
    span = min(365, world.day - world.start_day + 1)
    start = world.day - span + 1
    since = acc["since_day"]
    churn = acc["churn_day"]
    at_start = (since >= 0) & (since < start) & ((churn < 0) | (churn >= start))
    lost = at_start & (churn >= start)
    return float(lost.sum() / max(at_start.sum(), 1) * 365 / span)


def _print_summary(s: dict[str, Any]) -> None:
    r = s["records"]
    _say(
        f"done in {s['seconds']} s: clock {s['clock']}; {s['accounts']:,} accounts ever, "
        f"{s['customers']:,} customers now, {s['churned']:,} churned ({s['churn_rate_annual']:.1%} a year)"
    )
    _say(
        f"  {s['events']:,} product events written; {r['zd_tickets']:,} tickets; {r['st_invoices']:,} invoices; "
        f"{r['sf_opportunity']:,} opportunities; {r['sf_contact']:,} contacts"
    )


def info(data_dir: Path) -> dict[str, Any]:
    data_dir = Path(data_dir)
    store = _open(data_dir)
    try:
        meta = store.meta("world") or {}
        world = load_state(store)
        acc = world.accounts
        files = sorted(events_dir(data_dir).glob("event_date=*/events.parquet"))
        events = sum(pq.read_metadata(f).num_rows for f in files)
        out = {
            "size": meta.get("size", world.size),
            "seed": meta.get("seed", world.seed),
            "crm": world_crm(store),
            "start_date": date_of(world.start_day).isoformat(),
            "clock": store.now().isoformat(),
            "customers": int((acc["status"] == CUSTOMER).sum()),
            "churned": int((acc["status"] == CHURNED).sum()),
            "event_files": len(files),
            "events": events,
            "records": {obj.table: store.count(obj) for obj in ALL_OBJECTS.values()},
            "truth_months": len(list((truth.truth_dir(data_dir) / "account_months").glob("*.parquet"))),
        }
    finally:
        store.close()
    _say(
        f"sandbox world in {data_dir}: size {out['size']}, seed {out['seed']}, CRM {out['crm']}, "
        f"history from {out['start_date']}"
    )
    _say(f"  clock {out['clock']}; {out['customers']:,} customers, {out['churned']:,} churned")
    _say(f"  product events: {out['events']:,} in {out['event_files']} daily files")
    for table, n in out["records"].items():
        _say(f"  {table:<26}{n:>12,}")
    return out
