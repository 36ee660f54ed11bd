"""Failure notices: a failed run posts ONE Slack message naming the failed step and its first error
line, with a link to the run in the Dagster UI.

Two paths reach it, whatever launched the run (`dagster job execute`, the schedule, the UI):

- a failure hook on the daily job, run by the failed step in the run's own process: it needs no
  daemon, so a run started from the command line is covered;
- the run-failure sensor (`orchestration/defs/sensors.py`), run by the daemon: it covers what the
  hook cannot (a run whose process died, the other jobs).

With `[reverse_etl] alert_channel` including `teams` the notice is also (or only) an Adaptive Card in
Teams (`reverse_etl.teams.post_once`, keyed by the run id). Slack posts go through
`reverse_etl.slack.post_once`: the notice carries the run id as message metadata
(`copilot_run_failed`), and the channel's recent history is read before posting, so a run gets one
notice however many of its steps fail and whichever path comes second.

Settings (`[copilot]` in .dlt/config.toml or COPILOT__* variables): `failure_channel` (default
`data-quality`; a channel the bot cannot use falls back to the reverse-ETL default channel) and
`dagster_ui_url` (default http://127.0.0.1:3000). The bot token and API URL are the reverse ETL's.
"""

from __future__ import annotations

from core import config
from reverse_etl import config as sync_config
from reverse_etl import slack, teams

EVENT_TYPE = "copilot_run_failed"
DEFAULT_UI_URL = "http://127.0.0.1:3000"


def first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else "failed"


def run_url(run_id: str) -> str:
    base = config.get("copilot.dagster_ui_url", str, DEFAULT_UI_URL).rstrip("/")
    return f"{base}/runs/{run_id}"


def text(job_name: str, run_id: str, step: str | None, error: str) -> str:
    where = f" at step `{step}`" if step else ""
    return (
        f":red_circle: `{job_name}` failed{where}: {first_line(error)}\n<{run_url(run_id)}|Run {run_id[:8]} in Dagster>"
    )


def notify(job_name: str, run_id: str, step: str | None, error: str) -> str:
    """Post the run's failure notice to the chosen alert channels, unless Slack's channel has it
    already; returns the Slack message's ts ("" when only Teams is chosen). In Teams the notice is a
    card keyed by the run id (a Workflows flow posts it once; `failure_channel` names its route)."""
    cfg = sync_config.load()
    channel = config.get("copilot.failure_channel", str, "data-quality")
    ts = ""
    if "teams" in cfg.alert_channels:
        where = f" at step {step}" if step else ""
        title = f"{job_name} failed{where}"
        teams.post_once(cfg, channel, title, first_line(error), run_url(run_id), f"run-failed:{run_id}")
    if "slack" in cfg.alert_channels and cfg.enabled("slack"):  # switched off: the run's log and UI say it
        ts = slack.post_once(cfg, channel, text(job_name, run_id, step, error), EVENT_TYPE, {"run_id": run_id})
    return ts
