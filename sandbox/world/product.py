"""The product: workspace members come and go with seat demand, and their daily activity becomes
the event export, one Parquet file per day.

A user's chance of being active on a day is their own propensity times how attached they are at
their account's engagement (params: USER_SHARPNESS), so 30-day active users, events per user and the
use of advanced features all follow the hidden engagement closely (with the noise of who happens
to work that day). Everything per event is done with numpy and Arrow compute; no Python object is
made per event.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sandbox.schema import PRODUCT_EVENT_COLUMNS
from sandbox.world import names, vocab
from sandbox.world import params as P
from sandbox.world.calendar import is_weekend
from sandbox.world.context import Day
from sandbox.world.event_files import EventFiles
from sandbox.world.health import engagement, outage_activity
from sandbox.world.population import add_users, pick_members
from sandbox.world.rng import Stream
from sandbox.world.state import CHURN_SIGNAL, CUSTOMER

EVENT_SCHEMA = pa.schema(
    [
        pa.field(name, pa.timestamp("us", tz="UTC") if typ.startswith("timestamp") else pa.string())
        for name, typ in PRODUCT_EVENT_COLUMNS
    ]
)

# name, weight at e = 0, engagement elasticity (advanced features are what engaged teams use),
# JSON prefixes (one is picked per event) and suffix; a per-event value goes between them.
_FEATURES: tuple[tuple[str, float, float, tuple[str, ...], str], ...] = (
    ("dashboard_viewed", 0.30, 0.0, ('{"dashboard_id":"d_',), '"}'),
    ("report_viewed", 0.25, 0.0, ('{"report_id":"r_',), '"}'),
    ("search_performed", 0.12, 0.0, ('{"results":',), "}"),
    ("comment_added", 0.07, 0.4, ('{"length":',), "}"),
    (
        "report_shared",
        0.05,
        0.4,
        (
            '{"channel":"email","report_id":"r_',
            '{"channel":"slack","report_id":"r_',
            '{"channel":"link","report_id":"r_',
        ),
        '"}',
    ),
    ("dashboard_created", 0.04, 0.8, ('{"widgets":',), "}"),
    (
        "alert_configured",
        0.02,
        0.8,
        (
            '{"condition":"threshold","metric_id":"m_',
            '{"condition":"anomaly","metric_id":"m_',
        ),
        '"}',
    ),
    (
        "integration_synced",
        0.04,
        0.8,
        (
            '{"integration":"salesforce","records":',
            '{"integration":"hubspot","records":',
            '{"integration":"snowflake","records":',
            '{"integration":"slack","records":',
        ),
        "}",
    ),
    ("export_data", 0.03, 0.3, ('{"format":"csv","rows":', '{"format":"xlsx","rows":', '{"format":"pdf","rows":'), "}"),
    ("automation_run", 0.03, 0.8, ('{"steps":',), "}"),
    (
        "api_call",
        0.03,
        0.8,
        (
            '{"endpoint":"/v2/reports","status":200,"ms":',
            '{"endpoint":"/v2/metrics","status":200,"ms":',
        ),
        "}",
    ),
    ("workflow_created", 0.01, 1.0, ('{"template":"t_',), '"}'),
    ("ai_assistant_used", 0.01, 1.0, ('{"prompt_tokens":',), "}"),
)
SESSION, INVITE = len(_FEATURES), len(_FEATURES) + 1
EVENT_NAMES = tuple(f[0] for f in _FEATURES) + ("session_started", "user_invited")
_EXPORT = EVENT_NAMES.index("export_data")
_WEIGHTS = np.array([f[1] for f in _FEATURES])
_ELASTICITY = np.array([f[2] for f in _FEATURES])
_VARIANTS = np.array([len(f[3]) for f in _FEATURES] + [3, 1])
_PREFIX_BASE = np.r_[0, np.cumsum(_VARIANTS)[:-1]]
_PREFIXES = pa.array(
    [p for f in _FEATURES for p in f[3]]
    + [
        '{"platform":"web","app_version":"4.12.1"',
        '{"platform":"desktop","app_version":"4.12.1"',
        '{"platform":"mobile","app_version":"4.11.0"',
        '{"invited_user_id":"',
    ]
)
_SUFFIXES = pa.array([f[4] for f in _FEATURES] + ["}", '"}'])
_NAMES = pa.array(EVENT_NAMES)
_FIRST = pa.array(names.FIRST_ASCII.tolist())
_LAST = pa.array(names.LAST_ASCII.tolist())
_TZ = np.array([c[2] for c in vocab.COUNTRIES])


def events_dir(data_dir: Path) -> Path:
    return data_dir / "exports" / "events"


def event_file(data_dir: Path, day_date: str) -> Path:
    return events_dir(data_dir) / f"event_date={day_date}" / "events.parquet"


def daily(d: Day, data_dir: Path, files: EventFiles) -> None:
    invites = _maintain_users(d)
    table = _events(d, invites)
    files.submit(table, event_file(data_dir, d.date.isoformat()))
    d.count("events", table.num_rows)


def _maintain_users(d: Day) -> tuple[np.ndarray, np.ndarray]:
    """Add and remove workspace members so they follow seat demand (capped by seats); ordinary
    turnover too. Returns (inviting user rows, invited user rows) for the day's events."""
    w = d.world
    acc = w.accounts
    users = w.users
    rng = d.rng(Stream.PRODUCT_USERS)

    live = users["active"] & (acc["status"][users["account"]] == CUSTOMER)
    leaving = live & (users["contact"] < 0) & (rng.random(len(users)) < P.USER_TURNOVER_PER_YEAR / P.YEAR)
    users["active"][leaving] = False
    live &= ~leaving

    customers = np.flatnonzero(acc["status"] == CUSTOMER)
    have = np.bincount(users["account"][live], minlength=len(acc))
    target = np.minimum(np.floor(acc["demand"]), acc["seats"]).astype(np.int64)
    # New workspaces fill up over a week or two as people are invited.
    ramp = np.maximum(1, np.ceil(0.15 * target)).astype(np.int64)
    add = np.zeros(len(acc), dtype=np.int64)
    add[customers] = np.clip(target[customers] - have[customers], 0, ramp[customers])
    surplus = np.zeros(len(acc), dtype=np.int64)
    surplus[customers] = np.maximum(have[customers] - target[customers], 0)

    if surplus.any():
        # Remove people at random, never the champion's login.
        champion_user = np.full(len(acc), -1)
        has = acc["champion"] >= 0
        champion_user[has] = w.contacts["user"][acc["champion"][has]]
        candidates = np.flatnonzero(live & (surplus[users["account"]] > 0))
        candidates = candidates[champion_user[users["account"][candidates]] != candidates]
        order = candidates[np.lexsort((rng.random(len(candidates)), users["account"][candidates]))]
        acc_of = users["account"][order]
        rank = np.arange(len(order)) - np.searchsorted(acc_of, acc_of, side="left")
        users["active"][order[rank < surplus[acc_of]]] = False

    owners = np.repeat(np.arange(len(acc)), add)
    members = np.flatnonzero(users["active"])
    # The person who invited each newcomer: a random member of the workspace, if it has any yet.
    inviters = pick_members(rng, members, users["account"][members], owners)
    new_rows = add_users(d, rng, owners)
    invited = inviters >= 0
    return inviters[invited], new_rows[invited]


_DIGITS4 = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)


def padded_ids(prefix: str, numbers: np.ndarray, digits: int) -> pa.Array:
    """prefix + zero-padded number (e.g. u_0001234), built straight into an Arrow string buffer."""
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    numbers = np.asarray(numbers, dtype=np.int64)
    n = len(numbers)
    if n and numbers.max() >= 10**digits:
        raise ValueError(f"{prefix} ids need more than {digits} digits")
    width = len(head) + digits
    buf = np.empty((n, width), dtype=np.uint8)
    buf[:, : len(head)] = head
    pos = width
    while pos > len(head):  # four digits at a time, from the right
        take = min(4, pos - len(head))
        buf[:, pos - take : pos] = _DIGITS4[numbers % 10_000][:, 4 - take :]
        numbers = numbers // 10_000
        pos -= take
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf))


def _events(d: Day, invites: tuple[np.ndarray, np.ndarray]) -> pa.Table:
    w = d.world
    acc = w.accounts
    users = w.users
    rng = d.rng(Stream.EVENTS)

    customers = np.flatnonzero(acc["status"] == CUSTOMER)
    e = np.zeros(len(acc))
    e[customers] = engagement(acc, customers)
    factor = np.zeros(len(acc))
    factor[customers] = outage_activity(d, customers) * (P.WEEKEND_ACTIVITY if is_weekend(d.day) else 1.0)
    members = np.flatnonzero(users["active"])
    member_acc = users["account"][members]
    attached = 1 / (1 + np.exp(-P.USER_SHARPNESS * (e[member_acc] + users["affinity"][members])))
    p = np.minimum(users["base"][members] * attached * factor[member_acc], 0.95)
    active = members[rng.random(len(members)) < p]
    active_acc = users["account"][active]
    n_active = len(active)

    # Feature events: each account's mix shifts towards advanced features as engagement rises,
    # and towards exports while it evaluates a competitor or winds down before leaving.
    extra = rng.poisson(P.EXTRA_EVENTS_MEAN * np.exp(P.EXTRA_EVENTS_E * e[active_acc]))
    session_of_event = np.repeat(np.arange(n_active), extra)
    ev_acc = active_acc[session_of_event]
    mix = _WEIGHTS[None, :] * np.exp(_ELASTICITY[None, :] * e[customers][:, None])
    mix[:, _EXPORT] *= np.where(acc["competitor_until"][customers] >= d.day, 5.0, 1.0)
    mix[:, _EXPORT] *= np.where(acc["decided"][customers] == CHURN_SIGNAL, P.WIND_DOWN_EXPORTS, 1.0)
    cum = np.zeros((len(acc), len(_FEATURES)))
    cum[customers] = np.cumsum(mix, axis=1) / mix.sum(axis=1, keepdims=True)
    pick = rng.random(len(ev_acc))
    ev_name = np.minimum((pick[:, None] >= cum[ev_acc]).sum(axis=1), len(_FEATURES) - 1)

    # Sessions start in the customer's working hours; a session's events follow within it.
    local = rng.normal(13.0, 2.5, n_active) - _TZ[acc["country"][active_acc]]
    start_s = d.t0 + np.clip(local * 3600, 0, 22.5 * 3600).astype(np.int64)
    length = rng.exponential(40 * 60, n_active)
    ev_s = start_s[session_of_event] + (rng.random(len(ev_acc)) * length[session_of_event]).astype(np.int64)

    inviter, invited = invites
    inv_s = d.t0 + rng.integers(9 * 3600, 17 * 3600, len(inviter))

    user = np.concatenate([active, active[session_of_event], inviter])
    name = np.concatenate([np.full(n_active, SESSION), ev_name, np.full(len(inviter), INVITE)])
    micros = np.concatenate([start_s, ev_s, inv_s]) * 1_000_000 + rng.integers(0, 1_000_000, len(user))
    micros = np.minimum(micros, (d.t0 + 23 * 3600) * 1_000_000 - 1)
    variant = rng.integers(0, 1 << 30, len(user)) % _VARIANTS[name]
    numbers = rng.integers(1, 5000, len(user))
    invited_of = np.concatenate([np.full(n_active + len(ev_acc), -1), invited])

    order = np.argsort(micros, kind="stable")
    user, name, micros = user[order], name[order], micros[order]
    variant, numbers, invited_of = variant[order], numbers[order], invited_of[order]
    account = users["account"][user]
    n = len(user)

    ids = padded_ids(f"ev_{d.date.strftime('%Y%m%d')}_", np.arange(n), 7)
    ws = pa.array(acc["ws_id"]).take(pa.array(account))
    user_ids = padded_ids("u_", users["number"][user], 7)
    props = _properties(d, user, account, name, variant, numbers, invited_of)
    return pa.Table.from_arrays(
        [ids, ws, user_ids, _NAMES.take(pa.array(name)), pa.array(micros, type=pa.timestamp("us", tz="UTC")), props],
        schema=EVENT_SCHEMA,
    )


def _properties(
    d: Day,
    user: np.ndarray,
    account: np.ndarray,
    name: np.ndarray,
    variant: np.ndarray,
    numbers: np.ndarray,
    invited: np.ndarray,
) -> pa.Array:
    """JSON text per event: a prefix chosen by event name and variant, a value, a suffix."""
    w = d.world
    users = w.users
    acc = w.accounts
    prefix = _PREFIXES.take(pa.array(_PREFIX_BASE[name] + variant))
    suffix = _SUFFIXES.take(pa.array(name))
    value = pc.cast(pa.array(numbers), pa.string())

    # Sessions carry the user's email where the workspace shares it (that is how product users can
    # sometimes be matched to CRM contacts); invitations name the invited user.
    sessions = name == SESSION
    s_user, s_acc = user[sessions], account[sessions]
    email = pc.binary_join_element_wise(
        ',"email":"',
        _FIRST.take(pa.array(users["first"][s_user])),
        ".",
        _LAST.take(pa.array(users["last"][s_user])),
        "@",
        pa.array(acc["domain"]).take(pa.array(s_acc)),
        '"',
        "",
    )
    email = pc.if_else(pa.array(acc["share_email"][s_acc]), email, "")
    value = pc.replace_with_mask(value, pa.array(sessions), email)
    invites = name == INVITE
    if invites.any():
        value = pc.replace_with_mask(value, pa.array(invites), padded_ids("u_", users["number"][invited[invites]], 7))
    return pc.binary_join_element_wise(prefix, value, suffix, "")
