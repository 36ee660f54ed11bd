"""The report site, built offline from the report warehouse and checked in headless Chromium."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import duckdb

from .expected import Expected
from .reports_testlib import BuiltSite

AT_RISK_COLUMNS = 8  # Account, Segment, CSM, Tier, Churn risk, ARR, Expected loss, Renewal (then drivers, link)


def at_risk_cells(table: dict) -> list[list[str]]:
    return [row[:AT_RISK_COLUMNS] for row in table["rows"]]


def table_starting_with(page: dict, first_header: str) -> dict:
    """The page's table whose first column is `first_header`."""
    return next(t for t in page["tables"] if t and t["headers"][:1] == [first_header])


def test_build_ran_offline_with_one_page_per_csm(built_site: BuiltSite, expected: Expected) -> None:
    assert built_site.offline, "the build could not be run with the network cut (`unshare -n` unavailable)"
    assert (built_site.build / "accounts" / "index.html").exists()
    csm_pages = {p.parent.name for p in (built_site.build / "csms").glob("*/index.html")}
    assert expected.csm_user_id in csm_pages
    # Account pages are one page chosen by its address, not thousands of prerendered files.
    assert not list((built_site.build / "accounts").glob("*/index.html"))


def test_read_copy_holds_what_the_pages_read(built_site: BuiltSite) -> None:
    copy = built_site.project / "sources" / "warehouse" / "warehouse.duckdb"
    with duckdb.connect(str(copy), read_only=True) as con:
        schemas = {s for (s,) in con.execute("select distinct table_schema from information_schema.tables").fetchall()}
    assert schemas == {"marts", "ml", "alerts", "activation", "reverse_etl", "raw_quality", "staging", "load_info"}


def test_alert_queue_shows_the_due_date_of_the_task_the_crm_receives(built_site: BuiltSite) -> None:
    """The report reads the same outbound view the reverse ETL sends: one task per live alert, due
    3, 7 or 14 days after the alert opened by severity."""
    copy = built_site.project / "sources" / "warehouse" / "warehouse.duckdb"
    with duckdb.connect(str(copy), read_only=True) as con:
        live = con.execute(
            "select alert_id, severity, opened_on from alerts.alerts where status in ('open', 'sent', 'acknowledged')"
        ).fetchall()
        tasks = dict(con.execute("select alert_id, due_date from activation.crm_alert_tasks").fetchall())
    assert live, "the test warehouse has live alerts"
    days = {"high": 3, "medium": 7, "low": 14}
    assert tasks == {alert_id: opened + timedelta(days=days[severity]) for alert_id, severity, opened in live}
    # What the alerts page queries: the site's own copy of the `alerts` source.
    data = built_site.project / ".evidence" / "template" / "static" / "data"
    source = data / "warehouse" / "alerts" / "alerts.parquet"
    shown = duckdb.sql(f"select alert_id, task_due_date from read_parquet('{source}') where is_open").fetchall()
    assert {alert_id: due.date() if hasattr(due, "date") else due for alert_id, due in shown} == tasks


def test_portfolio_numbers_match_the_warehouse(browser_run: dict, expected: Expected) -> None:
    assert not browser_run.get("driverError"), browser_run.get("driverError")
    page = browser_run["pages"]["portfolio"]
    assert page["bigValues"] == expected.portfolio
    assert table_starting_with(page, "Tier")["rows"] == expected.tiers


def test_at_risk_ranks_accounts_by_expected_loss(browser_run: dict, expected: Expected) -> None:
    assert not browser_run.get("driverError"), browser_run.get("driverError")
    assert at_risk_cells(table_starting_with(browser_run["pages"]["atRisk"], "Account")) == expected.at_risk_rows


def test_at_risk_shows_the_announced_churn_of_accounts_that_gave_notice(browser_run: dict, expected: Expected) -> None:
    """As in the CRM: an account that gave notice has no churn percentage and is not ranked by one; it
    is listed first with the day notice was given, the contract's end and the save play."""
    assert not browser_run.get("driverError"), browser_run.get("driverError")
    assert expected.notice_rows, "the S world has paying accounts that gave notice"
    page = browser_run["pages"]["atRisk"]
    notice_table = table_starting_with(page, "Contract ends")
    # The row link's own cell ("See more") follows the page's columns.
    assert [row[: len(notice_table["headers"]) - 1] for row in notice_table["rows"]] == expected.notice_rows
    ranked = {row[0] for row in table_starting_with(page, "Account")["rows"]}
    assert not ranked & {row[1] for row in expected.notice_rows}
    firsts = [t["headers"][0] for t in page["tables"] if t]
    assert firsts.index("Contract ends") < firsts.index("Account")


def test_segment_dropdown_filters_the_at_risk_table(browser_run: dict, expected: Expected) -> None:
    assert not browser_run.get("driverError"), browser_run.get("driverError")
    assert browser_run["dropdownOptions"] == ["All segments", *expected.segments]
    assert at_risk_cells(browser_run["filtered"]["table"]) == expected.segment_rows
    assert expected.segment_rows != expected.at_risk_rows


def test_at_risk_row_opens_its_account_page(browser_run: dict, expected: Expected) -> None:
    assert not browser_run.get("driverError"), browser_run.get("driverError")
    page = browser_run["clickedAccount"]
    assert urlparse(page["url"]).path == "/accounts/"
    assert expected.clicked_account_name in page["headings"]


def test_account_page_opened_directly_shows_that_account(browser_run: dict, expected: Expected) -> None:
    assert not browser_run.get("driverError"), browser_run.get("driverError")
    page = browser_run["pages"]["account"]
    assert parse_qs(urlparse(page["url"]).query) == {"id": [expected.account_id]}
    assert page["headings"][-1] == expected.account_name
    assert page["bigValues"] == expected.account
    contacts = table_starting_with(page, "Name")["rows"]
    assert len(contacts) == expected.account_contacts


def test_csm_page_shows_the_book(browser_run: dict, expected: Expected) -> None:
    assert not browser_run.get("driverError"), browser_run.get("driverError")
    assert browser_run["pages"]["csm"]["headings"][-1] == expected.csm_name


def test_model_quality_leads_with_the_open_rows(browser_run: dict, expected: Expected) -> None:
    """The churn model's headline is on the open test rows (count, metrics, calibration by risk tier),
    before the secondary all-rows figures."""
    assert not browser_run.get("driverError"), browser_run.get("driverError")
    page = browser_run["pages"]["modelQuality"]
    assert expected.calibration_tiers, "the test warehouse has a churn champion calibrated by tier"
    assert table_starting_with(page, "Open test rows")["rows"] == [expected.open_rows]
    assert table_starting_with(page, "Risk tier")["rows"] == expected.calibration_tiers
    firsts = [t["headers"][0] for t in page["tables"] if t]
    assert firsts.index("Metric") < firsts.index("Metric (all test rows)")


def test_no_console_or_page_errors(browser_run: dict) -> None:
    assert browser_run["consoleErrors"] == []
    assert browser_run["pageErrors"] == []
    assert browser_run["httpErrors"] == []
    # Evidence stops reading a prerendered result once it has it (ERR_ABORTED); nothing else may fail.
    assert [r for r in browser_run["failedRequests"] if r["failure"] != "net::ERR_ABORTED"] == []


def test_no_request_leaves_127_0_0_1(browser_run: dict) -> None:
    web = [u for u in browser_run["requests"] if re.match(r"(https?|wss?)://", u)]
    assert web, "no requests were recorded"
    assert sorted({urlparse(u).hostname for u in web}) == ["127.0.0.1"]
    # The account page's queries ran in the page: its tables came from the parquet files.
    assert any(u.endswith("/accounts.parquet") for u in web)


def test_screenshots_saved(browser_run: dict) -> None:
    for name in ("portfolio", "account"):
        shot = Path(browser_run["screenshots"][name])
        assert shot.stat().st_size > 10_000, shot
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
