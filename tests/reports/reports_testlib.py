"""Shared by the report tests: paths, the fixture warehouse and the types the fixtures return.

The fixture warehouse is small and fixed, with only the mart columns the pages use. Its figures are
chosen so that every formatted value on the pages is unambiguous (no rounding ties), which lets the
browser tests compare exact strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]
REPORTS = REPO / "reports"

# account_id, account_name, csm_name, segment, arr, health_tier, health_score
ACCOUNTS: list[tuple[int, str, str, str, float, str, float]] = [
    (101, "Acme Robotics", "Dana Whitfield", "Enterprise", 412_500.0, "green", 86.4),
    (102, "Borealis Freight", "Dana Whitfield", "Enterprise", 298_000.0, "red", 31.2),
    (103, "Cobalt Health", "Ravi Menon", "Enterprise", 655_250.0, "yellow", 58.7),
    (104, "Driftwood Media", "Ravi Menon", "Mid-Market", 96_400.0, "green", 79.1),
    (105, "Ember Analytics", "Lena Ostrova", "Mid-Market", 121_800.0, "red", 24.6),
    (106, "Fjord Logistics", "Lena Ostrova", "Mid-Market", 88_150.0, "yellow", 55.3),
    (107, "Granite Legal", "Dana Whitfield", "Mid-Market", 143_900.0, "green", 91.8),
    (108, "Harbor Bakery Co", "Ravi Menon", "SMB", 14_200.0, "red", 18.9),
    (109, "Indigo Yoga", "Lena Ostrova", "SMB", 9_850.0, "green", 74.2),
    (110, "Juniper Dental", "Lena Ostrova", "SMB", 22_700.0, "yellow", 47.6),
    (111, "Kestrel Drones", "Ravi Menon", "SMB", 31_400.0, "green", 82.3),
    (112, "Lumen Studios", "Dana Whitfield", "Enterprise", 377_000.0, "yellow", 62.1),
]

SNAPSHOT_DATES = [date(2026, month, 1) for month in range(6, 12)]


def history_score(current: float, step: int, account_id: int) -> float:
    """A deterministic monthly path that ends at the account's current score."""
    months_before_now = len(SNAPSHOT_DATES) - 1 - step
    slope = ((account_id % 3) - 1) * 2.5
    return round(current - months_before_now * slope, 1)


def build_test_warehouse(path: Path) -> Path:
    """Write the fixture warehouse to `path` (replacing it) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        con.execute(
            """
            create table marts.customer_360 (
                account_id integer primary key,
                account_name varchar not null,
                csm_name varchar not null,
                segment varchar not null,
                arr decimal(12, 2) not null,
                health_tier varchar not null,
                health_score double not null
            )
            """
        )
        con.executemany("insert into marts.customer_360 values (?, ?, ?, ?, ?, ?, ?)", ACCOUNTS)
        con.execute(
            """
            create table marts.health_score_history (
                account_id integer not null,
                snapshot_date date not null,
                health_score double not null,
                primary key (account_id, snapshot_date)
            )
            """
        )
        rows = [
            (account_id, snapshot_date, history_score(score, step, account_id))
            for account_id, *_, score in ACCOUNTS
            for step, snapshot_date in enumerate(SNAPSHOT_DATES)
        ]
        con.executemany("insert into marts.health_score_history values (?, ?, ?)", rows)
        # Something outside marts that the reports must never see.
        con.execute("create schema staging")
        con.execute("create table staging.stg_secret as select 1 as never_in_reports")
        con.execute("checkpoint")
    finally:
        con.close()
    return path


@dataclass(frozen=True)
class BuiltSite:
    project: Path  # the temporary copy of reports/ the site was built in
    build: Path
    warehouse: Path
    offline: bool  # built with the network cut


@dataclass(frozen=True)
class Expected:
    """The figures the pages must show, computed from the fixture warehouse and formatted as the
    pages' `fmt=` strings format them."""

    big_values: dict[str, str]
    all_rows: list[list[str]]
    segment: str
    segment_rows: list[list[str]]
    segments: list[str]
    direct_account: dict[str, str]
    direct_history: list[list[str]]
    clicked_account: dict[str, str]
    account_ids: list[str]
