"""The settings analysts edit, validated in one place before the daily run does any work.

- health-score weights, measures and tiers (`dbt_project/seeds/health_score/`): numbers, no negative
  weight, and for every segment weights that sum to more than 0 (all 0 would leave every score empty
  and every tier Unknown, which the sync would then push to the CRM);
- alert rules and settings (`dbt_project/seeds/alerts/`): a known rule type, a severity, and each
  threshold a number in the unit its rule compares it with (a share is 0.3, never 30; churn_risk_high
  is a multiple of the churn model's base rate, 5 for the High tier, never a probability);
- the ML settings (`ml/config.yml`, or the file COPILOT_ML_CONFIG names).

Each problem is one line naming the file, the row or key, and what to write instead. The dbt models
check the same seeds again when they build (`int_health_score_config`), so a warehouse built by the
dbt CLI alone is never built on a setting this module would refuse.

`ml_history_notes` compares the ML split with the history the warehouse holds: not a problem (the
training step then says why it cannot train and the run syncs the health scores without churn
scores), but worth saying before the run starts.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "dbt_project" / "seeds"
HEALTH_SEEDS = SEEDS / "health_score"
ALERT_SEEDS = SEEDS / "alerts"
SEVERITIES = ("high", "medium", "low")
_BOOLS = ("true", "false")


def _share(v: float) -> bool:
    return 0 < v <= 1


def _whole_at_least(low: int) -> Callable[[float], bool]:
    return lambda v: v == int(v) and v >= low


def _multiple(v: float) -> bool:
    # A churn alert relative to the company's base rate: at or below 1x it would fire on average risk.
    return 1 < v <= 100


def _points(v: float) -> bool:
    return 0 < v <= 100


def _days(v: float) -> bool:
    return v == int(v) and v >= 0


# Per rule type: (threshold's unit and test, threshold_2's unit and test or None when unused).
RULE_UNITS: dict[str, tuple[tuple[str, Callable[[float], bool]], tuple[str, Callable[[float], bool]] | None]] = {
    "usage_drop": (("a share of active users lost, above 0 and at most 1 (0.3 = 30 %)", _share),
                   ("the fewest active users before the drop, a whole number >= 1", _whole_at_least(1))),
    "champion_left": (("a count of champions, a whole number >= 1", _whole_at_least(1)), None),
    "payment_issue": (("a count of failed payments, a whole number >= 1", _whole_at_least(1)),
                      ("a count of overdue invoices, a whole number >= 1", _whole_at_least(1))),
    "red_near_renewal": (("days before the renewal, a whole number >= 0", _days), None),
    "ticket_surge": (("a count of high or urgent tickets, a whole number >= 1", _whole_at_least(1)), None),
    "health_score_fall": (("health-score points, above 0 and at most 100", _points), None),
    "churn_risk_high": (("a multiple of the churn model's base rate, above 1 and at most 100 (5 = the High risk "
                         "tier, ml/config.yml risk_tiers.high_vs_base_rate)", _multiple), None),
    "churn_risk_jump": (("a rise in churn probability, above 0 and at most 1 (0.15 = 15 points)", _share), None),
    "expansion_opportunity": (("an expansion propensity, above 0 and at most 1 (0.6 = 60 %)", _share), None),
    "notice_save_play": (("days left before the contract ends, a whole number >= 0", _days), None),
}  # fmt: skip


def _rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    with path.open(newline="") as handle:
        return [
            (line, {k: (v or "").strip() for k, v in row.items() if k})
            for line, row in enumerate(csv.DictReader(handle), start=2)
        ]


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _where(path: Path, line: int) -> str:
    return f"{_shown(path)} line {line}"


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


class _Found(list[str]):
    """Problems in the order found; a cell that is not a number is named as such once."""

    def number(self, path: Path, line: int, column: str, value: str, required: bool = True) -> float | None:
        if not value:
            if required:
                self.append(f"{column} in {_where(path, line)} is empty: write a number")
            return None
        number = _number(value)
        if number is None:
            self.append(f"{column} {value!r} in {_where(path, line)} is not a number")
        return number


# --- health score ------------------------------------------------------------------------------------


def health_score_problems(seeds: Path | None = None) -> list[str]:
    seeds = seeds or HEALTH_SEEDS
    found = _Found()
    weights_file = seeds / "health_score_weights.csv"
    by_segment: dict[str, dict[str, float]] = {}
    for line, row in _rows(weights_file):
        weight = found.number(weights_file, line, "weight", row.get("weight", ""))
        if weight is None:
            continue
        if weight < 0:
            found.append(f"weight {row['weight']} in {_where(weights_file, line)} is negative: write 0 or more")
            continue
        by_segment.setdefault(row.get("segment", ""), {})[row.get("component", "")] = weight
    defaults = by_segment.get("*", {})
    for segment, own in sorted(by_segment.items()):
        if sum((defaults | own).values()) <= 0:
            found.append(
                f"the weights of segment {segment!r} in {_shown(weights_file)} "
                "sum to 0: give at least one component a weight above 0 (with all at 0 every health score is "
                "empty and every tier Unknown)"
            )
    metrics_file = seeds / "health_score_metrics.csv"
    for line, row in _rows(metrics_file):
        weight = found.number(metrics_file, line, "weight_in_component", row.get("weight_in_component", ""))
        if weight is not None and weight < 0:
            found.append(f"weight_in_component {weight:g} in {_where(metrics_file, line)} is negative: write 0 or more")
        zero = found.number(metrics_file, line, "zero_points_at", row.get("zero_points_at", ""))
        full = found.number(metrics_file, line, "full_points_at", row.get("full_points_at", ""))
        if zero is None or full is None:
            continue
        where = _where(metrics_file, line)
        unit = row.get("unit", "")
        if zero == full:
            found.append(f"zero_points_at and full_points_at in {where} are both {zero:g}: make them differ")
        elif unit == "percent" and not (0 <= zero <= 1 and 0 <= full <= 1):
            found.append(
                f"zero_points_at {zero:g} / full_points_at {full:g} in {where} are percent: write shares "
                "between 0 and 1 (0.2 = 20 %)"
            )
        elif unit in ("count", "number") and min(zero, full) < 0:
            found.append(f"zero_points_at {zero:g} / full_points_at {full:g} in {where} are {unit}s: write 0 or more")
        elif unit == "flag" and {zero, full} != {0.0, 1.0}:
            found.append(f"zero_points_at / full_points_at in {where} are a flag: write 0 and 1")
    tiers_file = seeds / "health_score_tiers.csv"
    for line, row in _rows(tiers_file):
        red = found.number(tiers_file, line, "red_below", row.get("red_below", ""))
        green = found.number(tiers_file, line, "green_at_or_above", row.get("green_at_or_above", ""))
        if red is None or green is None:
            continue
        where = _where(tiers_file, line)
        if not (0 <= red <= 100 and 0 <= green <= 100):
            found.append(f"red_below {red:g} / green_at_or_above {green:g} in {where} are scores: write 0 to 100")
        elif red > green:
            found.append(f"red_below {red:g} in {where} is above green_at_or_above {green:g}: swap them")
    return list(found)


# --- alerts ------------------------------------------------------------------------------------------


def alert_problems(seeds: Path | None = None) -> list[str]:
    seeds = seeds or ALERT_SEEDS
    found = _Found()
    rules_file = seeds / "alert_rules.csv"
    for line, row in _rows(rules_file):
        where = _where(rules_file, line)
        rule = row.get("rule_id") or row.get("rule_type", "")
        kind = row.get("rule_type", "")
        if kind not in RULE_UNITS:
            found.append(f"rule_type {kind!r} in {where} is unknown: use one of {', '.join(RULE_UNITS)}")
            continue
        if row.get("severity", "") not in SEVERITIES:
            found.append(f"severity {row.get('severity', '')!r} in {where} (rule {rule}): write high, medium or low")
        for column in ("enabled", "mute_below_floor"):
            if row.get(column, "").lower() not in _BOOLS:
                found.append(f"{column} {row.get(column, '')!r} in {where} (rule {rule}): write true or false")
        first, second = RULE_UNITS[kind]
        for column, unit in (("threshold", first), ("threshold_2", second)):
            if unit is None:
                continue
            value = found.number(rules_file, line, column, row.get(column, ""), required=column == "threshold")
            if value is not None and not unit[1](value):
                found.append(f"{column} {value:g} in {where} (rule {rule}) is {unit[0]}: write a value in that range")
        cooldown = found.number(rules_file, line, "cooldown_days", row.get("cooldown_days", ""))
        if cooldown is not None and not _days(cooldown):
            found.append(f"cooldown_days {cooldown:g} in {where} (rule {rule}): write a whole number of days >= 0")
        window = found.number(rules_file, line, "window_days", row.get("window_days", ""), required=False)
        if window is not None and not (window == int(window) and window >= 1):
            found.append(f"window_days {window:g} in {where} (rule {rule}): write a whole number of days >= 1")
        floor = found.number(rules_file, line, "precision_floor", row.get("precision_floor", ""), required=False)
        if floor is not None and not 0 <= floor <= 1:
            found.append(f"precision_floor {floor:g} in {where} (rule {rule}) is a share: write 0 to 1 (0.3 = 30 %)")
    settings_file = seeds / "alert_settings.csv"
    for line, row in _rows(settings_file):
        if row.get("setting") == "min_closed_for_precision":
            value = found.number(settings_file, line, "min_closed_for_precision", row.get("value", ""))
            if value is not None and not _days(value):
                where = _where(settings_file, line)
                found.append(f"min_closed_for_precision {value:g} in {where}: write a whole number >= 0")
    return list(found)


# --- ML ----------------------------------------------------------------------------------------------


def ml_problems() -> list[str]:
    from ml.config import load_config
    from ml.errors import ModelError

    try:
        load_config()
    except ModelError as exc:
        return [f"{exc}: fix it in {_ml_file()}"]
    return []


def _ml_file() -> str:
    import os

    from ml.config import CONFIG_FILE

    named = os.environ.get("COPILOT_ML_CONFIG")
    return named or str(CONFIG_FILE.relative_to(REPO))


def ml_history_notes(con: Any) -> list[str]:
    """Whether the ML split fits the history of complete labels the warehouse already holds (nothing
    to say before the first build)."""
    from core.warehouse import table_exists
    from ml.config import load_config
    from ml.errors import ModelError
    from ml.split import history_fits

    if not table_exists(con, "marts.ml_account_snapshots"):
        return []
    try:
        cfg = load_config()
    except ModelError:
        return []  # reported by ml_problems
    row = con.execute(
        "select min(observation_date), max(observation_date), max(label_horizon_days) "
        "from marts.ml_account_snapshots where label_is_complete"
    ).fetchone()
    if row is None or row[0] is None:
        return ["the warehouse has no ML snapshot with a complete label yet: the churn and expansion models "
                "cannot train; the health scores are synced without churn scores"]  # fmt: skip
    why = history_fits(row[0], row[1], int(row[2] or 90), cfg)
    return [] if why is None else [f"{why}; until then the health scores are synced without churn scores"]


def problems() -> list[str]:
    """Every problem in the analysts' settings, one line each."""
    return health_score_problems() + alert_problems() + ml_problems()
