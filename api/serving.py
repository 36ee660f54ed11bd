"""The API's view of the latest serving snapshot (api/snapshot.py), held in memory.

The pointer file `current.json` is looked at no more than once a second; when it names a new
snapshot, that file is opened read-only, read into memory and closed, in a background thread, while
requests keep being answered from the snapshot already loaded. No file stays open, so the run that
publishes the next one never waits for the API, and the API never waits for a run.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from api import snapshot as publisher

log = logging.getLogger("copilot.api")
CHECK_EVERY_SECONDS = 1.0
LIVE = ("open", "sent", "acknowledged")
# The churn risk tier of an account that gave notice (ml/score.py writes it; the API sets it from the
# account's lifecycle state too, so a snapshot without scores says the same).
NOTICE_TIER = "Notice given"


def _rows(con: duckdb.DuckDBPyConnection, table: str, order: str = "") -> list[dict[str, Any]]:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?", [table]
    ).fetchone()[0]
    if not exists:
        return []
    cur = con.execute(f"SELECT * FROM {table} {order}")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@dataclass
class Snapshot:
    """One published run, in memory, indexed the ways the endpoints read it."""

    file: str
    as_of_date: date
    published_at: datetime
    run_id: str | None
    accounts: dict[str, dict[str, Any]]
    accounts_in_order: list[dict[str, Any]]
    trend: dict[str, list[dict[str, Any]]]
    history: dict[str, list[dict[str, Any]]]
    alerts: dict[str, dict[str, Any]]
    alerts_by_account: dict[str, list[dict[str, Any]]]
    contacts: dict[str, list[dict[str, Any]]]
    users: dict[str, dict[str, Any]]
    models: dict[str, dict[str, Any]]
    calibration: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def stamp(self) -> dict[str, Any]:
        return {"as_of_date": self.as_of_date, "published_at": self.published_at, "run_id": self.run_id}

    @classmethod
    def load(cls, path: Path, file: str) -> Snapshot:
        con = duckdb.connect(str(path), read_only=True)
        try:
            run = _rows(con, "run")[0]
            accounts = _rows(con, "accounts", "ORDER BY account_name, account_id")
            trend_rows = _rows(con, "health_trend", "ORDER BY account_id, day")
            history_rows = _rows(con, "health_history", "ORDER BY account_id, day")
            alert_rows = _rows(con, "alerts", "ORDER BY opened_on DESC, alert_id")
            contact_rows = _rows(con, "contacts", "ORDER BY account_id, last_name, first_name")
            users = {u["user_id"]: u for u in _rows(con, "users")}
            models = _models(con)
            calibration_rows = _rows(con, "calibration_curve", "ORDER BY model_id, bin")
        finally:
            con.close()
        for account in accounts:
            drivers = account.get("drivers_json")
            account["drivers"] = json.loads(drivers) if drivers else []
            announced_churn(account)
        return cls(
            file=file,
            as_of_date=run["as_of_date"],
            published_at=run["published_at"],
            run_id=run["run_id"],
            accounts={a["account_id"]: a for a in accounts},
            accounts_in_order=accounts,
            trend=_by(trend_rows, "account_id"),
            history=_by(history_rows, "account_id"),
            alerts={a["alert_id"]: a for a in alert_rows},
            alerts_by_account=_by(alert_rows, "account_id"),
            contacts=_by(contact_rows, "account_id"),
            users=users,
            models=models,
            calibration=_by(calibration_rows, "model_id"),
        )


def _by(rows: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    """The rows grouped by the value of `key`, each group in the rows' order."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    return dict(groups)


def announced_churn(account: dict[str, Any]) -> None:
    """An account that gave notice has announced its churn: it is served as such, never with a churn
    probability beside it (as in the CRM, activation/crm_account_fields). Its tier is the notice's
    (ml/score.py's "Notice given"), its churn probability none, and `notice` holds the save play's
    facts: the day notice was given and the day the contract ends. Other accounts get `notice` None."""
    given = account.get("lifecycle_state") == "notice_given" or account.get("churn_risk_tier") == NOTICE_TIER
    if not given:
        account["notice"] = None
        return
    account["churn_probability"] = None
    account["churn_risk_tier"] = NOTICE_TIER
    given_on, ends_on = account.get("notice_given_on"), account.get("notice_ends_on")
    account["notice"] = {
        "given_on": given_on,
        "contract_ends_on": ends_on,
        "sentence": (
            f"Notice given on {given_on or 'an unknown day'}"
            + (f", contract ends {ends_on}" if ends_on else "")
            + ": save play (announced churn, no churn risk)"
        ),
    }


def _models(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """The champion of each kind with its metrics, drift and top features."""
    models = {}
    metrics = _rows(con, "model_metrics")
    drift = _rows(con, "feature_drift", "ORDER BY computed_on DESC, psi DESC")
    importance = _rows(con, "feature_importance")
    for model in _rows(con, "models"):
        model_id = model["model_id"]
        model["details"] = json.loads(model["metrics"]) if model.get("metrics") else {}
        model["feature_list"] = json.loads(model["features"]) if model.get("features") else []
        model["metric_rows"] = [m for m in metrics if m["model_id"] == model_id]
        latest = max((d["computed_on"] for d in drift if d["model_id"] == model_id), default=None)
        model["drift_rows"] = [d for d in drift if d["model_id"] == model_id and d["computed_on"] == latest]
        model["importance_rows"] = [i for i in importance if i["model_id"] == model_id]
        models[model["model_kind"]] = model
    return models


class SnapshotHolder:
    """The snapshot currently served, swapped for a newer one as soon as it is published."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._current: Snapshot | None = None
        self._loading = threading.Lock()
        self._checked = 0.0
        self._wanted: str | None = None

    def load_now(self) -> Snapshot | None:
        """Load the snapshot the pointer names, in this thread (at start, and in tests)."""
        pointer = publisher.read_pointer(self.folder)
        if pointer and (self._current is None or self._current.file != pointer["file"]):
            self._load(pointer["file"])
        return self._current

    def current(self) -> Snapshot | None:
        now = time.monotonic()
        if now - self._checked >= CHECK_EVERY_SECONDS:
            self._checked = now
            pointer = publisher.read_pointer(self.folder)
            wanted = pointer["file"] if pointer else None
            if wanted and (self._current is None or self._current.file != wanted) and wanted != self._wanted:
                if self._current is None:
                    self._load(wanted)
                else:
                    self._wanted = wanted
                    threading.Thread(target=self._load, args=(wanted,), daemon=True).start()
        return self._current

    def _load(self, file: str) -> None:
        with self._loading:
            if self._current is not None and self._current.file == file:
                return
            try:
                loaded = Snapshot.load(self.folder / file, file)
            except (duckdb.Error, OSError, IndexError) as exc:
                log.warning("serving snapshot %s not loaded: %s", file, exc)
                self._wanted = None
                return
            self._current = loaded
            self._wanted = None
            log.info("serving snapshot %s (as of %s, %d accounts)", file, loaded.as_of_date, len(loaded.accounts))
