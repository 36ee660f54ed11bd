"""ML assets: the churn and expansion models (trained weekly: each run of the daily job retrains only
once the data has moved on by `retrain_every_days` since the latest model, see ml/config.yml) and the
daily scores, with drift and realised performance. The plain functions live in `ml/`."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    Definitions,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    define_asset_job,
)

from ml.errors import ModelError
from orchestration.defs.transform import asset_key
from orchestration.resources import WAREHOUSE_POOL, WAREHOUSE_WRITE_TAG, WarehouseResource

SNAPSHOTS = asset_key("ml_account_snapshots")
HEALTH = asset_key("health_scores")


def _train_if_due(context: AssetExecutionContext, warehouse: WarehouseResource, kind: str) -> MaterializeResult:
    from ml.train import needs_training, train

    try:
        why = needs_training(warehouse.file, kind)
        if why is None:
            context.log.info(f"{kind} model up to date: not retrained")
            return MaterializeResult(metadata={"trained": False})
        context.log.info(f"training the {kind} model: {why}")
        run = train(warehouse.file, kind)
    except ModelError as exc:
        # The champion stays in place and keeps scoring; the run says why nothing new was trained.
        raise Failure(description=str(exc)) from exc
    xgb = run.metrics["xgboost"]
    return MaterializeResult(
        metadata={
            "trained": True,
            "model_id": run.model_id,
            "status": run.status,
            "decision": run.decision,
            "test_roc_auc": MetadataValue.float(xgb.get("roc_auc", float("nan"))),
            "test_ece": MetadataValue.float(xgb.get("ece", float("nan"))),
        }
    )


@asset(
    key=["ml", "churn_model"],
    deps=[SNAPSHOTS],
    group_name="ml",
    pool=WAREHOUSE_POOL,
    op_tags=WAREHOUSE_WRITE_TAG,
    description="Churn model (XGBoost, 90-day horizon): trained weekly, registered, promoted when at least as good.",
)
def churn_model(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    return _train_if_due(context, warehouse, "churn")


@asset(
    key=["ml", "expansion_model"],
    deps=[SNAPSHOTS],
    group_name="ml",
    pool=WAREHOUSE_POOL,
    op_tags=WAREHOUSE_WRITE_TAG,
    description="Expansion propensity model (XGBoost, 90-day horizon), same machinery as the churn model.",
)
def expansion_model(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    return _train_if_due(context, warehouse, "expansion")


@asset(
    key=["ml", "account_scores"],
    deps=[SNAPSHOTS, HEALTH, churn_model, expansion_model],
    group_name="ml",
    pool=WAREHOUSE_POOL,
    op_tags=WAREHOUSE_WRITE_TAG,
    check_specs=[AssetCheckSpec("every_active_account_scored", asset=AssetKey(["ml", "account_scores"]))],
    description="Daily scores of every active account (churn probability, tier, expansion propensity, drivers); "
    "also writes account_scores_latest, feature_drift and realised_performance.",
)
def account_scores(context: AssetExecutionContext, warehouse: WarehouseResource):
    from ml.score import score

    try:
        result = score(warehouse.file)
    except ModelError as exc:
        raise Failure(description=str(exc)) from exc
    for warning in result.warnings:
        context.log.warning(warning)
    with warehouse.connect(read_only=True) as con:
        unscored = con.execute(
            "select count(*) from marts.customer_360 as c "
            "left join ml.account_scores_latest as s on c.account_id = s.account_id "
            "where s.account_id is null and c.subscription_status in ('active', 'past_due', 'trialing')"
        ).fetchone()[0]
    yield MaterializeResult(
        metadata={
            "scored_on": str(result.scored_on),
            "accounts": result.accounts,
            "high_risk": result.high_risk,
            "churn_model_id": result.churn_model_id,
            "expansion_model_id": result.expansion_model_id or "",
        }
    )
    yield AssetCheckResult(
        check_name="every_active_account_scored",
        passed=unscored == 0,
        severity=AssetCheckSeverity.ERROR,
        metadata={"unscored_active_accounts": unscored},
    )


def definitions() -> Definitions:
    job = define_asset_job(
        "ml_daily",
        selection=AssetSelection.groups("ml"),
        tags=WAREHOUSE_WRITE_TAG,
        description="Retrain the models when due, then score every active account.",
    )
    return Definitions(assets=[churn_model, expansion_model, account_scores], jobs=[job])
