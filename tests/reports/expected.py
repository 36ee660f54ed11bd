"""The figures the report pages must show, computed here from the warehouse with plain SQL and
formatted as the pages' `fmt=` strings format them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

AT_RISK_ROWS = 25  # the at-risk table's page size
SEGMENT = "SMB"


def usd(value: float) -> str:
    return f"${value:,.0f}"


def pct1(value: float) -> str:
    return f"{value * 100:.1f}%"


def one_decimal(value: float) -> str:
    return f"{value:.1f}"


@dataclass(frozen=True)
class Expected:
    portfolio: dict[str, str]
    tiers: list[list[str]]
    at_risk_rows: list[list[str]]
    segment: str
    segments: list[str]
    segment_rows: list[list[str]]
    account_id: str
    account_name: str
    account: dict[str, str]
    account_contacts: int
    clicked_account_name: str
    csm_user_id: str
    csm_name: str
    pages: list[dict] = field(default_factory=list)
    open_rows: list[str] = field(default_factory=list)  # the churn champion's open test rows, churned, rate
    # tier, open rows, predicted, observed and its 95 % interval (by account)
    calibration_tiers: list[list[str]] = field(default_factory=list)
    # the at-risk page's accounts that gave notice: contract end, account, segment, CSM, tier, notice day,
    # ARR, the announced churn in words, the behaviour behind it
    notice_rows: list[list[str]] = field(default_factory=list)


def _at_risk_row(r: tuple) -> list[str]:
    name, segment, csm, tier, probability, arr, loss, renewal = r
    return [name, segment, csm, tier, pct1(probability), usd(arr), usd(loss), renewal or "-"]


AT_RISK = """
    select c.account_name, c.segment, coalesce(c.csm_name, '(no CSM)'), coalesce(c.health_tier, 'Unknown'),
           s.churn_probability, c.arr, s.churn_probability * c.arr as loss, strftime(c.next_renewal_date, '%Y-%m-%d')
    from marts.customer_360 as c
    left join ml.account_scores_latest as s using (account_id)
    where c.arr > 0 and c.lifecycle_state is distinct from 'notice_given' {where}
    order by loss desc nulls last, c.account_id
    limit {limit}
"""

# Accounts that gave notice: no churn probability, the notice and the contract's end instead (the
# sentence the CRM's risk drivers start with, activation/crm_account_fields).
NOTICE = """
    select strftime(c.notice_ends_on, '%Y-%m-%d'), c.account_name, c.segment, coalesce(c.csm_name, '(no CSM)'),
           coalesce(c.health_tier, 'Unknown'), strftime(c.notice_given_on, '%Y-%m-%d'), c.arr, f.risk_drivers,
           concat_ws('; ', s.driver_1, s.driver_2, s.driver_3)
    from marts.customer_360 as c
    left join ml.account_scores_latest as s using (account_id)
    left join activation.crm_account_fields as f using (account_id)
    where c.arr > 0 and c.lifecycle_state = 'notice_given'
    order by c.notice_ends_on nulls last, c.arr desc, c.account_id
"""


def _notice_row(r: tuple) -> list[str]:
    ends, name, segment, csm, tier, given, arr, crm_drivers, drivers = r
    # The page's sentence is the first line of what the CRM receives.
    return [ends or "-", name, segment, csm, tier, given or "-", usd(arr), crm_drivers.split("\n")[0], drivers or "-"]


def expected_figures(warehouse: Path) -> Expected:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        accounts, arr, at_risk = con.execute(
            """select count(*), sum(c.arr),
                      sum(case when s.churn_risk_tier = 'High' or c.lifecycle_state = 'notice_given'
                                    or c.health_tier = 'Red' then c.arr else 0 end)
               from marts.customer_360 as c left join ml.account_scores_latest as s using (account_id)
               where c.arr > 0"""
        ).fetchone()
        # Net retention YTD: the accounts paying on 1 January, their ARR today over their ARR then.
        (retention,) = con.execute(
            """with clock as (select max(as_of_date) as d, date_trunc('year', max(as_of_date)) as y
                              from marts.customer_360)
               select sum(coalesce(t.arr, 0)) / sum(s.arr)
               from marts.account_daily_activity as s
               join clock on s.activity_date = clock.y
               left join marts.account_daily_activity as t on t.account_id = s.account_id and t.activity_date = clock.d
               where s.arr > 0"""
        ).fetchone()
        tiers = con.execute(
            """select coalesce(health_tier, 'Unknown') as tier, count(*), sum(arr),
                      sum(arr) / (select sum(arr) from marts.customer_360 where arr > 0)
               from marts.customer_360 where arr > 0 group by 1
               order by case tier when 'Red' then 1 when 'Yellow' then 2 when 'Green' then 3 else 4 end"""
        ).fetchall()
        at_risk_rows = con.execute(AT_RISK.format(where="", limit=AT_RISK_ROWS)).fetchall()
        segment_rows = con.execute(AT_RISK.format(where=f"and c.segment = '{SEGMENT}'", limit=AT_RISK_ROWS)).fetchall()
        notice_rows = con.execute(NOTICE).fetchall()
        segments = [
            s
            for (s,) in con.execute(
                "select distinct segment from marts.customer_360 where arr > 0 order by 1"
            ).fetchall()
        ]
        # The account a CS leader opens first: the top of the at-risk list.
        account_id, name, arr_1, score, tier, probability, propensity = con.execute(
            """select c.account_id, c.account_name, c.arr, c.health_score, coalesce(c.health_tier, 'Unknown'),
                      s.churn_probability, s.expansion_propensity
               from marts.customer_360 as c join ml.account_scores_latest as s using (account_id)
               where c.arr > 0 and c.lifecycle_state is distinct from 'notice_given'
               order by s.churn_probability * c.arr desc, c.account_id limit 1"""
        ).fetchone()
        (contacts,) = con.execute(
            "select count(*) from staging.stg_crm__contacts where account_id = ?", [account_id]
        ).fetchone()
        csm_user_id, csm_name = con.execute(
            """select csm_user_id, csm_name from marts.customer_360 where arr > 0 and csm_user_id is not null
               order by csm_user_id limit 1"""
        ).fetchone()
        # The model-quality page's headline population: the churn champion's open test rows.
        champion = "select model_id from ml.model_registry where status = 'champion' and model_kind = 'churn'"
        tiers_shown = con.execute(
            f"""select label, rows, mean_predicted, observed_rate, observed_ci_low, observed_ci_high
                from ml.calibration_curve
                where breakdown = 'risk_tier' and model_id in ({champion}) order by bin"""
        ).fetchall()
        open_rows, churned = con.execute(
            f"""select sum(rows), sum(observed_rate * rows) from ml.calibration_curve
                where breakdown = 'risk_tier' and model_id in ({champion})"""
        ).fetchone()
    finally:
        con.close()

    portfolio = {
        "Accounts": f"{accounts:,}",
        "ARR": usd(arr),
        "At-risk ARR": usd(at_risk),
        "Net retention YTD": pct1(retention),
    }
    account = {
        "ARR": usd(arr_1),
        "Health score": one_decimal(score),
        "Tier": tier,
        "Churn risk (90 days)": pct1(probability),
        "Expansion propensity": pct1(propensity),
    }
    pages = [
        {"name": "portfolio", "path": "/", "bigValueTitles": list(portfolio)},
        {"name": "atRisk", "path": "/at-risk/"},
        {"name": "account", "path": f"/accounts/?id={account_id}", "bigValueTitles": list(account)},
        {"name": "accountsWithoutId", "path": "/accounts/", "waitForRows": False},
        {"name": "alerts", "path": "/alerts/"},
        {"name": "renewals", "path": "/renewals/"},
        {"name": "expansion", "path": "/expansion/"},
        {"name": "csms", "path": "/csms/"},
        {"name": "csm", "path": f"/csms/{csm_user_id}/"},
        {"name": "modelQuality", "path": "/model-quality/"},
        {"name": "dataQuality", "path": "/data-quality/"},
    ]
    return Expected(
        portfolio=portfolio,
        tiers=[[t, f"{n:,}", usd(a), pct1(share)] for t, n, a, share in tiers],
        at_risk_rows=[_at_risk_row(r) for r in at_risk_rows],
        segment=SEGMENT,
        segments=segments,
        segment_rows=[_at_risk_row(r) for r in segment_rows],
        account_id=account_id,
        account_name=name,
        account=account,
        account_contacts=contacts,
        clicked_account_name=segment_rows[0][0],
        csm_user_id=csm_user_id,
        csm_name=csm_name,
        pages=pages,
        open_rows=[f"{open_rows:,}", f"{round(churned):,}", pct1(churned / open_rows)],
        calibration_tiers=[[t, f"{n:,}", pct1(p), pct1(o), pct1(lo), pct1(hi)] for t, n, p, o, lo, hi in tiers_shown],
        notice_rows=[_notice_row(r) for r in notice_rows],
    )
