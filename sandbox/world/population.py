"""Drawing new accounts and their people into the state (no records are written here)."""

from __future__ import annotations

import numpy as np

from sandbox.schema import SF_ACCOUNT, SF_CONTACT
from sandbox.store import base62
from sandbox.world import names, vocab
from sandbox.world import params as P
from sandbox.world.calendar import add_months_day
from sandbox.world.context import Day
from sandbox.world.state import CUSTOMER, PROSPECT, ROLE_AE, ROLE_CSM

_COUNTRY_SHARE = np.array([c[1] for c in vocab.COUNTRIES]) / sum(c[1] for c in vocab.COUNTRIES)


def _choice(rng: np.random.Generator, shares: tuple[float, ...] | np.ndarray, n: int) -> np.ndarray:
    cum = np.cumsum(shares) / np.sum(shares)
    return np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(cum) - 1)


def draw_accounts(d: Day, rng: np.random.Generator, n: int, initial: bool) -> np.ndarray:
    """Append n accounts with their firmographics, plan and hidden health; returns their rows.

    Initial accounts are customers since before the history starts; the others are prospects
    whose win the sales pipeline (sales_pipeline.py) schedules.
    """
    w = d.world
    acc = w.accounts
    seg = _choice(rng, P.SEGMENT_SHARE, n)
    seats = np.zeros(n, dtype=np.int64)
    employees = np.zeros(n, dtype=np.int64)
    for s in range(3):
        m = seg == s
        lo, hi = P.SEAT_RANGE[s]
        seats[m] = np.clip(np.round(P.SEAT_MEDIAN[s] * np.exp(P.SEAT_LOG_SD[s] * rng.standard_normal(m.sum()))), lo, hi)
        elo, ehi = P.EMPLOYEES_PER_SEAT[s]
        employees[m] = np.round(seats[m] * rng.uniform(elo, ehi, m.sum()))
    taken = set(acc["domain"].tolist())
    company, domain = names.company_names(rng, n, taken)

    term = np.full(n, 12)
    interval = np.full(n, 12)
    send_invoice = np.zeros(n, dtype=bool)
    u = rng.random((4, n))
    smb, mm, ent = seg == 0, seg == 1, seg == 2
    term[smb & (u[0] < P.SMB_MONTHLY_SHARE)] = 1
    interval[term == 1] = 1
    term[mm & (u[0] < P.MM_TWO_YEAR_SHARE)] = 24
    interval[mm & (u[1] < P.MM_MONTHLY_BILLING_SHARE)] = 1
    send_invoice[mm & (interval == 12) & (u[2] < P.MM_SEND_INVOICE_SHARE)] = True
    ent_terms = np.array([t for t, _ in P.ENT_TERM_SHARES])
    term[ent] = ent_terms[_choice(rng, tuple(s for _, s in P.ENT_TERM_SHARES), ent.sum())]
    send_invoice[ent & (u[3] < P.ENT_SEND_INVOICE_SHARE)] = True

    list_price = np.array(P.PRICE_PER_SEAT_MONTH)[seg] * rng.uniform(0.88, 1.08, n)
    per_interval = np.where(interval == 12, list_price * 12 * P.ANNUAL_DISCOUNT, list_price)
    unit_amount = (np.round(per_interval) * 100).astype(np.int64)

    ws_numbers = d.store.next_numbers("workspace", n)
    staff = w.staff
    csms = np.flatnonzero(staff["role"] == ROLE_CSM)
    aes = np.flatnonzero(staff["role"] == ROLE_AE)
    csm = csms[rng.integers(0, len(csms), n)]
    csm[(seg == 0) & (rng.random(n) < 0.05)] = -1  # some small accounts are pooled, without a named CSM

    rows = acc.append(
        n,
        sf_id=d.store.new_ids(SF_ACCOUNT, n),
        ws_id=[f"ws_{i:06d}" for i in ws_numbers],
        name=company,
        domain=domain,
        segment=seg,
        industry=rng.integers(0, len(vocab.INDUSTRIES), n),
        country=_choice(rng, _COUNTRY_SHARE, n),
        employees=employees,
        owner=aes[rng.integers(0, len(aes), n)],
        csm=csm,
        shard=rng.integers(0, P.OUTAGE_SHARDS, n),
        status=CUSTOMER if initial else PROSPECT,
        created_day=d.day,
        term_months=term,
        interval_months=interval,
        send_invoice=send_invoice,
        unit_amount=unit_amount,
        seats=seats,
        mu=rng.normal(0.0, P.MU_SD, n) + 0.05 * seg,
        x=rng.normal(0.0, P.X_SD, n),
        c=rng.normal(0.0, 0.2, n) if initial else P.NEW_ACCOUNT_C,
        demand=seats * rng.uniform(*P.INITIAL_UTILISATION, n),
        share_email=rng.random(n) < P.EMAIL_SHARING_WORKSPACES,
        ws_in_crm=rng.random(n) >= P.WORKSPACE_ID_MISSING_IN_CRM,
    )
    if initial:
        _place_in_contract(d, rng, rows)
    return rows


def _place_in_contract(d: Day, rng: np.random.Generator, rows: np.ndarray) -> None:
    """Existing customers: a start date in the past, the current billing period and contract term
    around the first day, and the hidden flags in their long-run proportions."""
    acc = d.world.accounts
    n = len(rows)
    since = d.day - 90 - np.minimum(rng.exponential(700, n), 8 * 365).astype(np.int64)
    acc["since_day"][rows] = since
    acc["anchor_day"][rows] = since
    for i, r in enumerate(rows):
        im, tm = int(acc["interval_months"][r]), int(acc["term_months"][r])
        k = 0
        while add_months_day(int(since[i]), (k + 1) * im) <= d.day:
            k += 1
        acc["period_no"][r] = k
        acc["period_end"][r] = add_months_day(int(since[i]), (k + 1) * im)
        t = 0
        while add_months_day(int(since[i]), (t + 1) * tm) <= d.day:
            t += 1
        acc["term_no"][r] = t
        acc["term_end"][r] = add_months_day(int(since[i]), (t + 1) * tm)
    u = rng.random((4, n))
    budget = u[0] < 0.05
    acc["budget_until"][rows[budget]] = d.day + (u[1][budget] * 300).astype(np.int64)
    competitor = u[2] < 0.015
    acc["competitor_until"][rows[competitor]] = d.day + (u[3][competitor] * 60).astype(np.int64)
    acc["arr"][rows] = annual_value(acc["unit_amount"][rows], acc["seats"][rows], acc["interval_months"][rows])


def annual_value(unit_amount: np.ndarray, seats: np.ndarray, interval_months: np.ndarray) -> np.ndarray:
    """ARR in dollars."""
    return unit_amount * seats * (12 // interval_months) / 100.0


def price_id(unit_amount: int, interval_months: int) -> str:
    """Accounts on the same price share one Stripe Price, as they would."""
    return "price_1" + base62(int(unit_amount) * 13 + int(interval_months), 13)


def pick_members(rng: np.random.Generator, pool: np.ndarray, pool_groups: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """For each entry of `groups`, a random element of `pool` in that group (-1 where there is none)."""
    order = np.argsort(pool_groups, kind="stable")
    sorted_groups = pool_groups[order]
    start = np.searchsorted(sorted_groups, groups, side="left")
    end = np.searchsorted(sorted_groups, groups, side="right")
    pick = start + np.floor(rng.random(len(groups)) * (end - start)).astype(np.int64)
    out = np.full(len(groups), -1, dtype=np.int64)
    found = end > start
    out[found] = pool[order[pick[found]]]
    return out


def add_contacts(d: Day, rng: np.random.Generator, rows: np.ndarray, fraction: float = 1.0) -> np.ndarray:
    """Contacts for new accounts; the first of each account is its champion. Returns contact rows."""
    acc = d.world.accounts
    lo = np.array([r[0] for r in P.CONTACTS_PER_SEGMENT])[acc["segment"][rows]]
    hi = np.array([r[1] for r in P.CONTACTS_PER_SEGMENT])[acc["segment"][rows]]
    counts = np.maximum(1, np.round((lo + rng.random(len(rows)) * (hi - lo + 1) - 0.5) * fraction)).astype(int)
    owner = np.repeat(rows, counts)
    n = len(owner)
    first_of_account = np.r_[True, owner[1:] != owner[:-1]] if n else np.zeros(0, dtype=bool)
    titles = rng.integers(0, len(vocab.CONTACT_TITLES), n)
    champ_titles = np.array([vocab.CONTACT_TITLES.index(t) for t in vocab.CHAMPION_TITLES])
    titles[first_of_account] = champ_titles[rng.integers(0, len(champ_titles), first_of_account.sum())]
    contacts = new_contacts(d, rng, owner, titles)
    champions = contacts[first_of_account]
    d.world.contacts["is_champion"][champions] = True
    acc["champion"][owner[first_of_account]] = champions
    return contacts


def new_contacts(d: Day, rng: np.random.Generator, owner: np.ndarray, titles: np.ndarray) -> np.ndarray:
    n = len(owner)
    return d.world.contacts.append(
        n,
        account=owner,
        sf_id=d.store.new_ids(SF_CONTACT, n),
        first=rng.integers(0, len(names.FIRST), n),
        last=rng.integers(0, len(names.LAST), n),
        title=titles,
        short_email=rng.random(n) < P.EMAIL_FORMAT_DIFFERS,
    )


def add_users(d: Day, rng: np.random.Generator, account: np.ndarray, contact: np.ndarray | None = None) -> np.ndarray:
    """Product users (one per entry of `account`), optionally the product login of a contact."""
    w = d.world
    n = len(account)
    if contact is None:
        contact = np.full(n, -1)
    first = rng.integers(0, len(names.FIRST), n)
    last = rng.integers(0, len(names.LAST), n)
    linked = contact >= 0
    first[linked] = w.contacts["first"][contact[linked]]
    last[linked] = w.contacts["last"][contact[linked]]
    base = np.clip(P.USER_BASE_MEDIAN * np.exp(P.USER_BASE_LOG_SD * rng.standard_normal(n)), 0.01, 0.9)
    affinity = rng.normal(P.USER_AFFINITY_MEAN, P.USER_AFFINITY_SD, n)
    affinity[linked] += 0.5  # people the CRM knows are the more involved ones
    rows = w.users.append(
        n,
        account=account,
        number=np.asarray(d.store.next_numbers("product_user", n), dtype=np.int64),
        base=base,
        affinity=affinity,
        active=True,
        contact=contact,
        first=first,
        last=last,
        added_day=d.day,
    )
    w.contacts["user"][contact[linked]] = rows[linked]
    return rows


def link_contact_users(d: Day, rng: np.random.Generator, contacts: np.ndarray) -> np.ndarray:
    """Give some contacts (almost every champion) a product login; returns the new user rows."""
    c = d.world.contacts
    acc = d.world.accounts
    champion = acc["champion"][c["account"][contacts]] == contacts
    uses = rng.random(len(contacts)) < np.where(champion, P.CHAMPION_IS_USER, P.CONTACT_IS_USER)
    chosen = contacts[uses]
    return add_users(d, rng, c["account"][chosen], chosen)
