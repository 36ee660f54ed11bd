"""What each destination should hold: one `Record` per Salesforce Account or Task, HubSpot company or
task, Slack message or Teams card,
with the hash that decides whether it changed since the last delivery.

The shapes themselves (which values, computed how) are contracted dbt views in the `activation`
schema (`dbt_project/models/activation/`), which the reports read too; this module only names
their columns the way each destination does and formats values for its API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from core.warehouse import table_exists
from reverse_etl.state import payload_hash

ACCOUNT_FIELDS = "activation.crm_account_fields"
ALERT_TASKS = "activation.crm_alert_tasks"
ALERT_MESSAGES = "activation.alert_messages"

# Column of crm_account_fields -> Salesforce Account field. Scored-at travels with every change but
# is not one itself: a daily rescoring that leaves every number as it was sends nothing.
SALESFORCE_ACCOUNT_FIELDS = {
    "health_score": "Copilot_Health_Score__c",
    "health_tier": "Copilot_Health_Tier__c",
    "churn_risk_percent": "Copilot_Churn_Risk__c",
    "risk_drivers": "Copilot_Risk_Drivers__c",
    "expansion_score": "Copilot_Expansion_Score__c",
}
SALESFORCE_SCORED_AT = "Copilot_Scored_At__c"
# Column of crm_alert_tasks -> Salesforce Task field; the alert id is the Task's external id.
SALESFORCE_TASK_FIELDS = {
    "alert_id": "Copilot_Alert_Id__c",
    "account_id": "WhatId",
    "owner_user_id": "OwnerId",
    "subject": "Subject",
    "description": "Description",
    "priority": "Priority",
    "due_date": "ActivityDate",
}


# Column of crm_account_fields -> HubSpot company property (custom properties the portal defines).
HUBSPOT_COMPANY_PROPERTIES = {
    "health_score": "copilot_health_score",
    "health_tier": "copilot_health_tier",
    "churn_risk_percent": "copilot_churn_risk",
    "risk_drivers": "copilot_risk_drivers",
    "expansion_score": "copilot_expansion_score",
}
HUBSPOT_SCORED_AT = "copilot_scored_at"
HUBSPOT_TASK_PRIORITY = {"High": "HIGH", "Normal": "MEDIUM", "Low": "LOW"}


class ShapeMissing(Exception):
    """An outbound view is not built yet: `str()` says what to run."""


@dataclass(frozen=True)
class Record:
    key: str
    values: dict[str, Any]  # the fields sent
    digest: str  # hash of the fields that count as a change


def _rows(con: duckdb.DuckDBPyConnection, view: str) -> list[dict[str, Any]]:
    if not table_exists(con, view):
        raise ShapeMissing(
            f"{view} is not built: run the daily job (its last dbt step builds the outbound views), "
            "or `dbt build --select tag:activation`"
        )
    cursor = con.execute(f"SELECT * FROM {view} ORDER BY 1")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def salesforce_datetime(value: datetime | date | None) -> str | None:
    """A date-time as Salesforce's REST API writes it (UTC, milliseconds, `Z`)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def accounts(con: duckdb.DuckDBPyConnection) -> list[Record]:
    """The Copilot fields of every current customer's Account."""
    out = []
    for row in _rows(con, ACCOUNT_FIELDS):
        values = {field: row[column] for column, field in SALESFORCE_ACCOUNT_FIELDS.items()}
        digest = payload_hash(values)
        values[SALESFORCE_SCORED_AT] = salesforce_datetime(row["scored_at"])
        out.append(Record(row["account_id"], {"Id": row["account_id"], **values}, digest))
    return out


def tasks(con: duckdb.DuckDBPyConnection) -> list[Record]:
    """One Task per live alert, keyed by the alert id (Copilot_Alert_Id__c). Status and outcome are
    the CSM's: never sent, so an update of the message does not reopen a Task."""
    out = []
    for row in _rows(con, ALERT_TASKS):
        values = {field: row[column] for column, field in SALESFORCE_TASK_FIELDS.items()}
        values["ActivityDate"] = row["due_date"].isoformat() if row["due_date"] else None
        out.append(Record(row["alert_id"], values, payload_hash(values)))
    return out


def hubspot_value(value: Any) -> str:
    """A property value as HubSpot takes it: text; an empty string clears the property."""
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return salesforce_datetime(value) or ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def hubspot_companies(con: duckdb.DuckDBPyConnection) -> list[Record]:
    """The Copilot properties of every current customer's HubSpot company (keyed by company id); the
    same values and change rule as `accounts`."""
    out = []
    for row in _rows(con, ACCOUNT_FIELDS):
        values = {prop: row[column] for column, prop in HUBSPOT_COMPANY_PROPERTIES.items()}
        digest = payload_hash(values)
        values[HUBSPOT_SCORED_AT] = row["scored_at"]
        properties = {k: hubspot_value(v) for k, v in values.items()}
        out.append(Record(row["account_id"], {"id": row["account_id"], "properties": properties}, digest))
    return out


def hubspot_tasks(con: duckdb.DuckDBPyConnection) -> list[Record]:
    """One HubSpot task per live alert, keyed by the alert id (the task's `copilot_alert_id`), owned
    by the alert's owner and associated with its company. Status and outcome are the CSM's: never sent."""
    out = []
    for row in _rows(con, ALERT_TASKS):
        properties = {
            "hs_task_subject": row["subject"],
            "hs_task_body": row["description"],
            "hs_task_priority": HUBSPOT_TASK_PRIORITY.get(row["priority"], "MEDIUM"),
            "hs_timestamp": hubspot_value(row["due_date"]),
            "hubspot_owner_id": row["owner_user_id"],
        }
        values = {"alert_id": row["alert_id"], "company_id": row["account_id"], "properties": properties}
        out.append(Record(row["alert_id"], values, payload_hash(values)))
    return out


def slack_messages(con: duckdb.DuckDBPyConnection, fallback_channel: str) -> list[Record]:
    """High-severity alerts, posted once each to the owner's channel (an update does not repost)."""
    return [
        Record(
            row["alert_id"],
            {"channel": row["owner_channel"] or fallback_channel, "text": row["text"]},
            payload_hash({"alert_id": row["alert_id"]}),
        )
        for row in _rows(con, ALERT_MESSAGES)
    ]


TEAMS_CARDS = f"""
SELECT m.alert_id, m.account_id, m.owner_channel, coalesce(c.account_name, m.account_id) AS account_name,
    a.severity, a.message AS reason, a.owner_name, t.due_date
FROM {ALERT_MESSAGES} AS m
JOIN {ALERT_TASKS} AS t USING (alert_id)
JOIN alerts.alerts AS a USING (alert_id)
LEFT JOIN marts.customer_360 AS c ON c.account_id = m.account_id
ORDER BY m.alert_id
"""


def teams_cards(con: duckdb.DuckDBPyConnection) -> list[Record]:
    """The alerts of `slack_messages`, with what a Teams card shows (account, severity, reason, due
    date); posted once each, like Slack messages (an update does not repost)."""
    for view in (ALERT_MESSAGES, ALERT_TASKS):
        if not table_exists(con, view):
            raise ShapeMissing(f"{view} is not built: run the daily job, or `dbt build --select tag:activation`")
    cursor = con.execute(TEAMS_CARDS)
    names = [d[0] for d in cursor.description]
    out = []
    for row in (dict(zip(names, r, strict=True)) for r in cursor.fetchall()):
        values = {k: row[k] for k in names if k != "due_date"}
        values["due_date"] = row["due_date"].isoformat() if row["due_date"] else None
        out.append(Record(row["alert_id"], values, payload_hash({"alert_id": row["alert_id"]})))
    return out
