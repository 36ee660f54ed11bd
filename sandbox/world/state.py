"""The simulation's hidden state: what `advance` needs to continue exactly where generation stopped.

It lives in world.sqlite (table `_state`) so that a simulated day's records and the state after
that day commit in one transaction. The emulators never serve it.
"""

from __future__ import annotations

import sqlite3
import zipfile
from dataclasses import dataclass, field
from typing import Any

import orjson

from sandbox.store import Store, StoreError
from sandbox.world.table import ColumnSpec, Table

STATE_VERSION = 1

# Account status
PROSPECT, CUSTOMER, CHURNED = 0, 1, 2
# Renewal decision
UNDECIDED, RENEW, CHURN_SIGNAL, CHURN_UNPREDICTABLE = 0, 1, 2, 3
# Subscription status
SUB_ACTIVE, SUB_PAST_DUE, SUB_CANCELED = 0, 1, 2
# Opportunity kinds
NEW_BUSINESS, RENEWAL, EXPANSION = 0, 1, 2
# Staff roles (Salesforce users)
ROLE_CSM, ROLE_AE, ROLE_INTEGRATION, ROLE_MANAGER = 0, 1, 2, 3

# Kinds of hidden happenings kept in the `history` table (written to truth/events.parquet).
HISTORY_KINDS = (
    "won",
    "champion_left",
    "new_champion",
    "budget_cut",
    "layoff",
    "competitor_evaluation",
    "incident",
    "outage",
    "onboarding_success",
    "onboarding_failure",
    "renewal_decided",
    "churn_decided",
    "notice_given",
    "renewed",
    "churned",
    "expansion_opened",
    "expansion_won",
    "expansion_lost",
)
H = {name: i for i, name in enumerate(HISTORY_KINDS)}

ACCOUNTS: ColumnSpec = {
    "sf_id": ("U18", ""),
    "ws_id": ("U12", ""),
    "cus_id": ("U24", ""),
    "sub_id": ("U24", ""),
    "zd_org": ("i8", 0),
    "name": ("U64", ""),
    "domain": ("U48", ""),
    "segment": ("i1", 0),
    "industry": ("i1", 0),
    "country": ("i1", 0),
    "employees": ("i4", 0),
    "owner": ("i2", -1),  # staff row of the Account Executive
    "csm": ("i2", -1),  # staff row of the CSM, -1 for none
    "shard": ("i1", 0),
    "status": ("i1", PROSPECT),
    "created_day": ("i4", -1),
    "won_day": ("i4", -1),  # -1 when the account was a customer before the history starts
    "since_day": ("i4", -1),
    "churn_day": ("i4", -1),
    "term_months": ("i1", 12),
    "interval_months": ("i1", 12),
    "send_invoice": ("?", False),
    "anchor_day": ("i4", -1),
    "period_no": ("i4", 0),
    "period_end": ("i4", -1),
    "term_no": ("i4", 0),
    "term_end": ("i4", -1),
    "unit_amount": ("i8", 0),  # cents per seat per billing interval
    "seats": ("i4", 0),
    "sub_status": ("i1", SUB_ACTIVE),
    "delinquent": ("?", False),
    "decision_day": ("i4", -1),
    "decided": ("i1", UNDECIDED),
    "cause": ("i1", -1),
    "notice_day": ("i4", -1),
    "noticed": ("?", False),
    "mu": ("f8", 0.0),
    "x": ("f8", 0.0),
    "c": ("f8", 0.0),
    # The parts of c that champion loss, competitor evaluation and budget cut put there: they let
    # a churn be attributed to its cause through the engagement it took away, not just the flag.
    "c_champion": ("f8", 0.0),
    "c_competitor": ("f8", 0.0),
    "c_budget": ("f8", 0.0),
    "budget_until": ("i4", -1),
    "competitor_until": ("i4", -1),
    "incident_until": ("i4", -1),
    "champion": ("i4", -1),  # contact row of the real champion; -1 while there is none
    "onboarding_end": ("i4", -1),
    "onboarding_success": ("?", True),
    "demand": ("f8", 0.0),
    "arr": ("f8", 0.0),
    "sf_sync_day": ("i4", -1),
    "share_email": ("?", False),
    "ws_in_crm": ("?", True),
}

CONTACTS: ColumnSpec = {
    "account": ("i4", -1),
    "sf_id": ("U18", ""),
    "first": ("i2", 0),
    "last": ("i2", 0),
    "title": ("i1", 0),
    "short_email": ("?", False),  # the CRM has jsmith@ instead of john.smith@
    "is_champion": ("?", False),  # as Salesforce shows it
    "left": ("?", False),
    "left_day": ("i4", -1),
    "left_flag_day": ("i4", -1),  # when the CSM ticks Left_Company__c; -1 never
    "user": ("i4", -1),  # product user row
    "zd_user": ("i8", 0),
    "merge_day": ("i4", -1),  # duplicates: the day they are merged (soft-deleted)
}

USERS: ColumnSpec = {
    "account": ("i4", -1),
    "number": ("i8", 0),
    "base": ("f4", 0.0),
    "affinity": ("f4", 0.0),
    "active": ("?", True),
    "contact": ("i4", -1),
    "first": ("i2", 0),
    "last": ("i2", 0),
    "added_day": ("i4", -1),
}

ZD_USERS: ColumnSpec = {"account": ("i4", -1), "id": ("i8", 0), "contact": ("i4", -1)}

TICKETS: ColumnSpec = {
    "id": ("i8", 0),
    "metrics_id": ("i8", 0),
    "account": ("i4", -1),
    "requester": ("i8", 0),
    "assignee": ("i8", 0),
    "tag": ("i1", 0),
    "subject": ("i1", 0),
    "priority": ("i1", 1),
    "created_ts": ("i8", 0),
    "reply_ts": ("i8", 0),
    "solve_ts": ("i8", 0),
    "rating_ts": ("i8", -1),
    "rating_good": ("?", True),
    "close_ts": ("i8", 0),
    "replies": ("i2", 1),
}

INVOICES: ColumnSpec = {
    "id": ("U24", ""),
    "account": ("i4", -1),
    "amount": ("i8", 0),
    "created_ts": ("i8", 0),
    "due_ts": ("i8", -1),
    "attempts": ("i2", 0),
    "next_attempt_day": ("i4", -1),
    "pay_day": ("i4", -1),  # send_invoice: planned payment day; -1 never pays
    "past_due": ("?", False),
}

OPPS: ColumnSpec = {
    "sf_id": ("U18", ""),
    "account": ("i4", -1),
    "kind": ("i1", RENEWAL),
    "stage": ("i1", 0),
    "created_day": ("i4", -1),
    "close_day": ("i4", -1),
    "amount": ("f8", 0.0),
    "seats_add": ("i4", 0),
}

HISTORY: ColumnSpec = {
    "day": ("i4", 0),
    "account": ("i4", -1),
    "kind": ("i1", 0),
    "value": ("f8", 0.0),
    "contact": ("i4", -1),  # the person concerned (champion left / new champion)
}

STAFF: ColumnSpec = {"sf_id": ("U18", ""), "role": ("i1", ROLE_CSM)}

AGENTS: ColumnSpec = {"id": ("i8", 0)}

SHARDS: ColumnSpec = {"outage_until": ("i4", -1), "severity": ("f8", 0.0)}

TABLE_SPECS: dict[str, ColumnSpec] = {
    "accounts": ACCOUNTS,
    "contacts": CONTACTS,
    "users": USERS,
    "zd_users": ZD_USERS,
    "tickets": TICKETS,
    "invoices": INVOICES,
    "opps": OPPS,
    "history": HISTORY,
    "staff": STAFF,
    "agents": AGENTS,
    "shards": SHARDS,
}


@dataclass
class World:
    seed: int
    size: str
    start_day: int
    day: int  # the last simulated day
    tables: dict[str, Table] = field(default_factory=lambda: {n: Table(s) for n, s in TABLE_SPECS.items()})

    @property
    def accounts(self) -> Table:
        return self.tables["accounts"]

    @property
    def contacts(self) -> Table:
        return self.tables["contacts"]

    @property
    def users(self) -> Table:
        return self.tables["users"]

    @property
    def zd_users(self) -> Table:
        return self.tables["zd_users"]

    @property
    def tickets(self) -> Table:
        return self.tables["tickets"]

    @property
    def invoices(self) -> Table:
        return self.tables["invoices"]

    @property
    def opps(self) -> Table:
        return self.tables["opps"]

    @property
    def history(self) -> Table:
        return self.tables["history"]

    @property
    def staff(self) -> Table:
        return self.tables["staff"]

    @property
    def agents(self) -> Table:
        return self.tables["agents"]

    @property
    def shards(self) -> Table:
        return self.tables["shards"]

    def meta(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "seed": self.seed,
            "size": self.size,
            "start_day": self.start_day,
            "day": self.day,
        }


def save_state(store: Store, world: World) -> None:
    """Write the state into the store's open transaction (the caller commits)."""
    conn = store.conn
    conn.execute("CREATE TABLE IF NOT EXISTS _state (name TEXT PRIMARY KEY, value BLOB NOT NULL)")
    rows = [("meta", orjson.dumps(world.meta()))]
    rows += [(f"table:{name}", table.to_bytes()) for name, table in world.tables.items()]
    conn.executemany(
        "INSERT INTO _state (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        rows,
    )


def load_state(store: Store) -> World:
    where = store.path
    try:
        rows = dict(store.conn.execute("SELECT name, value FROM _state").fetchall())
    except sqlite3.DatabaseError:
        rows = {}
    if "meta" not in rows:
        raise StoreError(
            f"{where} has no simulation state (not made by `generate`, or generation did not finish); "
            "generate the world again with --force"
        )
    try:
        meta = orjson.loads(rows["meta"])
        if meta.get("version") != STATE_VERSION:
            raise ValueError(f"state version {meta.get('version')}")
        world = World(
            seed=int(meta["seed"]), size=str(meta["size"]), start_day=int(meta["start_day"]), day=int(meta["day"])
        )
        world.tables = {name: Table.from_bytes(spec, rows[f"table:{name}"]) for name, spec in TABLE_SPECS.items()}
    except (KeyError, ValueError, orjson.JSONDecodeError, OSError, zipfile.BadZipFile) as exc:
        raise StoreError(
            f"the simulation state in {where} is unreadable ({exc}); generate the world again with --force"
        ) from None
    return world
