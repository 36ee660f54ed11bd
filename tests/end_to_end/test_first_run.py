"""Day one is a test case: the daily job from an empty warehouse builds the whole report site (with
tables that are still empty, such as the realised performance of scores not yet 90 days old), and so
does the next day's run. Every page renders in Chromium with no error, fits a laptop's width, and says
in a sentence what is not there yet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.end_to_end.conftest import CleanRun, FollowingRun
from tests.end_to_end.harness import query
from tests.reports.reports_testlib import REPO, check_site_in_chromium

PAGES = ["/", "/at-risk/", "/alerts/", "/renewals/", "/expansion/", "/csms/", "/model-quality/", "/data-quality/"]
ARTIFACTS = REPO / "data" / "test-artifacts" / "first-run"
# Evidence stops reading a prerendered result once it has it (ERR_ABORTED); nothing else may fail.
HARMLESS_FAILURE = "net::ERR_ABORTED"
# A wrapped text column keeps a readable width: its rows stay a few lines tall.
TALLEST_ROW_PX = 120


def pages_of(site: Path, warehouse: Path) -> list[str]:
    """Every page kind: the fixed pages, one CSM's book and the riskiest account's page."""
    csm = sorted(p.name for p in (site / "csms").iterdir() if (p / "index.html").exists())[0]
    # Calibrated probabilities tie (isotonic calibration is a step function): the account id breaks ties.
    riskiest = "SELECT account_id FROM ml.account_scores_latest ORDER BY churn_probability DESC, account_id LIMIT 1"
    ((account,),) = query(warehouse, riskiest)
    return [*PAGES, f"/csms/{csm}/", f"/accounts/?id={account}"]


@pytest.fixture(scope="session")
def first_run_pages(clean_run: CleanRun) -> dict:
    paths = pages_of(clean_run.site, clean_run.warehouse)
    return check_site_in_chromium(clean_run.site, paths, ARTIFACTS / "day-1")


@pytest.fixture(scope="session")
def next_day_pages(clean_run: CleanRun, next_day: FollowingRun) -> dict:
    assert next_day.site is not None
    paths = pages_of(next_day.site, clean_run.deployment.warehouse)
    return check_site_in_chromium(next_day.site, paths, ARTIFACTS / "day-2")


def errors(page: dict) -> list[str]:
    failed = [r for r in page["failedRequests"] if not r.endswith(HARMLESS_FAILURE)]
    shown = [line for line in page["text"].splitlines() if "Error in" in line or "Dataset is empty" in line]
    return page["consoleErrors"] + page["pageErrors"] + page["httpErrors"] + failed + shown


def test_first_run_builds_every_page(clean_run: CleanRun) -> None:
    csms = {c for (c,) in query(clean_run.warehouse, "SELECT DISTINCT csm_user_id FROM marts.customer_360 "
                                "WHERE arr > 0 AND csm_user_id IS NOT NULL")}  # fmt: skip
    built = {p.parent.relative_to(clean_run.site).as_posix() for p in clean_run.site.rglob("index.html")}
    expected = {p.strip("/") or "." for p in PAGES} | {"accounts"} | {f"csms/{c}" for c in csms}
    assert built == expected


@pytest.mark.parametrize("day", ["first_run_pages", "next_day_pages"])
def test_every_page_renders_without_an_error(day: str, request: pytest.FixtureRequest) -> None:
    pages = request.getfixturevalue(day)
    assert {path: errors(page) for path, page in pages.items() if errors(page)} == {}
    # Each page shows its content: the account page its account, the others their tables or charts.
    assert all(page["tables"] or page["charts"] for page in pages.values())


def test_an_empty_table_is_a_sentence_on_its_page(clean_run: CleanRun, first_run_pages: dict) -> None:
    # On day one no score is 90 days old: realised performance has no rows, and the page says why.
    assert query(clean_run.warehouse, "SELECT count(*) FROM ml.realised_performance") == [(0,)]
    assert "No scores old enough yet" in first_run_pages["/model-quality/"]["text"]


@pytest.mark.parametrize("day", ["first_run_pages", "next_day_pages"])
def test_pages_fit_a_laptop_screen(day: str, request: pytest.FixtureRequest) -> None:
    pages = request.getfixturevalue(day)
    assert [path for path, page in pages.items() if page["pageScrollsSideways"]] == []
    sideways = {path: [t["headers"] for t in page["tables"] if t["scrollsSideways"]] for path, page in pages.items()}
    assert {path: tables for path, tables in sideways.items() if tables} == {}
    tall = {path: max((t["tallestRow"] for t in page["tables"]), default=0) for path, page in pages.items()}
    assert {path: px for path, px in tall.items() if px > TALLEST_ROW_PX} == {}


def test_portfolio_and_account_pages_show_the_warehouse(clean_run: CleanRun, first_run_pages: dict) -> None:
    warehouse = clean_run.warehouse
    ((accounts, as_of),) = query(warehouse, "SELECT count(*), max(as_of_date) FROM marts.customer_360 WHERE arr > 0")
    portfolio = first_run_pages["/"]["text"]
    assert f"Paying customers as of {as_of:%Y-%m-%d}" in portfolio
    assert re.search(rf"\bAccounts\s+{accounts:,}\s", portfolio)
    # "Highest risk" lists the accounts by churn probability, highest first; an account that gave notice
    # has announced its churn (no probability, as in the CRM) and is listed on At risk instead.
    riskiest = (
        "SELECT c.account_name FROM ml.account_scores_latest AS s JOIN marts.customer_360 AS c USING (account_id) "
        "WHERE c.arr > 0 AND c.lifecycle_state IS DISTINCT FROM 'notice_given' "
        "ORDER BY s.churn_probability DESC, c.arr DESC, s.account_id LIMIT 10"
    )
    top = [name for (name,) in query(warehouse, riskiest)]
    highest_risk = first_run_pages["/"]["tables"][-1]
    assert [row[0] for row in highest_risk["rows"]] == top
    account_page = next(page for path, page in first_run_pages.items() if path.startswith("/accounts/?id="))
    (name,) = query(warehouse, "SELECT c.account_name FROM ml.account_scores_latest AS s JOIN marts.customer_360 "
                    "AS c USING (account_id) ORDER BY s.churn_probability DESC, s.account_id LIMIT 1")[0]  # fmt: skip
    assert name in account_page["headings"]


def test_csm_books_add_up_to_the_portfolio_or_say_why(clean_run: CleanRun, first_run_pages: dict) -> None:
    ((unassigned, unassigned_arr),) = query(
        clean_run.warehouse, "SELECT count(*), sum(arr) FROM marts.customer_360 WHERE arr > 0 AND csm_user_id IS NULL"
    )
    text = first_run_pages["/csms/"]["text"]
    if unassigned:
        assert f"{unassigned:,} paying accounts with ${unassigned_arr:,.0f} ARR" in text
    else:
        assert "Every paying account has a CSM" in text


def test_next_day_site_shows_the_new_day(clean_run: CleanRun, next_day_pages: dict) -> None:
    (as_of,) = query(clean_run.deployment.warehouse, "SELECT max(as_of_date) FROM marts.customer_360")[0]
    assert f"Paying customers as of {as_of:%Y-%m-%d}" in next_day_pages["/"]["text"]


def test_usage_chart_has_one_point_a_week_with_active_users(clean_run: CleanRun) -> None:
    """Every weekly point falls on the last day of data or a multiple of 7 days before it, and carries
    the active users of the day it ends on (missing only where the account had no such day: the week
    in which it left)."""
    sql = (REPO / "reports" / "sources" / "warehouse" / "account_usage.sql").read_text()
    ((last_day,),) = query(clean_run.warehouse, "SELECT max(activity_date) FROM marts.account_daily_activity")
    ((points, off_week, without_users),) = query(
        clean_run.warehouse,
        f"SELECT count(*), count(*) FILTER (WHERE datediff('day', u.week_ending, ?) % 7 <> 0), "
        f"count(*) FILTER (WHERE u.active_users_7d IS NULL AND d.active_users_7d IS NOT NULL) "
        f"FROM ({sql}) AS u LEFT JOIN marts.account_daily_activity AS d "
        f"ON d.account_id = u.account_id AND d.activity_date = u.week_ending",
        [last_day],
    )
    assert points > 0 and off_week == 0 and without_users == 0
