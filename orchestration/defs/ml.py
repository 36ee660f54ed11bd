"""ML assets: the churn and expansion models and the daily scores, with drift and realised performance.
The plain functions live in `ml/`; when to train is decided here.

**Training's schedule.** Each run decides once, on the run's as-of date (core/clock.py: the data clock,
or the day an operator pins with the run tag `copilot/as_of_date`), whether each model is due: when its
kind has no champion yet, or when the as-of date has moved on by `retrain_every_days` (ml/config.yml)
from the as-of date of the latest model of its kind (`ml.registry.training_due`). The measure is the
data's clock, not the wall clock: the sandbox only moves when told to, and a warehouse may load late,
so a cron schedule of its own would train on unchanged data or miss a week that arrived at once.
A model asset materializes only in a run that trained it; its materialization carries the run's metadata.

**Scores every run, after training.** The scores are materialized by every run, with the champion,
after the training steps: so the run that trains (the first run from an empty warehouse among them)
scores with what it trained. Dagster skips the steps downstream of an output that was not emitted
(`AssetSpec.skippable`), so the scores cannot hang off the model outputs: the three assets are one
graph whose scoring op waits for each training op's `checked` output, emitted whether it trained or
not, and the lineage scores <- models is declared beside it (`internal_asset_deps`). A run whose
models, marts build, scoring code and settings are those of the last scoring on the same as-of date
keeps those scores (`scoring_inputs`): they would come out the same, and the steps after it find
nothing new either.
"""

import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    Definitions,
    Failure,
    GraphIn,
    GraphOut,
    In,
    MetadataValue,
    Nothing,
    OpDefinition,
    OpExecutionContext,
    Out,
    Output,
    define_asset_job,
    graph,
    op,
)

import ml
from core.clock import ClockMissing, require_as_of_date
from core.warehouse import table_exists
from ml.errors import ModelError, NoModel, TooLittleData
from orchestration import dbt_unchanged as unchanged
from orchestration.defs.transform import DBT_STEPS, asset_key
from orchestration.resources import WAREHOUSE_POOL, WAREHOUSE_WRITE_TAG, WarehouseResource

SNAPSHOTS = asset_key("ml_account_snapshots")
HEALTH = asset_key("health_scores")
KINDS = ("churn", "expansion")
MODEL_KEYS = {kind: AssetKey(["ml", f"{kind}_model"]) for kind in KINDS}
SCORES = AssetKey(["ml", "account_scores"])
SCORED_CHECK = AssetCheckSpec("every_active_account_scored", asset=SCORES)
SCORED_CHECK_OUTPUT = SCORED_CHECK.get_python_identifier()  # the output its result is emitted on
# The scoring's builds are recorded beside the dbt steps' (orchestration/dbt_unchanged.py).
SCORING_STEP = "account_scores"
ML_CODE = Path(ml.__file__).parent


def model_metadata(run: Any) -> dict[str, Any]:
    """What a model asset's materialization says about the training run (an ml.registry.TrainingRun)."""
    xgb = run.metrics["xgboost"]
    return {
        "trained": True,
        "model_id": run.model_id,
        "as_of_date": str(run.as_of_date),
        "status": run.status,
        "decision": run.decision,
        "test_roc_auc": MetadataValue.float(xgb.get("roc_auc", float("nan"))),
        "test_ece": MetadataValue.float(xgb.get("ece", float("nan"))),
        # the baseline that scores while no model of the kind has passed the floor (ml/README.md)
        "baseline_model_id": run.details.get("baseline", {}).get("model_id", ""),
    }


def as_of_dates(warehouse: WarehouseResource, kind: str) -> tuple[date, date | None]:
    """The run's as-of date (dbt decided it: the data clock, or the operator's pinned day) and the
    latest `kind` model's (None while the kind has no champion)."""
    from ml import registry

    with warehouse.connect() as con:
        registry.ensure_tables(con)
        return require_as_of_date(con), registry.latest_as_of(con, kind)


def _training_op(kind: str) -> OpDefinition:
    @op(
        name=f"{kind}_model",
        ins={"snapshots": In(Nothing)},
        out={
            "model": Out(Nothing, is_required=False, description=f"emitted only when a {kind} model was trained"),
            "checked": Out(Nothing, description="emitted every run, once the decision is carried out"),
        },
        pool=WAREHOUSE_POOL,
        tags=WAREHOUSE_WRITE_TAG,
        description=f"Train the {kind} model when it is due on the run's as-of date; otherwise nothing.",
    )
    def train_when_due(context: OpExecutionContext, warehouse: WarehouseResource) -> Iterator[Output]:
        from ml.config import load_config
        from ml.registry import training_due

        try:
            cfg = load_config()
            day, latest = as_of_dates(warehouse, kind)
            why = training_due(kind, day, latest, cfg.retrain_every_days)
            if why is None:
                context.log.info(
                    f"{kind} model not due as of {day}: the latest is as of {latest}, retrained every "
                    f"{cfg.retrain_every_days} days of data; nothing trained, nothing materialized"
                )
            else:
                context.log.info(f"training the {kind} model: {why}")
                from ml.train import train  # XGBoost and scikit-learn: imported when a model is due

                with warehouse.connect() as con:
                    run = train(con, kind, day, cfg)
                yield Output(None, "model", metadata=model_metadata(run))
        except TooLittleData as exc:
            # Not a broken run: a young company has too little history yet. The champion (if any) keeps
            # scoring; without one the health scores are synced without churn scores.
            context.log.warning(f"{kind} model not trained: {exc}")
        except (ModelError, ClockMissing) as exc:
            # The champion stays in place; the run stops before scoring and says why nothing was trained.
            raise Failure(description=str(exc)) from exc
        yield Output(None, "checked")

    return train_when_due


churn_model = _training_op("churn")
expansion_model = _training_op("expansion")


@op(
    ins={
        "snapshots": In(Nothing),
        "health": In(Nothing),
        "churn_checked": In(Nothing),
        "expansion_checked": In(Nothing),
    },
    out={"scores": Out(Nothing), SCORED_CHECK_OUTPUT: Out(Nothing)},
    pool=WAREHOUSE_POOL,
    tags=WAREHOUSE_WRITE_TAG,
    description="Score every active account with the champions.",
)
def account_scores(context: OpExecutionContext, warehouse: WarehouseResource) -> Iterator[Any]:
    recording = unchanged.fingerprintable()
    if recording:
        upstream = unchanged.upstream_steps(context.assets_def, DBT_STEPS)
        with warehouse.connect() as con:
            plan = unchanged.begin(con, SCORING_STEP, context.run.run_id, scoring_inputs(con, upstream))
        if plan.skip:
            last = plan.last
            context.log.info(f"scores: models and marts as in run {last.run_id} (as of {last.as_of_date}), scores kept")
            said = {"unchanged": True, "built_by_run": last.run_id, "scored_on": str(last.as_of_date)}
            yield Output(None, "scores", metadata=said)
            yield scored_check(warehouse)
            return
    from ml.score import score

    try:
        with warehouse.connect() as con:
            result = score(con, require_as_of_date(con))
            if recording:
                unchanged.record_built(con, SCORING_STEP, context.run.run_id)
    except NoModel as exc:
        # Training said why it could not train: the run goes on, the health scores and alerts that
        # need no model are synced.
        context.log.warning(f"no churn scores this run: {exc}; the health scores are synced without them")
        result = None
    except (ModelError, ClockMissing) as exc:
        raise Failure(description=str(exc)) from exc
    for warning in result.warnings if result else []:
        context.log.warning(warning)
    yield Output(
        None,
        "scores",
        metadata={
            "scored_on": str(result.scored_on),
            "accounts": result.accounts,
            "high_risk": result.high_risk,
            "churn_model_id": result.churn_model_id,
            "churn_scorer": result.churn_scorer,
            "expansion_model_id": result.expansion_model_id or "",
        }
        if result
        else {"accounts": 0, "churn_scorer": "none: no model yet"},
    )
    yield scored_check(warehouse)


def scoring_inputs(con: duckdb.DuckDBPyConnection, upstream: list[str]) -> unchanged.Inputs:
    """What the scores are computed from: the scoring code and ml/config.yml, the model registry (a
    training, a promotion or a retirement changes it) and the builds of the `upstream` dbt steps (the
    marts the snapshot rows come from). The same inputs on the same as-of date give the same scores:
    the step keeps those of its last run (orchestration/dbt_unchanged.py records both)."""
    from ml.config import load_config

    code = hashlib.sha256(repr(load_config()).encode())
    for path in sorted(ML_CODE.glob("*.py")):
        code.update(path.read_bytes())
    registry = unchanged.RawTable("ml", "model_registry", source="", columns=())
    return unchanged.step_inputs(con, {"code": code.hexdigest()}, [registry], upstream)


def scored_check(warehouse: WarehouseResource) -> AssetCheckResult:
    """Every active account of the marts has a score."""
    active = "c.subscription_status in ('active', 'past_due', 'trialing')"
    with warehouse.connect(read_only=True) as con:
        if table_exists(con, "ml.account_scores_latest"):
            unscored = con.execute(
                "select count(*) from marts.customer_360 as c "
                "left join ml.account_scores_latest as s on c.account_id = s.account_id "
                f"where s.account_id is null and {active}"
            ).fetchone()[0]
        else:
            unscored = con.execute(f"select count(*) from marts.customer_360 as c where {active}").fetchone()[0]
    return AssetCheckResult(
        asset_key=SCORES,
        check_name=SCORED_CHECK.name,
        passed=unscored == 0,
        severity=AssetCheckSeverity.ERROR,
        metadata={"unscored_active_accounts": unscored},
    )


@graph(
    ins={"snapshots": GraphIn(), "health": GraphIn()},
    out={
        "churn_model": GraphOut(),
        "expansion_model": GraphOut(),
        "account_scores": GraphOut(),
        SCORED_CHECK_OUTPUT: GraphOut(),
    },
)
def ml_models_and_scores(snapshots, health):
    churn = churn_model(snapshots=snapshots)
    expansion = expansion_model(snapshots=snapshots)
    scored = account_scores(
        snapshots=snapshots, health=health, churn_checked=churn.checked, expansion_checked=expansion.checked
    )
    return {
        "churn_model": churn.model,
        "expansion_model": expansion.model,
        "account_scores": scored.scores,
        SCORED_CHECK_OUTPUT: getattr(scored, SCORED_CHECK_OUTPUT),
    }


ml_assets = AssetsDefinition.from_graph(
    ml_models_and_scores,
    keys_by_input_name={"snapshots": SNAPSHOTS, "health": HEALTH},
    keys_by_output_name={
        "churn_model": MODEL_KEYS["churn"],
        "expansion_model": MODEL_KEYS["expansion"],
        "account_scores": SCORES,
    },
    internal_asset_deps={
        "churn_model": {SNAPSHOTS},
        "expansion_model": {SNAPSHOTS},
        "account_scores": {SNAPSHOTS, HEALTH, *MODEL_KEYS.values()},
    },
    group_name="ml",
    descriptions_by_output_name={
        "churn_model": "Churn model (XGBoost, 90-day horizon): trained when due on the run's as-of date (no "
        "champion yet, or the data moved on by retrain_every_days), registered, promoted when at least as good. "
        "Materialized only by the runs that train it.",
        "expansion_model": "Expansion propensity model (XGBoost, 90-day horizon), same machinery and schedule as "
        "the churn model.",
        "account_scores": "Daily scores of every active account with the champions (churn probability, tier, "
        "expansion propensity, drivers), after any training of the run; also writes account_scores_latest, "
        "feature_drift and realised_performance.",
    },
    check_specs=[SCORED_CHECK],
)


def definitions() -> Definitions:
    job = define_asset_job(
        "ml_daily",
        selection=AssetSelection.groups("ml"),
        tags=WAREHOUSE_WRITE_TAG,
        description="Train the models that are due on the as-of date, then score every active account.",
    )
    return Definitions(assets=[ml_assets], jobs=[job])
