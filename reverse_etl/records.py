"""What each destination should hold, read from the warehouse: one `Record` per Salesforce Account,
Task or Slack message, with the hash that decides whether it changed since the last delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from core.warehouse import table_exists
from reverse_etl.state import payload_hash

SCORES_LATEST = "ml.account_scores_latest"
PRIORITY = {"high": "High", "medium": "Normal", "low": "Low"}
DUE_DAYS = {"high": 3, "medium": 7, "low": 14}
LIVE = ("open", "sent", "acknowledged")


@dataclass(frozen=True)
class Record:
    key: str
    values: dict[str, Any]  # the fields sent
    digest: str  # hash of the fields that count as a change


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _number(value: Any, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)


def _datetime(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def account_frame_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Current customers with their health score and, once the models have scored, their ML scores."""
    scores = table_exists(con, "ml.account_scores_latest")
    ml_columns = (
        "s.churn_probability, s.expansion_propensity, s.scored_at, s.driver_1, s.driver_2, s.driver_3"
        if scores
        else "NULL::DOUBLE AS churn_probability, NULL::DOUBLE AS expansion_propensity, "
        "NULL::TIMESTAMP AS scored_at, NULL AS driver_1, NULL AS driver_2, NULL AS driver_3"
    )
    join = f"LEFT JOIN {SCORES_LATEST} AS s ON s.account_id = c.account_id" if scores else ""
    return f"""
        SELECT c.account_id, c.health_score, c.health_tier, c.top_risk_drivers, c.expansion_score, c.as_of_date,
            {ml_columns}
        FROM marts.customer_360 AS c {join}
        ORDER BY c.account_id"""


def accounts(con: duckdb.DuckDBPyConnection) -> list[Record]:
    """Account fields. `Copilot_Scored_At__c` travels with every change but is not one itself: a
    daily rescoring that leaves every number as it was sends nothing."""
    out = []
    for row in _rows(con, account_frame_sql(con)):
        drivers = [d for d in (row["driver_1"], row["driver_2"], row["driver_3"]) if d]
        values = {
            "Copilot_Health_Score__c": _number(row["health_score"]),
            "Copilot_Health_Tier__c": row["health_tier"],
            "Copilot_Churn_Risk__c": _number(
                None if row["churn_probability"] is None else 100 * row["churn_probability"]
            ),
            "Copilot_Risk_Drivers__c": "\n".join(drivers) if drivers else row["top_risk_drivers"],
            "Copilot_Expansion_Score__c": _number(
                100 * row["expansion_propensity"] if row["expansion_propensity"] is not None else row["expansion_score"]
            ),
        }
        digest = payload_hash(values)
        values["Copilot_Scored_At__c"] = _datetime(row["scored_at"] or row["as_of_date"])
        out.append(Record(row["account_id"], {"Id": row["account_id"], **values}, digest))
    return out


def _live_alerts(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    if not table_exists(con, "alerts.alerts"):
        return []
    return _rows(
        con,
        f"""SELECT a.*, c.account_name, u.email AS owner_email
        FROM alerts.alerts AS a
        LEFT JOIN marts.customer_360 AS c ON c.account_id = a.account_id
        LEFT JOIN staging.stg_salesforce__users AS u ON u.user_id = a.owner_user_id
        WHERE a.status IN {LIVE} ORDER BY a.alert_id""",
    )


def tasks(con: duckdb.DuckDBPyConnection) -> list[Record]:
    """One Task per live alert, keyed by the alert id (Copilot_Alert_Id__c). Status and outcome are
    the CSM's: never sent, so an update of the message does not reopen a Task."""
    out = []
    for a in _live_alerts(con):
        values = {
            "Copilot_Alert_Id__c": a["alert_id"],
            "WhatId": a["account_id"],
            "OwnerId": a["owner_user_id"],
            "Subject": f"Copilot alert: {a['rule_id'].replace('_', ' ')}",
            "Description": a["message"],
            "Priority": PRIORITY.get(a["severity"], "Normal"),
            "ActivityDate": (a["opened_on"] + timedelta(days=DUE_DAYS.get(a["severity"], 7))).isoformat(),
        }
        out.append(Record(a["alert_id"], values, payload_hash(values)))
    return out


def slack_channel(owner_email: str | None, fallback: str) -> str:
    """A CSM's channel is `#cs-<alias>`, the alias being their email's local part (jane.doe -> jane-doe)."""
    if not owner_email or "@" not in owner_email:
        return fallback
    return "cs-" + owner_email.split("@", 1)[0].replace(".", "-").replace("_", "-").lower()


def slack_messages(con: duckdb.DuckDBPyConnection, fallback_channel: str) -> list[Record]:
    """High-severity alerts, posted once each to the owner's channel (an update does not repost)."""
    out = []
    for a in _live_alerts(con):
        if a["severity"] != "high":
            continue
        values = {
            "channel": slack_channel(a["owner_email"], fallback_channel),
            "text": f":rotating_light: {a['account_name'] or a['account_id']}: {a['message']} "
            f"(alert {a['alert_id']}, owner {a['owner_name'] or 'unassigned'})",
        }
        out.append(Record(a["alert_id"], values, payload_hash({"alert_id": a["alert_id"]})))
    return out
