"""The alert lifecycle, kept in the warehouse (`alerts.alerts`):

    open -> sent (a Salesforce Task exists) -> acknowledged (the CSM touched the Task)
         -> closed (the Task is completed, with the CSM's outcome)

Each daily evaluation (`evaluate`) reads the rules that fire today (`alerts.alert_candidates`, built
by dbt) and:

- updates the live alert of the same account and rule (message, numbers, owner, last_fired_on)
  instead of opening a second one;
- opens a new alert only when no live one exists, the rule's cooldown since the last close has
  passed, the rule is not muted for low precision, and the last outcome was not "Already known"
  with nothing changed since.

"Something changed" after an "Already known" outcome means either that the rule stopped firing for
the account on at least one evaluation since (the condition cleared and came back), or that the
account's health tier is worse than when the alert was closed. While neither happens the closed
alert's `last_fired_on` keeps moving, which is how the next evaluation knows it never cleared.

Outcomes come back through ingestion: `staging.stg_crm__tasks` carries each Task's
Copilot_Alert_Id__c, Status and Copilot_Outcome__c, and `staging.stg_copilot_app__alert_feedback`
what CSMs recorded in the Copilot API, in the same shape; for each alert the latest of the two wins
(`apply_feedback`). `alerts.rule_precision`
is the share of closed alerts with an outcome that the CSM confirmed, per rule, against the rule's
floor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import duckdb

from core import config, warehouse
from core.clock import utc_now
from core.config import ConfigError

ALERTS = "alerts.alerts"
CANDIDATES = "alerts.alert_candidates"
RULES = "alerts.alert_rule_config"
PRECISION = "alerts.rule_precision"
EVALUATIONS = "alerts.evaluations"
TASKS = "staging.stg_crm__tasks"
APP_FEEDBACK = "staging.stg_copilot_app__alert_feedback"
SETTINGS = "config.alert_settings"
LIVE = ("open", "sent", "acknowledged")
DEFAULT_MIN_CLOSED = 10

ALERTS_DDL = f"""
CREATE TABLE IF NOT EXISTS {ALERTS} (
    alert_id VARCHAR PRIMARY KEY,
    account_id VARCHAR NOT NULL,
    rule_id VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    opened_on DATE NOT NULL,
    last_fired_on DATE NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    acknowledged_at TIMESTAMP,
    closed_at TIMESTAMP,
    outcome VARCHAR,
    message VARCHAR NOT NULL,
    owner_user_id VARCHAR,
    owner_name VARCHAR,
    salesforce_task_id VARCHAR,
    metric_value DOUBLE,
    health_tier VARCHAR,
    fire_count INTEGER NOT NULL
)"""

EVALUATIONS_DDL = f"""
CREATE TABLE IF NOT EXISTS {EVALUATIONS} (
    evaluated_on DATE PRIMARY KEY,
    evaluated_at TIMESTAMP NOT NULL,
    candidates INTEGER,
    opened INTEGER,
    updated INTEGER,
    suppressed INTEGER
)"""

# Health tiers from best to worst: "worse" is a higher rank.
TIER_RANK = "CASE {0} WHEN 'Green' THEN 1 WHEN 'Yellow' THEN 2 WHEN 'Red' THEN 3 ELSE 0 END"


@dataclass
class Evaluation:
    evaluated_on: date
    candidates: int
    opened: int
    updated: int
    suppressed: int
    closed_by_feedback: int

    def line(self) -> str:
        return (
            f"alerts on {self.evaluated_on}: {self.candidates} rule hits, {self.opened} opened, "
            f"{self.updated} updated, {self.suppressed} suppressed (cooldown, muted or already known), "
            f"{self.closed_by_feedback} closed by CSM feedback"
        )


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    warehouse.ensure_tables(con, [ALERTS_DDL, EVALUATIONS_DDL])


def apply_feedback(con: duckdb.DuckDBPyConnection) -> int:
    """Task state -> alert state: a touched Task acknowledges its alert, a completed one closes it
    with the CSM's outcome. Returns how many alerts this closed."""
    has_tasks, has_app = warehouse.table_exists(con, TASKS), warehouse.table_exists(con, APP_FEEDBACK)
    if not (has_tasks or has_app):
        return 0
    sources = []
    if has_tasks:
        sources.append(
            f"""SELECT copilot_alert_id AS alert_id, task_id, status, copilot_outcome, system_modstamp_at
            FROM {TASKS} WHERE copilot_alert_id IS NOT NULL"""
        )
        con.execute(
            f"""UPDATE {ALERTS} AS a SET salesforce_task_id = t.task_id
            FROM {TASKS} AS t WHERE t.copilot_alert_id = a.alert_id AND a.salesforce_task_id IS NULL"""
        )
    if has_app:
        sources.append(
            f"""SELECT alert_id, NULL AS task_id, task_status AS status, copilot_outcome,
                recorded_at AS system_modstamp_at
            FROM {APP_FEEDBACK} WHERE alert_id IS NOT NULL"""
        )
    # Per alert, the latest feedback of either channel (a Task nobody has touched says nothing).
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE task_feedback AS
        SELECT * FROM ({" UNION ALL ".join(sources)})
        WHERE status <> 'Not Started' OR copilot_outcome IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY alert_id ORDER BY system_modstamp_at DESC, task_id NULLS LAST) = 1"""
    )
    con.execute(
        f"""UPDATE {ALERTS} AS a SET status = 'acknowledged', acknowledged_at = t.system_modstamp_at, updated_at = ?
        FROM task_feedback AS t
        WHERE t.alert_id = a.alert_id AND a.status IN ('open', 'sent')
          AND (t.status <> 'Not Started' OR t.copilot_outcome IS NOT NULL)""",
        [utc_now()],
    )
    closed = con.execute(
        f"""UPDATE {ALERTS} AS a SET status = 'closed', outcome = t.copilot_outcome, closed_at = t.system_modstamp_at,
            acknowledged_at = coalesce(a.acknowledged_at, t.system_modstamp_at), updated_at = ?
        FROM task_feedback AS t
        WHERE t.alert_id = a.alert_id AND t.status = 'Completed'
          AND (a.status <> 'closed'
               OR (t.copilot_outcome IS DISTINCT FROM a.outcome AND t.system_modstamp_at > a.closed_at))""",
        [utc_now()],
    ).fetchone()
    return int(closed[0]) if closed else 0


def refresh_precision(con: duckdb.DuckDBPyConnection) -> None:
    """Per rule: closed alerts, their outcomes, precision = confirmed / closed with an outcome, and
    whether it is below the rule's floor (only once `min_outcomes` alerts have an outcome: fewer say
    too little to tell a weak rule from bad luck)."""
    min_closed = DEFAULT_MIN_CLOSED
    if warehouse.table_exists(con, SETTINGS):
        row = con.execute(f"SELECT value FROM {SETTINGS} WHERE setting = 'min_closed_for_precision'").fetchone()
        if row and row[0] and str(row[0]).strip().isdigit():
            min_closed = int(str(row[0]).strip())
    con.execute(
        f"""CREATE OR REPLACE TABLE {PRECISION} AS
        WITH closed AS (
            SELECT rule_id,
                count(*) AS alerts_closed,
                count(*) FILTER (WHERE outcome = 'Confirmed risk') AS confirmed,
                count(*) FILTER (WHERE outcome = 'False alarm') AS false_alarm,
                count(*) FILTER (WHERE outcome = 'Already known') AS already_known,
                count(outcome) AS with_outcome
            FROM {ALERTS} WHERE status = 'closed' GROUP BY rule_id
        ),
        measured AS (
            SELECT r.rule_id, r.severity,
                coalesce(c.alerts_closed, 0) AS alerts_closed,
                coalesce(c.confirmed, 0) AS confirmed,
                coalesce(c.false_alarm, 0) AS false_alarm,
                coalesce(c.already_known, 0) AS already_known,
                coalesce(c.with_outcome, 0) AS with_outcome,
                CASE WHEN c.with_outcome > 0 THEN c.confirmed / c.with_outcome END AS precision,
                r.precision_floor,
                coalesce(c.with_outcome, 0) >= ? AND c.confirmed / c.with_outcome < r.precision_floor AS below_floor,
                r.mute_below_floor
            FROM {RULES} AS r LEFT JOIN closed AS c USING (rule_id)
        )
        SELECT rule_id, severity, alerts_closed, confirmed, false_alarm, already_known, with_outcome,
            CAST(precision AS DOUBLE) AS precision, precision_floor,
            coalesce(below_floor, false) AS below_floor,
            coalesce(below_floor, false) AND mute_below_floor AS muted,
            CAST(? AS INTEGER) AS min_outcomes
        FROM measured ORDER BY rule_id""",
        [min_closed, min_closed],
    )


SALESFORCE_USER_ID = re.compile(r"005[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?")


def default_owner() -> tuple[str, str]:
    """Who gets the alerts of an account without a CSM: `[alerts] default_owner_user_id` (a Salesforce
    User id, 005...; with HubSpot as the CRM `default_hubspot_owner_id`, an owner id) and
    `default_owner_name`, a deployment's setting (the sandbox's in .dlt/sandbox.toml)."""
    from core.crm import crm

    if crm() == "hubspot":
        # A HubSpot owner id (digits): `[alerts] default_hubspot_owner_id`.
        owner = config.get("alerts.default_hubspot_owner_id", str).strip()
        if not owner.isdigit():
            raise ConfigError(
                f"`alerts.default_hubspot_owner_id` = {owner!r} is not a HubSpot owner id (digits): set "
                "ALERTS__DEFAULT_HUBSPOT_OWNER_ID or fix it in .dlt/config.toml"
            )
        return owner, config.get("alerts.default_owner_name", str, "Head of Customer Success")
    user = config.get("alerts.default_owner_user_id", str).strip()
    if not SALESFORCE_USER_ID.fullmatch(user):
        raise ConfigError(
            f"`alerts.default_owner_user_id` = {user!r} is not a Salesforce User id (005 followed by 12 or 15 "
            "letters and digits): set ALERTS__DEFAULT_OWNER_USER_ID or fix it in .dlt/config.toml"
        )
    return user, config.get("alerts.default_owner_name", str, "Head of Customer Success")


def evaluate(con: duckdb.DuckDBPyConnection, as_of: date) -> Evaluation:
    """The evaluation of the run's as-of date `as_of` (idempotent: a rerun on the same day updates what
    the first run opened)."""
    owner_id, owner_name = default_owner()
    ensure_tables(con)
    closed_by_feedback = apply_feedback(con)
    refresh_precision(con)
    previous = con.execute(f"SELECT max(evaluated_on) FROM {EVALUATIONS} WHERE evaluated_on < ?", [as_of]).fetchone()[0]
    now = utc_now()
    candidates = con.execute(f"SELECT count(*) FROM {CANDIDATES}").fetchone()[0]

    updated = con.execute(
        f"""UPDATE {ALERTS} AS a SET
            fire_count = a.fire_count + CASE WHEN a.last_fired_on < c.fired_on THEN 1 ELSE 0 END,
            last_fired_on = c.fired_on, message = c.message, severity = c.severity,
            owner_user_id = coalesce(c.owner_user_id, ?),
            owner_name = CASE WHEN c.owner_user_id IS NULL THEN ? ELSE c.owner_name END,
            metric_value = c.metric_value, health_tier = c.health_tier, updated_at = ?
        FROM {CANDIDATES} AS c
        WHERE a.account_id = c.account_id AND a.rule_id = c.rule_id AND a.status IN {LIVE}""",
        [owner_id, owner_name, now],
    ).fetchone()[0]

    worse = f"{TIER_RANK.format('c.health_tier')} > {TIER_RANK.format('last.health_tier')}"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE candidate_decisions AS
        WITH last_closed AS (
            SELECT * FROM {ALERTS} WHERE status = 'closed'
            QUALIFY row_number() OVER (PARTITION BY account_id, rule_id ORDER BY closed_at DESC, alert_id DESC) = 1
        ),
        fresh AS (
            SELECT c.* FROM {CANDIDATES} AS c
            WHERE NOT EXISTS (
                SELECT 1 FROM {ALERTS} AS a
                WHERE a.account_id = c.account_id AND a.rule_id = c.rule_id AND a.status IN {LIVE}
            )
        )
        SELECT c.*, last.alert_id AS last_alert_id,
            coalesce(r.cooldown_days IS NOT NULL AND last.closed_at IS NOT NULL
                AND c.fired_on < CAST(last.closed_at AS DATE) + r.cooldown_days, false) AS in_cooldown,
            coalesce(p.muted, false) AS muted,
            coalesce(last.outcome = 'Already known'
                AND NOT (last.last_fired_on < coalesce(CAST(? AS DATE), last.last_fired_on))
                AND NOT ({worse}), false) AS already_known
        FROM fresh AS c
        LEFT JOIN last_closed AS last ON last.account_id = c.account_id AND last.rule_id = c.rule_id
        LEFT JOIN {RULES} AS r ON r.rule_id = c.rule_id
        LEFT JOIN {PRECISION} AS p ON p.rule_id = c.rule_id""",
        [previous],
    )
    # A suppressed repeat of an "Already known" alert keeps its closed alert's firing streak going.
    con.execute(
        f"""UPDATE {ALERTS} AS a SET last_fired_on = d.fired_on
        FROM candidate_decisions AS d
        WHERE d.already_known AND a.alert_id = d.last_alert_id AND a.last_fired_on < d.fired_on"""
    )
    opened = con.execute(
        f"""INSERT INTO {ALERTS} (alert_id, account_id, rule_id, severity, status, opened_on, last_fired_on,
            updated_at, message, owner_user_id, owner_name, metric_value, health_tier, fire_count)
        SELECT 'CSA-' || substr(md5(account_id || '|' || rule_id || '|' || CAST(fired_on AS VARCHAR)), 1, 20),
            account_id, rule_id, severity, 'open', fired_on, fired_on, ?, message, coalesce(owner_user_id, ?),
            CASE WHEN owner_user_id IS NULL THEN ? ELSE owner_name END, metric_value, health_tier, 1
        FROM candidate_decisions WHERE NOT (in_cooldown OR muted OR already_known)""",
        [now, owner_id, owner_name],
    ).fetchone()[0]
    suppressed = con.execute(
        "SELECT count(*) FROM candidate_decisions WHERE in_cooldown OR muted OR already_known"
    ).fetchone()[0]
    con.execute(
        f"INSERT OR REPLACE INTO {EVALUATIONS} VALUES (?, ?, ?, ?, ?, ?)",
        [as_of, now, candidates, opened, updated, suppressed],
    )
    return Evaluation(as_of, int(candidates), int(opened), int(updated), int(suppressed), closed_by_feedback)


def mark_sent(con: duckdb.DuckDBPyConnection, task_ids: dict[str, str | None]) -> None:
    """Alerts whose Task now exists in Salesforce: open -> sent, with the Task's id."""
    if not task_ids:
        return
    now = utc_now()
    # One statement for the batch (executemany runs one statement per alert).
    con.execute(
        f"""UPDATE {ALERTS} SET status = CASE WHEN status = 'open' THEN 'sent' ELSE status END,
            sent_at = coalesce(sent_at, $now), salesforce_task_id = coalesce(sent.task_id, salesforce_task_id),
            updated_at = $now
        FROM (SELECT unnest($alert_ids::VARCHAR[]) AS alert_id, unnest($task_ids::VARCHAR[]) AS task_id) AS sent
        WHERE {ALERTS}.alert_id = sent.alert_id""",
        {"now": now, "alert_ids": list(task_ids), "task_ids": list(task_ids.values())},
    )
