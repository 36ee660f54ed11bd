"""The daily run: one job over every asset, so Dagster orders it by lineage: ingest -> dbt -> train
the models that are due -> score -> alerts -> quality gate -> reverse ETL -> reports. Asset checks
(the ingestion suites, dbt tests, the gate on scores and alerts) run with the assets they check.

The run's as-of date is decided once, by dbt (the data clock, or the run tag `copilot/as_of_date`), and
everything after reads it, training's schedule included: the models train when due on that date and
materialize only then, the scores every run (orchestration/defs/ml.py).

Steps run one after another in one process (the in-process executor): the parallelism that pays on
two cores is inside the steps (the sources load side by side, DuckDB and XGBoost use both cores),
while a process per step would load the whole code location again for each of the ~14 steps.

The schedule is off by default: the sandbox company only moves when told to (`make demo`, or
`python -m sandbox advance` then a run). Switch it on in the UI for a real deployment.
"""

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
    in_process_executor,
)

from orchestration.defs.sensors import notify_slack_on_step_failure
from orchestration.resources import WAREHOUSE_WRITE_TAG

DAILY_RUN = "daily_run"
DAILY_CRON = "0 6 * * *"


def definitions() -> Definitions:
    job = define_asset_job(
        DAILY_RUN,
        selection=AssetSelection.all(),
        tags=WAREHOUSE_WRITE_TAG,
        executor_def=in_process_executor,
        hooks={notify_slack_on_step_failure},  # a failure reaches Slack without the daemon
        description="Everything, in lineage order: load the sources, build the dbt models, train the ML models "
        "that are due on the run's as-of date, score the accounts, raise alerts, check them, sync them to "
        "Salesforce and Slack, build the reports.",
    )
    schedule = ScheduleDefinition(
        name=f"{DAILY_RUN}_schedule",
        job=job,
        cron_schedule=DAILY_CRON,
        default_status=DefaultScheduleStatus.STOPPED,
    )
    return Definitions(jobs=[job], schedules=[schedule])
