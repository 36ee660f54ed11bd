"""The Copilot API's two hooks in the daily run (api/):

- `["raw_copilot_app", "alert_feedback"]`: what CSMs recorded on alerts in the API, copied from the
  API's own database into the warehouse before dbt, like a source system: dbt stages it beside the
  Salesforce Tasks (`stg_copilot_app__alert_feedback`), the alert lifecycle and training read both.
- `["api", "serving_snapshot"]`: after the marts, the scores, the alerts and the CRM sync, a read-only
  snapshot of what the API serves, published atomically (api/snapshot.py); the API picks it up without
  a restart and never opens the warehouse itself.
"""

from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, AssetKey, Definitions, MaterializeResult, MetadataValue, asset

from api import snapshot, store
from api.settings import database_url
from orchestration import dbt_manifest
from orchestration.resources import WAREHOUSE_POOL, WAREHOUSE_WRITE_TAG, WarehouseResource
from reverse_etl.sync import CRM_DESTINATIONS, SYNC_ASSETS

FEEDBACK_KEY = AssetKey(["raw_copilot_app", "alert_feedback"])
FEEDBACK_TABLE = "raw_copilot_app.alert_feedback"
FEEDBACK_TYPES = {
    "feedback_id": "BIGINT",
    "alert_id": "VARCHAR",
    "account_id": "VARCHAR",
    "rule_id": "VARCHAR",
    "action": "VARCHAR",
    "outcome": "VARCHAR",
    "note": "VARCHAR",
    "snoozed_until": "DATE",
    "recorded_by_user_id": "VARCHAR",
    "recorded_at": "TIMESTAMP",
}
SERVED = [
    AssetKey(["marts", name])
    for name in ("customer_360", "health_scores", "health_score_history", "renewals", "expansion_signals")
] + [
    AssetKey(["ml", "account_scores"]),
    AssetKey(["alerts", "alerts"]),
    AssetKey(["staging", "stg_crm__users"]),
    AssetKey(["staging", "stg_crm__contacts"]),
    # The alerts' statuses after the CRM sync (sent, with their task).
    AssetKey(["reverse_etl", SYNC_ASSETS[CRM_DESTINATIONS[dbt_manifest.configured_crm()][1]]]),
]


def read_feedback(url: str) -> list[dict]:
    """Every action recorded in the API's database; none while the API has never written one (a
    SQLite file that does not exist is not created here)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    app_store = store.AppStore(url)
    try:
        return app_store.all_feedback()
    finally:
        app_store.dispose()


@asset(
    key=FEEDBACK_KEY,
    group_name="api",
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
    op_tags=WAREHOUSE_WRITE_TAG,
    description="What CSMs recorded on alerts in the Copilot API (acknowledge, snooze, outcome), copied from the "
    "API's database; staged beside the Salesforce Tasks' outcomes.",
)
def copilot_app_alert_feedback(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    rows = read_feedback(database_url())
    frame = pd.DataFrame(rows, columns=list(FEEDBACK_TYPES)) if rows else pd.DataFrame(columns=list(FEEDBACK_TYPES))
    casts = ", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind in FEEDBACK_TYPES.items())
    with warehouse.connect() as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw_copilot_app")
        con.register("feedback_rows", frame)
        try:
            con.execute(f"CREATE OR REPLACE TABLE {FEEDBACK_TABLE} AS SELECT {casts} FROM feedback_rows")
        finally:
            con.unregister("feedback_rows")
    context.log.info(f"{len(rows)} actions recorded in the Copilot API copied to {FEEDBACK_TABLE}")
    return MaterializeResult(metadata={"rows": len(rows)})


@asset(
    key=["api", "serving_snapshot"],
    deps=SERVED,
    group_name="api",
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
    description="The read-only snapshot the Copilot API serves, published atomically after the run's marts, "
    "scores, alerts and CRM sync.",
)
def serving_snapshot(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.connect(read_only=True) as con:
        published = snapshot.publish(con, snapshot.serving_dir(warehouse.file), run_id=context.run_id)
    context.log.info(f"serving snapshot as of {published.as_of_date}: {published.path.name}")
    return MaterializeResult(
        metadata={
            "as_of_date": str(published.as_of_date),
            "accounts": published.accounts,
            "file": MetadataValue.path(str(published.path)),
        }
    )


def definitions() -> Definitions:
    return Definitions(assets=[copilot_app_alert_feedback, serving_snapshot])
