"""Calibration by risk tier: the observed rate's interval comes from resampling accounts, so a tier
of few accounts reads as uncertain however many weekly rows each has."""

from __future__ import annotations

import numpy as np

from ml.metrics import calibration_by_tier


def _rows(accounts: int, weeks: int, rate: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # Each account churns or not as a whole (its weekly rows share the outcome), at `rate`.
    rng = np.random.default_rng(seed)
    churned = rng.uniform(size=accounts) < rate
    groups = np.repeat(np.arange(accounts).astype(str), weeks)
    return np.repeat(churned.astype(int), weeks), np.full(accounts * weeks, 0.3), groups


def test_a_tiers_interval_covers_its_rate_and_narrows_with_more_accounts_not_more_rows() -> None:
    y, p, groups = _rows(200, 12, 0.1, seed=3)
    few = calibration_by_tier(y, p, high=0.2, medium=0.1, groups=groups).iloc[0]
    assert few["label"] == "High" and few["rows"] == 2400
    assert few["observed_ci_low"] < few["observed_rate"] < few["observed_ci_high"]
    assert few["observed_ci_low"] < 0.1 < few["observed_ci_high"]
    # the same rows read as independent (one account each) would claim a far narrower interval
    naive = calibration_by_tier(y, p, high=0.2, medium=0.1, groups=np.arange(len(y)).astype(str)).iloc[0]
    assert naive["observed_ci_high"] - naive["observed_ci_low"] < 0.5 * (
        few["observed_ci_high"] - few["observed_ci_low"]
    )
    y, p, groups = _rows(3200, 12, 0.1, seed=4)
    many = calibration_by_tier(y, p, high=0.2, medium=0.1, groups=groups).iloc[0]
    assert many["observed_ci_high"] - many["observed_ci_low"] < 0.5 * (few["observed_ci_high"] - few["observed_ci_low"])


def test_without_accounts_no_interval_is_claimed() -> None:
    y, p, _ = _rows(50, 4, 0.2, seed=5)
    assert "observed_ci_low" not in calibration_by_tier(y, p, high=0.2, medium=0.1).columns
