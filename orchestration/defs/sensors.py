"""Run-failure notification: every failed run posts one message to Slack (the emulator in the sandbox)."""

from dagster import DefaultSensorStatus, Definitions, RunFailureSensorContext, run_failure_sensor
from slack_sdk.webhook import WebhookClient

from core import config


def webhook_url() -> str:
    """`[copilot] slack_webhook_url` in .dlt/secrets.toml, or COPILOT__SLACK_WEBHOOK_URL (a credential)."""
    return config.secret("copilot.slack_webhook_url") or ""


def failure_text(context: RunFailureSensorContext) -> str:
    run = context.dagster_run
    reasons = []
    for event in context.get_step_failure_events():
        error = event.event_specific_data.error if event.event_specific_data else None
        message = (error.message if error else event.message or "").strip().splitlines()
        reasons.append(f"{event.step_key}: {message[0] if message else 'failed'}")
    detail = "; ".join(reasons) or (context.failure_event.message or "run failed")
    return f":red_circle: Dagster run `{run.run_id[:8]}` of `{run.job_name}` failed: {detail}"


@run_failure_sensor(name="notify_slack_on_failure", default_status=DefaultSensorStatus.RUNNING)
def notify_slack_on_failure(context: RunFailureSensorContext) -> None:
    response = WebhookClient(webhook_url()).send(text=failure_text(context))
    if response.status_code >= 300:
        context.log.warning(f"Slack webhook answered {response.status_code}: {response.body}")


def definitions() -> Definitions:
    return Definitions(sensors=[notify_slack_on_failure])
