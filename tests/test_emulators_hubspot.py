"""The HubSpot emulator through HubSpot's official client (hubspot-api-client), unmodified, and raw
HTTP for the limits; plus its conformance to the published facts in api_facts/hubspot.json."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.objects import (
    ApiException,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from urllib3.util.retry import Retry

from sandbox.emulators import faults, hubspot
from sandbox.emulators.credentials import HUBSPOT
from sandbox.schema import SF_ACCOUNT, SF_CONTACT, SF_OPPORTUNITY, SF_TASK, SF_USER
from tests.conftest import RunningEmulator, copy_world, start_emulator, stop_emulator

HEADERS = {"Authorization": f"Bearer {HUBSPOT['access_token']}"}


@pytest.fixture(scope="module")
def portal(emulator_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    """A private server: these tests write tasks, which no other test's server should see."""
    em = start_emulator(copy_world(emulator_world, tmp_path_factory.mktemp("hubspot") / "world"))
    yield em
    stop_emulator(em)


@pytest.fixture(scope="module")
def client(portal: RunningEmulator) -> HubSpot:
    # Search allows 5 requests a second; a client paging fast retries its 429s, as a real integration must.
    retry = Retry(total=8, backoff_factor=0.3, status_forcelist=(429,), allowed_methods=None)
    return HubSpot(access_token=HUBSPOT["access_token"], host=portal.http, retry=retry)


def rows(em: RunningEmulator, obj: Any, where: str = "", params: tuple = ()) -> list[dict[str, Any]]:
    store = em.store()
    try:
        return store.select(obj, where, params)
    finally:
        store.close()


def search_raw(em: RunningEmulator, object_type: str, body: dict[str, Any], retry: bool = True) -> requests.Response:
    """One search; with `retry`, waits out the secondly limit as a client must."""
    for _ in range(40):
        resp = requests.post(f"{em.http}/crm/v3/objects/{object_type}/search", json=body, headers=HEADERS, timeout=10)
        if resp.status_code != 429 or not retry:
            return resp
        time.sleep(0.25)
    return resp


def test_companies_pages_with_chosen_properties_equal_the_accounts(portal: RunningEmulator, client: HubSpot) -> None:
    seen: list[Any] = []
    after = None
    pages = 0
    while True:
        page = client.crm.companies.basic_api.get_page(
            limit=100, after=after, properties=["name", "domain", "hubspot_owner_id", "product_workspace_id"]
        )
        seen += page.results
        pages += 1
        if page.paging is None:
            break
        after = page.paging.next.after
    accounts = {hubspot.hs_id(a["Id"]): a for a in rows(portal, SF_ACCOUNT, '"IsDeleted" = 0')}
    assert pages > 1
    assert sorted(int(c.id) for c in seen) == sorted(accounts)
    for company in seen:
        account = accounts[int(company.id)]
        assert set(company.properties) == {"name", "domain", "hubspot_owner_id", "product_workspace_id"}
        assert company.properties["name"] == account["Name"]
        assert company.properties["hubspot_owner_id"] == str(hubspot.hs_id(account["OwnerId"]))
        assert company.properties["product_workspace_id"] == account["Product_Account_Id__c"]
        assert company.updated_at is not None and company.archived is False
        host = (account["Website"] or "").split("//")[-1].removeprefix("www.").rstrip("/").lower()
        assert company.properties["domain"] == (host or None)


def test_archived_lists_only_the_deleted_records(portal: RunningEmulator, client: HubSpot) -> None:
    deleted = {hubspot.hs_id(c["Id"]) for c in rows(portal, SF_CONTACT, '"IsDeleted" = 1')}
    assert deleted, "the fixture world has deleted contacts"
    found: list[Any] = []
    after = None
    while True:
        page = client.crm.contacts.basic_api.get_page(limit=100, after=after, archived=True)
        found += page.results
        if page.paging is None:
            break
        after = page.paging.next.after
    assert {int(c.id) for c in found} == deleted
    assert all(c.archived and c.archived_at is not None for c in found)


def test_search_on_lastmodifieddate_returns_every_change_since(portal: RunningEmulator, client: HubSpot) -> None:
    contacts = sorted(rows(portal, SF_CONTACT, '"IsDeleted" = 0'), key=lambda c: (c["SystemModstamp"], c["Id"]))
    since = contacts[len(contacts) // 2]["SystemModstamp"]
    expected = [hubspot.hs_id(c["Id"]) for c in contacts if c["SystemModstamp"] >= since]
    request = PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=[Filter(property_name="lastmodifieddate", operator="GTE", value=since)])],
        sorts=["lastmodifieddate"],
        properties=["email", "lastmodifieddate"],
        limit=200,
    )
    found: list[Any] = []
    while True:
        page = client.crm.contacts.search_api.do_search(public_object_search_request=request)
        assert page.total == len(expected)
        found += page.results
        if page.paging is None:
            break
        request.after = page.paging.next.after
    assert [int(c.id) for c in found] == expected
    stamps = [c.properties["lastmodifieddate"] for c in found]
    assert stamps == sorted(stamps) and stamps[0] >= since


def test_search_limits_are_hubspots(portal: RunningEmulator) -> None:
    too_big = search_raw(portal, "companies", {"limit": 201})
    assert too_big.status_code == 400 and too_big.json()["category"] == "VALIDATION_ERROR"
    # A query reaches at most 10,000 results, however it is paged.
    past = search_raw(portal, "contacts", {"limit": 200, "after": str(10_000 - 100)})
    assert past.status_code == 400 and past.json()["category"] == "VALIDATION_ERROR"
    last = search_raw(portal, "contacts", {"limit": 100, "after": str(10_000 - 100)})
    assert last.status_code == 200 and "paging" not in last.json()
    unknown = search_raw(portal, "companies", {"filterGroups": [{"filters": [{"propertyName": "nope", "value": "x"}]}]})
    assert unknown.status_code == 400


def test_a_burst_of_searches_meets_the_secondly_limit_in_hubspots_shape(portal: RunningEmulator) -> None:
    time.sleep(1.1)  # start from a quiet second: the limit counts the searches of the last second
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: search_raw(portal, "deals", {"limit": 1}, retry=False), range(12)))
    limited = [a for a in answers if a.status_code == 429]
    assert limited and len(limited) < 12
    body = limited[0].json()
    assert body["status"] == "error" and body["errorType"] == "RATE_LIMIT" and body["policyName"] == "SECONDLY"


def test_the_search_throttle_admits_five_a_second() -> None:
    now = [100.0]
    throttle = hubspot.SearchThrottle(hubspot.LIMITS["search_requests_per_second"], clock=lambda: now[0])
    assert [throttle.admit() for _ in range(6)] == [True] * 5 + [False]
    now[0] += 0.5
    assert throttle.admit() is False
    now[0] += 0.5
    assert throttle.admit() is True


def test_batch_upsert_by_a_unique_property_creates_once_and_caps_at_100(
    portal: RunningEmulator, client: HubSpot
) -> None:
    account = rows(portal, SF_ACCOUNT, '"IsDeleted" = 0')[0]
    owner = str(hubspot.hs_id(account["OwnerId"]))
    before = len(rows(portal, SF_TASK))

    def upsert() -> list[Any]:
        inputs = [
            SimplePublicObjectBatchInputUpsert(
                id_property="copilot_alert_id",
                id=f"alert-{n}",
                properties={"hs_task_subject": f"Risk {n}", "hs_task_priority": "HIGH", "hubspot_owner_id": owner},
            )
            for n in (1, 2)
        ]
        batch = BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)
        return client.crm.objects.batch_api.upsert(
            "tasks", batch_input_simple_public_object_batch_input_upsert=batch
        ).results

    first, second = upsert(), upsert()
    assert [r.new for r in first] == [True, True] and [r.new for r in second] == [False, False]
    assert sorted(r.id for r in first) == sorted(r.id for r in second)
    tasks = rows(portal, SF_TASK)
    assert len(tasks) == before + 2
    written = {t["Copilot_Alert_Id__c"]: t for t in tasks if t["Copilot_Alert_Id__c"] in ("alert-1", "alert-2")}
    assert {t["Priority"] for t in written.values()} == {"High"} and {t["OwnerId"] for t in written.values()} == {
        account["OwnerId"]
    }

    too_many = BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[
            SimplePublicObjectBatchInputUpsert(id_property="copilot_alert_id", id=f"x-{n}", properties={})
            for n in range(101)
        ]
    )
    with pytest.raises(ApiException) as refused:
        client.crm.objects.batch_api.upsert("tasks", batch_input_simple_public_object_batch_input_upsert=too_many)
    assert refused.value.status == 400
    assert len(rows(portal, SF_TASK)) == before + 2

    bad = BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[SimplePublicObjectBatchInputUpsert(id_property="copilot_alert_id", id="y", properties={"nope": "1"})]
    )
    with pytest.raises(ApiException) as unknown:
        client.crm.objects.batch_api.upsert("tasks", batch_input_simple_public_object_batch_input_upsert=bad)
    assert unknown.value.status == 400 and "PROPERTY_DOESNT_EXIST" in unknown.value.body


def test_batch_read_returns_the_asked_records_and_caps_at_100(portal: RunningEmulator, client: HubSpot) -> None:
    deals = rows(portal, SF_OPPORTUNITY, '"IsDeleted" = 0')[:3]
    ids = [str(hubspot.hs_id(d["Id"])) for d in deals]
    read = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=i) for i in ids], properties=["dealname", "amount"], properties_with_history=[]
    )
    result = client.crm.objects.batch_api.read("deals", batch_read_input_simple_public_object_id=read)
    by_id = {r.id: r for r in result.results}
    assert set(by_id) == set(ids)
    for deal in deals:
        assert by_id[str(hubspot.hs_id(deal["Id"]))].properties["dealname"] == deal["Name"]
    too_many = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=str(n)) for n in range(1, 102)], properties=[], properties_with_history=[]
    )
    with pytest.raises(ApiException) as refused:
        client.crm.objects.batch_api.read("deals", batch_read_input_simple_public_object_id=too_many)
    assert refused.value.status == 400


def test_owners_are_the_active_users_with_their_teams(portal: RunningEmulator, client: HubSpot) -> None:
    owners = client.crm.owners.owners_api.get_page(limit=500).results
    users = [u for u in rows(portal, SF_USER, '"IsActive" = 1') if hubspot.hs_id(u["Id"]) != 0]
    assert {int(o.id) for o in owners} == {hubspot.hs_id(u["Id"]) for u in users}
    by_id = {hubspot.hs_id(u["Id"]): u for u in users}
    for owner in owners:
        user = by_id[int(owner.id)]
        assert owner.email == user["Email"]
        assert [t.name for t in owner.teams] == ([user["Department"]] if user["Department"] else [])


def test_associations_follow_the_account_references(portal: RunningEmulator, client: HubSpot) -> None:
    deals = rows(portal, SF_OPPORTUNITY, '"IsDeleted" = 0 AND "AccountId" IS NOT NULL')[:20]
    request = BatchInputPublicFetchAssociationsBatchRequest(
        inputs=[PublicFetchAssociationsBatchRequest(id=str(hubspot.hs_id(d["Id"]))) for d in deals]
    )
    result = client.crm.associations.v4.batch_api.get_page("deals", "companies", request)
    found = {r._from.id: [int(t.to_object_id) for t in r.to] for r in result.results}
    assert found == {str(hubspot.hs_id(d["Id"])): [hubspot.hs_id(d["AccountId"])] for d in deals}
    type_ids = {t.type_id for r in result.results for t in r.to[0].association_types}
    assert type_ids == {341, 5}

    account = deals[0]["AccountId"]
    contacts = rows(portal, SF_CONTACT, '"IsDeleted" = 0 AND "AccountId" = ?', (account,))
    page = client.crm.associations.v4.basic_api.get_page(
        "companies", str(hubspot.hs_id(account)), "contacts", limit=500
    )
    assert sorted(int(a.to_object_id) for a in page.results) == sorted(hubspot.hs_id(c["Id"]) for c in contacts)


def test_a_wrong_token_is_refused_in_hubspots_shape(portal: RunningEmulator) -> None:
    resp = requests.get(f"{portal.http}/crm/v3/objects/companies", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert resp.status_code == 401 and resp.json()["category"] == "INVALID_AUTHENTICATION"


# --- conformance to the published facts ---------------------------------------------------------


def test_every_served_property_is_a_published_one_of_the_same_type() -> None:
    facts = hubspot.FACTS["objects"]
    assert set(hubspot.OBJECTS) == set(facts) == {"companies", "contacts", "deals", "tasks"}
    for name, obj in hubspot.OBJECTS.items():
        published = facts[name]["properties"]
        served = {p.name: p for p in obj.props}
        assert set(served) == set(published), name
        for prop_name, prop in served.items():
            assert prop.type == published[prop_name]["type"], (name, prop_name)
            assert prop.read_only == bool(published[prop_name].get("readOnly")), (name, prop_name)
            options = published[prop_name].get("options")
            if options and prop.values:
                assert set(prop.values.values()) <= set(options), (name, prop_name)
        assert set(facts[name]["default_properties"]) <= set(served)
        assert obj.modified in served and obj.created in served
    for (source, target), _ in hubspot.ASSOCIATIONS.items():
        assert hubspot.FACTS["associations"][f"{source}->{target}"]


def test_served_limits_are_the_published_ones(portal: RunningEmulator) -> None:
    limits = hubspot.FACTS["limits"]
    assert (limits["list_page_max"], limits["search_page_max"], limits["batch_inputs_max"]) == (100, 200, 100)
    assert (limits["search_results_per_query"], limits["search_requests_per_second"]) == (10_000, 5)
    over = requests.get(
        f"{portal.http}/crm/v3/objects/companies",
        params={"limit": limits["list_page_max"] + 1},
        headers=HEADERS,
        timeout=10,
    )
    assert over.status_code == 400
    full = requests.get(
        f"{portal.http}/crm/v3/objects/companies",
        params={"limit": limits["list_page_max"]},
        headers=HEADERS,
        timeout=10,
    )
    assert full.status_code == 200 and len(full.json()["results"]) == limits["list_page_max"]


def test_a_rate_limit_fault_answers_in_hubspots_shape_then_stops(portal: RunningEmulator) -> None:
    portal.admin_call(
        "POST", "faults", json={"system": "hubspot", "endpoint": "objects.list", "kind": "rate_limit", "count": 1}
    )
    try:
        url = f"{portal.http}/crm/v3/objects/deals"
        first = requests.get(url, headers=HEADERS, timeout=10)
        second = requests.get(url, headers=HEADERS, timeout=10)
    finally:
        portal.admin_call("DELETE", "faults")
    assert first.status_code == 429 and first.json()["errorType"] == "RATE_LIMIT"
    assert second.status_code == 200


def test_record_faults_are_refused_for_hubspot() -> None:
    with pytest.raises(faults.FaultError):
        faults.validate({"system": "hubspot", "kind": "malformed"})


def test_batch_update_by_id_and_default_task_company_associations(portal: RunningEmulator, client: HubSpot) -> None:
    """What the write-back calls: company properties updated by id (a missing id refuses the batch,
    as HubSpot does), and a task's default association with a company, idempotent."""
    from hubspot.crm.associations.v4 import (
        BatchInputPublicDefaultAssociationMultiPost,
        PublicDefaultAssociationMultiPost,
        PublicObjectId,
    )
    from hubspot.crm.companies import ApiException as CompaniesApiException
    from hubspot.crm.objects import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectBatchInput

    accounts = rows(portal, SF_ACCOUNT, '"IsDeleted" = 0 ORDER BY "Id" LIMIT 2')
    ids = [str(hubspot.hs_id(a["Id"])) for a in accounts]
    update = BatchInputSimplePublicObjectBatchInput(
        inputs=[
            SimplePublicObjectBatchInput(id=i, properties={"copilot_health_score": str(50 + n)})
            for n, i in enumerate(ids)
        ]
    )
    done = client.crm.companies.batch_api.update(batch_input_simple_public_object_batch_input=update)
    assert sorted(r.id for r in done.results) == sorted(ids)
    assert [
        a["Copilot_Health_Score__c"]
        for a in rows(portal, SF_ACCOUNT, '"Id" IN (?, ?) ORDER BY "Id"', tuple(a["Id"] for a in accounts))
    ] == [50, 51]
    missing = BatchInputSimplePublicObjectBatchInput(
        inputs=[SimplePublicObjectBatchInput(id="999999999", properties={"copilot_health_score": "1"})]
    )
    with pytest.raises(CompaniesApiException) as refused:
        client.crm.companies.batch_api.update(batch_input_simple_public_object_batch_input=missing)
    assert refused.value.status == 404

    task = rows(portal, SF_TASK, '"IsDeleted" = 0 ORDER BY "Id" LIMIT 1')[0]
    target = next(a for a in accounts if a["Id"] != task["WhatId"])
    pair = PublicDefaultAssociationMultiPost(
        _from=PublicObjectId(id=str(hubspot.hs_id(task["Id"]))), to=PublicObjectId(id=str(hubspot.hs_id(target["Id"])))
    )
    body = BatchInputPublicDefaultAssociationMultiPost(inputs=[pair])
    for _ in range(2):
        made = client.crm.associations.v4.batch_api.create_default(
            "tasks", "companies", batch_input_public_default_association_multi_post=body
        )
        assert [(r.association_spec.association_type_id, r.to.id) for r in made.results] == [
            (192, str(hubspot.hs_id(target["Id"])))
        ]
    assert rows(portal, SF_TASK, '"Id" = ?', (task["Id"],))[0]["WhatId"] == target["Id"]
