"""Run-failure notices (see orchestration/notices.py): a failure hook on the daily job, run in the run's
own process (no daemon needed), and a run-failure sensor for the daemon; one Slack message per run."""

from dagster import (
    DefaultSensorStatus,
    Definitions,
    HookContext,
    RunFailureSensorContext,
    failure_hook,
    run_failure_sensor,
)

from orchestration import notices


def first_failure(context: RunFailureSensorContext) -> tuple[str | None, str]:
    """The first failed step and its error, else the run's failure message."""
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return event.step_key, data.user_failure_data.description  # a step's Failure: its one line
        error = data.error
        while error is not None and error.cause is not None and error.cls_name == "DagsterExecutionStepExecutionError":
            error = error.cause  # Dagster's wrapper: the step's own error is its cause
        return event.step_key, (error.message if error else event.message) or "failed"
    return None, context.failure_event.message or "run failed"


def failure_text(context: RunFailureSensorContext) -> str:
    step, error = first_failure(context)
    run = context.dagster_run
    return notices.text(run.job_name, run.run_id, step, error)


@failure_hook(name="notify_slack_on_step_failure")
def notify_slack_on_step_failure(context: HookContext) -> None:
    """The failed step posts the run's notice itself (later failed steps find it posted)."""
    try:
        notices.notify(context.job_name, context.run_id, context.step_key, str(context.op_exception or "failed"))
    except Exception as exc:  # noqa: BLE001 (the run has failed already; the notice is best effort here)
        context.log.warning(f"failure notice not posted to Slack: {type(exc).__name__}: {notices.first_line(str(exc))}")


@run_failure_sensor(name="notify_slack_on_failure", default_status=DefaultSensorStatus.RUNNING)
def notify_slack_on_failure(context: RunFailureSensorContext) -> None:
    step, error = first_failure(context)
    run = context.dagster_run
    notices.notify(run.job_name, run.run_id, step, error)


def definitions() -> Definitions:
    return Definitions(sensors=[notify_slack_on_failure])
