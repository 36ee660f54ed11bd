"""The Salesforce emulator through simple-salesforce, unmodified, and raw HTTP where the client hides detail."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceMalformedRequest

from sandbox.emulators.credentials import SALESFORCE
from sandbox.schema import BOOLEAN, DATETIME, SALESFORCE_OBJECTS, SF_ACCOUNT, SF_CONTACT, SF_TASK, ObjectSchema
from tests.conftest import RunningEmulator

VERSION = "59.0"  # simple-salesforce's default


@pytest.fixture(scope="module")
def sf(emulator: RunningEmulator) -> Salesforce:
    body = emulator.salesforce_token().json()
    return Salesforce(
        session_id=body["access_token"], instance_url=body["instance_url"], session=emulator.https_session()
    )


def api_form(obj: ObjectSchema, row: dict[str, Any]) -> dict[str, Any]:
    """A store row as the REST API serves it (the test's own oracle)."""
    out = {}
    for f in obj.fields:
        value = row[f.name]
        if f.type == DATETIME and value is not None:
            value = value[:-1] + "+0000"
        elif f.type == BOOLEAN:
            value = bool(value)
        out[f.name] = value
    return out


def without_attributes(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "attributes"} for r in records]


def store_rows(em: RunningEmulator, obj: ObjectSchema, where: str = "", params: tuple = ()) -> list[dict[str, Any]]:
    store = em.store()
    try:
        return [api_form(obj, r) for r in store.select(obj, where, params)]
    finally:
        store.close()


# --- authentication ----------------------------------------------------------------------------


def test_token_flows_return_a_usable_signed_token(emulator: RunningEmulator) -> None:
    for form in (
        {},
        {
            "grant_type": "password",
            "username": SALESFORCE["username"],
            "password": SALESFORCE["password"] + SALESFORCE["security_token"],
        },
    ):
        body = emulator.salesforce_token(**form).json()
        assert body["instance_url"] == emulator.https
        assert body["token_type"] == "Bearer"
        expected = base64.b64encode(
            hmac.new(
                SALESFORCE["client_secret"].encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256
            ).digest()
        ).decode()
        assert body["signature"] == expected
    # The instance URL is the one the client used, also on plain HTTP.
    assert emulator.salesforce_token(emulator.http).json()["instance_url"] == emulator.http


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"client_id": "someone-else"}, "invalid_client_id"),
        ({"client_secret": "wrong"}, "invalid_client"),
        (
            {"grant_type": "password", "username": SALESFORCE["username"], "password": "sandbox-password"},
            "invalid_grant",
        ),
        (
            {"grant_type": "password", "username": "nobody@x", "password": "sandbox-passwordSANDBOXTOKEN"},
            "invalid_grant",
        ),
        ({"grant_type": "authorization_code"}, "unsupported_grant_type"),
    ],
)
def test_bad_credentials_get_salesforce_oauth_errors(emulator: RunningEmulator, form: dict, error: str) -> None:
    resp = emulator.salesforce_token(**form)
    assert resp.status_code == 400
    assert resp.json()["error"] == error and resp.json()["error_description"]


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Bearer 00D5g0000000000EAA!abc.def"])
def test_api_calls_need_a_valid_session(emulator: RunningEmulator, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    resp = requests.get(
        f"{emulator.http}/services/data/v{VERSION}/query", params={"q": "SELECT Id FROM Account"}, headers=headers
    )
    assert resp.status_code == 401
    assert resp.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    bad = Salesforce(session_id="expired", instance_url=emulator.https, session=emulator.https_session())
    with pytest.raises(SalesforceExpiredSession):
        bad.query("SELECT Id FROM Account")


def test_simple_salesforce_password_login_against_the_emulator(emulator: RunningEmulator) -> None:
    # simple-salesforce builds https://{domain}.salesforce.com/services/oauth2/token; a domain ending
    # in '#' turns the rest into a URL fragment, so the unmodified client posts to the emulator.
    sf = Salesforce(
        username=SALESFORCE["username"],
        password=SALESFORCE["password"] + SALESFORCE["security_token"],
        consumer_key=SALESFORCE["client_id"],
        consumer_secret=SALESFORCE["client_secret"],
        domain=f"127.0.0.1:{emulator.ports[1]}/services/oauth2/token#",
        session=emulator.https_session(),
    )
    assert sf.base_url == f"{emulator.https}/services/data/v{VERSION}/"
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == len(store_rows(emulator, SALESFORCE_OBJECTS["User"]))


# --- reading -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["User", "Account", "Contact", "Opportunity", "Task"])
def test_query_all_returns_the_store_record_for_record(emulator: RunningEmulator, sf: Salesforce, name: str) -> None:
    obj = SALESFORCE_OBJECTS[name]
    result = sf.query_all(f"SELECT {', '.join(obj.field_names)} FROM {name}")
    expected = store_rows(emulator, obj, "IsDeleted = 0")
    assert result["totalSize"] == len(expected)
    assert sorted(without_attributes(result["records"]), key=lambda r: r["Id"]) == sorted(
        expected, key=lambda r: r["Id"]
    )
    first = result["records"][0]
    assert first["attributes"] == {"type": name, "url": f"/services/data/v{VERSION}/sobjects/{name}/{first['Id']}"}


def test_query_all_with_deleted_rows(emulator: RunningEmulator, sf: Salesforce) -> None:
    result = sf.query_all("SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true", include_deleted=True)
    deleted = store_rows(emulator, SF_CONTACT, "IsDeleted = 1")
    assert sorted(r["Id"] for r in result["records"]) == sorted(r["Id"] for r in deleted)
    assert len(deleted) >= 10
    assert sf.query("SELECT COUNT() FROM Contact WHERE IsDeleted = true")["totalSize"] == 0


def test_pages_of_2000_with_next_records_url(emulator: RunningEmulator, sf: Salesforce) -> None:
    first = sf.query("SELECT Id, Name FROM Contact ORDER BY Id")
    total = len(store_rows(emulator, SF_CONTACT, "IsDeleted = 0"))
    assert total > 2000
    assert (first["totalSize"], first["done"], len(first["records"])) == (total, False, 2000)
    assert first["nextRecordsUrl"].startswith(f"/services/data/v{VERSION}/query/01g")
    assert first["nextRecordsUrl"].endswith("-2000")
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert rest["done"] is True and "nextRecordsUrl" not in rest
    all_ids = [r["Id"] for r in first["records"] + rest["records"]]
    assert all_ids == sorted(r["Id"] for r in store_rows(emulator, SF_CONTACT, "IsDeleted = 0"))
    # The batch size a client asks for, within Salesforce's 200..2000.
    small = sf.query("SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=500"})
    assert len(small["records"]) == 500 and small["nextRecordsUrl"].endswith("-500")
    resp = emulator.https_session().get(
        f"{emulator.https}/services/data/v{VERSION}/query/01gBOGUSLOCATOR0AAA-2000", headers=sf.headers
    )
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_incremental_query_on_systemmodstamp(emulator: RunningEmulator, sf: Salesforce) -> None:
    rows = sorted(store_rows(emulator, SF_ACCOUNT, "IsDeleted = 0"), key=lambda r: (r["SystemModstamp"], r["Id"]))
    cutoff = rows[len(rows) // 2]["SystemModstamp"]
    after = sf.query_all(
        f"SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp > {cutoff} ORDER BY SystemModstamp, Id"
    )["records"]
    assert [r["Id"] for r in after] == [r["Id"] for r in rows if r["SystemModstamp"] > cutoff]
    from_cutoff = sf.query(
        f"SELECT Id FROM Account WHERE SystemModstamp >= {cutoff} ORDER BY SystemModstamp, Id LIMIT 7"
    )["records"]
    assert [r["Id"] for r in from_cutoff] == [r["Id"] for r in rows if r["SystemModstamp"] >= cutoff][:7]


def test_query_errors_are_salesforce_errors(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id, Health__c FROM Account")
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Invoice")
    assert info.value.content[0]["errorCode"] == "INVALID_TYPE"


def test_describe_matches_the_schema(emulator: RunningEmulator, sf: Salesforce) -> None:
    described = sf.Account.describe()
    # The world's fields first, then the other documented standard fields (api_facts/salesforce.json).
    names = [f["name"] for f in described["fields"]]
    assert names[: len(SF_ACCOUNT.field_names)] == SF_ACCOUNT.field_names
    assert {"BillingAddress", "Phone", "CreatedById", "ParentId"} <= set(names[len(SF_ACCOUNT.field_names) :])
    by_name = {f["name"]: f for f in described["fields"]}
    tier = by_name["Copilot_Health_Tier__c"]
    assert (tier["type"], tier["custom"], tier["updateable"], tier["restrictedPicklist"]) == (
        "picklist",
        True,
        True,
        True,
    )
    assert [p["value"] for p in tier["picklistValues"]] == ["Green", "Yellow", "Red"]
    assert by_name["Product_Account_Id__c"]["externalId"] is True
    assert by_name["Product_Account_Id__c"]["idLookup"] is True
    assert by_name["CSM__c"]["referenceTo"] == ["User"]
    assert by_name["SystemModstamp"]["updateable"] is False and by_name["SystemModstamp"]["type"] == "datetime"
    assert by_name["Name"]["nillable"] is False and by_name["Website"]["nillable"] is True
    task = {f["name"]: f for f in sf.Task.describe()["fields"]}
    assert task["Copilot_Alert_Id__c"]["externalId"] is True
    assert [p["value"] for p in task["Copilot_Outcome__c"]["picklistValues"]] == list(
        SF_TASK.field("Copilot_Outcome__c").picklist
    )
    names = [o["name"] for o in sf.describe()["sobjects"]]
    assert names == list(SALESFORCE_OBJECTS)
    versions = requests.get(f"{emulator.http}/services/data/").json()
    assert {"label": "Summer '24", "url": "/services/data/v61.0", "version": "61.0"} in versions
    unknown = emulator.https_session().get(f"{emulator.https}/services/data/v99.0/sobjects", headers=sf.headers)
    assert unknown.status_code == 404 and unknown.json()[0]["errorCode"] == "NOT_FOUND"


# --- writing -----------------------------------------------------------------------------------


def upsert_accounts(sf: Salesforce, records: list[dict[str, Any]], all_or_none: bool = False) -> list[dict[str, Any]]:
    return sf.restful(
        "composite/sobjects/Account/Product_Account_Id__c",
        method="PATCH",
        json={"allOrNone": all_or_none, "records": [{"attributes": {"type": "Account"}, **r} for r in records]},
    )


def clock(em: RunningEmulator) -> str:
    store = em.store()
    try:
        return store.now().strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    finally:
        store.close()


def test_composite_upsert_by_external_id(emulator: RunningEmulator, sf: Salesforce) -> None:
    before = {r["Product_Account_Id__c"]: r for r in store_rows(emulator, SF_ACCOUNT)}
    results = upsert_accounts(
        sf,
        [
            {
                "Product_Account_Id__c": "ws_000011",
                "Copilot_Health_Score__c": 42.5,
                "Copilot_Health_Tier__c": "Red",
                "Copilot_Scored_At__c": "2026-10-31T08:00:00Z",
            },
            {"Product_Account_Id__c": "ws_900001", "Name": "Brand New Workspace"},
        ],
    )
    assert [(r["success"], r["created"], r["errors"]) for r in results] == [(True, False, []), (True, True, [])]
    assert results[0]["id"] == before["ws_000011"]["Id"]
    after = {r["Product_Account_Id__c"]: r for r in store_rows(emulator, SF_ACCOUNT)}
    updated = after["ws_000011"]
    assert (updated["Copilot_Health_Score__c"], updated["Copilot_Health_Tier__c"]) == (42.5, "Red")
    assert updated["Copilot_Scored_At__c"] == "2026-10-31T08:00:00.000+0000"
    assert updated["Name"] == before["ws_000011"]["Name"]
    assert after["ws_900001"]["Id"] == results[1]["id"] and after["ws_900001"]["Id"].startswith("001")
    # Client writes are stamped after the sandbox clock, so an incremental reader sees them.
    assert updated["SystemModstamp"] > before["ws_000011"]["SystemModstamp"]
    assert updated["SystemModstamp"] >= clock(emulator)
    seen = sf.query_all(f"SELECT Id FROM Account WHERE SystemModstamp >= {clock(emulator)}")["records"]
    assert {results[0]["id"], results[1]["id"]} <= {r["Id"] for r in seen}
    # Running the same upsert again creates nothing.
    again = upsert_accounts(sf, [{"Product_Account_Id__c": "ws_900001", "Name": "Brand New Workspace"}])
    assert again[0]["created"] is False and again[0]["id"] == results[1]["id"]
    assert len(store_rows(emulator, SF_ACCOUNT)) == len(before) + 1


def test_later_writes_get_later_stamps(emulator: RunningEmulator, sf: Salesforce) -> None:
    stamps = []
    for score in (1.0, 2.0):
        upsert_accounts(sf, [{"Product_Account_Id__c": "ws_000012", "Copilot_Health_Score__c": score}])
        (row,) = store_rows(emulator, SF_ACCOUNT, "Product_Account_Id__c = ?", ("ws_000012",))
        stamps.append(row["SystemModstamp"])
    assert stamps[0] < stamps[1]


def test_task_upsert_by_alert_id_never_duplicates(emulator: RunningEmulator, sf: Salesforce) -> None:
    account = store_rows(emulator, SF_ACCOUNT, "Product_Account_Id__c = 'ws_000020'")[0]
    record = {
        "attributes": {"type": "Task"},
        "Copilot_Alert_Id__c": "alert-usage-drop-ws_000020",
        "WhatId": account["Id"],
        "OwnerId": account["CSM__c"],
        "Subject": "Usage dropped 40% in 30 days",
        "ActivityDate": "2026-11-07",
    }
    for _ in range(2):
        (result,) = sf.restful(
            "composite/sobjects/Task/Copilot_Alert_Id__c", method="PATCH", json={"allOrNone": True, "records": [record]}
        )
        assert result["success"] is True
    tasks = store_rows(emulator, SF_TASK, "Copilot_Alert_Id__c = ?", (record["Copilot_Alert_Id__c"],))
    assert len(tasks) == 1
    assert (tasks[0]["Status"], tasks[0]["Priority"], tasks[0]["IsDeleted"]) == ("Not Started", "Normal", False)


def test_all_or_none_rolls_back_every_record(emulator: RunningEmulator, sf: Salesforce) -> None:
    before = store_rows(emulator, SF_ACCOUNT)
    records = [
        {"Product_Account_Id__c": "ws_000030", "Copilot_Health_Tier__c": "Green"},
        {"Product_Account_Id__c": "ws_000031", "Copilot_Health_Tier__c": "Purple"},
        {"Product_Account_Id__c": "ws_900030", "Name": "Would be created"},
    ]
    results = upsert_accounts(sf, records, all_or_none=True)
    assert [r["success"] for r in results] == [False, False, False]
    assert results[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert results[1]["errors"][0]["fields"] == ["Copilot_Health_Tier__c"]
    assert {results[0]["errors"][0]["statusCode"], results[2]["errors"][0]["statusCode"]} == {
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    }
    assert store_rows(emulator, SF_ACCOUNT) == before
    partial = upsert_accounts(sf, records, all_or_none=False)
    assert [r["success"] for r in partial] == [True, False, True]
    assert len(store_rows(emulator, SF_ACCOUNT)) == len(before) + 1


def test_more_than_200_records_are_refused(emulator: RunningEmulator, sf: Salesforce) -> None:
    before = len(store_rows(emulator, SF_ACCOUNT))
    records = [{"Product_Account_Id__c": f"ws_8{i:05d}", "Name": f"Bulk {i}"} for i in range(201)]
    with pytest.raises(SalesforceMalformedRequest) as info:
        upsert_accounts(sf, records)
    assert info.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert len(store_rows(emulator, SF_ACCOUNT)) == before
    assert len(upsert_accounts(sf, records[:200])) == 200


@pytest.mark.parametrize(
    ("record", "code", "fields"),
    [
        ({"Product_Account_Id__c": "ws_000040", "Health__c": 1}, "INVALID_FIELD", []),
        (
            {"Product_Account_Id__c": "ws_000040", "SystemModstamp": "2026-01-01T00:00:00Z"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["SystemModstamp"],
        ),
        (
            {"Product_Account_Id__c": "ws_000040", "Copilot_Health_Score__c": "high"},
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            ["Copilot_Health_Score__c"],
        ),
        (
            {"Product_Account_Id__c": "ws_000040", "CSM__c": "0055g0000NOSUCHAAA"},
            "INVALID_CROSS_REFERENCE_KEY",
            ["CSM__c"],
        ),
        ({"Product_Account_Id__c": "ws_900040"}, "REQUIRED_FIELD_MISSING", ["Name"]),
        ({"Name": "No external id"}, "MISSING_ARGUMENT", ["Product_Account_Id__c"]),
    ],
)
def test_writes_are_validated_per_record(sf: Salesforce, record: dict, code: str, fields: list[str]) -> None:
    (result,) = upsert_accounts(sf, [record])
    assert result["success"] is False
    assert result["errors"][0]["statusCode"] == code
    assert result["errors"][0]["fields"] == fields


def test_sobject_rest_create_read_update_upsert_delete(emulator: RunningEmulator, sf: Salesforce) -> None:
    account = store_rows(emulator, SF_ACCOUNT, "Product_Account_Id__c = 'ws_000050'")[0]
    created = sf.Task.create({"WhatId": account["Id"], "Subject": "Call", "Copilot_Outcome__c": "False alarm"})
    assert created["success"] is True and created["id"].startswith("00T")
    task = sf.Task.get(created["id"])
    assert (task["Subject"], task["Copilot_Outcome__c"], task["Status"]) == ("Call", "False alarm", "Not Started")
    assert sf.Task.update(created["id"], {"Status": "Completed"}) == 204
    assert sf.Account.upsert("Product_Account_Id__c/ws_000050", {"Copilot_Churn_Risk__c": 12.5}) == 200
    assert sf.Account.get_by_custom_id("Product_Account_Id__c", "ws_000050")["Copilot_Churn_Risk__c"] == 12.5
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Task.create({"WhatId": account["Id"], "Copilot_Outcome__c": "Maybe"})
    assert info.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert sf.Task.delete(created["id"]) == 204
    gone = sf.query_all(f"SELECT Id, IsDeleted FROM Task WHERE Id = '{created['id']}'", include_deleted=True)
    assert gone["records"][0]["IsDeleted"] is True
    assert sf.query(f"SELECT COUNT() FROM Task WHERE Id = '{created['id']}'")["totalSize"] == 0


def test_standard_fields_through_simple_salesforce(emulator: RunningEmulator, sf: Salesforce) -> None:
    """describe, query_all and a Task's create and update with standard fields the world does not
    simulate, as an integration written against a real org uses them."""
    contact = {f["name"]: f for f in sf.Contact.describe()["fields"]}
    assert contact["MailingAddress"]["type"] == "address" and contact["MailingAddress"]["updateable"] is False
    assert contact["MobilePhone"]["type"] == "phone" and contact["MobilePhone"]["createable"] is True
    everything = sf.query_all(
        "SELECT Id, Name, NextStep, Probability, IsPrivate FROM Opportunity", include_deleted=True
    )
    opportunities = store_rows(emulator, SALESFORCE_OBJECTS["Opportunity"])
    assert everything["totalSize"] == len(opportunities) == len(everything["records"])
    assert all(r["IsPrivate"] is False and isinstance(r["Probability"], float) for r in everything["records"])

    account = store_rows(emulator, SF_ACCOUNT, "Product_Account_Id__c = 'ws_000051'")[0]
    created = sf.Task.create(
        {"WhatId": account["Id"], "Subject": "Call", "CallType": "Outbound", "CallDurationInSeconds": 300}
    )
    fields = "Subject, Status, IsClosed, CompletedDateTime, CallType, CallDurationInSeconds, AccountId"
    query = f"SELECT {fields} FROM Task WHERE Id = '{created['id']}'"
    (task,) = sf.query(query)["records"]
    assert (task["Status"], task["IsClosed"], task["CompletedDateTime"]) == ("Not Started", False, None)
    assert (task["CallType"], task["CallDurationInSeconds"], task["AccountId"]) == ("Outbound", 300, account["Id"])
    assert sf.Task.update(created["id"], {"Status": "Completed", "CallDisposition": "Left a voicemail"}) == 204
    (task,) = sf.query(query.replace("AccountId", "AccountId, CallDisposition"))["records"]
    assert (task["IsClosed"], task["CallDisposition"], task["CallType"]) == (True, "Left a voicemail", "Outbound")
    assert task["CompletedDateTime"] is not None
    # Fields Salesforce computes are not writable, and a field it does not have is refused.
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Task.update(created["id"], {"IsClosed": True})
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Task.update(created["id"], {"Mood__c": "calm"})
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id, Mood__c FROM Task")
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_collections_create_and_update_mixed_types(emulator: RunningEmulator, sf: Salesforce) -> None:
    account = store_rows(emulator, SF_ACCOUNT, "Product_Account_Id__c = 'ws_000060'")[0]
    created = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Task"}, "WhatId": account["Id"], "Subject": "Mixed 1"},
                {"attributes": {"type": "Contact"}, "AccountId": account["Id"], "LastName": "Mixed"},
                {"Subject": "no type"},
            ],
        },
    )
    assert [r["success"] for r in created] == [True, True, False]
    assert created[2]["errors"][0]["statusCode"] == "INVALID_TYPE"
    updated = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={"records": [{"attributes": {"type": "Task"}, "id": created[0]["id"], "Status": "In Progress"}]},
    )
    assert updated == [{"id": created[0]["id"], "success": True, "errors": []}]
    assert store_rows(emulator, SF_TASK, "Id = ?", (created[0]["id"],))[0]["Status"] == "In Progress"


# --- Bulk API 2.0 ------------------------------------------------------------------------------


def test_bulk2_upsert_and_insert_with_per_record_results(emulator: RunningEmulator, sf: Salesforce) -> None:
    records = [
        {"Product_Account_Id__c": "ws_000070", "Copilot_Health_Tier__c": "Yellow", "Copilot_Health_Score__c": "55.5"},
        {"Product_Account_Id__c": "ws_000071", "Copilot_Health_Tier__c": "Blue", "Copilot_Health_Score__c": "10"},
        {"Product_Account_Id__c": "ws_000072", "Copilot_Health_Tier__c": "Green", "Copilot_Health_Score__c": "#N/A"},
    ]
    (summary,) = sf.bulk2.Account.upsert(records=records, external_id_field="Product_Account_Id__c", wait=0.05)
    assert (summary["numberRecordsProcessed"], summary["numberRecordsFailed"]) == (3, 1)
    job = sf.bulk2.Account._client.get_job(summary["job_id"], False)
    assert (job["state"], job["operation"], job["object"]) == ("JobComplete", "upsert", "Account")
    ok = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_successful_records(summary["job_id"]))))
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_failed_records(summary["job_id"]))))
    assert [(r["Product_Account_Id__c"], r["sf__Created"]) for r in ok] == [
        ("ws_000070", "false"),
        ("ws_000072", "false"),
    ]
    assert failed[0]["Product_Account_Id__c"] == "ws_000071"
    assert failed[0]["sf__Error"].startswith("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:")
    rows = {r["Product_Account_Id__c"]: r for r in store_rows(emulator, SF_ACCOUNT)}
    assert (rows["ws_000070"]["Copilot_Health_Tier__c"], rows["ws_000070"]["Copilot_Health_Score__c"]) == (
        "Yellow",
        55.5,
    )
    assert rows["ws_000072"]["Copilot_Health_Score__c"] is None  # #N/A clears a field
    assert rows["ws_000071"]["Copilot_Health_Tier__c"] is None
    account_id = rows["ws_000070"]["Id"]
    (inserted,) = sf.bulk2.Task.insert(
        records=[
            {"WhatId": account_id, "Subject": f"Bulk task {i}", "Copilot_Alert_Id__c": f"bulk-{i}"} for i in range(3)
        ],
        wait=0.05,
    )
    assert (inserted["numberRecordsProcessed"], inserted["numberRecordsFailed"]) == (3, 0)
    assert len(store_rows(emulator, SF_TASK, "Copilot_Alert_Id__c LIKE 'bulk-%'")) == 3


def test_bulk_job_with_an_unknown_column_fails_as_a_whole(emulator: RunningEmulator, sf: Salesforce) -> None:
    http = emulator.https_session()
    base = f"{emulator.https}/services/data/v{VERSION}/jobs/ingest"
    headers = {**sf.headers, "Content-Type": "application/json"}
    job = http.post(
        base, json={"object": "Account", "operation": "update", "contentType": "CSV"}, headers=headers
    ).json()
    assert job["state"] == "Open"
    upload = http.put(
        f"{base}/{job['id']}/batches", data=b"Id,Nonsense__c\n001x,1\n", headers={**headers, "Content-Type": "text/csv"}
    )
    assert upload.status_code == 201
    closed = http.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=headers).json()
    assert closed["state"] == "UploadComplete"
    info = http.get(f"{base}/{job['id']}", headers=headers).json()
    assert info["state"] == "Failed" and "Nonsense__c" in info["errorMessage"]
    assert http.delete(f"{base}/{job['id']}", headers=headers).status_code == 204
    assert http.get(f"{base}/{job['id']}", headers=headers).status_code == 404


def test_admin_view_shows_a_record_as_stored_after_an_update(sf: Salesforce, emulator: RunningEmulator) -> None:
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    sf.Account.update(account, {"Copilot_Health_Score__c": 42.5, "Copilot_Health_Tier__c": "Yellow"})
    shown = emulator.admin_call("GET", f"salesforce/Account/{account}")
    assert (shown["Id"], shown["Copilot_Health_Score__c"], shown["Copilot_Health_Tier__c"]) == (account, 42.5, "Yellow")
    missing = emulator.admin.get(f"{emulator.http}/__admin/salesforce/Account/001000000000000AAA", timeout=10)
    assert missing.status_code == 404 and "no Account" in missing.json()["error"]
