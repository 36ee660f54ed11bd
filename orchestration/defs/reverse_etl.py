"""Activation assets, the thin edge where data leaves the warehouse:

- the outbound views (`dbt_project/models/activation/`, tag `activation`): the contracted shapes of
  what the CRM and Slack receive, built by the run's third dbt step after the alert lifecycle;
- the data-quality gate (`reverse_etl/gate.py`): one blocking check per run, on the alert lifecycle's
  asset, evaluated once and stored under the run's id; when it fails nothing downstream runs;
- the syncs: the CRM's account fields and tasks (Salesforce or HubSpot, `crm`), Slack messages,
  Teams cards. Each reads its run's stored gate; when it failed nothing is pushed, the run is
  logged as 'blocked' in `reverse_etl.sync_runs` and the step fails with the gate's reason."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetsDefinition,
    AssetSelection,
    Definitions,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
    define_asset_job,
)

from orchestration import dbt_manifest
from orchestration.defs.alerts import ALERTS_KEY
from orchestration.defs.sensors import notify_slack_on_step_failure
from orchestration.defs.transform import ACTIVATION_SELECTION, asset_key, dbt_step
from orchestration.resources import WAREHOUSE_POOL, WAREHOUSE_WRITE_TAG, WarehouseResource
from reverse_etl import config, gate, sync

GROUP = "activation"
ACCOUNT_FIELDS = asset_key("crm_account_fields", "activation")
ALERT_TASKS = asset_key("crm_alert_tasks", "activation")
ALERT_MESSAGES = asset_key("alert_messages", "activation")


copilot_activation_dbt_assets = dbt_step("copilot_activation_dbt_assets", select=ACTIVATION_SELECTION)


@asset_check(
    asset=ALERTS_KEY,
    name="gate",
    blocking=True,
    description="Before anything leaves: scores valid and as many as the active accounts, alerts valid, "
    "the Red share within its bound of the last run that passed (data checks, core/checks.py).",
)
def activation_gate(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    cfg = config.load()
    with warehouse.connect() as con:
        # The run's one evaluation: its syncs read this stored outcome.
        checked = gate.evaluate(
            con, cfg.row_count_tolerance, cfg.max_red_share_change, context.run.run_id, cfg.max_empty_score_share
        )
        gate.store(con, checked, context.run.run_id)
    context.log.info(checked.summary())
    return AssetCheckResult(
        passed=checked.passed,
        severity=AssetCheckSeverity.ERROR,
        description=checked.summary(),
        metadata={
            **{c.check: c.summary for c in checked.checks},
            "red_share": MetadataValue.float(checked.red_share if checked.red_share is not None else float("nan")),
        },
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


# The configured CRM's two syncs (`crm`): Salesforce Account fields and Tasks, or HubSpot company
# properties and tasks.
CRM = dbt_manifest.configured_crm()
CRM_SYNCS = {
    "salesforce_account": (
        [ACCOUNT_FIELDS, ALERTS_KEY],
        "Health score, tier, churn risk, drivers, expansion score and scored-at on each Salesforce Account.",
    ),
    "salesforce_task": (
        [ALERT_TASKS],
        "One Salesforce Task per live alert (external id Copilot_Alert_Id__c), owned by the CSM.",
    ),
    "hubspot_company": (
        [ACCOUNT_FIELDS, ALERTS_KEY],
        "Health score, tier, churn risk, drivers, expansion score and scored-at on each HubSpot company "
        "(batch update, 100 a call).",
    ),
    "hubspot_task": (
        [ALERT_TASKS],
        "One HubSpot task per live alert (unique property copilot_alert_id), owned by the CSM and "
        "associated with the company.",
    ),
}


def crm_sync(destination: str) -> AssetsDefinition:
    deps, description = CRM_SYNCS[destination]

    @asset(
        name=sync.SYNC_ASSETS[destination],
        key_prefix="reverse_etl",
        deps=deps,
        group_name=GROUP,
        kinds={destination.split("_")[0]},
        pool=WAREHOUSE_POOL,
        op_tags=WAREHOUSE_WRITE_TAG,
        description=description,
    )
    def crm_asset(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        return _run(context, warehouse, destination)

    return crm_asset


crm_accounts, crm_tasks = (crm_sync(d) for d in sync.CRM_DESTINATIONS[CRM])


@asset(
    key=["reverse_etl", "slack_alerts"],
    deps=[ALERT_MESSAGES],
    group_name=GROUP,
    kinds={"slack"},
    pool=WAREHOUSE_POOL,
    op_tags=WAREHOUSE_WRITE_TAG,
    description="High-severity alerts posted once to the owner's #cs-<alias> Slack channel.",
)
def slack_alerts(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    return _run(context, warehouse, "slack")


@asset(
    key=["reverse_etl", "teams_alerts"],
    deps=[ALERT_MESSAGES, ALERT_TASKS],
    group_name=GROUP,
    kinds={"teams"},
    pool=WAREHOUSE_POOL,
    op_tags=WAREHOUSE_WRITE_TAG,
    description="High-severity alerts as Adaptive Cards in Microsoft Teams (when alert_channel includes teams).",
)
def teams_alerts(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    return _run(context, warehouse, "teams")


def definitions() -> Definitions:
    job = define_asset_job(
        "alerts_and_activation",
        selection=AssetSelection.groups("alerts", GROUP) | AssetSelection.assets(ALERTS_KEY),
        tags=WAREHOUSE_WRITE_TAG,
        hooks={notify_slack_on_step_failure},
        description="Evaluate alerts, run the gate, push scores and alerts to the CRM and the alert channels.",
    )
    return Definitions(
        assets=[copilot_activation_dbt_assets, crm_accounts, crm_tasks, slack_alerts, teams_alerts],
        asset_checks=[activation_gate],
        jobs=[job],
    )
