"""One simulated day: THE code path of both `generate` and `advance`."""

from __future__ import annotations

from pathlib import Path

from sandbox.store import Store
from sandbox.world import (
    billing,
    contacts,
    crm,
    csm,
    expansion,
    health,
    opportunities,
    product,
    renewals,
    sales_pipeline,
    support,
    truth,
)
from sandbox.world.calendar import clock_after, is_month_start
from sandbox.world.context import Day
from sandbox.world.event_files import EventFiles
from sandbox.world.rng import Stream
from sandbox.world.sizes import size_named
from sandbox.world.state import World, save_state


def simulate_day(store: Store, world: World, data_dir: Path, files: EventFiles, save: bool) -> Day:
    """Simulate the day after `world.day`, write its records and event file, and commit.

    With `save` (advance), the day's event file is on disk and the state is stored in the same
    transaction as the day's records before the commit; generation saves the state once at the
    end instead, since a failed generation is thrown away whole.
    """
    d = Day(store, world, world.day + 1)
    if is_month_start(d.day) or d.day == world.start_day:
        truth.write_month(d, data_dir)
    if d.day > world.start_day:
        truth.write_day(d, data_dir)
    health.evolve(d)
    sales_pipeline.daily(d, size_named(world.size))
    contacts.daily(d)
    renewals.daily(d)
    expansion.daily(d)
    opportunities.advance_stages(d)
    billing.roll_periods(d)
    billing.collect(d)
    crm.sync_due_accounts(d, d.rng(Stream.RENEWALS, 1))
    support.daily(d)
    csm.daily(d)
    product.daily(d, data_dir, files)
    world.day = d.day
    if save:
        files.wait()
        save_state(store, world)
    store.set_now(clock_after(d.day))  # commits the day
    return d
