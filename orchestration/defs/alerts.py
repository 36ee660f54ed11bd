"""Alert assets: the alert dbt models (built after the ML scoring, since they read its scores), the
alert lifecycle `["alerts", "alerts"]`, and the data-quality gate on alerts and scores as blocking
asset checks (a failure stops the reverse-ETL assets downstream of them)."""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Definitions,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_dbt import DbtCliResource, dbt_assets

from alerts import lifecycle
from orchestration.defs.transform import (
    ALERTS_SELECTION,
    MANIFEST,
    dbt_build,
    dbt_project,
    translator,
)
from orchestration.resources import WAREHOUSE_POOL, WAREHOUSE_WRITE_TAG, WarehouseResource
from reverse_etl import config, gate

ALERTS_GROUP = "alerts"
ALERTS_KEY = AssetKey(["alerts", "alerts"])


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,
    dagster_dbt_translator=translator,
    select=ALERTS_SELECTION,
    name="copilot_alert_dbt_assets",
    pool=WAREHOUSE_POOL,
    op_tags=WAREHOUSE_WRITE_TAG,
)
def copilot_alert_dbt_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    yield from dbt_build(context, dbt, warehouse)


def gate_check_result(result: gate.GateResult, check: str, asset_key: AssetKey) -> AssetCheckResult:
    outcome = result.by_check(check)
    return AssetCheckResult(
        asset_key=asset_key,
        check_name=check,
        passed=outcome is None or outcome.success,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "summary": outcome.summary if outcome else "nothing to check yet",
            "expectations": MetadataValue.json(outcome.expectations if outcome else []),
        },
    )


@asset(
    key=ALERTS_KEY,
    deps=[AssetKey(["alerts", "alert_candidates"]), AssetKey(["staging", "stg_salesforce__tasks"])],
    group_name=ALERTS_GROUP,
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
    op_tags=WAREHOUSE_WRITE_TAG,
    check_specs=[
        AssetCheckSpec("alerts_valid", asset=ALERTS_KEY, blocking=True, description="Great Expectations: alerts"),
        AssetCheckSpec(
            "red_share_stable", asset=ALERTS_KEY, blocking=True, description="Red share moved within the bound"
        ),
    ],
    description="Alert lifecycle: open / update / cool down / close with the CSM's outcome; rule precision.",
)
def alerts_lifecycle(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[Any]:
    cfg = config.load()
    with warehouse.connect() as con:
        evaluation = lifecycle.evaluate(con)
        context.log.info(evaluation.line())
        # The run's one evaluation of the whole gate: its syncs read this stored outcome.
        checked = gate.evaluate(con, cfg.row_count_tolerance, cfg.max_red_share_change, context.run.run_id)
        gate.store(con, checked, context.run.run_id)
    yield MaterializeResult(
        metadata={
            "evaluated_on": str(evaluation.evaluated_on),
            "opened": evaluation.opened,
            "updated": evaluation.updated,
            "suppressed": evaluation.suppressed,
            "closed_by_feedback": evaluation.closed_by_feedback,
        }
    )
    yield gate_check_result(checked, "alerts_valid", ALERTS_KEY)
    yield gate_check_result(checked, "red_share_stable", ALERTS_KEY)


def definitions() -> Definitions:
    return Definitions(assets=[copilot_alert_dbt_assets, alerts_lifecycle])
