"""Alert assets: the alert dbt models (rules from seeds/alerts, candidates built after the ML scoring,
since they read its scores) and the alert lifecycle `["alerts", "alerts"]` (alerts/lifecycle.py)."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    Definitions,
    MaterializeResult,
    asset,
)

from alerts import lifecycle
from core.clock import require_as_of_date
from orchestration.defs.transform import ALERTS_SELECTION, dbt_step
from orchestration.resources import WAREHOUSE_POOL, WAREHOUSE_WRITE_TAG, WarehouseResource

ALERTS_GROUP = "alerts"
ALERTS_KEY = AssetKey(["alerts", "alerts"])


copilot_alert_dbt_assets = dbt_step("copilot_alert_dbt_assets", select=ALERTS_SELECTION)


@asset(
    key=ALERTS_KEY,
    deps=[
        AssetKey(["alerts", "alert_candidates"]),
        AssetKey(["staging", "stg_crm__tasks"]),
        AssetKey(["staging", "stg_copilot_app__alert_feedback"]),
    ],
    group_name=ALERTS_GROUP,
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
    op_tags=WAREHOUSE_WRITE_TAG,
    description="Alert lifecycle: open / update / cool down / close with the CSM's outcome; rule precision.",
)
def alerts_lifecycle(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.connect() as con:
        evaluation = lifecycle.evaluate(con, require_as_of_date(con))
    context.log.info(evaluation.line())
    return MaterializeResult(
        metadata={
            "evaluated_on": str(evaluation.evaluated_on),
            "opened": evaluation.opened,
            "updated": evaluation.updated,
            "suppressed": evaluation.suppressed,
            "closed_by_feedback": evaluation.closed_by_feedback,
        }
    )


def definitions() -> Definitions:
    return Definitions(assets=[copilot_alert_dbt_assets, alerts_lifecycle])
