"""The out-of-time split of the snapshot rows by observation day, shared by training in memory
(ml/train.py) and on Spark (ml/spark_training.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from ml.config import MlConfig
from ml.errors import TooLittleData
from ml.features import SNAPSHOTS

PERIODS = ("train", "valid", "test")


def history_fits(first: date, last: date, horizon: int, cfg: MlConfig) -> str | None:
    """None when labels complete from `first` to `last` leave room for the configured split, else why not."""
    needed_days = 7 * (cfg.test_weeks + cfg.valid_weeks) + 2 * horizon
    if (last - first).days >= needed_days:
        return None
    return (
        f"too little history to train: labels complete from {first} to {last} ({(last - first).days} days), but "
        f"the split needs {cfg.test_weeks} test and {cfg.valid_weeks} validation weeks and two {horizon}-day gaps "
        f"(at least {needed_days} days; ml/config.yml split)"
    )


def split_periods(dates: pd.Series, cfg: MlConfig, horizon: int) -> dict[str, date]:
    """Test = the newest test_weeks of complete labels; validation ends one horizon before the test
    starts and training one horizon before validation starts, so no label window crosses a border."""
    if dates.empty:
        raise TooLittleData(f"{SNAPSHOTS} has no rows with complete labels: too little history to train")
    last, first = max(dates), min(dates)
    if why := history_fits(first, last, horizon, cfg):
        raise TooLittleData(why)
    test_start = last - timedelta(days=7 * cfg.test_weeks - 1)
    valid_end = test_start - timedelta(days=horizon + 1)
    valid_start = valid_end - timedelta(days=7 * cfg.valid_weeks - 1)
    train_end = valid_start - timedelta(days=horizon + 1)
    return {
        "train_start": first,
        "train_end": train_end,
        "valid_start": valid_start,
        "valid_end": valid_end,
        "test_start": test_start,
        "test_end": last,
    }


def period_of(dates: pd.Series, windows: dict[str, date]) -> pd.Series:
    period = pd.Series(None, index=dates.index, dtype=object)
    for name in PERIODS:
        period[(dates >= windows[f"{name}_start"]) & (dates <= windows[f"{name}_end"])] = name
    return period
