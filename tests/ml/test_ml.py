"""Training, registry, scoring and bad input of the churn and expansion models on the S world."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from ml import model_file
from ml.config import MlConfig, load_config
from ml.errors import ModelError
from ml.features import FEATURES
from ml.model_file import CalibratedModel
from ml.reasons import drivers
from ml.train import decide
from tests.ml.conftest import score_on, train_on


def _query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_training_and_scoring_end_to_end(warehouse: Path, models: Path, s_config: MlConfig) -> None:
    churn = train_on(warehouse, "churn", s_config, models)
    expansion = train_on(warehouse, "expansion", s_config, models)

    w = churn.windows
    horizon = timedelta(days=90)
    assert w["train_end"] + horizon < w["valid_start"] and w["valid_end"] + horizon < w["test_start"]
    registry = _query(warehouse, "select model_id, status, file_path, file_sha256 from ml.model_registry order by 1")
    assert {(r[0], r[1]) for r in registry} == {(churn.model_id, "champion"), (expansion.model_id, "champion")}
    for _, _, path, checksum in registry:
        assert model_file.sha256(Path(path).read_bytes()) == checksum
    scorers = _query(warehouse, "select distinct scorer from ml.model_metrics where model_id = ?", [churn.model_id])
    assert {s for (s,) in scorers} == {"xgboost", "health_score", "logistic_regression"}
    assert churn.metrics["xgboost"]["roc_auc"] > 0.7
    assert _query(warehouse, "select count(*) from ml.feature_importance where model_id = ?", [churn.model_id]) == [
        (len(FEATURES),)
    ]

    result = score_on(warehouse, s_config)
    active = _query(
        warehouse,
        "select count(*) from marts.customer_360 where subscription_status in ('active', 'past_due', 'trialing')",
    )[0][0]
    unscored = _query(
        warehouse,
        "select count(*) from marts.customer_360 c left join ml.account_scores_latest s using (account_id) "
        "where s.account_id is null and c.subscription_status in ('active', 'past_due', 'trialing')",
    )
    assert unscored == [(0,)] and result.accounts >= active > 100
    rows = _query(
        warehouse,
        "select churn_model_id, expansion_model_id, min(churn_probability), max(churn_probability), "
        "min(expansion_propensity), max(expansion_propensity), count(*), count(distinct account_id), "
        "max(scored_on) = (select max(scored_as_of) from marts.health_scores) "
        "from ml.account_scores_latest group by all",
    )
    assert rows == [(churn.model_id, expansion.model_id, *rows[0][2:6], result.accounts, result.accounts, True)]
    assert 0 <= rows[0][2] <= rows[0][3] <= 1 and 0 <= rows[0][4] <= rows[0][5] <= 1
    high = _query(
        warehouse, "select driver_1, drivers_json from ml.account_scores_latest where churn_risk_tier = 'High'"
    )
    assert all(d is not None and json.loads(j)[0]["direction"] == "raises" for d, j in high)
    drift = _query(
        warehouse, "select count(*), count(distinct feature) from ml.feature_drift where feature = '__score__'"
    )
    assert drift == [(2, 1)]

    # Scoring again the same day replaces that day's scores instead of adding to them.
    score_on(warehouse, s_config)
    assert _query(warehouse, "select count(*) from ml.account_scores") == [(result.accounts,)]


def test_training_learns_from_the_labels_complete_on_its_as_of_date(
    warehouse: Path, models: Path, s_config: MlConfig
) -> None:
    """By default the data clock's day, where every row the mart marks complete is used; an earlier day
    (an operator's pinned date) leaves out the rows whose labels were completed after it."""
    (clock, newest_complete), *_ = _query(
        warehouse,
        "select (select as_of_date from marts.data_clock), max(observation_date) from marts.ml_account_snapshots "
        "where label_is_complete",
    )
    latest = train_on(warehouse, "churn", s_config, models)
    assert latest.as_of_date == clock and latest.windows["test_end"] == newest_complete

    earlier = clock - timedelta(days=7)
    past = train_on(warehouse, "churn", s_config, models, as_of=earlier)
    assert past.as_of_date == earlier
    assert past.windows["test_end"] + timedelta(days=90) <= earlier < latest.windows["test_end"] + timedelta(days=90)
    registered = _query(warehouse, "select model_id, as_of_date from ml.model_registry order by trained_at, model_id")
    assert dict(registered) == {latest.model_id: clock, past.model_id: earlier}


def test_too_few_churn_examples_is_one_clear_error_and_registers_nothing(warehouse: Path, models: Path) -> None:
    cfg = load_config(**{**_s(), "min_positives": {"train": 10**6, "valid": 1, "test": 1}})
    with pytest.raises(ModelError, match=r"too few churn examples to train: \d+ positive rows in the train period"):
        train_on(warehouse, "churn", cfg, models)
    assert _query(warehouse, "select count(*) from ml.model_registry") == [(0,)]
    assert not models.exists() or not list(models.iterdir())


def _s() -> dict:
    from tests.ml.conftest import S_SETTINGS

    return S_SETTINGS


def test_promotion_rule() -> None:
    cfg = load_config(promotion={"tolerance": 0.0, "min_roc_auc": 0.6})
    champion = {"model_id": "churn-old"}
    assert decide(cfg, 0.80, champion, 0.80, None, "w")[0::2] == ("champion", ["churn-old"])
    status, sentence, retire = decide(cfg, 0.79, champion, 0.80, None, "w")
    assert (status, retire) == ("challenger", []) and "0.790 < champion churn-old's 0.800" in sentence
    assert decide(cfg, 0.55, None, None, None, "w")[0] == "rejected"
    assert decide(cfg, 0.70, None, None, None, "w")[0] == "champion"
    assert decide(cfg, 0.70, champion, None, "model file x is missing", "w")[0::2] == ("champion", ["churn-old"])


def test_retraining_promotes_only_when_as_good_on_the_same_window(
    warehouse: Path, models: Path, s_config: MlConfig
) -> None:
    first = train_on(warehouse, "churn", s_config, models)
    second = train_on(warehouse, "churn", s_config, models)  # same data, same seed: as good, so promoted
    assert second.status == "champion" and first.model_id in second.decision
    assert second.details["champion_on_test_window"]["roc_auc"] == pytest.approx(second.metrics["xgboost"]["roc_auc"])
    statuses = dict(_query(warehouse, "select model_id, status from ml.model_registry"))
    assert statuses == {first.model_id: "retired", second.model_id: "champion"}

    weaker = load_config(**{**_s(), "xgboost": {**_s()["xgboost"], "max_rounds": 1, "grid": [{"max_depth": 1}]}})
    third = train_on(warehouse, "churn", weaker, models)
    assert third.status == "challenger" and "kept as challenger" in third.decision
    assert dict(_query(warehouse, "select model_id, status from ml.model_registry"))[second.model_id] == "champion"
    assert score_on(warehouse, s_config).churn_model_id == second.model_id


def test_reason_codes_name_the_features_that_moved_the_score() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    x = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
    notice, growth = FEATURES.index("cancellation_notice"), FEATURES.index("active_users_growth_90d")
    x[:, notice] = rng.random(n) < 0.1
    logit = -3 + 4 * x[:, notice] - 2 * x[:, growth]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    booster = xgb.train({"max_depth": 3, "eta": 0.3}, xgb.DMatrix(x, label=y, feature_names=FEATURES), 60)
    model = CalibratedModel(booster, FEATURES, {"method": "platt", "a": 1.0, "b": 0.0})

    account = np.zeros((1, len(FEATURES)), dtype=np.float32)
    account[0, notice] = 1.0
    account[0, growth] = -0.42 / 0.3  # far below usual: active users falling
    reasons = drivers(FEATURES, account, model.contributions(account))
    first, second = reasons.loc[0, "driver_1"], reasons.loc[0, "driver_2"]
    assert first.startswith("customer asked to cancel at period end (raises risk")
    assert second.startswith("active users down 140 % in 90 days (raises risk")
    items = json.loads(reasons.loc[0, "drivers_json"])
    assert [i["feature"] for i in items[:2]] == ["cancellation_notice", "active_users_growth_90d"]
    assert all(i["direction"] == "raises" and i["contribution"] > 0 for i in items[:2])

    calm = np.zeros((1, len(FEATURES)), dtype=np.float32)
    calm[0, growth] = 2.0  # growing fast, no notice: nothing to worry about
    calm_reasons = drivers(FEATURES, calm, model.contributions(calm))
    assert "asked to cancel" not in str(calm_reasons.loc[0, "driver_1"])
    assert any(i["feature"] == "active_users_growth_90d" and i["direction"] == "lowers"
               for i in json.loads(calm_reasons.loc[0, "drivers_json"]))  # fmt: skip


def test_scoring_reads_only_the_as_of_days_features(warehouse: Path, models: Path, s_config: MlConfig) -> None:
    """Every other snapshot row scrambled: the scores, which must describe the as-of day alone, do not move;
    and the rows scored are exactly the snapshot rows of that day."""
    train_on(warehouse, "churn", s_config, models)
    train_on(warehouse, "expansion", s_config, models)
    score_on(warehouse, s_config)
    before = _query(warehouse, "select * exclude (scored_at) from ml.account_scores order by account_id")
    con = duckdb.connect(str(warehouse))
    con.execute(
        "update marts.ml_account_snapshots set seats = seats * 7 + 3, active_users_30d = 0, cancellation_notice = 1 "
        "where observation_date <> (select max(scored_as_of) from marts.health_scores)"
    )
    same_day = con.execute(
        "select count(*) from marts.ml_account_snapshots "
        "where observation_date = (select max(scored_as_of) from marts.health_scores) and not label_is_complete"
    ).fetchone()[0]
    con.close()
    score_on(warehouse, s_config)
    assert _query(warehouse, "select * exclude (scored_at) from ml.account_scores order by account_id") == before
    assert same_day == len(before)


def test_corrupt_or_missing_champion_file(warehouse: Path, models: Path, s_config: MlConfig) -> None:
    first = train_on(warehouse, "churn", s_config, models)
    train_on(warehouse, "expansion", s_config, models)
    second = train_on(warehouse, "churn", s_config, models)
    path = Path(
        _query(warehouse, "select file_path from ml.model_registry where model_id = ?", [second.model_id])[0][0]
    )
    path.write_bytes(path.read_bytes()[:100])
    result = score_on(warehouse, s_config)  # the previous champion steps in, with a warning saying why
    assert result.churn_model_id == first.model_id
    assert any("corrupt" in w and second.model_id in w for w in result.warnings)

    # A challenger is judged against a champion it cannot read: promoted, and the decision says why.
    third = train_on(warehouse, "churn", s_config, models)
    assert third.status == "champion" and "could not be evaluated" in third.decision and "corrupt" in third.decision

    for old in (first.model_id, third.model_id):
        Path(_query(warehouse, "select file_path from ml.model_registry where model_id = ?", [old])[0][0]).unlink()
    with pytest.raises(ModelError, match=r"no usable churn model: model file .* is missing"):
        score_on(warehouse, s_config)


def test_missing_feature_is_one_clear_error_and_writes_nothing(
    warehouse: Path, models: Path, s_config: MlConfig
) -> None:
    train_on(warehouse, "churn", s_config, models)
    con = duckdb.connect(str(warehouse))
    con.execute("alter table marts.ml_account_snapshots drop column seats")
    con.close()
    with pytest.raises(ModelError, match="marts.ml_account_snapshots lacks the model's feature.s. seats"):
        score_on(warehouse, s_config)
    with pytest.raises(ModelError, match="lacks the model's feature.s. seats"):
        train_on(warehouse, "churn", s_config, models)
    assert _query(warehouse, "select count(*) from ml.account_scores") == [(0,)]
    assert _query(warehouse, "select count(*) from ml.model_registry") == [(1,)]


def test_csm_outcomes_weight_training_and_their_effect_is_evaluated(
    warehouse: Path, models: Path, s_config: MlConfig
) -> None:
    """Constructed Tasks (a fresh world has none): a verdict the label confirms up-weights the rows."""
    con = duckdb.connect(str(warehouse))
    rows = con.execute(
        "select account_id, observation_date, churned_within_horizon from marts.ml_account_snapshots "
        "where label_is_complete order by observation_date limit 400"
    ).df()
    tasks = pd.DataFrame(
        {
            "task_id": [f"00T{i:05d}" for i in range(len(rows))],
            "account_id": rows["account_id"],
            "created_at": pd.to_datetime(rows["observation_date"]) + pd.Timedelta(days=3),
            "copilot_alert_id": [f"alert-{i}" for i in range(len(rows))],
            "copilot_outcome": np.where(rows["churned_within_horizon"] == 1, "Confirmed risk", "False alarm"),
            "subject": "Churn risk: usage down",
        }
    )
    con.register("constructed", tasks)
    con.execute("create or replace table ml_test_tasks as select * from constructed")
    con.execute("create or replace view staging.stg_salesforce__tasks as select * from ml_test_tasks")
    con.close()
    run = train_on(warehouse, "churn", s_config, models)
    feedback = run.details["feedback"]
    assert feedback["tasks_with_outcome"] == len(rows) and feedback["training_rows_weighted"] > 0
    assert "roc_auc" in feedback["test_without_feedback"]
    stored = json.loads(_query(warehouse, "select metrics from ml.model_registry")[0][0])
    assert stored["feedback"] == json.loads(json.dumps(feedback))


def test_dagster_ml_assets_are_in_the_code_location() -> None:
    from dagster import AssetKey

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    scores = graph.get(AssetKey(["ml", "account_scores"]))
    assert {AssetKey(["ml", "churn_model"]), AssetKey(["marts", "health_scores"])} <= scores.parent_keys
    assert AssetKey(["marts", "ml_account_snapshots"]) in graph.get(AssetKey(["ml", "churn_model"])).parent_keys


def test_a_model_below_the_floor_still_scores_every_account_flagged_as_baseline(warehouse: Path, models: Path) -> None:
    """An impossible floor rejects the first model of each kind: the same run registers a calibrated
    baseline, scoring uses it for every active account, and every row and the result say so."""
    cfg = load_config(**{**_s(), "promotion": {"tolerance": 0.0, "min_roc_auc": 0.99}})
    churn = train_on(warehouse, "churn", cfg, models)
    expansion = train_on(warehouse, "expansion", cfg, models)
    assert churn.status == "rejected" and "below the minimum 0.990" in churn.decision
    baseline_id = churn.details["baseline"]["model_id"]
    statuses = dict(_query(warehouse, "select model_id, status from ml.model_registry where model_kind = 'churn'"))
    assert statuses == {churn.model_id: "rejected", baseline_id: "baseline"}

    result = score_on(warehouse, cfg)
    assert result.churn_model_id == baseline_id and result.churn_scorer.startswith("baseline: ")
    assert any("scoring with the baseline" in w for w in result.warnings)
    assert not any("python -m ml train" in w for w in result.warnings)
    unscored = _query(
        warehouse,
        "select count(*) from marts.customer_360 c left join ml.account_scores_latest s using (account_id) "
        "where (s.account_id is null or s.churn_probability is null) "
        "and c.subscription_status in ('active', 'past_due', 'trialing')",
    )
    assert unscored == [(0,)]
    rows = _query(
        warehouse,
        "select churn_model_id, churn_scorer, count(*), min(churn_probability), max(churn_probability), "
        "count(expansion_propensity) from ml.account_scores_latest group by all",
    )
    assert len(rows) == 1 and rows[0][:3] == (baseline_id, result.churn_scorer, result.accounts)
    assert 0 <= rows[0][3] < rows[0][4] <= 1
    # expansion: its own baseline when one beat chance, else left empty with a warning (never an error)
    assert rows[0][5] == (result.accounts if "baseline" in expansion.details else 0)


def test_risk_tiers_are_multiples_of_the_companys_base_rate() -> None:
    cfg = load_config(risk_tiers={"high_vs_base_rate": 5, "medium_vs_base_rate": 2})
    assert cfg.risk_thresholds(0.03) == pytest.approx((0.15, 0.06))
    # the same probability is High for a company churning 3 % a quarter, Medium at 10 %
    assert [cfg.risk_tier(0.2, 0.03), cfg.risk_tier(0.2, 0.10), cfg.risk_tier(0.1, 0.10)] == ["High", "Medium", "Low"]
    with pytest.raises(ModelError, match="risk_tiers.medium_vs_base_rate must not be above"):
        load_config(risk_tiers={"high_vs_base_rate": 2, "medium_vs_base_rate": 3})


def test_scored_tiers_follow_the_training_base_rate(warehouse: Path, models: Path, s_config: MlConfig) -> None:
    churn = train_on(warehouse, "churn", s_config, models)
    rate = churn.details["base_rate"]
    positives, total = sum(churn.details["positives"].values()), sum(churn.details["rows"].values())
    assert rate == pytest.approx(positives / total) and 0 < rate < 0.5
    score_on(warehouse, s_config)
    high, medium = s_config.risk_thresholds(rate)
    wrong = _query(
        warehouse,
        "select count(*) from ml.account_scores_latest where churn_risk_tier <> case when churn_probability >= ? "
        "then 'High' when churn_probability >= ? then 'Medium' else 'Low' end",
        [high, medium],
    )
    assert wrong == [(0,)]
