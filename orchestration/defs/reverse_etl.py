"""Reverse-ETL assets: Salesforce Account fields, Salesforce Tasks, Slack messages. Each reads the
data-quality gate its run evaluated once (in the alert step); when it failed nothing is pushed, the
run is logged as 'blocked' in `reverse_etl.sync_runs` and the step fails with the gate's reason."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    Definitions,
    Failure,
    MaterializeResult,
    asset,
    asset_check,
    define_asset_job,
)

from orchestration.defs.alerts import ALERTS_KEY, gate_check_result
from orchestration.resources import WAREHOUSE_POOL, WAREHOUSE_WRITE_TAG, WarehouseResource
from reverse_etl import config, gate, sync

GROUP = "activation"
# The scoring asset writes ml.account_scores and ml.account_scores_latest; the gate checks what it wrote,
# so the check runs in the daily job right after the scoring and blocks the syncs when it fails.
SCORES_KEY = AssetKey(["ml", "account_scores"])


@asset_check(asset=SCORES_KEY, name="scores_valid", blocking=True, description="Great Expectations: scores")
def scores_valid(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    cfg = config.load()
    with warehouse.connect(read_only=True) as con:
        checked = gate.GateResult(checks=gate.score_checks(con, cfg.row_count_tolerance))
    valid = gate_check_result(checked, "scores_valid", SCORES_KEY)
    count = gate_check_result(checked, "scores_row_count", SCORES_KEY)
    return AssetCheckResult(
        passed=valid.passed and count.passed,
        severity=valid.severity,
        metadata={"scores_valid": valid.metadata["summary"], "scores_row_count": count.metadata["summary"]},
    )


def _run(context: AssetExecutionContext, warehouse: WarehouseResource, destination: str) -> MaterializeResult:
    cfg = config.load()
    with warehouse.connect() as con:
        checked = sync.gate_for_run(con, cfg, context.run.run_id)
        run = sync.sync(con, destination, cfg, gate_result=checked, echo=context.log.info)
    context.log.info(run.line())
    if run.status in ("blocked", "failed"):
        raise Failure(description=run.line(), metadata={"run_id": run.run_id})
    return MaterializeResult(
        metadata={
            "run_id": run.run_id,
            "api": run.api,
            "rows_considered": run.considered,
            "rows_changed": run.changed,
            "rows_sent": run.sent,
            "rows_succeeded": run.succeeded,
            "rows_failed": run.failed,
            "status": run.status,
        }
    )


@asset(
    key=["reverse_etl", "salesforce_accounts"],
    deps=[SCORES_KEY, AssetKey(["marts", "customer_360"]), ALERTS_KEY],
    group_name=GROUP,
    kinds={"salesforce"},
    pool=WAREHOUSE_POOL,
    op_tags=WAREHOUSE_WRITE_TAG,
    description="Health score, tier, churn risk, drivers, expansion score and scored-at on each Salesforce Account.",
)
def salesforce_accounts(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    return _run(context, warehouse, "salesforce_account")


@asset(
    key=["reverse_etl", "salesforce_tasks"],
    deps=[ALERTS_KEY],
    group_name=GROUP,
    kinds={"salesforce"},
    pool=WAREHOUSE_POOL,
    op_tags=WAREHOUSE_WRITE_TAG,
    description="One Salesforce Task per live alert (external id Copilot_Alert_Id__c), owned by the CSM.",
)
def salesforce_tasks(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    return _run(context, warehouse, "salesforce_task")


@asset(
    key=["reverse_etl", "slack_alerts"],
    deps=[ALERTS_KEY],
    group_name=GROUP,
    kinds={"slack"},
    pool=WAREHOUSE_POOL,
    op_tags=WAREHOUSE_WRITE_TAG,
    description="High-severity alerts posted once to the owner's #cs-<alias> Slack channel.",
)
def slack_alerts(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    return _run(context, warehouse, "slack")


def definitions() -> Definitions:
    job = define_asset_job(
        "alerts_and_activation",
        selection=AssetSelection.groups("alerts", GROUP) | AssetSelection.assets(ALERTS_KEY),
        tags=WAREHOUSE_WRITE_TAG,
        description="Evaluate alerts, run the gate, push scores and alerts to Salesforce and Slack.",
    )
    return Definitions(
        assets=[salesforce_accounts, salesforce_tasks, slack_alerts], asset_checks=[scores_valid], jobs=[job]
    )
