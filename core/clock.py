"""One clock for every layer.

- **The as-of date** of a run is the data's own clock (`marts.data_clock`, built by dbt from the last
  day the loaded data reaches), or the date an operator pins for the run (the daily job's run tag
  `copilot/as_of_date`, which the dbt steps pass as the `as_of_date` variable, e.g. to rebuild a past
  day). dbt decides it once per run; the orchestration reads it here (`require_as_of_date`) and
  passes it to training's schedule and training, scoring, alerts and every stamp that says which
  day a record describes: library functions take a connection and the as-of date, never a path.
  The sandbox lives on its own clock and a real warehouse may be loaded late: neither is the wall
  clock.
- **Timestamps** of when something happened (a load, a sync, a training) are UTC, stored without a
  time zone: `utc_now()`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb

from core.warehouse import table_exists

DATA_CLOCK = "marts.data_clock"
# The run tag an operator sets to pin the as-of date (YYYY-MM-DD), read by the dbt steps.
AS_OF_DATE_TAG = "copilot/as_of_date"


def utc_now() -> datetime:
    """Now in UTC, without a time zone (as the warehouse stores timestamps)."""
    return datetime.now(UTC).replace(tzinfo=None)


def as_of_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The as-of date of the data in the warehouse, or None before dbt has built the clock."""
    if not table_exists(con, DATA_CLOCK):
        return None
    row = con.execute(f"SELECT max(as_of_date) FROM {DATA_CLOCK}").fetchone()
    return row[0] if row else None


class ClockMissing(Exception):
    """The warehouse has no as-of date yet: `str()` says what to run."""


def require_as_of_date(con: duckdb.DuckDBPyConnection) -> date:
    """The run's as-of date, or ClockMissing before dbt has built the clock (or from an empty one)."""
    day = as_of_date(con)
    if day is None:
        raise ClockMissing(f"{DATA_CLOCK} is not built or empty: no as-of date for this run (run the dbt build first)")
    return day


def parse_as_of_date(value: str) -> date:
    """An operator's as-of date (YYYY-MM-DD), or ValueError saying what is expected."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{AS_OF_DATE_TAG}={value!r} is not a date: use YYYY-MM-DD") from None
