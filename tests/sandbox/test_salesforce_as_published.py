"""The Salesforce emulator against Salesforce's published standard-object field lists
(sandbox/emulators/api_facts/salesforce.json): describe lists every documented field with its
documented type and properties, queries serve them (selected one by one or with FIELDS(ALL)),
fields Salesforce derives agree with the fields they come from, and a field that does not exist
answers Salesforce's INVALID_FIELD error."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from sandbox.emulators import salesforce_fields
from sandbox.schema import SALESFORCE_OBJECTS
from tests.conftest import RunningEmulator

VERSION = "61.0"
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TEXT = {"id", "reference", "string", "textarea", "picklist", "combobox", "email", "phone", "url"}


@pytest.fixture(scope="module")
def api(emulator: RunningEmulator) -> requests.Session:
    session = emulator.https_session()
    session.headers["Authorization"] = f"Bearer {emulator.salesforce_token().json()['access_token']}"
    return session


def get(emulator: RunningEmulator, api: requests.Session, path: str, **params: str) -> requests.Response:
    return api.get(f"{emulator.https}/services/data/v{VERSION}/{path}", params=params, timeout=30)


def type_problem(ftype: str, value: Any) -> str | None:
    ok = {
        "boolean": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "double": isinstance(value, float),
        "currency": isinstance(value, float),
        "percent": isinstance(value, float),
        "date": isinstance(value, str) and bool(_DATE.match(value)),
        "datetime": isinstance(value, str) and bool(_DATETIME.match(value)),
        "address": isinstance(value, dict) and set(value) == set(salesforce_fields.facts()["address_components"]),
    }.get(ftype, ftype in _TEXT and isinstance(value, str))
    return None if ok else f"{value!r} is not {ftype}"


@pytest.mark.parametrize("name", list(SALESFORCE_OBJECTS))
def test_describe_lists_every_documented_field_with_its_type_and_properties(
    emulator: RunningEmulator, api: requests.Session, name: str
) -> None:
    resp = get(emulator, api, f"sobjects/{name}/describe")
    assert resp.status_code == 200
    described = {f["name"]: f for f in resp.json()["fields"]}
    documented = salesforce_fields.documented(name)
    assert len(documented) >= 40
    assert set(documented) <= set(described)
    # Beyond the documented set only the world's own fields: its custom fields (and the system
    # IsDeleted the world keeps on User).
    world = SALESFORCE_OBJECTS[name]
    assert set(described) - set(documented) <= {f.name for f in world.fields}
    for fname, doc in documented.items():
        got = described[fname]
        props = doc["properties"]
        flags = {k: got[k] for k in ("createable", "updateable", "nillable", "filterable", "sortable")}
        assert got["type"] == doc["type"], fname
        assert flags == {
            "createable": "C" in props,
            "updateable": "U" in props,
            "nillable": "N" in props,
            "filterable": "F" in props,
            "sortable": "S" in props,
        }, fname
        assert got["referenceTo"] == doc.get("referenceTo", []), fname
        assert got["custom"] is False


@pytest.mark.parametrize("name", list(SALESFORCE_OBJECTS))
def test_fields_all_serves_every_described_field_with_its_type(
    emulator: RunningEmulator, api: requests.Session, name: str
) -> None:
    described = {f["name"]: f for f in get(emulator, api, f"sobjects/{name}/describe").json()["fields"]}
    resp = get(emulator, api, "query", q=f"SELECT FIELDS(ALL) FROM {name} LIMIT 200")
    assert resp.status_code == 200
    records = resp.json()["records"]
    assert records
    problems = []
    for rec in records:
        assert list(rec)[1:] == list(described), name  # attributes, then every field in describe order
        for fname, f in described.items():
            value = rec[fname]
            if value is None:
                if not f["nillable"] and fname != "IsDeleted":
                    problems.append(f"{rec['Id']}.{fname}: null, but not nillable")
                continue
            problem = type_problem(f["type"], value)
            if problem:
                problems.append(f"{rec['Id']}.{fname}: {problem}")
    assert problems == []


def test_explicit_selects_of_unstored_fields_and_their_derivations(
    emulator: RunningEmulator, api: requests.Session
) -> None:
    q = "SELECT Id, StageName, Amount, Probability, ExpectedRevenue, ForecastCategoryName, CloseDate, FiscalYear "
    opps = get(emulator, api, "queryAll", q=q + "FROM Opportunity").json()["records"]
    assert opps
    for o in opps:
        if o["StageName"] == "Closed Won":
            assert (o["Probability"], o["ForecastCategoryName"]) == (100.0, "Closed")
        if o["StageName"] == "Closed Lost":
            assert o["Probability"] == 0.0
        if o["Amount"] is not None:
            assert o["ExpectedRevenue"] == pytest.approx(o["Amount"] * o["Probability"] / 100)
        assert o["FiscalYear"] == int(o["CloseDate"][:4])
    # Filtering and sorting on a derived field runs as on a stored one.
    won = get(emulator, api, "queryAll", q="SELECT Id FROM Opportunity WHERE Probability = 100 ORDER BY Fiscal")
    assert {r["Id"] for r in won.json()["records"]} == {o["Id"] for o in opps if o["StageName"] == "Closed Won"}

    tasks = get(emulator, api, "query", q="SELECT Id, Status, IsClosed, WhatId, AccountId FROM Task").json()
    assert tasks["records"]
    for t in tasks["records"]:
        assert t["IsClosed"] == (t["Status"] == "Completed")
        assert t["AccountId"] == (t["WhatId"] if (t["WhatId"] or "").startswith("001") else None)

    accounts = get(emulator, api, "query", q="SELECT BillingCountry, BillingAddress, Phone FROM Account").json()
    for a in accounts["records"]:
        assert a["Phone"] is None
        assert (a["BillingAddress"] or {}).get("country") == a["BillingCountry"]
    # Documented fields nobody set are null for every record.
    nulls = get(emulator, api, "query", q="SELECT COUNT() FROM Account WHERE Phone = null").json()
    assert nulls["totalSize"] == accounts["totalSize"]


@pytest.mark.parametrize(
    ("soql", "needle"),
    [
        ("SELECT Id, Shoe_Size__c FROM Contact", "No such column 'Shoe_Size__c' on entity 'Contact'"),
        ("SELECT Id FROM Account WHERE Phone2 = null", "No such column 'Phone2' on entity 'Account'"),
        ("SELECT Id FROM Account WHERE BillingAddress = null", "field 'BillingAddress' can not be filtered"),
        ("SELECT Id FROM Contact ORDER BY MailingAddress", "field 'MailingAddress' can not be sorted"),
    ],
)
def test_a_field_salesforce_does_not_have_answers_invalid_field(
    emulator: RunningEmulator, api: requests.Session, soql: str, needle: str
) -> None:
    resp = get(emulator, api, "query", q=soql)
    assert resp.status_code == 400
    body = resp.json()
    assert isinstance(body, list) and len(body) == 1 and set(body[0]) == {"message", "errorCode"}
    assert body[0]["errorCode"] == "INVALID_FIELD"
    assert needle in body[0]["message"]
