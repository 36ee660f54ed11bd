"""The SOQL compiler, run against the emulators' fixture world without a server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.emulators import salesforce_query
from sandbox.emulators.soql import SoqlError, compile_query, datetime_literal, object_name
from sandbox.schema import SALESFORCE_OBJECTS, SF_ACCOUNT, SF_CONTACT
from sandbox.store import Store


@pytest.fixture(scope="module")
def store(emulator_world: Path) -> Iterator[Store]:
    s = Store.open(emulator_world / "world.sqlite")
    yield s
    s.close()


def ids(store: Store, soql: str, include_deleted: bool = False) -> list[str]:
    query = compile_query(soql, SALESFORCE_OBJECTS)
    rowids = salesforce_query.run(store, query, include_deleted)
    assert isinstance(rowids, list)
    return [r["Id"] for r in salesforce_query.fetch_records(store, query.obj, ["Id"], rowids, "61.0")]


def test_where_and_or_not_with_parentheses(store: Store) -> None:
    got = ids(
        store,
        "SELECT Id FROM Contact WHERE (Is_Champion__c = true OR Left_Company__c = true) "
        "AND NOT (Title = null) ORDER BY Id",
    )
    expected = [
        r["Id"]
        for r in store.select(
            SF_CONTACT, "IsDeleted = 0 AND (Is_Champion__c = 1 OR Left_Company__c = 1) AND Title IS NOT NULL"
        )
    ]
    assert got == sorted(expected)
    assert got


def test_comparisons_on_numbers_strings_like_and_in(store: Store) -> None:
    rows = store.select(SF_ACCOUNT, "IsDeleted = 0")
    assert ids(store, "SELECT Id FROM Account WHERE NumberOfEmployees >= 2500 ORDER BY Id") == sorted(
        r["Id"] for r in rows if r["NumberOfEmployees"] >= 2500
    )
    # String comparison ignores case, as in Salesforce; LIKE uses % and _.
    assert ids(store, "SELECT Id FROM Account WHERE BillingCountry = 'de' ORDER BY Id") == sorted(
        r["Id"] for r in rows if r["BillingCountry"] == "DE"
    )
    assert ids(store, "SELECT Id FROM Account WHERE Name LIKE 'account 001_ %' ORDER BY Id") == sorted(
        r["Id"] for r in rows if r["Name"].startswith("Account 001")
    )
    assert ids(store, "SELECT Id FROM Account WHERE Segment__c IN ('SMB', 'Enterprise') ORDER BY Id") == sorted(
        r["Id"] for r in rows if r["Segment__c"] in ("SMB", "Enterprise")
    )
    # != and NOT IN match nulls too.
    assert ids(store, "SELECT Id FROM Account WHERE Industry NOT IN ('Software') ORDER BY Id") == sorted(
        r["Id"] for r in rows if r["Industry"] != "Software"
    )
    assert ids(store, "SELECT Id FROM Account WHERE Industry != 'Retail' ORDER BY Id") == sorted(
        r["Id"] for r in rows if r["Industry"] != "Retail"
    )


def test_datetime_literals_in_every_form_compare_on_utc(store: Store) -> None:
    rows = store.select(SF_ACCOUNT, "IsDeleted = 0")
    expected = sorted(r["Id"] for r in rows if r["SystemModstamp"] > "2026-05-01T00:00:00.000Z")
    for literal in ("2026-05-01T00:00:00Z", "2026-05-01T00:00:00.000+0000", "2026-05-01T02:00:00+02:00"):
        assert ids(store, f"SELECT Id FROM Account WHERE SystemModstamp > {literal} ORDER BY Id") == expected
    assert datetime_literal("2026-05-01T02:00:00.5+02:00") == "2026-05-01T00:00:00.500Z"
    on_or_after = ids(store, "SELECT Id FROM Account WHERE SystemModstamp >= 2026-05-01T00:00:00Z ORDER BY Id")
    assert set(expected) <= set(on_or_after)
    dated = ids(store, "SELECT Id FROM Account WHERE Contract_End_Date__c < 2026-06-01 ORDER BY Id")
    assert dated == sorted(r["Id"] for r in rows if r["Contract_End_Date__c"] < "2026-06-01")


def test_order_by_several_fields_limit_offset_and_nulls(store: Store) -> None:
    rows = sorted(store.select(SF_ACCOUNT, "IsDeleted = 0"), key=lambda r: (r["SystemModstamp"], r["Id"]), reverse=True)
    got = ids(store, "SELECT Id FROM Account ORDER BY SystemModstamp DESC, Id DESC LIMIT 5 OFFSET 3")
    assert got == [r["Id"] for r in rows[3:8]]
    nulls_last = ids(store, "SELECT Id FROM Account ORDER BY Industry ASC NULLS LAST, Id")
    industries = {r["Id"]: r["Industry"] for r in rows}
    assert industries[nulls_last[-1]] is None and industries[nulls_last[0]] is not None


def test_query_all_includes_deleted(store: Store) -> None:
    assert len(ids(store, "SELECT Id FROM Contact")) == store.count(SF_CONTACT, "IsDeleted = 0")
    assert len(ids(store, "SELECT Id FROM Contact", include_deleted=True)) == store.count(SF_CONTACT)


def test_counts(store: Store) -> None:
    query = compile_query("SELECT COUNT() FROM Contact WHERE Is_Champion__c = true", SALESFORCE_OBJECTS)
    assert salesforce_query.run(store, query, False) == store.count(SF_CONTACT, "IsDeleted = 0 AND Is_Champion__c = 1")
    query = compile_query("SELECT COUNT(Title) cnt FROM Contact", SALESFORCE_OBJECTS)
    assert query.aggregate_alias == "cnt"
    assert salesforce_query.run(store, query, False) == store.count(SF_CONTACT, "IsDeleted = 0 AND Title IS NOT NULL")


def test_fields_function_and_canonical_names() -> None:
    query = compile_query("select id, NAME, fields(custom) from account limit 10", SALESFORCE_OBJECTS)
    assert query.fields[:2] == ["Id", "Name"]
    assert "Copilot_Health_Tier__c" in query.fields and "CreatedDate" not in query.fields
    assert object_name("SELECT Id\nFROM  Task WHERE x = 1") == "Task"


@pytest.mark.parametrize(
    ("soql", "code", "fragment"),
    [
        ("SELECT Id, Nope__c FROM Account", "INVALID_FIELD", "No such column 'Nope__c' on entity 'Account'"),
        ("SELECT Id FROM Lead", "INVALID_TYPE", "sObject type 'Lead' is not supported"),
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY", "unexpected token"),
        ("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", "MALFORMED_QUERY", "OR"),
        ("SELECT Id FROM Account WHERE SystemModstamp > '2026-01-01T00:00:00Z'", "INVALID_FIELD", "dateTime"),
        ("SELECT Id FROM Account WHERE SystemModstamp > 2026-01-01", "INVALID_FIELD", "dateTime"),
        ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD", "enclosed in quotes"),
        ("SELECT Id FROM Account WHERE ARR__c > '5'", "INVALID_FIELD", "should not be enclosed"),
        ("SELECT Id FROM Account OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "2000"),
        ("SELECT Id, Id FROM Account", "MALFORMED_QUERY", "duplicate field selected: Id"),
        ("SELECT Account.Name FROM Contact", "INVALID_FIELD", "relationship 'Account'"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)", "MALFORMED_QUERY", "semi-join"),
        ("SELECT FIELDS(ALL) FROM Account", "MALFORMED_QUERY", "LIMIT"),
        ("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:7", "MALFORMED_QUERY", "relative date"),
        ("", "MALFORMED_QUERY", "query string"),
    ],
)
def test_errors_use_salesforce_codes(soql: str, code: str, fragment: str) -> None:
    with pytest.raises(SoqlError) as info:
        compile_query(soql, SALESFORCE_OBJECTS)
    assert info.value.error_code == code
    assert fragment in info.value.message


def test_error_points_at_the_problem() -> None:
    with pytest.raises(SoqlError) as info:
        compile_query("SELECT Id,\n  Bogus FROM Account", SALESFORCE_OBJECTS)
    assert "ERROR at Row:2:Column:3" in info.value.message
