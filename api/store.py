"""The application's own database (SQLite file by default, PostgreSQL by URL, through SQLAlchemy):
what CSMs record on alerts, and the audit log of every write.

`alert_feedback` holds one row per action (acknowledge, snooze, outcome). The daily run loads it into
the warehouse (`raw_copilot_app.alert_feedback`), where it meets the Salesforce Tasks' outcomes: for
each alert the latest of the two wins (alerts/lifecycle.py), and training weighs outcomes from both.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Engine

from core.clock import utc_now

metadata = MetaData()

alert_feedback = Table(
    "alert_feedback",
    metadata,
    Column("feedback_id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(64), nullable=False, index=True),
    Column("account_id", String(64), nullable=False, index=True),
    Column("rule_id", String(64)),
    Column("action", String(16), nullable=False),  # acknowledge | snooze | outcome
    Column("outcome", String(32)),
    Column("note", Text),
    Column("snoozed_until", Date),
    Column("recorded_by", String(255), nullable=False),
    Column("recorded_by_user_id", String(64)),
    Column("recorded_at", DateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(128), nullable=False),
    Column("before", Text),
    Column("after", Text),
)

ACTIONS = ("acknowledge", "snooze", "outcome")
VERSION_CHECK_SECONDS = 0.2
OUTCOMES = ("Confirmed risk", "False alarm", "Already known")
FEEDBACK_COLUMNS = [c.name for c in alert_feedback.columns]


class AppStore:
    def __init__(self, url: str):
        self.url = url
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        if url.startswith("sqlite"):

            @event.listens_for(self.engine, "connect")
            def _sqlite_pragmas(dbapi_con: Any, _: Any) -> None:
                # WAL: readers never wait for a writer; the daily run's read of the feedback neither.
                dbapi_con.execute("PRAGMA journal_mode=WAL")
                dbapi_con.execute("PRAGMA busy_timeout=5000")

        metadata.create_all(self.engine)
        self._lock = threading.Lock()
        # Every action by alert, in memory: rows are only ever added, so the highest id says whether
        # another process (another API worker) has written since the index was read.
        self._index: dict[str, list[dict[str, Any]]] = {}
        self._index_upto = 0
        self._last_id = select(func.coalesce(func.max(alert_feedback.c.feedback_id), 0))
        self._version_checked = float("-inf")

    def record(
        self,
        *,
        alert: dict[str, Any],
        action: str,
        actor_email: str,
        actor_user_id: str | None,
        role: str,
        before: dict[str, Any],
        after: dict[str, Any],
        outcome: str | None = None,
        note: str | None = None,
        snoozed_until: date | None = None,
    ) -> dict[str, Any]:
        """One action on an alert and its audit row, in one transaction."""
        now = utc_now()
        row = {
            "alert_id": alert["alert_id"],
            "account_id": alert["account_id"],
            "rule_id": alert.get("rule_id"),
            "action": action,
            "outcome": outcome,
            "note": note,
            "snoozed_until": snoozed_until,
            "recorded_by": actor_email,
            "recorded_by_user_id": actor_user_id,
            "recorded_at": now,
        }
        with self._lock, self.engine.begin() as con:
            result = con.execute(insert(alert_feedback).values(**row))
            row["feedback_id"] = result.inserted_primary_key[0]
            con.execute(
                insert(audit_log).values(
                    at=now,
                    actor=actor_email,
                    role=role,
                    action=f"alert.{action}",
                    target=alert["alert_id"],
                    before=json.dumps(before, default=str, sort_keys=True),
                    after=json.dumps(after, default=str, sort_keys=True),
                )
            )
        self._version_checked = float("-inf")
        return row

    def feedback_for(self, alert_ids: list[str] | None = None, account_id: str | None = None) -> list[dict[str, Any]]:
        query = select(alert_feedback).order_by(alert_feedback.c.recorded_at, alert_feedback.c.feedback_id)
        if alert_ids is not None:
            query = query.where(alert_feedback.c.alert_id.in_(alert_ids))
        if account_id is not None:
            query = query.where(alert_feedback.c.account_id == account_id)
        with self.engine.connect() as con:
            return [dict(r._mapping) for r in con.execute(query)]

    def feedback_by_alert(self) -> dict[str, list[dict[str, Any]]]:
        """Every action by alert id, oldest first; read again only when a new one was recorded."""
        with self.engine.connect() as con:
            last = con.execute(self._last_id).scalar() or 0
            if last != self._index_upto:
                query = select(alert_feedback).where(alert_feedback.c.feedback_id > self._index_upto)
                rows = [dict(r._mapping) for r in con.execute(query.order_by(alert_feedback.c.feedback_id))]
                with self._lock:
                    index = {k: list(v) for k, v in self._index.items()}
                    for row in rows:
                        index.setdefault(row["alert_id"], []).append(row)
                    for actions in index.values():
                        actions.sort(key=lambda r: (r["recorded_at"], r["feedback_id"]))
                    self._index, self._index_upto = index, max([last, *(r["feedback_id"] for r in rows)])
        return self._index

    def feedback_version(self) -> int:
        """The id of the latest action recorded (0 before the first): it changes with every write.
        Asked of the database at most every VERSION_CHECK_SECONDS; at once after a write here, so a
        client sees its own write (another API process sees it within that time)."""
        now = time.monotonic()
        if now - self._version_checked >= VERSION_CHECK_SECONDS:
            self._version_checked = now
            self.feedback_by_alert()
        return self._index_upto

    def all_feedback(self) -> list[dict[str, Any]]:
        return self.feedback_for()

    def audit(self, limit: int = 100) -> list[dict[str, Any]]:
        query = select(audit_log).order_by(audit_log.c.audit_id.desc()).limit(limit)
        with self.engine.connect() as con:
            rows = [dict(r._mapping) for r in con.execute(query)]
        for row in rows:
            row["before"] = json.loads(row["before"]) if row["before"] else None
            row["after"] = json.loads(row["after"]) if row["after"] else None
        return rows

    def latest_change(self) -> datetime | None:
        with self.engine.connect() as con:
            return con.execute(
                select(alert_feedback.c.recorded_at).order_by(alert_feedback.c.feedback_id.desc()).limit(1)
            ).scalar()

    def dispose(self) -> None:
        self.engine.dispose()
