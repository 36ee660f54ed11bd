"""The report site, built offline from the fixture warehouse and checked in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import urlopen

from .reports_testlib import BuiltSite, Expected

DATA_COLUMNS = 6  # Account, CSM, Segment, ARR, Tier, Health score (then the row link)


def data_cells(table: dict) -> list[list[str]]:
    return [row[:DATA_COLUMNS] for row in table["rows"]]


def test_build_ran_offline_and_prerendered_every_account(built_site: BuiltSite, expected: Expected) -> None:
    assert built_site.offline, "the build could not be run with the network cut (`unshare -n` unavailable)"
    pages = sorted(p.parent.name for p in (built_site.build / "accounts").glob("*/index.html"))
    assert pages == sorted(expected.account_ids)
    # ids were cast to VARCHAR before building links: no /accounts/101.0/
    assert not any("." in page for page in pages)


def test_build_reads_only_the_marts_read_copy(built_site: BuiltSite) -> None:
    copy = built_site.project / "sources" / "warehouse" / "warehouse.duckdb"
    assert copy.exists()
    import duckdb

    con = duckdb.connect(str(copy), read_only=True)
    try:
        schemas = {s for (s,) in con.execute("select distinct table_schema from information_schema.tables").fetchall()}
    finally:
        con.close()
    assert schemas == {"marts"}


def test_prerendered_html_has_the_portfolio_numbers(built_site: BuiltSite, expected: Expected) -> None:
    html = (built_site.build / "index.html").read_text()
    for value in expected.big_values.values():
        assert f">{value} <" in html or f">{value}<" in html, value


def test_portfolio_numbers_match_the_warehouse(browser_run: dict, expected: Expected) -> None:
    assert not browser_run.get("driverError"), browser_run.get("driverError")
    assert browser_run["portfolio"]["bigValues"] == expected.big_values
    assert data_cells(browser_run["portfolio"]["table"]) == expected.all_rows


def test_segment_dropdown_filters_the_table(browser_run: dict, expected: Expected) -> None:
    assert not browser_run.get("driverError"), browser_run.get("driverError")
    assert browser_run["dropdownOptions"] == ["All segments", *expected.segments]
    assert data_cells(browser_run["filtered"]["table"]) == expected.segment_rows
    assert len(expected.segment_rows) < len(expected.all_rows)


def test_table_row_opens_its_account_page(browser_run: dict, expected: Expected) -> None:
    assert not browser_run.get("driverError"), browser_run.get("driverError")
    page = browser_run["clickedAccount"]
    account = expected.clicked_account
    assert urlparse(page["url"]).path == f"/accounts/{account['account_id']}/"
    assert account["name"] in page["headings"]
    assert page["bigValues"] == {"ARR": account["arr"], "Health score": account["health_score"]}


def test_account_page_shows_that_account(browser_run: dict, expected: Expected, site_url: str) -> None:
    assert not browser_run.get("driverError"), browser_run.get("driverError")
    page = browser_run["directAccount"]
    account = expected.direct_account
    assert account["name"] in page["headings"]
    assert page["bigValues"] == {"ARR": account["arr"], "Health score": account["health_score"]}
    assert page["table"]["rows"] == expected.direct_history
    with urlopen(f"{site_url}/accounts/{account['account_id']}/") as response:
        html = response.read().decode()
    assert account["name"] in html and account["csm"] in html


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
    # The dropdown's query ran in the page: the table came from the parquet file, read without any
    # DuckDB extension download.
    assert any(u.endswith("/customer_360.parquet") for u in web)


def test_screenshots_saved(browser_run: dict) -> None:
    for name in ("portfolio", "account"):
        shot = Path(browser_run["screenshots"][name])
        assert shot.stat().st_size > 10_000, shot
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
