"""Faults switched on through the admin API, and the request counts tests use to check client behaviour."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import stripe
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.emulators.credentials import SLACK, STRIPE, ZENDESK
from sandbox.schema import SF_ACCOUNT
from tests.conftest import RunningEmulator

ZD_AUTH = (f"{ZENDESK['email']}/token", ZENDESK["api_token"])
STRIPE_AUTH = {"Authorization": f"Bearer {STRIPE['secret_key']}"}


@pytest.fixture(autouse=True)
def no_faults_left(emulator: RunningEmulator) -> Iterator[None]:
    emulator.admin_call("DELETE", "faults")
    yield
    emulator.admin_call("DELETE", "faults")


@pytest.fixture(scope="module")
def sf_headers(emulator: RunningEmulator) -> dict[str, str]:
    token = emulator.salesforce_token(emulator.http).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def add(em: RunningEmulator, **spec: Any) -> dict[str, Any]:
    (fault,) = em.admin_call("POST", "faults", json=spec)["faults"]
    return fault


def soql(em: RunningEmulator, headers: dict[str, str], q: str) -> requests.Response:
    return requests.get(f"{em.http}/services/data/v61.0/query", params={"q": q}, headers=headers, timeout=10)


def test_next_two_query_calls_are_rate_limited(emulator: RunningEmulator, sf_headers: dict[str, str]) -> None:
    add(emulator, system="salesforce", endpoint="query", kind="rate_limit", count=2, retry_after=3)
    for _ in range(2):
        resp = soql(emulator, sf_headers, "SELECT Id FROM Account LIMIT 1")
        # Salesforce's shape: 403, no Retry-After (the limit is a rolling 24 hours)
        assert resp.status_code == 403 and "Retry-After" not in resp.headers
        assert resp.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert soql(emulator, sf_headers, "SELECT Id FROM Account LIMIT 1").status_code == 200
    (fault,) = emulator.admin_call("GET", "faults")["faults"]
    assert (fault["fired"], fault["active"]) == (2, False)


def test_faults_match_on_object_and_leave_other_calls_alone(
    emulator: RunningEmulator, sf_headers: dict[str, str]
) -> None:
    add(emulator, system="salesforce", endpoint="query*", object="Contact", kind="server_error", status=503)
    assert soql(emulator, sf_headers, "SELECT Id FROM Account LIMIT 1").status_code == 200
    failed = soql(emulator, sf_headers, "SELECT Id FROM Contact LIMIT 1")
    assert failed.status_code == 503 and failed.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    describe = requests.get(f"{emulator.http}/services/data/v61.0/sobjects/Contact/describe", headers=sf_headers)
    assert describe.status_code == 200


def test_rate_limits_in_each_systems_own_shape(emulator: RunningEmulator) -> None:
    for system in ("zendesk", "stripe", "slack"):
        add(emulator, system=system, kind="rate_limit", count=1, retry_after=2)
    zd = requests.get(f"{emulator.http}/api/v2/organizations.json", auth=ZD_AUTH)
    assert zd.status_code == 429 and zd.headers["Retry-After"] == "2" and zd.json()["error"] == "APIRateLimitExceeded"
    saved = (stripe.api_key, stripe.api_base, stripe.max_network_retries)
    stripe.api_key, stripe.api_base, stripe.max_network_retries = STRIPE["secret_key"], emulator.http, 0
    try:
        with pytest.raises(stripe.RateLimitError) as info:
            stripe.Customer.list()
        assert info.value.json_body["error"]["code"] == "rate_limit"
        assert len(stripe.Customer.list(limit=3).data) == 3
    finally:
        stripe.api_key, stripe.api_base, stripe.max_network_retries = saved
    with pytest.raises(SlackApiError) as slack_info:
        WebClient(token=SLACK["bot_token"], base_url=f"{emulator.http}/api/").chat_postMessage(
            channel="#general", text="x"
        )
    assert slack_info.value.response.status_code == 429 and slack_info.value.response["error"] == "ratelimited"
    assert requests.get(f"{emulator.http}/api/v2/organizations.json", auth=ZD_AUTH).status_code == 200


def test_server_error_then_recovery(emulator: RunningEmulator) -> None:
    add(emulator, system="stripe", endpoint="/v1/invoices*", kind="server_error", count=1)
    resp = requests.get(f"{emulator.http}/v1/invoices", headers=STRIPE_AUTH)
    assert resp.status_code == 500 and resp.json()["error"]["type"] == "api_error"
    assert requests.get(f"{emulator.http}/v1/invoices", headers=STRIPE_AUTH).status_code == 200


def test_slow_responses(emulator: RunningEmulator) -> None:
    add(emulator, system="zendesk", endpoint="tickets_incremental_cursor", kind="slow", delay_ms=400, count=1)
    url = f"{emulator.http}/api/v2/incremental/tickets/cursor.json"
    started = time.perf_counter()
    assert requests.get(url, params={"start_time": 0}, auth=ZD_AUTH).status_code == 200
    assert time.perf_counter() - started >= 0.4
    started = time.perf_counter()
    requests.get(url, params={"start_time": 0}, auth=ZD_AUTH)
    assert time.perf_counter() - started < 0.4


def test_skip_then_fire(emulator: RunningEmulator) -> None:
    add(emulator, system="stripe", endpoint="customers", kind="server_error", skip=1, count=1)
    codes = [requests.get(f"{emulator.http}/v1/customers", headers=STRIPE_AUTH).status_code for _ in range(3)]
    assert codes == [200, 500, 200]


def test_rate_is_seeded_and_repeatable(emulator: RunningEmulator) -> None:
    patterns = []
    for _ in range(2):
        emulator.admin_call("DELETE", "faults")
        add(emulator, system="stripe", endpoint="events", kind="rate_limit", rate=0.5, seed=11)
        patterns.append(
            [requests.get(f"{emulator.http}/v1/events", headers=STRIPE_AUTH).status_code for _ in range(24)]
        )
    assert patterns[0] == patterns[1]
    assert 4 <= patterns[0].count(429) <= 20


def test_malformed_records(emulator: RunningEmulator, sf_headers: dict[str, str]) -> None:
    add(emulator, system="zendesk", endpoint="tickets_incremental_cursor", kind="malformed", fraction=0.05, count=1)
    page = requests.get(
        f"{emulator.http}/api/v2/incremental/tickets/cursor.json", params={"start_time": 0}, auth=ZD_AUTH
    ).json()
    tickets = page["tickets"]
    broken = [t for t in tickets if "id" not in t or t.get("updated_at") == "not-a-timestamp"]
    assert 10 <= len(broken) <= 100
    assert any("id" not in t for t in broken) and any(t.get("updated_at") == "not-a-timestamp" for t in broken)
    assert page["after_cursor"]  # paging itself still works
    add(emulator, system="salesforce", endpoint="query", object="Account", kind="malformed", breakage="bad_number")
    records = soql(emulator, sf_headers, "SELECT Id, ARR__c FROM Account").json()["records"]
    assert any(r["ARR__c"] == "twelve" for r in records)
    assert all(isinstance(r["ARR__c"], float) or r["ARR__c"] in ("twelve", None) for r in records)


@pytest.mark.parametrize(
    ("change", "check"),
    [
        ("added", lambda r: r["Drift_Field__c"] == "added by schema drift" and "ARR__c" in r),
        ("removed", lambda r: "ARR__c" not in r),
        ("renamed", lambda r: "ARR__c" not in r and "ARR_v2__c" in r),
        ("type_changed", lambda r: isinstance(r["ARR__c"], str) and float(r["ARR__c"]) > 0),
    ],
)
def test_schema_drift_on_query_results(
    emulator: RunningEmulator, sf_headers: dict[str, str], change: str, check: Any
) -> None:
    spec: dict[str, Any] = {
        "system": "salesforce",
        "endpoint": "query*",
        "object": "Account",
        "kind": "schema_drift",
        "change": change,
    }
    if change != "added":
        spec["field"] = "ARR__c"
    if change == "renamed":
        spec["new_name"] = "ARR_v2__c"
    add(emulator, **spec)
    records = soql(emulator, sf_headers, "SELECT Id, Name, ARR__c FROM Account WHERE ARR__c > 0 LIMIT 20").json()[
        "records"
    ]
    assert records and all(check(r) for r in records)


def test_schema_drift_on_stripe_lists(emulator: RunningEmulator) -> None:
    add(
        emulator,
        system="stripe",
        endpoint="customers",
        kind="schema_drift",
        change="renamed",
        field="email",
        new_name="email_address",
    )
    data = requests.get(f"{emulator.http}/v1/customers", headers=STRIPE_AUTH).json()["data"]
    assert all("email" not in c and "email_address" in c for c in data)


def test_write_errors_on_collections_and_bulk(emulator: RunningEmulator, sf_headers: dict[str, str]) -> None:
    add(emulator, system="salesforce", endpoint="composite_upsert", kind="write_error", fraction=0.3, count=1)
    records = [
        {"attributes": {"type": "Account"}, "Product_Account_Id__c": f"ws_{i:06d}", "Copilot_Health_Score__c": 50.0}
        for i in range(100, 120)
    ]
    url = f"{emulator.http}/services/data/v61.0/composite/sobjects/Account/Product_Account_Id__c"
    results = requests.patch(url, json={"allOrNone": False, "records": records}, headers=sf_headers).json()
    failed = [r for r in results if not r["success"]]
    assert 1 <= len(failed) < 20
    assert {e["statusCode"] for r in failed for e in r["errors"]} == {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    assert requests.patch(url, json={"records": records}, headers=sf_headers).json()[0]["success"] is True
    add(
        emulator,
        system="salesforce",
        endpoint="bulk_set_state",
        kind="write_error",
        fraction=1.0,
        status_code="CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        message="trigger failed",
    )
    base = f"{emulator.http}/services/data/v61.0/jobs/ingest"
    job = requests.post(
        base,
        json={"object": "Account", "operation": "upsert", "externalIdFieldName": "Product_Account_Id__c"},
        headers=sf_headers,
    ).json()
    requests.put(
        f"{base}/{job['id']}/batches",
        data="Product_Account_Id__c,Copilot_Health_Score__c\nws_000200,1\n",
        headers={**sf_headers, "Content-Type": "text/csv"},
    )
    requests.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=sf_headers)
    info = requests.get(f"{base}/{job['id']}", headers=sf_headers).json()
    assert (info["state"], info["numberRecordsFailed"]) == ("JobComplete", 1)
    failed_csv = requests.get(f"{base}/{job['id']}/failedResults/", headers=sf_headers).text
    assert "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY:trigger failed" in failed_csv


def test_invalid_faults_are_refused(emulator: RunningEmulator) -> None:
    for spec in (
        {"system": "salesforce", "kind": "meltdown"},
        {"system": "zendesk", "kind": "write_error"},
        {"system": "stripe", "kind": "rate_limit", "rate": 2},
    ):
        resp = requests.post(f"{emulator.http}/__admin/faults", json=spec)
        assert resp.status_code == 400 and resp.json()["error"]
    assert emulator.admin_call("GET", "faults")["faults"] == []


def test_request_counts_show_reads_and_writes(emulator: RunningEmulator, sf_headers: dict[str, str]) -> None:
    emulator.admin_call("DELETE", "requests")
    soql(emulator, sf_headers, "SELECT Id FROM Account LIMIT 1")
    soql(emulator, sf_headers, "SELECT Id FROM Account LIMIT 1")
    requests.get(f"{emulator.http}/v1/customers", headers=STRIPE_AUTH)
    counts = emulator.admin_call("GET", "requests")
    assert (counts["total"], counts["writes"]) == (3, 0)
    assert {"system": "salesforce", "method": "GET", "endpoint": "query", "write": False, "count": 2} in counts[
        "requests"
    ]
    requests.patch(
        f"{emulator.http}/services/data/v61.0/sobjects/Account/Product_Account_Id__c/ws_000300",
        json={"Copilot_Health_Tier__c": "Green"},
        headers=sf_headers,
    )
    counts = emulator.admin_call("GET", "requests")
    assert counts["writes"] == 1 and counts["by_system"]["salesforce"] == {"total": 3, "writes": 1}
    store = emulator.store()
    try:
        (row,) = store.select(SF_ACCOUNT, "Product_Account_Id__c = 'ws_000300'")
    finally:
        store.close()
    assert row["Copilot_Health_Tier__c"] == "Green"
