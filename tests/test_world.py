"""The generated sandbox company (size S): its shape, its rates and that its signals tell the truth."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from sandbox.schema import ALL_OBJECTS, PRODUCT_EVENT_COLUMNS
from sandbox.world.sizes import SIZES

START = date(2025, 11, 1)
END = date(2026, 10, 31)


def sql(world: Path, query: str, params: tuple = ()) -> pd.DataFrame:
    with sqlite3.connect(world / "world.sqlite") as con:
        return pd.read_sql(query, con, params=params)


@pytest.fixture(scope="module")
def truth_months(s_world: Path) -> pd.DataFrame:
    months = pd.concat(pq.read_table(f).to_pandas() for f in sorted((s_world / "truth" / "account_months").iterdir()))
    months["month_start"] = pd.to_datetime(months.month_start)
    return months


@pytest.fixture(scope="module")
def truth_accounts(s_world: Path) -> pd.DataFrame:
    accounts = pq.read_table(s_world / "truth" / "accounts.parquet").to_pandas()
    accounts["churn_date"] = pd.to_datetime(accounts.churn_date)
    return accounts


@pytest.fixture(scope="module")
def daily_usage(s_world: Path) -> pd.DataFrame:
    """Distinct users and events per workspace and day, from the event export."""
    table = ds.dataset(s_world / "exports" / "events", format="parquet", partitioning="hive").to_table(
        columns=["account_id", "user_id", "event_date"]
    )
    events = table.to_pandas()
    events["event_date"] = pd.to_datetime(events.event_date)
    return events.groupby(["account_id", "event_date", "user_id"]).size().rename("events").reset_index()


def test_size_and_history(s_world: Path, truth_accounts: pd.DataFrame) -> None:
    preset = SIZES["S"]
    customers_ever = truth_accounts[truth_accounts.customer_since.notna()]
    assert 190 <= len(customers_ever) <= 215
    assert (pd.to_datetime(customers_ever.customer_since) < pd.Timestamp(START)).sum() == preset.initial_accounts
    files = sorted((s_world / "exports" / "events").glob("event_date=*/events.parquet"))
    assert len(files) == (END - START).days + 1
    assert files[0].parent.name == f"event_date={START}" and files[-1].parent.name == f"event_date={END}"


def test_event_files_follow_the_contract(s_world: Path) -> None:
    files = sorted((s_world / "exports" / "events").glob("event_date=*/events.parquet"))
    expected = [(name, typ) for name, typ in PRODUCT_EVENT_COLUMNS]
    ids: set[str] = set()
    for f in files[::30]:
        table = pq.read_table(f)
        assert [(field.name, str(field.type)) for field in table.schema] == [
            (n, "timestamp[us, tz=UTC]" if t.startswith("timestamp") else t) for n, t in expected
        ]
        day = date.fromisoformat(f.parent.name.split("=")[1])
        stamps = table["event_timestamp"].to_pandas()
        assert stamps.min() >= pd.Timestamp(day, tz="UTC")
        assert stamps.max() < pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=23)  # before the day's clock
        batch = set(table["event_id"].to_pylist())
        assert len(batch) == table.num_rows and not ids & batch
        ids |= batch
        props = table["properties"].to_pandas()
        assert props.str.startswith("{").all() and props.str.endswith("}").all()
        pd.Series(props.head(200)).map(pd.io.json.ujson_loads)  # valid JSON
        assert table["account_id"].to_pandas().str.match(r"^ws_\d{6}$").all()


def test_annual_churn_is_plausible(truth_months: pd.DataFrame, truth_accounts: pd.DataFrame) -> None:
    # The truth's expected churn over the year (sum of monthly probabilities) is the low-noise figure;
    # the realized rate of 180 accounts over one year is checked more loosely.
    first = truth_months[truth_months.month_start == pd.Timestamp(START)]
    expected = truth_months.groupby("sf_account_id").p_churn_month.sum().reindex(first.sf_account_id).mean()
    assert 0.08 <= expected <= 0.15
    churned = truth_accounts.set_index("sf_account_id").loc[first.sf_account_id].churn_date.notna().mean()
    assert 0.05 <= churned <= 0.18
    causes = set(truth_accounts.churn_cause.dropna())
    assert "low_engagement" in causes and causes & {"acquired", "budget_eliminated"}


def test_truth_probabilities_are_calibrated(truth_months: pd.DataFrame, truth_accounts: pd.DataFrame) -> None:
    m = truth_months.merge(truth_accounts[["sf_account_id", "churn_date"]], on="sf_account_id")
    m = m[m.month_start <= pd.Timestamp(END) - pd.Timedelta(days=89)]
    churns = (m.churn_date >= m.month_start) & (m.churn_date < m.month_start + pd.Timedelta(days=90))
    assert churns.sum() > 10
    # Realized churns are a sum of Bernoulli draws with these probabilities: within 3 sigma of their sum.
    expected = m.p_churn_90d.sum()
    assert abs(churns.sum() - expected) <= 3 * np.sqrt((m.p_churn_90d * (1 - m.p_churn_90d)).sum()) + 2
    assert m.p_churn_90d[churns].mean() > 8 * m.p_churn_90d[~churns].mean()
    assert ((m.p_churn_month <= m.p_churn_90d + 1e-12) & m.p_churn_90d.between(0, 1)).all()


def test_usage_tracks_engagement_and_fades_before_churn(
    truth_months: pd.DataFrame, truth_accounts: pd.DataFrame, daily_usage: pd.DataFrame
) -> None:
    rows = []
    for month in sorted(truth_months.month_start.unique())[2:]:
        days = daily_usage.event_date
        window = daily_usage[(days >= month - pd.Timedelta(days=30)) & (days < month)]
        usage = window.groupby("account_id").agg(mau=("user_id", "nunique"), events=("events", "sum"))
        rows.append(truth_months[truth_months.month_start == month].join(usage, on="workspace_id").fillna(0))
    f = pd.concat(rows).merge(truth_accounts[["sf_account_id", "churn_date"]], on="sf_account_id")
    seats = np.minimum(np.floor(f.seat_demand), f.seats).clip(lower=1)
    big = f[seats >= 10]
    corr = np.corrcoef(big.engagement, np.log((big.events / seats[seats >= 10]).clip(lower=0.1)))[0, 1]
    assert corr > 0.6
    soon = (f.churn_date >= f.month_start) & (f.churn_date < f.month_start + pd.Timedelta(days=90))
    active_share = f.mau / f.seats
    assert active_share[soon].mean() < 0.9 * active_share[~soon].mean()
    assert (f.events / f.seats)[soon].mean() < 0.8 * (f.events / f.seats)[~soon].mean()


def test_seat_utilisation_tickets_and_payments_are_plausible(s_world: Path, truth_months: pd.DataFrame) -> None:
    utilisation = np.minimum(truth_months.seat_demand, truth_months.seats) / truth_months.seats
    assert utilisation.quantile(0.25) >= 0.5 and utilisation.quantile(0.75) <= 0.97

    tickets = sql(s_world, "SELECT status, priority, satisfaction_rating FROM zd_tickets")
    per_account_month = len(tickets) / truth_months.shape[0]
    assert 0.7 <= per_account_month <= 2.5
    assert set(tickets.status) <= {"new", "open", "pending", "solved", "closed"}
    assert (tickets.status == "closed").mean() > 0.9
    assert 0.01 <= (tickets.priority == "urgent").mean() <= 0.12
    solved = tickets.status.isin(["solved", "closed"]).sum()
    ratings = sql(s_world, "SELECT score FROM zd_satisfaction_ratings")
    assert 0.18 <= len(ratings) / solved <= 0.32
    assert 0.5 <= (ratings.score == "good").mean() <= 0.9

    invoices = sql(s_world, "SELECT status, attempt_count FROM st_invoices")
    assert (invoices.status == "paid").mean() > 0.95
    assert 0.01 <= (invoices.attempt_count > 1).mean() <= 0.08
    types = set(sql(s_world, "SELECT DISTINCT type FROM st_events").type)
    assert {
        "invoice.paid",
        "invoice.payment_failed",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    } <= types


def test_salesforce_records(s_world: Path) -> None:
    users = sql(s_world, "SELECT Username, Title FROM sf_user")
    assert (users.Username == "integration@copilot.sandbox").sum() == 1
    csms = (users.Title == "Customer Success Manager").sum()
    accounts = sql(s_world, "SELECT * FROM sf_account")
    customers = accounts[accounts.Type == "Customer"]
    assert 30 <= len(customers) / csms <= 70
    assert set(accounts.Type) <= {"Prospect", "Customer", "Former Customer"} and "Former Customer" in set(accounts.Type)
    assert accounts.filter(like="Copilot_").isna().all().all()  # the product writes these
    smb = accounts[accounts.Segment__c == "SMB"]
    assert 0 < smb.CSM__c.isna().mean() < 0.15 and accounts[accounts.Segment__c != "SMB"].CSM__c.notna().all()
    assert 0 < accounts.Product_Account_Id__c.isna().mean() < 0.1
    assert accounts.Website.notna().all()

    contacts = sql(s_world, "SELECT AccountId, Is_Champion__c, Left_Company__c, IsDeleted FROM sf_contact")
    live = contacts[contacts.IsDeleted == 0]
    assert (contacts.IsDeleted == 1).sum() > 0  # merged duplicates: only queryAll sees them
    per_account = live.groupby("AccountId").size()
    assert per_account.between(2, 25).all() and per_account.median() >= 4
    assert live.groupby("AccountId").Is_Champion__c.sum().max() == 1
    assert live.Left_Company__c.sum() > 0

    opps = sql(s_world, "SELECT Type, StageName, IsClosed, IsWon FROM sf_opportunity")
    assert set(opps.Type) == {"New Business", "Renewal", "Expansion"}
    assert {"Closed Won", "Closed Lost"} <= set(opps.StageName) and (opps.IsWon <= opps.IsClosed).all()


def test_identities_link_across_systems_most_of_the_time(s_world: Path) -> None:
    orgs = sql(s_world, "SELECT external_id, domain_names FROM zd_organizations")
    assert 0.75 <= orgs.external_id.notna().mean() <= 0.95 and orgs.domain_names.notna().all()
    customers = sql(s_world, "SELECT email, json_extract(metadata, '$.salesforce_account_id') AS sf FROM st_customers")
    assert 0.8 <= customers.sf.notna().mean() <= 0.97
    sf = sql(s_world, "SELECT Id, Website FROM sf_account").set_index("Id")
    linked = customers.dropna()
    domains = linked.email.str.split("@").str[1]
    assert all(dom in site for dom, site in zip(domains, sf.loc[linked.sf].Website, strict=True))


def test_records_are_stamped_within_their_day(s_world: Path) -> None:
    clock = datetime(2026, 10, 31, 23, tzinfo=UTC)
    for obj in ALL_OBJECTS.values():
        if obj.system == "salesforce":
            stamps = pd.to_datetime(sql(s_world, f'SELECT SystemModstamp AS s FROM "{obj.table}"').s)
        elif obj.system == "zendesk":
            stamps = pd.to_datetime(sql(s_world, f'SELECT updated_at AS s FROM "{obj.table}"').s)
        else:
            stamps = pd.to_datetime(sql(s_world, f'SELECT created AS s FROM "{obj.table}"').s, unit="s", utc=True)
        if len(stamps):
            assert stamps.max() <= clock, obj.table
            assert (stamps.dt.hour < 23).all(), obj.table
    metrics = sql(s_world, "SELECT solved_at FROM zd_ticket_metrics WHERE solved_at IS NOT NULL")
    solved = pd.to_datetime(metrics.solved_at)
    assert solved.max() <= clock and (solved.dt.hour < 23).all()


def test_ground_truth_is_kept_apart(s_world: Path) -> None:
    with sqlite3.connect(s_world / "world.sqlite") as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = {c[1].lower() for t in tables for c in con.execute(f'PRAGMA table_info("{t}")')}
    api_tables = {o.table for o in ALL_OBJECTS.values()}
    assert tables - api_tables <= {"_meta", "_sequences", "_state", "slack_messages", "sf_bulk_jobs", "sqlite_sequence"}
    # (Copilot_Churn_Risk__c is the product's own Salesforce field, empty until it writes it.)
    assert not any(("churn" in c or "engagement" in c) and not c.startswith("copilot_") for c in columns)
    exported = {p.relative_to(s_world / "exports").parts[0] for p in (s_world / "exports").rglob("*") if p.is_file()}
    assert exported == {"events"}
    truth = s_world / "truth"
    months = pq.read_schema(next((truth / "account_months").iterdir())).names
    assert {"sf_account_id", "workspace_id", "stripe_customer_id", "p_churn_month", "p_churn_90d", "engagement"} <= set(
        months
    )
    accounts = pq.read_schema(truth / "accounts.parquet").names
    assert {"churn_date", "churn_cause", "expansion_dates"} <= set(accounts)


def test_a_departed_champion_stops_using_the_product(s_world: Path) -> None:
    truth = pq.read_table(s_world / "truth" / "events.parquet").to_pandas()
    left = truth[truth.event == "champion_left"]
    assert len(left) > 0
    emails = sql(s_world, "SELECT Id, lower(Email) AS email, Left_Company__c FROM sf_contact").set_index("Id")
    left = left.join(emails, on="sf_contact_id")
    assert left.Left_Company__c.mean() < 1  # the CRM hears of some departures late, or never
    sessions = (
        ds.dataset(s_world / "exports" / "events", format="parquet", partitioning="hive")
        .to_table(columns=["properties", "event_date"], filter=ds.field("event_name") == "session_started")
        .to_pandas()
    )
    sessions["email"] = sessions.properties.str.extract(r'"email":"([^"]+)"')[0]
    sessions = sessions.dropna(subset=["email"])
    seen_before = 0
    for row in left.itertuples():
        mine = sessions[sessions.email == row.email]
        assert (pd.to_datetime(mine.event_date) >= pd.Timestamp(row.date)).sum() == 0
        seen_before += len(mine) > 0
    assert seen_before > 0  # where the workspace shares emails, the champion was seen before leaving


def test_budget_cuts_show_in_billing_and_support(s_world: Path) -> None:
    truth = pq.read_table(s_world / "truth" / "events.parquet").to_pandas()
    cuts = truth[truth.event == "budget_cut"].assign(date=lambda t: pd.to_datetime(t.date))
    assert len(cuts) > 0
    tickets = sql(
        s_world,
        "SELECT o.external_id AS sf, t.created_at FROM zd_tickets t "
        "JOIN zd_organizations o ON o.id = t.organization_id WHERE t.tags LIKE '%billing%'",
    )
    tickets["created_at"] = pd.to_datetime(tickets.created_at).dt.tz_localize(None).dt.normalize()
    on_cut_day = cuts.merge(tickets, left_on=["sf_account_id", "date"], right_on=["sf", "created_at"])
    assert on_cut_day.sf_account_id.nunique() > 0
    subs = sql(s_world, "SELECT status FROM st_subscriptions")
    assert (subs.status == "canceled").sum() == (truth.event == "churned").sum()


def test_expansions_raise_seats(s_world: Path) -> None:
    accounts = pq.read_table(s_world / "truth" / "accounts.parquet").to_pandas()
    assert accounts.expansions.sum() > 0
    won = sql(s_world, "SELECT COUNT(*) AS n FROM sf_opportunity WHERE Type = 'Expansion' AND IsWon = 1").n[0]
    assert won == accounts.expansions.sum()
    updated = sql(
        s_world,
        "SELECT COUNT(*) AS n FROM st_events WHERE type = 'customer.subscription.updated' "
        "AND data LIKE '%\"quantity\"%'",
    ).n[0]
    assert updated >= won


def test_history_starts_on_a_month_start() -> None:
    from sandbox.world.calendar import history_start

    assert history_start(date(2026, 10, 31), 12) == START
    assert history_start(date(2026, 10, 26), 12) == START
    assert history_start(date(2026, 10, 31), 24) == date(2024, 11, 1)
    assert START + timedelta(days=364) == END
