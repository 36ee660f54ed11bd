"""Simulated days as integer ordinals (date.toordinal) and the timestamps records get within a day."""

from __future__ import annotations

import calendar as _cal
from datetime import UTC, date, datetime

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
DAY_SECONDS = 86_400
# Everything simulated on day D is stamped before D 23:00 UTC; the sandbox clock is then set to
# 23:00, and writes from API clients are stamped after it.
LAST_SECOND = 23 * 3600 - 1


def day_of(d: date) -> int:
    return d.toordinal()


def date_of(day: int) -> date:
    return date.fromordinal(int(day))


def day_start_unix(day: int) -> int:
    return (int(day) - EPOCH_ORDINAL) * DAY_SECONDS


def to_datetime(ts: int) -> datetime:
    return datetime.fromtimestamp(int(ts), UTC)


def clock_after(day: int) -> datetime:
    """The sandbox clock once `day` has been simulated."""
    return to_datetime(day_start_unix(day) + LAST_SECOND + 1)


def add_months(anchor: date, months: int) -> date:
    """The anchor's day of month, `months` later, clamped to the month's length (as Stripe bills)."""
    y, m = divmod(anchor.month - 1 + months, 12)
    year, month = anchor.year + y, m + 1
    return date(year, month, min(anchor.day, _cal.monthrange(year, month)[1]))


def add_months_day(anchor_day: int, months: int) -> int:
    return add_months(date_of(anchor_day), months).toordinal()


def history_start(end: date, months: int) -> date:
    """First simulated day: the first of the month `months - 1` months before the end date's month.

    Depending only on the end date's month (not its day) keeps the start fixed when the end moves
    within a month, so generate(end=D) + advance(n) and generate(end=D+n) simulate the same company.
    """
    return add_months(end.replace(day=1), -(months - 1))


def is_month_start(day: int) -> bool:
    return date_of(day).day == 1


def is_weekend(day: int) -> bool:
    return date_of(day).weekday() >= 5
