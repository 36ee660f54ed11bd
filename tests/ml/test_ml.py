"""Training, registry, scoring and bad input of the churn and expansion models on the S world."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from core.warehouse import connect
from ml import model_file, registry
from ml.config import MlConfig, load_config
from ml.errors import ModelError
from ml.features import ACCOUNT_HISTORY, FEATURES, feature_matrix
from ml.model_file import CalibratedModel
from ml.reasons import CONTEXT, THEMES, account_drivers, drivers
from ml.train import decide, train
from tests.ml.conftest import score_on, train_on


def _query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# S trains on a few weeks with a handful of churned rows: its model learns little beyond the contract's
# term end (context, never a driver) and moves scores by less than the materiality a CSM is shown
# (ml/reasons.py MATERIAL, checked on hand-set contributions below). The S test of whole scoring runs'
# drivers trains on the behaviour features alone and lowers the materiality, so that drivers exist
# and their invariants are checked on a real model's contributions.
S_MATERIAL = 0.005
BEHAVIOUR = [f for f in FEATURES if f not in CONTEXT]


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
    headline = {"xgboost", "health_score", "logistic_regression"}  # open rows; all_rows_*: every test row
    assert {s for (s,) in scorers} == headline | {f"all_rows_{s}" for s in headline}
    # The headline is on the open test rows; its floor is tests/ml/test_open_rows.py's.
    assert churn.metrics["xgboost"]["roc_auc"] == pytest.approx(
        _query(
            warehouse,
            "select value from ml.model_metrics where model_id = ? and scorer = 'xgboost' and metric = 'roc_auc'",
            [churn.model_id],
        )[0][0]
    )
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
    # driver_1 is the strongest driver item of drivers_json, or empty when the account has none (which
    # drivers S's model finds is the test of the drivers below).
    for first, document in _query(warehouse, "select driver_1, drivers_json from ml.account_scores_latest"):
        items = [i for i in json.loads(document) if i["kind"] == "driver"]
        assert (items[0]["sentence"] if items else None) == first
        assert all(i["direction"] == "raises" for i in items)
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
    # S has 7 churned training rows: whether a model ranks its open test rows better than chance is luck.
    # A heavily regularised one without the account-history features does; the weaker challenger below
    # has one constant input, so it cannot rank at all (AUC 0.5).
    ranked = load_config(**{**_s(), "xgboost": {**_s()["xgboost"], "grid": [{"max_depth": 1, "min_child_weight": 5}]}})
    features = [f for f in FEATURES if f not in ACCOUNT_HISTORY]
    first = train_on(warehouse, "churn", ranked, models, features=features)
    second = train_on(warehouse, "churn", ranked, models, features=features)  # same data, same seed: as good
    assert second.status == "champion" and first.model_id in second.decision
    assert second.details["champion_on_test_window"]["roc_auc"] == pytest.approx(second.metrics["xgboost"]["roc_auc"])
    statuses = dict(_query(warehouse, "select model_id, status from ml.model_registry"))
    assert statuses == {first.model_id: "retired", second.model_id: "champion"}

    assert second.metrics["xgboost"]["roc_auc"] > 0.5
    with connect(warehouse) as con:
        third = train(con, "churn", second.as_of_date, ranked, models, features=["label_horizon_days"])
    assert third.metrics["xgboost"]["roc_auc"] == 0.5
    assert third.status == "challenger" and "kept as challenger" in third.decision
    assert dict(_query(warehouse, "select model_id, status from ml.model_registry"))[second.model_id] == "champion"
    assert score_on(warehouse, ranked).churn_model_id == second.model_id


def test_reasons_are_behaviour_with_the_accounts_numbers_never_contract_notice_or_protective() -> None:
    """Hand-set contributions: the contract's term end and the notice raise the score most, yet the
    drivers are the usage fall (with its numbers and day) and the failed payments; a champion in
    place, an ARR that did not move and a theme that lowers risk on balance are no reasons."""
    row = {
        "observation_date": date(2026, 12, 2), "days_to_term_end": 20.0, "contract_term_months": 12.0,
        "seats": 40.0, "arr": 24000.0, "arr_change_90d": 0.0, "active_users_30d": 12.0,
        "active_users_30d_90d_ago": 41.0, "active_users_growth_90d": 12 / 41 - 1, "monthly_active_seat_share": 0.3,
        "advanced_feature_share": 0.2, "events_per_active_user_day": 3.0,
        "champion_present": 1.0, "champion_active_days_30d": 10.0, "payment_failures_90d": 2.0,
        "overdue_invoices": 0.0, "open_tickets": 3.0, "cancellation_notice": 1.0, "cancellation_tickets_90d": 1.0,
        "health_score": 30.0,
    }  # fmt: skip
    contrib = {
        "days_to_term_end": 2.5, "contract_term_months": 0.2, "cancellation_notice": 3.0,
        "cancellation_tickets_90d": 0.8, "health_score": 0.5, "arr_change_90d": 0.4, "active_users_30d": 0.7,
        "active_users_growth_90d": 0.5, "monthly_active_seat_share": 0.1, "champion_present": 0.35,
        "champion_active_days_30d": 0.1, "payment_failures_90d": 0.15, "overdue_invoices": 0.05,
        "advanced_feature_share": 0.3, "events_per_active_user_day": -0.5,  # breadth lowers risk on balance
        "open_tickets": -0.6, "seats": 0.1, "arr": 0.1,
    }  # fmt: skip
    sentences, items = account_drivers(row, contrib)
    assert sentences == [
        "Usage: monthly active users 41 → 12 since 3 Sep; 30 % of seats active in 30 days (raises risk strongly)",
        "Payments: 2 failed payments in 90 days (raises risk somewhat)",
    ]
    drivers_ = [i for i in items if i["kind"] == "driver"]
    assert [(i["theme"], i["contribution"]) for i in drivers_] == [("usage", 1.3), ("payments", 0.2)]
    context = {i["feature"]: i["sentence"] for i in items if i["kind"] == "context"}
    assert context["days_to_term_end"] == "contract term ends in 20 days"

    # Nothing about the account raises risk materially (usage lowers it, the rest barely raises it): no
    # driver at all, and no protective one instead.
    calm = {f: (-0.4 if f in THEMES["usage"][1] else 0.02) for f in contrib}
    assert account_drivers(row, calm)[0] == []
    # A champion gone and an ARR that fell are reasons, in words with the numbers.
    gone = {**row, "champion_present": 0.0, "champion_active_days_30d": float("nan"), "arr_change_90d": -6000.0}
    said = account_drivers(gone, {"champion_present": 0.6, "arr_change_90d": 0.5})[0]
    assert said == [
        "Champion: no active champion named in the CRM (raises risk moderately)",
        "Contraction: ARR down $6,000 in 90 days ($30,000 → $24,000) (raises risk moderately)",
    ]


def test_reasons_follow_xgboosts_contributions() -> None:
    """A model that learned from the term end and falling usage: the drivers of an account near its
    term end with falling usage name the usage, and the JSON's driver contributions are XGBoost's."""
    features = ["days_to_term_end", "active_users_30d", "active_users_growth_90d", "champion_present"]
    rng = np.random.default_rng(0)
    n = 4000
    x = np.column_stack([rng.uniform(0, 365, n), rng.uniform(1, 50, n), rng.normal(0, 0.3, n),
                         (rng.random(n) < 0.8).astype(float)]).astype(np.float32)  # fmt: skip
    logit = -3 + 3 * (x[:, 0] < 60) - 3 * x[:, 2]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    booster = xgb.train({"max_depth": 3, "eta": 0.3}, xgb.DMatrix(x, label=y, feature_names=features), 60)
    model = CalibratedModel(booster, features, {"method": "platt", "a": 1.0, "b": 0.0})
    account = np.array([[30, 12, 12 / 41 - 1, 1]], dtype=np.float32)
    contributions = model.contributions(account)
    extra = pd.DataFrame({"observation_date": [date(2026, 12, 2)], "active_users_30d_90d_ago": [41]})
    reasons = drivers(features, account, contributions, extra)
    assert reasons.loc[0, "driver_1"].startswith("Usage: monthly active users 41 → 12 since 3 Sep (raises risk")
    assert reasons.loc[0, "driver_2"] is None
    (usage,) = [i for i in json.loads(reasons.loc[0, "drivers_json"]) if i["kind"] == "driver"]
    assert usage["contribution"] == pytest.approx(float(contributions[0, 1] + contributions[0, 2]), abs=1e-3)
    # the term end raised it too, and is context only
    assert contributions[0, 0] > 0.3 and "contract" not in " ".join(reasons.loc[0, ["driver_1"]])
    context = [i for i in json.loads(reasons.loc[0, "drivers_json"]) if i["kind"] == "context"]
    assert context == [{"kind": "context", "feature": "days_to_term_end", "value": 30.0,
                        "sentence": "contract term ends in 30 days"}]  # fmt: skip


def test_scored_drivers_are_behaviour_that_raises_risk_in_the_accounts_own_numbers(
    warehouse: Path, models: Path, s_config: MlConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every scored account of S: no driver is a contract date, the notice or a champion in place; each
    driver's theme raises risk by XGBoost's own contributions (recomputed here from the champion); its
    numbers are the account's snapshot row; accounts with notice are tiered 'Notice given', no others."""
    monkeypatch.setattr("ml.reasons.MATERIAL", S_MATERIAL)
    train_on(warehouse, "churn", s_config, models, features=BEHAVIOUR)
    score_on(warehouse, s_config)
    with duckdb.connect(str(warehouse)) as con:
        day = con.execute("select max(scored_on) from ml.account_scores_latest").fetchone()[0]
        scores = con.execute("select * from ml.account_scores_latest order by account_id").df()
        _, model, _ = registry.load_scoring_model(con, "churn")
        rows = con.execute(
            f"select * from marts.ml_account_snapshots where observation_date = date '{day}' order by account_id"
        ).df()
    assert list(rows["account_id"]) == list(scores["account_id"])
    said = pd.concat([scores["driver_1"], scores["driver_2"], scores["driver_3"]]).dropna()
    assert len(said) >= 3, said
    assert not said.str.contains(r"contract|term|renew|cancel|notice|champion in place|\+\$", case=False).any()

    contributions = model.contributions(feature_matrix(rows, model.features))
    column = {f: i for i, f in enumerate(model.features)}
    checked = 0
    for r, document in enumerate(scores["drivers_json"]):
        for item in (i for i in json.loads(document) if i["kind"] == "driver"):
            theme = sum(float(contributions[r, column[f]]) for f in item["features"])
            assert theme >= S_MATERIAL and item["contribution"] == pytest.approx(theme, abs=1e-3)
            for f, v in item["features"].items():  # the values are the account's own
                own = rows.at[r, f]
                assert (v["value"] is None and pd.isna(own)) or v["value"] == pytest.approx(float(own), rel=1e-5)
            checked += 1
    assert checked == len(said)

    # One account end to end: every number its first driver quotes is in its own snapshot row.
    r = int(scores["churn_probability"].where(scores["driver_1"].notna()).idxmax())
    row = rows.iloc[r]
    quotable = {"7", "30", "90", "180", str((row["observation_date"] - timedelta(days=90)).day)}
    for v in row.drop(["account_id", "snapshot_id", "observation_date", "segment", "billing_interval"]).dropna():
        quotable |= {f"{float(v):,.0f}", f"{100 * float(v):.0f}", f"{float(v):.1f}"}
    if pd.notna(row["arr_change_90d"]):  # "ARR down $6,000 in 90 days ($30,000 → $24,000)"
        quotable.add(f"{float(row['arr'] - row['arr_change_90d']):,.0f}")
    quoted = re.findall(r"\d[\d,.]*\d|\d", scores.at[r, "driver_1"])
    assert quoted and set(quoted) <= quotable, (scores.at[r, "driver_1"], quoted)

    notice = rows["cancellation_notice"] == 1
    assert notice.any() and (~notice).any()
    assert (scores["churn_risk_tier"] == "Notice given").tolist() == notice.tolist()


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
    con.execute("create or replace view staging.stg_crm__tasks as select * from ml_test_tasks")
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
    periods = ("train", "valid", "test")
    positives = sum(churn.details["positives"][p] for p in periods)
    total = sum(churn.details["rows"][p] for p in periods)
    assert rate == pytest.approx(positives / total) and 0 < rate < 0.5
    score_on(warehouse, s_config)
    high, medium = s_config.risk_thresholds(rate)
    wrong = _query(
        warehouse,
        "select count(*) from ml.account_scores_latest where churn_risk_tier <> 'Notice given' "
        "and churn_risk_tier <> case when churn_probability >= ? "
        "then 'High' when churn_probability >= ? then 'Medium' else 'Low' end",
        [high, medium],
    )
    assert wrong == [(0,)]


def test_a_long_history_is_fitted_on_sampled_negatives_weighted_to_the_whole(
    warehouse: Path, models: Path, s_config: MlConfig
) -> None:
    whole = train_on(warehouse, "expansion", s_config, models)
    rows, positives = whole.details["rows"], whole.details["positives"]
    assert whole.params["rows_searched"] == {"train": rows["train"], "valid": rows["valid"]}
    cap = 400
    assert rows["train"] - positives["train"] > cap and rows["valid"] - positives["valid"] > cap

    sampled = train_on(warehouse, "expansion", load_config(**{**_s(), "max_negative_rows": cap}), models)
    # Every positive and `cap` negatives of each period are searched on ...
    assert sampled.params["rows_searched"] == {"train": positives["train"] + cap, "valid": positives["valid"] + cap}
    # ... with the kept negatives weighted so that the classes weigh what they did on every row.
    assert sampled.params["scale_pos_weight"] == pytest.approx(whole.params["scale_pos_weight"])
    # Evaluation still covers every row of the periods.
    assert sampled.details["rows"] == rows
    assert 0.5 < sampled.metrics["xgboost"]["roc_auc"] <= 1

    # Early stopping may read a smaller sample of the validation period than the fit's cap.
    xgboost = {**_s()["xgboost"], "early_stopping_negative_rows": cap // 2}
    stopped = train_on(
        warehouse, "expansion", load_config(**{**_s(), "max_negative_rows": cap, "xgboost": xgboost}), models
    )
    assert stopped.params["rows_searched"] == {
        "train": positives["train"] + cap,
        "valid": positives["valid"] + cap // 2,
    }
    assert stopped.details["rows"] == rows
