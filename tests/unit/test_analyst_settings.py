"""The settings analysts edit are validated before any work, one line per problem naming the file, the
row or key and the fix: health-score weights, measures and tiers, alert rules, the ML settings."""

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from ml.config import CONFIG_FILE, load_config
from ml.errors import ModelError
from ml.split import history_fits
from orchestration import analyst_settings, preflight

HEALTH = "dbt_project/seeds/health_score"
RULES = "dbt_project/seeds/alerts/alert_rules.csv"


@pytest.fixture
def seeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Copies of the shipped seeds inside the repository's tree, where the preflight reads them."""
    root = Path(shutil.copytree(analyst_settings.SEEDS, tmp_path / "seeds"))
    monkeypatch.setattr(analyst_settings, "HEALTH_SEEDS", root / "health_score")
    monkeypatch.setattr(analyst_settings, "ALERT_SEEDS", root / "alerts")
    monkeypatch.setattr(analyst_settings, "REPO", tmp_path)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_the_shipped_settings_pass() -> None:
    assert analyst_settings.problems() == []


def test_weights_that_sum_to_zero_stop_the_run_naming_the_segment(seeds: Path) -> None:
    """All weights 0 made every score NULL and every tier Unknown, and the sync tried to blank the CRM."""
    weights = seeds / "health_score" / "health_score_weights.csv"
    weights.write_text("segment,component,weight\n" + "".join(
        f"*,{c},0\n" for c in ("usage", "adoption", "support", "billing", "relationship")
    ))  # fmt: skip
    assert preflight.health_score_config() == [
        "the weights of segment '*' in seeds/health_score/health_score_weights.csv sum to 0: give at least one "
        "component a weight above 0 (with all at 0 every health score is empty and every tier Unknown)"
    ]
    # A segment is checked with the defaults it inherits: Enterprise's own rows alone may be 0.
    weights.write_text(weights.read_text().replace("*,adoption,0", "*,adoption,30") + "Enterprise,usage,0\n")
    assert preflight.health_score_config() == []
    # ... and inherits the defaults' zeros too.
    weights.write_text(weights.read_text().replace("*,adoption,30", "*,adoption,0"))
    assert [p.split(" in ")[0] for p in preflight.health_score_config()] == [
        "the weights of segment '*'",
        "the weights of segment 'Enterprise'",
    ]


@pytest.mark.parametrize(
    ("file", "old", "new", "line"),
    [
        ("health_score_weights.csv", "*,support,10", "*,support,ten",
         "weight 'ten' in seeds/health_score/health_score_weights.csv line 4 is not a number"),
        ("health_score_weights.csv", "*,support,10", "*,support,-10",
         "weight -10 in seeds/health_score/health_score_weights.csv line 4 is negative: write 0 or more"),
        ("health_score_metrics.csv", "daily_active_seat_share,2,0.03,0.22", "daily_active_seat_share,2,3,22",
         "zero_points_at 3 / full_points_at 22 in seeds/health_score/health_score_metrics.csv line 2 are percent: "
         "write shares between 0 and 1 (0.2 = 20 %)"),
        ("health_score_tiers.csv", "*,40,65", "*,65,40",
         "red_below 65 in seeds/health_score/health_score_tiers.csv line 2 is above green_at_or_above 40: swap them"),
    ],
)  # fmt: skip
def test_a_health_setting_out_of_its_unit_is_named(seeds: Path, file: str, old: str, new: str, line: str) -> None:
    edit(seeds / "health_score" / file, old, new)
    assert analyst_settings.health_score_problems() == [line]


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        # an absolute probability instead of a multiple of the base rate: it would fire on accounts at
        # half the company's usual churn, and every account would be "high risk"
        ("churn_risk_high,churn_risk_high,true,high,30,5,", "churn_risk_high,churn_risk_high,true,high,30,0.5,",
         "threshold 0.5 in seeds/alerts/alert_rules.csv line 8 (rule churn_risk_high) is a multiple of the churn "
         "model's base rate, above 1 and at most 100 (5 = the High risk tier, ml/config.yml "
         "risk_tiers.high_vs_base_rate): write a value in that range"),
        ("churn_risk_high,churn_risk_high,true,high,30,5,", "churn_risk_high,churn_risk_high,true,high,30,500,",
         "threshold 500 in seeds/alerts/alert_rules.csv line 8 (rule churn_risk_high) is a multiple of the churn "
         "model's base rate, above 1 and at most 100 (5 = the High risk tier, ml/config.yml "
         "risk_tiers.high_vs_base_rate): write a value in that range"),
        ("usage_drop,usage_drop,true,medium,30,0.3,", "usage_drop,usage_drop,true,medium,30,-0.3,",
         "threshold -0.3 in seeds/alerts/alert_rules.csv line 2 (rule usage_drop) is a share of active users lost, "
         "above 0 and at most 1 (0.3 = 30 %): write a value in that range"),
        ("ticket_surge,ticket_surge,true,medium,21,3,", "ticket_surge,ticket_surge,true,medium,21,three,",
         "threshold 'three' in seeds/alerts/alert_rules.csv line 6 is not a number"),
        ("champion_left,champion_left,true,high,", "champion_left,champion_left,true,urgent,",
         "severity 'urgent' in seeds/alerts/alert_rules.csv line 3 (rule champion_left): write high, medium or low"),
        ("payment_issue,payment_issue,", "payment_issue,payment_issues,",
         "rule_type 'payment_issues' in seeds/alerts/alert_rules.csv line 4 is unknown: use one of usage_drop, "
         "champion_left, payment_issue, red_near_renewal, ticket_surge, health_score_fall, churn_risk_high, "
         "churn_risk_jump, expansion_opportunity, notice_save_play"),
    ],
)  # fmt: skip
def test_an_alert_threshold_out_of_its_unit_is_named(seeds: Path, old: str, new: str, line: str) -> None:
    edit(seeds / "alerts" / "alert_rules.csv", old, new)
    assert analyst_settings.alert_problems() == [line]


def test_the_preflight_names_a_bad_ml_setting_and_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = yaml.safe_load(CONFIG_FILE.read_text())
    settings["split"]["test_weeks"] = "twelve"
    path = tmp_path / "ml_config.yml"
    path.write_text(yaml.safe_dump(settings))
    monkeypatch.setenv("COPILOT_ML_CONFIG", str(path))
    assert preflight.ml_config() == [
        f"ml config: split.test_weeks must be a number in [1, 520], got 'twelve': fix it in {path}"
    ]


def test_the_split_is_compared_with_the_history_there_is() -> None:
    """The shipped split (12 test and 12 validation weeks, two 90-day gaps) needs 348 days of complete
    labels: an S company's year gives ~275, so training says why it waits instead of failing the run."""
    cfg = load_config()
    first = date(2025, 1, 6)
    assert history_fits(first, first + timedelta(days=348), 90, cfg) is None
    assert history_fits(first, first + timedelta(days=275), 90, cfg) == (
        "too little history to train: labels complete from 2025-01-06 to 2025-10-08 (275 days), but the split "
        "needs 12 test and 12 validation weeks and two 90-day gaps (at least 348 days; ml/config.yml split)"
    )


def test_a_settings_file_written_before_the_early_stopping_sample_still_loads(tmp_path: Path) -> None:
    """A company's own ml config from before `xgboost.early_stopping_negative_rows` stops early on the
    fitting sample's rows (its max_negative_rows), as it did; a value out of range is named."""
    settings = yaml.safe_load(CONFIG_FILE.read_text())
    assert load_config().early_stopping_negative_rows == settings["xgboost"]["early_stopping_negative_rows"]
    del settings["xgboost"]["early_stopping_negative_rows"]
    settings["max_negative_rows"] = 50000
    path = tmp_path / "ml_config.yml"
    path.write_text(yaml.safe_dump(settings))
    assert load_config(path).early_stopping_negative_rows == 50000
    settings["xgboost"]["early_stopping_negative_rows"] = 10
    path.write_text(yaml.safe_dump(settings))
    with pytest.raises(ModelError, match=r"xgboost.early_stopping_negative_rows must be a number in \[100, "):
        load_config(path)
