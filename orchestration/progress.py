"""Progress of a long step, as log lines a person follows while the step runs (rows loaded per
source, dbt nodes done of all, report queries and pages). Each is an ordinary Dagster log message
with a fixed prefix, so the Dagster UI shows it in the run's log and `make demo` prints it."""

from __future__ import annotations

from dagster import AssetExecutionContext, OpExecutionContext

PREFIX = "progress: "
# How often a long step says where it is.
PROGRESS_EVERY_SECONDS = 10.0


def log_progress(context: AssetExecutionContext | OpExecutionContext, message: str) -> None:
    context.log.info(f"{PREFIX}{message}")


def progress_text(log_message: str) -> str | None:
    """The progress a log message reports, or None when it is another kind of message."""
    return log_message[len(PREFIX) :] if log_message.startswith(PREFIX) else None
