"""Salesforce as the real API behaves, driven by simple-salesforce unmodified: sessions that end
mid-run (401 INVALID_SESSION_ID until the client logs in again), rate limits as 403
REQUEST_LIMIT_EXCEEDED without Retry-After, `Sforce-Limit-Info` on every response, and the
product's session (`core.auth.SalesforceSession`) carrying a run through both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

from core.auth import SalesforceLogin, SalesforceSession
from sandbox.emulators.credentials import SALESFORCE
from tests.conftest import RunningEmulator

VERSION = "61.0"


@pytest.fixture(autouse=True)
def no_faults(emulator: RunningEmulator) -> Iterator[None]:
    emulator.admin_call("DELETE", "faults")
    yield
    emulator.admin_call("DELETE", "faults")


def fault(emulator: RunningEmulator, **spec: object) -> None:
    emulator.admin_call("POST", "faults", json={"system": "salesforce", **spec})


def product_session(emulator: RunningEmulator) -> SalesforceSession:
    # simple-salesforce speaks https only: the emulator's TLS port, trusted through its CA
    login = SalesforceLogin(emulator.https, SALESFORCE["client_id"], SALESFORCE["client_secret"])
    return SalesforceSession(login, emulator.https_session(), limit_backoff=0.05)


def client(emulator: RunningEmulator, session: SalesforceSession) -> Salesforce:
    token = session.current()
    http = session.attach(emulator.https_session())
    return Salesforce(instance_url=token.instance_url, session_id=token.access_token, session=http, version=VERSION)


def bare_client(emulator: RunningEmulator) -> Salesforce:
    login = SalesforceLogin(emulator.https, SALESFORCE["client_id"], SALESFORCE["client_secret"])
    token = login.token(emulator.https_session())
    return Salesforce(
        instance_url=token.instance_url,
        session_id=token.access_token,
        session=emulator.https_session(),
        version=VERSION,
    )


def test_an_ended_session_stays_ended_for_a_client_that_does_not_log_in_again(emulator: RunningEmulator) -> None:
    sf = bare_client(emulator)
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1
    fault(emulator, endpoint="query", kind="session_expired", count=1)
    for _ in range(2):  # the fault fired once; the token stays expired
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT Id FROM Account LIMIT 1")


def test_query_and_update_carry_on_after_the_session_ends_mid_run(emulator: RunningEmulator) -> None:
    session = product_session(emulator)
    sf = client(emulator, session)
    accounts = sf.query("SELECT Id, Name FROM Account ORDER BY Id LIMIT 5")["records"]
    assert len(accounts) == 5 and session.logins == 1
    fault(emulator, endpoint="query", kind="session_expired", count=1)
    again = sf.query("SELECT Id, Name FROM Account ORDER BY Id LIMIT 5")["records"]
    assert [a["Id"] for a in again] == [a["Id"] for a in accounts]
    assert session.logins == 2
    fault(emulator, endpoint="sobject_update", kind="session_expired", count=1)
    assert sf.Account.update(accounts[0]["Id"], {"Copilot_Health_Score__c": 42.5}) == 204
    assert session.logins == 3
    assert sf.Account.get(accounts[0]["Id"])["Copilot_Health_Score__c"] == 42.5


def test_rate_limit_is_403_request_limit_exceeded_without_retry_after_then_success(
    emulator: RunningEmulator,
) -> None:
    session = product_session(emulator)
    token = session.current()
    headers = {"Authorization": f"Bearer {token.access_token}"}
    url = f"{emulator.http}/services/data/v{VERSION}/query"
    fault(emulator, endpoint="query", kind="rate_limit", count=2)
    raw = requests.get(url, params={"q": "SELECT Id FROM Account LIMIT 1"}, headers=headers, timeout=10)
    assert raw.status_code == 403 and "Retry-After" not in raw.headers
    assert raw.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    sf = client(emulator, session)
    result = sf.query("SELECT Id FROM Account LIMIT 1")  # the second 403, a backoff, then the answer
    assert result["totalSize"] == 1
    (spent,) = emulator.admin_call("GET", "faults")["faults"]
    assert spent["fired"] == 2


def test_every_data_response_reports_the_orgs_api_usage(emulator: RunningEmulator) -> None:
    session = product_session(emulator)
    sf = client(emulator, session)
    sf.query("SELECT Id FROM Account LIMIT 1")
    first = session.api_usage
    sf.query("SELECT Id FROM Account LIMIT 1")
    assert first is not None and session.api_usage is not None
    assert session.api_usage[0] == first[0] + 1 and session.api_usage[1] == first[1] > 0
