"""The dbt project on a loaded S world: it builds with every test green, and the figures users rely
on match the source systems (the world's own records and its ground truth), computed here apart
from the models. Also: a broken health-score configuration fails the build naming the problem, and
no ML feature reads data after its observation day."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.pipeline import DBT_DIR, END_DATE, DbtRun, LoadedWorld, dbt

AS_OF = END_DATE


def _query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _world(world: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(f"file:{world}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_build_passes_every_model_and_test(built_warehouse: tuple[Path, DbtRun]) -> None:
    _, run = built_warehouse
    failed = [
        (r["unique_id"], r["status"], r.get("message"))
        for r in run.results
        if r["status"] not in ("success", "pass", "no-op")
    ]
    assert run.returncode == 0, run.output[-3000:]
    assert not failed
    kinds = {r["unique_id"].split(".")[0] for r in run.results}
    assert {"model", "seed", "test", "unit_test"} <= kinds


def test_dbt_unit_tests_ran_and_passed(built_warehouse: tuple[Path, DbtRun]) -> None:
    _, run = built_warehouse
    unit = {
        r["unique_id"].rsplit(".", 1)[-1]: r["status"] for r in run.results if r["unique_id"].startswith("unit_test.")
    }
    assert unit == {
        "health_score_weighted_mean_and_capped_points": "pass",
        "health_score_missing_input_reweights_the_others": "pass",
        "health_tier_cut_offs_and_segment_overrides": "pass",
        "health_reasons_name_the_weakest_measure_its_value_and_points": "pass",
        "subscription_versions_arr_by_interval_count_and_seats_without_add_ons": "pass",
        "subscription_versions_read_the_period_of_either_api_version": "pass",
    }


def test_customer_360_has_one_row_per_crm_customer(
    built_warehouse: tuple[Path, DbtRun], loaded_s_world: LoadedWorld
) -> None:
    warehouse, _ = built_warehouse
    crm = {
        r[0]
        for r in _world(loaded_s_world.world, "select Id from sf_account where Type = 'Customer' and not IsDeleted")
    }
    rows = _query(warehouse, "select account_id, as_of_date from marts.customer_360")
    assert len(rows) == len({r[0] for r in rows})
    assert {r[0] for r in rows} == crm
    assert {str(r[1]) for r in rows} == {AS_OF}


def test_arr_equals_the_billing_data(built_warehouse: tuple[Path, DbtRun], loaded_s_world: LoadedWorld) -> None:
    warehouse, _ = built_warehouse
    truth = loaded_s_world.data_dir / "truth" / "accounts.parquet"
    ids = dict(_query(warehouse, f"select stripe_customer_id, sf_account_id from read_parquet('{truth}')"))
    expected: dict[str, float] = {}
    for customer, status, items in _world(loaded_s_world.world, "select customer, status, items from st_subscriptions"):
        item = json.loads(items)["data"][0]
        per_year = 12 if item["price"]["recurring"]["interval"] == "month" else 1
        arr = (
            item["quantity"] * item["price"]["unit_amount"] / 100 * per_year if status in ("active", "past_due") else 0
        )
        expected[ids[customer]] = expected.get(ids[customer], 0) + arr
    got = dict(_query(warehouse, "select account_id, arr from marts.customer_360"))
    assert got, "customer_360 is empty"
    mismatched = {a: (v, expected.get(a)) for a, v in got.items() if v is None or abs(v - expected.get(a, -1)) > 0.005}
    assert not mismatched
    assert round(sum(got.values()), 2) == round(sum(expected[a] for a in got), 2)


def _points(value: float | None, zero: float, full: float) -> float | None:
    if value is None:
        return None
    return max(0.0, min(1.0, (value - zero) / (full - zero))) * 100


def test_a_hand_checked_accounts_health_components(
    built_warehouse: tuple[Path, DbtRun], loaded_s_world: LoadedWorld
) -> None:
    """Usage and adoption of one SMB account recomputed from the raw events and Stripe's seats."""
    warehouse, _ = built_warehouse
    account, workspace = _world(
        loaded_s_world.world,
        "select Id, Product_Account_Id__c from sf_account where Type = 'Customer' and Segment__c = 'SMB' "
        "and Product_Account_Id__c is not null order by Id limit 1",
    )[0]
    truth = loaded_s_world.data_dir / "truth" / "accounts.parquet"
    (customer,) = _query(
        warehouse, f"select stripe_customer_id from read_parquet('{truth}') where sf_account_id = ?", [account]
    )[0]
    (items,) = _world(loaded_s_world.world, f"select items from st_subscriptions where customer = '{customer}'")[0]
    seats = json.loads(items)["data"][0]["quantity"]
    advanced = ("dashboard_created", "alert_configured", "integration_synced", "automation_run", "api_call",
                "workflow_created", "ai_assistant_used")  # fmt: skip
    user_days, users, events, advanced_events = _query(
        warehouse,
        f"""
        select count(distinct (user_id, event_date)), count(distinct user_id), count(*),
            count(*) filter (where event_name in {advanced})
        from raw_product.events
        where account_id = ? and cast(event_date as date) between date '{AS_OF}' - 29 and date '{AS_OF}'
        """,
        [workspace],
    )[0]
    config = {r["metric"]: r for r in csv.DictReader((DBT_DIR / "seeds/health_score/health_score_metrics.csv").open())}

    def pts(metric: str, value: float) -> float:
        c = config[metric]
        return _points(value, float(c["zero_points_at"]), float(c["full_points_at"]))

    def mean(*pairs: tuple[str, float]) -> float:
        w = [float(config[m]["weight_in_component"]) for m, _ in pairs]
        return sum(wi * pts(m, v) for wi, (m, v) in zip(w, pairs, strict=True)) / sum(w)

    usage = mean(("daily_active_seat_share", user_days / 30 / seats), ("monthly_active_seat_share", users / seats))
    adoption = mean(
        ("advanced_feature_share", advanced_events / events), ("events_per_active_user_day", events / user_days)
    )
    got = _query(
        warehouse,
        "select usage_score, adoption_score, usage_reason from marts.health_scores where account_id = ?",
        [account],
    )[0]
    assert got[0] == pytest.approx(usage, abs=0.051)
    assert got[1] == pytest.approx(adoption, abs=0.051)
    assert "of seats active" in got[2]


def test_health_scores_cover_every_customer_with_reasons(built_warehouse: tuple[Path, DbtRun]) -> None:
    warehouse, _ = built_warehouse
    rows = _query(
        warehouse,
        """
        select c.account_id, h.health_score, h.health_tier, h.usage_reason, h.health_trend
        from marts.customer_360 as c left join marts.health_scores as h using (account_id)
    """,
    )
    scored = [r for r in rows if r[1] is not None]
    assert len(scored) >= 0.95 * len(rows)
    assert {r[2] for r in scored} <= {"Red", "Yellow", "Green"}
    assert all(r[3] for r in scored)
    assert len({r[2] for r in scored}) == 3, "expected all three tiers on the S world"


def test_billing_score_measures_payments_not_the_notice(built_warehouse: tuple[Path, DbtRun]) -> None:
    """Account-days with the same payment behaviour get the same billing score with or without a
    cancellation notice, and every billing score with notice is the seeds' points of its failed
    payments and overdue invoices alone."""
    warehouse, _ = built_warehouse
    rows = _query(
        warehouse,
        """
        select m.cancellation_notice, m.payment_failures_90d, m.overdue_invoices, h.billing_score
        from intermediate.int_account_health_metrics as m
        inner join marts.health_score_history as h using (account_id, snapshot_date)
        where m.cancellation_notice is not null
        """,
    )
    config = {r["metric"]: r for r in csv.DictReader((DBT_DIR / "seeds/health_score/health_score_metrics.csv").open())}
    assert {m for m, c in config.items() if c["component"] == "billing"} == {"payment_failures_90d", "overdue_invoices"}

    def expected(failures: float, overdue: float) -> float:
        pairs = [("payment_failures_90d", failures), ("overdue_invoices", overdue)]
        w = [float(config[m]["weight_in_component"]) for m, _ in pairs]
        points = [_points(v, float(config[m]["zero_points_at"]), float(config[m]["full_points_at"])) for m, v in pairs]
        return sum(wi * p for wi, p in zip(w, points, strict=True)) / sum(w)

    with_notice = [r for r in rows if r[0] == 1]
    assert len(with_notice) > 50, "expected account-days with notice on the S world"
    assert all(r[3] == pytest.approx(expected(r[1], r[2]), abs=0.051) for r in with_notice)
    by_payments: dict[tuple, set] = {}
    for notice, failures, overdue, score in rows:
        by_payments.setdefault((failures, overdue), set()).add((notice, round(score, 3)))
    both = {k: v for k, v in by_payments.items() if {n for n, _ in v} == {0, 1}}
    assert both and all(len({score for _, score in v}) == 1 for v in both.values())
    clean = [r for r in with_notice if r[1] == 0 and r[2] == 0]
    assert clean and {r[3] for r in clean} == {100.0}  # notice alone costs nothing


def test_notice_given_is_a_lifecycle_state_with_its_dates(
    built_warehouse: tuple[Path, DbtRun], loaded_s_world: LoadedWorld
) -> None:
    """lifecycle_state 'notice_given' exactly where Stripe says cancel at period end; notice_ends_on
    is Stripe's period end; notice_given_on the first day of the current run of days with notice."""
    warehouse, _ = built_warehouse
    truth = loaded_s_world.data_dir / "truth" / "accounts.parquet"
    ids = dict(_query(warehouse, f"select stripe_customer_id, sf_account_id from read_parquet('{truth}')"))
    subscriptions = _world(
        loaded_s_world.world, "select customer, status, cancel_at_period_end, current_period_end from st_subscriptions"
    )
    stripe = {
        ids[customer]: (bool(cancel), period_end)
        for customer, status, cancel, period_end in subscriptions
        if status in ("active", "past_due", "trialing") and customer in ids
    }
    rows = _query(
        warehouse,
        "select account_id, lifecycle_state, notice_given_on, notice_ends_on, as_of_date from marts.customer_360",
    )
    noticed = [r for r in rows if r[1] == "notice_given"]
    assert noticed and len(noticed) < len(rows) / 2
    assert {r[0] for r in noticed} == {a for a, (cancel, _) in stripe.items() if cancel} & {r[0] for r in rows}
    assert all(r[2] is None and r[3] is None for r in rows if r[1] != "notice_given")
    for account, _, given_on, ends_on, as_of in noticed:
        assert str(ends_on) == str(datetime.fromtimestamp(stripe[account][1], tz=UTC).date())
        days = dict(
            _query(
                warehouse,
                "select activity_date, notice_given from marts.account_daily_activity "
                "where account_id = ? and activity_date between ? - 1 and ?",
                [account, given_on, as_of],
            )
        )
        assert days.get(given_on - timedelta(days=1)) in (False, None) and given_on <= as_of
        assert all(notice for day, notice in days.items() if day >= given_on)


@pytest.mark.parametrize(
    ("seed", "edit", "message"),
    [
        (
            "health_score_weights.csv",
            ("*,usage,35", "*,usage,thirty"),
            "health_score_weights: weight 'thirty' for component usage (segment *) is not a number",
        ),
        (
            "health_score_weights.csv",
            ("*,billing,10", "*,billling,10"),
            "health_score_weights: unknown component 'billling'",
        ),
        (
            "health_score_tiers.csv",
            ("*,40,65", "*,70,40"),
            "health_score_tiers: cut-offs out of order for segment *: red_below 70 is above green_at_or_above 40",
        ),
    ],
)
def test_a_broken_health_config_fails_the_build_naming_the_problem(
    loaded_s_world: LoadedWorld, tmp_path: Path, seed: str, edit: tuple[str, str], message: str
) -> None:
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    csv_path = project / "seeds" / "health_score" / seed
    text = csv_path.read_text()
    assert edit[0] in text
    csv_path.write_text(text.replace(edit[0], edit[1]))
    warehouse = loaded_s_world.copy_warehouse(tmp_path / "warehouse.duckdb")
    run = dbt(
        warehouse,
        "build",
        "--select",
        "int_health_score_config+",
        "health_score_weights",
        "health_score_metrics",
        "health_score_tiers",
        target_path=tmp_path / "target",
        project_dir=project,
    )
    assert run.returncode != 0
    lines = [line for line in run.output.splitlines() if message in line]
    assert lines, run.output[-3000:]
    assert any(r["unique_id"].endswith("int_health_score_config") and r["status"] == "error" for r in run.results)
    assert any(r["unique_id"].endswith(".health_score_history") and r["status"] == "skipped" for r in run.results)


@pytest.mark.parametrize(
    ("project_vars", "message"),
    [
        (
            "{expansion_growth_points: [0.25, -0.1]}",
            "project var expansion_growth_points: 0 points at 0.25 must be below 100 points at -0.1",
        ),
        (
            "{expansion_seat_utilisation_points: [0.6, high]}",
            "project var expansion_seat_utilisation_points: value 'high' is not a number",
        ),
        (
            "{expansion_seat_utilisation_points: 0.9}",
            "project var expansion_seat_utilisation_points: must be two numbers [0 points at, 100 points at], got 0.9",
        ),
    ],
)
def test_a_broken_expansion_var_fails_the_build_naming_the_problem(
    built_warehouse: tuple[Path, DbtRun], tmp_path: Path, project_vars: str, message: str
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built_warehouse[0], warehouse)
    run = dbt(
        warehouse, "run", "--select", "expansion_signals+", "--vars", project_vars, target_path=tmp_path / "target"
    )
    assert run.returncode != 0
    assert [line for line in run.output.splitlines() if message in line], run.output[-3000:]
    assert any(r["unique_id"].endswith(".expansion_signals") and r["status"] == "error" for r in run.results)
    assert any(r["unique_id"].endswith(".customer_360") and r["status"] == "skipped" for r in run.results)


CUTOFF = "2026-08-31"
LABELS = {"churned_within_horizon", "expanded_within_horizon", "label_is_complete", "label_horizon_days"}


def test_ml_features_never_read_data_after_their_observation_day(
    built_warehouse: tuple[Path, DbtRun], loaded_s_world: LoadedWorld, tmp_path: Path
) -> None:
    """Rebuild on the raw data with everything that happened after a cut-off removed: every feature
    of every observation day up to the cut-off must come out identical (only labels may differ)."""
    full, _ = built_warehouse
    cut = loaded_s_world.copy_warehouse(tmp_path / "cut.duckdb")
    con = duckdb.connect(str(cut))
    try:
        con.execute(f"delete from raw_product.events where cast(event_date as date) > date '{CUTOFF}'")
        for table, column in [
            ("raw_zendesk.tickets", "created_at"),
            ("raw_zendesk.ticket_metrics", "created_at"),
            ("raw_zendesk.satisfaction_ratings", "created_at"),
        ]:
            con.execute(f"delete from {table} where cast({column} as date) > date '{CUTOFF}'")
        for table in ("raw_stripe.events", "raw_stripe.invoices"):
            con.execute(f"delete from {table} where cast(to_timestamp(created) as date) > date '{CUTOFF}'")
    finally:
        con.close()
    run = dbt(
        cut,
        "build",
        "--select",
        "+ml_account_snapshots",
        "--resource-type",
        "model",
        "seed",
        "snapshot",
        target_path=tmp_path / "target",
    )
    assert run.returncode == 0, run.output[-3000:]
    columns = [
        r[0]
        for r in _query(
            full,
            "select column_name from information_schema.columns where table_schema = 'marts' "
            "and table_name = 'ml_account_snapshots' order by ordinal_position",
        )
    ]
    features = [c for c in columns if c not in LABELS]
    select = f"select {', '.join(features)} from marts.ml_account_snapshots where observation_date <= date '{CUTOFF}'"
    before = sorted(_query(full, select), key=lambda r: r[0])
    after = sorted(_query(cut, select), key=lambda r: r[0])
    assert len(before) > 1000
    assert len(before) == len(after)
    diffs = [
        (b[0], c, x, y)
        for b, a in zip(before, after, strict=True)
        for c, x, y in zip(features, b, a, strict=True)
        if x != y and not (isinstance(x, float) and isinstance(y, float) and abs(x - y) < 1e-9)
    ]
    assert not diffs[:20]


def test_dagster_assets_join_the_dlt_lineage() -> None:
    from dagster import AssetKey

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    for mart in (
        "customer_360",
        "health_scores",
        "health_score_history",
        "ml_account_snapshots",
        "renewals",
        "expansion_signals",
        "account_daily_activity",
    ):
        assert AssetKey(["marts", mart]) in keys
    parents = graph.get(AssetKey(["staging", "stg_salesforce__accounts"])).parent_keys
    assert parents == {AssetKey(["raw_salesforce", "account"])}
    assert graph.get(AssetKey(["raw_salesforce", "account"])).is_materializable  # the dlt asset itself
    checks = {k.asset_key for k in graph.asset_check_keys}
    assert AssetKey(["marts", "customer_360"]) in checks


def test_7_and_30_day_active_users_are_exact_distinct_counts(built_warehouse: tuple[Path, DbtRun]) -> None:
    """The span arithmetic behind active_users_7d/30d equals a plain distinct count on the raw events."""
    warehouse, _ = built_warehouse
    rows = _query(
        warehouse,
        """
        with sample as (
            select account_id, activity_date, workspace_id, active_users_7d, active_users_30d
            from marts.account_daily_activity
            where workspace_id is not null
            order by hash(account_day_id)
            limit 300
        )
        select
            s.active_users_7d,
            s.active_users_30d,
            (select count(distinct user_id) from raw_product.events as e where e.account_id = s.workspace_id
                and cast(e.event_date as date) between s.activity_date - 6 and s.activity_date),
            (select count(distinct user_id) from raw_product.events as e where e.account_id = s.workspace_id
                and cast(e.event_date as date) between s.activity_date - 29 and s.activity_date)
        from sample as s
        """,
    )
    assert len(rows) == 300
    assert [(r[0], r[1]) for r in rows] == [(r[2], r[3]) for r in rows]


def test_distinct_event_types_in_30_days_are_exact(built_warehouse: tuple[Path, DbtRun]) -> None:
    """event_types_30d (breadth of use, whatever the event names) equals a plain distinct count."""
    warehouse, _ = built_warehouse
    rows = _query(
        warehouse,
        """
        with sample as (
            select activity_date, workspace_id, event_types_30d
            from marts.account_daily_activity
            where workspace_id is not null
            order by hash(account_day_id)
            limit 300
        )
        select
            s.event_types_30d,
            (select count(distinct event_name) from raw_product.events as e where e.account_id = s.workspace_id
                and cast(e.event_date as date) between s.activity_date - 29 and s.activity_date)
        from sample as s
        """,
    )
    assert len(rows) == 300 and any(r[0] > 0 for r in rows)
    assert [r[0] for r in rows] == [r[1] for r in rows]


def test_the_event_taxonomy_maps_another_companys_names(built_warehouse: tuple[Path, DbtRun], tmp_path: Path) -> None:
    """Other names in var event_taxonomy: the categories count those names; a bad category is named."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built_warehouse[0], warehouse)
    taxonomy = (
        "{event_taxonomy: {sessions: [], exports: [report_viewed], admin_actions: [comment_added], "
        "integrations: [], advanced_features: [search_performed]}}"
    )
    run = dbt(warehouse, "run", "--select", "account_daily_activity", "--full-refresh", "--vars", taxonomy,
              target_path=tmp_path / "target")  # fmt: skip
    assert run.returncode == 0, run.output[-3000:]
    counted = _query(
        warehouse,
        "select sum(session_count), sum(export_event_count), sum(user_invite_count), sum(advanced_event_count) "
        "from marts.account_daily_activity",
    )[0]
    raw = _query(
        warehouse,
        """
        select count(*) filter (where event_name = 'report_viewed'),
            count(*) filter (where event_name = 'comment_added'),
            count(*) filter (where event_name = 'search_performed')
        from raw_product.events as e
        inner join marts.account_daily_activity as a
            on a.workspace_id = e.account_id and a.activity_date = cast(e.event_date as date)
        """,
    )[0]
    assert counted == (0, *raw) and raw[0] > 0

    bad = dbt(warehouse, "run", "--select", "account_daily_activity", "--vars", "{event_taxonomy: {logins: [x]}}",
              target_path=tmp_path / "target")  # fmt: skip
    assert bad.returncode != 0
    message = "project var event_taxonomy: unknown category 'logins'"
    assert [line for line in bad.output.splitlines() if message in line], bad.output[-3000:]


def test_a_company_without_zendesk_still_builds(loaded_s_world: LoadedWorld, tmp_path: Path) -> None:
    """A switched-off source is configuration: staging yields empty tables, support drops out of the
    score and its weight goes to the other components."""
    warehouse = loaded_s_world.copy_warehouse(tmp_path / "no_zendesk.duckdb")
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("drop schema raw_zendesk cascade")
    finally:
        con.close()
    run = dbt(warehouse, "build", "--resource-type", "model", "seed", "snapshot", target_path=tmp_path / "target")
    assert run.returncode == 0, run.output[-3000:]
    rows = _query(warehouse, "select count(*), count(health_score), count(support_score) from marts.health_scores")[0]
    assert rows[0] > 0 and rows[1] == rows[0] and rows[2] == 0


def test_sources_are_fresh_after_a_load(loaded_s_world: LoadedWorld, tmp_path: Path) -> None:
    warehouse = loaded_s_world.copy_warehouse(tmp_path / "warehouse.duckdb")
    run = dbt(warehouse, "source", "freshness", target_path=tmp_path / "target")
    assert run.returncode == 0, run.output[-3000:]
    results = json.loads((tmp_path / "target" / "sources.json").read_text())["results"]
    assert {r["status"] for r in results} == {"pass"}
    assert len(results) >= 14


def test_a_company_without_contacts_gets_relationship_reweighted(loaded_s_world: LoadedWorld, tmp_path: Path) -> None:
    """No Contacts in the CRM (the table empty): the relationship component has no data, so it drops
    out of every score and its weight goes to the other components, instead of 0 points."""
    warehouse = loaded_s_world.copy_warehouse(tmp_path / "no_contacts.duckdb")
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("delete from raw_salesforce.contact")
    finally:
        con.close()
    run = dbt(warehouse, "build", "--resource-type", "model", "seed", "snapshot", target_path=tmp_path / "target")
    assert run.returncode == 0, run.output[-3000:]
    rows = _query(
        warehouse,
        "select count(*), count(health_score), count(relationship_score), "
        "count(*) filter (where health_score is not null and components_with_data < 1) from marts.health_scores",
    )[0]
    assert rows[0] > 0 and rows[1] == rows[0] and rows[2] == 0 and rows[3] == 0
    # the score is the weighted mean of the other components alone
    mismatched = _query(
        warehouse,
        """
        with w as (select component, cast(weight as double) as weight from config.health_score_weights
                   where segment = '*')
        select count(*) from marts.health_scores h
        where h.segment not in (select segment from config.health_score_weights where segment <> '*')
          and abs(h.health_score - (
            coalesce(usage_score * (select weight from w where component = 'usage'), 0)
            + coalesce(adoption_score * (select weight from w where component = 'adoption'), 0)
            + coalesce(support_score * (select weight from w where component = 'support'), 0)
            + coalesce(billing_score * (select weight from w where component = 'billing'), 0))
            / ((case when usage_score is null then 0 else (select weight from w where component = 'usage') end)
               + (case when adoption_score is null then 0 else (select weight from w where component = 'adoption') end)
               + (case when support_score is null then 0 else (select weight from w where component = 'support') end)
               + (case when billing_score is null then 0 else (select weight from w where component = 'billing') end)))
            > 0.2
        """,
    )
    assert mismatched == [(0,)]
    snapshot = _query(warehouse, "select count(*), count(champion_present) from marts.ml_account_snapshots")[0]
    assert snapshot[0] > 0 and snapshot[1] == 0
