"""One sync per destination: compare what the warehouse says with what was last delivered, send
only the difference, log the run, keep per-record errors, retry them next run.

A destination switched off (`reverse_etl.<system>.enabled = false`) is logged as 'off' and sends
nothing. A run where more than `reverse_etl.max_failed_share` of the records sent fail is 'failed',
not 'partial'.

Order of a run: gate (blocked: nothing is sent, the run says why) -> changed records (none: no API
call at all) -> dry run (print, send nothing) -> send in batches, saving the delivered hashes after
each batch, so a run that stops half-way resumes with what is left.
"""

from __future__ import annotations

from typing import Any

import duckdb
import requests
from simple_salesforce.exceptions import SalesforceError
from slack_sdk.errors import SlackApiError

from alerts import lifecycle
from core.auth import LoginRefused
from reverse_etl import gate, hubspot, records, salesforce, slack, state, teams
from reverse_etl.config import SyncConfig
from reverse_etl.records import Record

DESTINATIONS = ("salesforce_account", "salesforce_task", "hubspot_company", "hubspot_task", "slack", "teams")
ALERT_CHANNELS = ("slack", "teams")  # run only when chosen by `[reverse_etl] alert_channel`
# Each CRM's write-back: its account destination, then its task destination (only the configured CRM's run).
CRM_DESTINATIONS = {
    "salesforce": ("salesforce_account", "salesforce_task"),
    "hubspot": ("hubspot_company", "hubspot_task"),
}
TASK_DESTINATIONS = ("salesforce_task", "hubspot_task")
# The Dagster asset (["reverse_etl", name]) of each CRM destination.
SYNC_ASSETS = {
    "salesforce_account": "salesforce_accounts",
    "salesforce_task": "salesforce_tasks",
    "hubspot_company": "hubspot_companies",
    "hubspot_task": "hubspot_tasks",
}


def destinations(cfg: SyncConfig) -> tuple[str, ...]:
    """The destinations a run syncs: the configured CRM's two and the chosen alert channels."""
    return CRM_DESTINATIONS[cfg.crm] + tuple(d for d in ALERT_CHANNELS if d in cfg.alert_channels)


SALESFORCE_TARGETS = {"salesforce_account": ("Account", "Id"), "salesforce_task": ("Task", "Copilot_Alert_Id__c")}


def desired(con: duckdb.DuckDBPyConnection, destination: str, cfg: SyncConfig) -> list[Record]:
    if destination == "salesforce_account":
        return records.accounts(con)
    if destination == "salesforce_task":
        return records.tasks(con)
    if destination == "hubspot_company":
        return records.hubspot_companies(con)
    if destination == "hubspot_task":
        return records.hubspot_tasks(con)
    if destination == "teams":
        return records.teams_cards(con)
    return records.slack_messages(con, cfg.slack_fallback_channel)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


def gate_for_run(con: duckdb.DuckDBPyConnection, cfg: SyncConfig, run_id: str) -> gate.GateResult:
    """The gate of the run `run_id`: as the run's alert step evaluated and stored it, else evaluated
    (and stored) now, once for all the run's destinations."""
    stored = gate.for_run(con, run_id)
    if stored is not None:
        return stored
    result = gate.evaluate(con, cfg.row_count_tolerance, cfg.max_red_share_change, run_id, cfg.max_empty_score_share)
    gate.store(con, result, run_id)
    return result


def sync(
    con: duckdb.DuckDBPyConnection,
    destination: str,
    cfg: SyncConfig,
    *,
    dry_run: bool = False,
    gate_result: gate.GateResult | None = None,
    clients: dict[str, Any] | None = None,
    echo: Any = print,
) -> state.SyncRun:
    """Sync one destination; `clients` caches API clients across destinations of one run."""
    if destination not in DESTINATIONS:
        raise ValueError(f"unknown destination {destination!r}: choose one of {', '.join(DESTINATIONS)}")
    state.ensure(con)
    run = state.SyncRun(destination, dry_run=dry_run)
    if not cfg.enabled(destination):
        run.status, run.message = "off", cfg.off_message(destination)
        run.record(con)
        return run
    if destination in ALERT_CHANNELS and destination not in cfg.alert_channels:
        # Nothing attempted, nothing logged: the sync log only holds the channels in use.
        run.status, run.message = "skipped", "not a chosen alert channel ([reverse_etl] alert_channel)"
        return run
    try:
        wanted = desired(con, destination, cfg)
    except records.ShapeMissing as exc:
        run.status, run.message = "failed", str(exc)
        run.record(con)
        return run
    delivered = state.delivered(con, destination)
    changed = [r for r in wanted if delivered.get(r.key) != r.digest]
    run.considered, run.changed = len(wanted), len(changed)
    if gate_result is not None and not gate_result.passed:
        run.status, run.message = "blocked", gate_result.summary()
    elif dry_run:
        for r in changed:
            echo(f"would send {destination} {r.key}: {r.values}")
    elif changed:
        try:
            _send(con, destination, cfg, changed, run, clients if clients is not None else {})
        except Exception as exc:
            # Not an outcome `_send` knows: still logged as a failed run before it propagates.
            run.status = "failed"
            run.message = f"stopped after {run.sent} of {len(changed)} records: {_first_line(exc)}"
            run.record(con)
            raise
    run.record(con)
    return run


def _send(
    con: duckdb.DuckDBPyConnection,
    destination: str,
    cfg: SyncConfig,
    changed: list[Record],
    run: state.SyncRun,
    clients: dict[str, Any],
) -> None:
    by_key = {r.key: r for r in changed}

    def batch_done(outcome: dict[str, str | None], ids: dict[str, str]) -> None:
        ok = {k: by_key[k].digest for k, err in outcome.items() if err is None and k in by_key}
        errors = {k: err for k, err in outcome.items() if err is not None}
        state.save_delivered(con, destination, ok, run.run_id)
        state.save_errors(con, run.run_id, destination, errors)
        run.sent += len(outcome)
        run.succeeded += len(ok)
        run.failed += len(errors)
        if destination in TASK_DESTINATIONS:
            lifecycle.mark_sent(con, {k: ids.get(k) for k in ok})

    try:
        if destination == "slack":
            run.api = "slack"
            if "slack" not in clients:
                clients["slack"] = slack.Poster(cfg)
            recovered = slack.deliver(con, clients["slack"], changed, run.run_id, batch_done)
            if recovered:
                run.message = f"{recovered} message(s) found already posted by an interrupted run, not posted again"
        elif destination == "teams":
            run.api = "teams"
            if "teams" not in clients:
                clients["teams"] = teams.Poster(cfg)
            resent = teams.deliver(con, clients["teams"], changed, run.run_id, batch_done)
            if resent:
                run.message = f"{resent} card(s) of an interrupted run sent again with their key (flows drop repeats)"
        elif destination in CRM_DESTINATIONS["hubspot"]:
            run.api = "hubspot_batch"
            if "hubspot" not in clients:
                clients["hubspot"] = hubspot.connect(cfg)
            values = [r.values for r in changed]
            if destination == "hubspot_company":
                hubspot.update_companies(clients["hubspot"], values, batch_done)
            else:
                hubspot.upsert_tasks(clients["hubspot"], values, batch_done)
        else:
            sobject, key_field = SALESFORCE_TARGETS[destination]
            if "salesforce" not in clients:
                clients["salesforce"] = salesforce.connect(cfg)
            values = [r.values for r in changed]
            if len(changed) > cfg.bulk_threshold:
                run.api = "bulk"
                salesforce.upsert_bulk(clients["salesforce"], sobject, key_field, values, batch_done)
            else:
                run.api = "composite"
                salesforce.upsert_collections(clients["salesforce"], sobject, key_field, values, batch_done)
    except salesforce.BulkJobFailed as exc:
        run.status = "failed"
        run.message = f"Bulk API job failed, {run.failed} record(s) not written (see reverse_etl.sync_errors): {exc}"
        return
    except (slack.Stopped, teams.Stopped) as exc:
        run.status, run.message = "failed", f"stopped after {run.sent} of {len(changed)} records: {exc}"
        return
    except (LoginRefused, SalesforceError, SlackApiError, requests.RequestException) as exc:
        # Retries are exhausted: stop here; what was delivered is saved, the rest goes next run.
        run.status, run.message = "failed", f"stopped after {run.sent} of {len(changed)} records: {_first_line(exc)}"
        return
    if run.failed and run.failed > cfg.max_failed_share * run.sent:
        # Most records refused is a destination that does not take what is sent (a field, a
        # picklist, a permission): the step fails loudly instead of reporting a partial success.
        run.status = "failed"
        run.message = (
            f"{run.failed} of {run.sent} records failed, more than reverse_etl.max_failed_share "
            f"({cfg.max_failed_share:g}): see reverse_etl.sync_errors"
        )
    elif run.failed:
        run.status = "partial"
        failed = f"{run.failed} record(s) failed (see reverse_etl.sync_errors); retried next run"
        run.message = f"{failed}; {run.message}" if run.message else failed


def sync_all(
    con: duckdb.DuckDBPyConnection, cfg: SyncConfig, *, dry_run: bool = False, echo: Any = print
) -> list[state.SyncRun]:
    """The gate once, then every destination."""
    state.ensure(con)
    checked = gate_for_run(con, cfg, state.new_run_id())
    clients: dict[str, Any] = {}
    return [
        sync(con, d, cfg, dry_run=dry_run, gate_result=checked, clients=clients, echo=echo) for d in destinations(cfg)
    ]
