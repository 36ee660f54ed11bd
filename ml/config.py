"""ml/config.yml, read and checked once, so a typo stops the run with one line naming the setting."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ml.errors import ModelError

CONFIG_FILE = Path(__file__).with_name("config.yml")
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class MlConfig:
    risk_high_multiple: float
    risk_medium_multiple: float
    test_weeks: int
    valid_weeks: int
    min_positives: dict[str, int]
    retrain_every_days: int
    promotion_tolerance: float
    min_roc_auc: float
    calibration: str
    xgb_fixed: dict[str, Any]
    xgb_grid: list[dict[str, Any]]
    max_rounds: int
    early_stopping_rounds: int
    early_stopping_negative_rows: int
    max_negative_rows: int
    feedback_window_days: int
    confirmed_weight: float
    false_alarm_weight: float
    drift_moderate: float
    drift_major: float

    def risk_thresholds(self, base_rate: float) -> tuple[float, float]:
        """(High from, Medium from): the multiples of the company's own base rate, the share of
        snapshot rows that churned within the horizon in the model's training data."""
        return min(self.risk_high_multiple * base_rate, 1.0), min(self.risk_medium_multiple * base_rate, 1.0)

    def risk_tier(self, probability: float, base_rate: float) -> str:
        high, medium = self.risk_thresholds(base_rate)
        if probability >= high:
            return "High"
        return "Medium" if probability >= medium else "Low"


def _number(raw: dict[str, Any], path: str, low: float, high: float, default: float | None = None) -> float:
    """The number at `path` (a.b.c), in [low, high]; `default` when a setting added later is missing
    from an older file."""
    value: Any = raw
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            if default is not None:
                return default
            raise ModelError(f"ml config: {path} is missing")
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ModelError(f"ml config: {path} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


def load_config(path: str | Path | None = None, **overrides: Any) -> MlConfig:
    """Read `path`, COPILOT_ML_CONFIG or ml/config.yml; keyword overrides replace top-level sections."""
    file = Path(path or os.environ.get("COPILOT_ML_CONFIG") or CONFIG_FILE)
    try:
        raw = yaml.safe_load(file.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ModelError(f"ml config {file}: cannot be read ({exc.__class__.__name__})") from exc
    raw.update(overrides)
    high = _number(raw, "risk_tiers.high_vs_base_rate", 1, 1000)
    medium = _number(raw, "risk_tiers.medium_vs_base_rate", 1, 1000)
    if medium > high:
        raise ModelError("ml config: risk_tiers.medium_vs_base_rate must not be above risk_tiers.high_vs_base_rate")
    calibration = raw.get("calibration")
    if calibration not in ("isotonic", "platt"):
        raise ModelError(f"ml config: calibration must be isotonic or platt, got {calibration!r}")
    xgb = raw.get("xgboost") or {}
    grid = xgb.get("grid")
    if not isinstance(grid, list) or not grid or not all(isinstance(g, dict) for g in grid):
        raise ModelError("ml config: xgboost.grid must be a non-empty list of parameter sets")
    return MlConfig(
        risk_high_multiple=high,
        risk_medium_multiple=medium,
        test_weeks=int(_number(raw, "split.test_weeks", 1, 520)),
        valid_weeks=int(_number(raw, "split.valid_weeks", 1, 520)),
        min_positives={p: int(_number(raw, f"min_positives.{p}", 1, 1e9)) for p in ("train", "valid", "test")},
        retrain_every_days=int(_number(raw, "retrain_every_days", 0, 3650)),
        promotion_tolerance=_number(raw, "promotion.tolerance", 0, 1),
        min_roc_auc=_number(raw, "promotion.min_roc_auc", 0, 1),
        calibration=calibration,
        xgb_fixed=dict(xgb.get("fixed") or {}),
        xgb_grid=grid,
        max_rounds=int(_number(raw, "xgboost.max_rounds", 1, 100000)),
        early_stopping_rounds=int(_number(raw, "xgboost.early_stopping_rounds", 1, 10000)),
        # a file without it (written before the setting) stops early on the fitting sample's rows
        early_stopping_negative_rows=int(
            _number(raw, "xgboost.early_stopping_negative_rows", 100, 1e9, _number(raw, "max_negative_rows", 100, 1e9))
        ),
        max_negative_rows=int(_number(raw, "max_negative_rows", 100, 1e9)),
        feedback_window_days=int(_number(raw, "feedback.window_days", 0, 3650)),
        confirmed_weight=_number(raw, "feedback.confirmed_weight", 0, 100),
        false_alarm_weight=_number(raw, "feedback.false_alarm_weight", 0, 100),
        drift_moderate=_number(raw, "drift.moderate", 0, 10),
        drift_major=_number(raw, "drift.major", 0, 10),
    )


def models_dir() -> Path:
    """Where model files go: COPILOT_MODELS_DIR or data/models (never committed)."""
    return Path(os.environ.get("COPILOT_MODELS_DIR", REPO / "data" / "models"))
