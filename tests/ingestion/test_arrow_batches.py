"""Records that fit their contract reach dlt as Arrow tables (`contracts.arrow_batch`), and load
exactly as dlt's own normalizer would load them as dicts; anything dlt must shape itself stays dicts."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pyarrow as pa
import pytest

from dlt_pipelines import contracts
from dlt_pipelines.contracts import arrow_batch
from dlt_pipelines.salesforce.tables import ACCOUNT

# Account as a describe call widens it: a compound address field, kept whole as JSON.
SPEC = replace(ACCOUNT, fields={**ACCOUNT.fields, "BillingAddress": "json"}, json_columns=("BillingAddress",))


def account(n: int, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "attributes": {"type": "Account", "url": f"/services/data/v61.0/sobjects/Account/001{n:015d}"},
        "Id": f"001{n:015d}",
        "Name": f"Account {n}",
        "Type": "Customer",
        "NumberOfEmployees": 40 + n,
        "AnnualRevenue": 1_000_000 if n % 2 else 2_500_000.5,  # JSON integers arrive in float fields
        "OwnerId": "005000000000001AAA",
        "Customer_Since__c": f"2024-03-0{1 + n % 9}",
        "Copilot_Health_Score__c": None,
        "Copilot_Scored_At__c": f"2026-11-0{1 + n % 9}T06:00:00.000+0000",
        "BillingAddress": {"city": "Lyon", "country": "FR", "street": None} if n % 3 else None,
        "IsDeleted": False,
        "CreatedDate": "2024-03-01T09:15:00.000+0000",
        "LastModifiedDate": f"2026-11-30T10:00:{n % 60:02d}.000+0000",
        "SystemModstamp": f"2026-11-30T10:00:{n % 60:02d}.123+0000",
    }
    record.update(changes)
    return record


def good_records(records: list[dict[str, Any]]) -> list[Any]:
    good, bad = contracts.split(SPEC, records, "evolve", "columns")
    assert bad == []
    return good


def test_records_that_fit_become_one_typed_table_with_row_ids() -> None:
    table = arrow_batch(SPEC, good_records([account(n) for n in range(5)]), set(SPEC.json_columns))
    assert isinstance(table, pa.Table) and table.num_rows == 5
    assert table.schema.field("NumberOfEmployees").type == pa.int64()
    assert table.schema.field("AnnualRevenue").type == pa.float64()
    assert table.schema.field("Customer_Since__c").type == pa.date32()
    assert table.schema.field("Copilot_Scored_At__c").type == pa.timestamp("us", "UTC")
    assert table.column("SystemModstamp").to_pylist()[1] == datetime(2026, 11, 30, 10, 0, 1, 123000, tzinfo=UTC)
    assert table.column("AnnualRevenue").to_pylist()[:2] == [2_500_000.5, 1_000_000.0]
    assert table.column("BillingAddress").to_pylist()[:2] == [None, '{"city":"Lyon","country":"FR","street":null}']
    ids = table.column("_dlt_id").to_pylist()
    assert len(set(ids)) == 5 and all(ids)
    assert not table.schema.field("Id").nullable


@pytest.mark.parametrize(
    "changes",
    [
        {"Rating__c": "Hot"},  # a field the contract does not know becomes a column: dlt adds it
        {"NumberOfEmployees": "45"},  # numeric text, coerced by dlt
        {"NumberOfEmployees": 45.0},  # a float in an integer field, coerced by dlt
        {"Copilot_Scored_At__c": "2026-11-02T06:00:00"},  # no offset: dlt reads it as UTC
        {"Parent": {"Name": "Holding"}},  # a relationship's nested record: dlt unnests it into columns
        {"IsDeleted": "false"},  # text for a boolean
    ],
)
def test_a_batch_with_anything_dlt_must_shape_stays_dicts(changes: dict[str, Any]) -> None:
    records = good_records([account(1), account(2, **changes)])
    assert arrow_batch(SPEC, records, set(SPEC.json_columns)) is None


def _load(tmp_path: Path, name: str, resource: Any) -> duckdb.DuckDBPyConnection:
    pipeline = dlt.pipeline(
        f"arrow_{name}",
        destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
        dataset_name="raw_salesforce",
        pipelines_dir=str(tmp_path / "pipelines"),
    )
    pipeline.run(resource)
    return duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True)


def test_the_arrow_path_loads_what_dlts_normalizer_loads(tmp_path: Path) -> None:
    batches = [[account(n) for n in range(0, 40)], [account(n) for n in range(40, 80)]]
    batches[1][3]["Rating__c"] = "Hot"  # this batch goes as dicts, the first as Arrow
    json_columns = set(SPEC.json_columns)
    assert arrow_batch(SPEC, good_records(copy.deepcopy(batches[0])), json_columns) is not None
    assert arrow_batch(SPEC, good_records(copy.deepcopy(batches[1])), json_columns) is None

    def records() -> Any:
        yield from copy.deepcopy(batches)

    def as_loaded(con: duckdb.DuckDBPyConnection) -> tuple[list[Any], list[Any]]:
        columns = con.execute(
            "select column_name, data_type from duckdb_columns() where table_name = 'account' order by column_name"
        ).fetchall()
        names = ", ".join(f'"{c}"' for c, _ in columns if c not in ("_dlt_id", "_dlt_load_id"))
        return columns, con.execute(f"select {names} from raw_salesforce.account order by id").fetchall()

    def plain_resource() -> Any:
        # dlt's own path: the same hints, the records as dicts (envelope dropped as the contract does)
        def rows() -> Any:
            for batch in records():
                yield [{k: v for k, v in r.items() if k != "attributes"} for r in batch]

        return dlt.resource(rows(), **SPEC.resource_hints())

    contract_resource = contracts.attach(dlt.resource(records(), **SPEC.resource_hints()), SPEC)
    # the contract's resource also runs dlt's incremental on the cursor, as the API sources do
    contract_resource.apply_hints(incremental=dlt.sources.incremental("SystemModstamp"))
    expected_columns, expected_rows = as_loaded(_load(tmp_path, "dicts", plain_resource()))
    columns, rows = as_loaded(_load(tmp_path, "arrow", contract_resource))
    assert columns == expected_columns
    assert ("system_modstamp", "TIMESTAMP WITH TIME ZONE") in columns and ("billing_address", "JSON") in columns
    assert len(rows) == 80 and rows == expected_rows


def test_a_table_with_nested_fields_dlt_unnests_stays_dicts() -> None:
    from dlt_pipelines.stripe.tables import CUSTOMERS

    # Stripe's `metadata` is declared nested without a JSON column: dlt unnests it into columns.
    record = {"id": "cus_1", "object": "customer", "name": "Acme", "email": "billing@acme.test", "currency": "usd",
              "delinquent": False, "metadata": {}, "livemode": False, "created": 1700000000}  # fmt: skip
    good, bad = contracts.split(CUSTOMERS, [record], "quarantine", "json")
    assert bad == [] and arrow_batch(CUSTOMERS, good, {contracts.EXTRA_COLUMN}) is None
    without_metadata = replace(CUSTOMERS, fields={k: v for k, v in CUSTOMERS.fields.items() if k != "metadata"})
    del good[0]["metadata"]
    assert arrow_batch(without_metadata, good, {contracts.EXTRA_COLUMN}) is not None


def ticket_metric(n: int, **changes: Any) -> dict[str, Any]:
    """A Ticket Metrics object as Zendesk's export sideloads it: durations are nested objects."""
    record: dict[str, Any] = {
        "url": f"https://acme.zendesk.com/api/v2/ticket_metrics/{n}.json",
        "id": n,
        "ticket_id": 1000 + n,
        "reopens": n % 2,
        "replies": 3,
        "reply_time_in_minutes": {"calendar": 30 + n, "business": 20 + n},
        "full_resolution_time_in_minutes": {"calendar": 600 + n, "business": None} if n % 3 else {},
        "first_resolution_time_in_minutes": {"calendar": None, "business": None},
        "agent_wait_time_in_minutes": {"calendar": 5, "business": 4},
        "requester_wait_time_in_minutes": {"calendar": 7, "business": 6},
        "on_hold_time_in_minutes": {"calendar": 0, "business": 0},
        "reply_time_in_seconds": {"calendar": 1800 + n} if n % 4 else None,
        "assignee_stations": 1,
        "group_stations": 1,
        "solved_at": f"2026-11-0{1 + n % 9}T10:00:00Z" if n % 2 else None,
        "assigned_at": "2026-10-30T09:00:00Z",
        "initially_assigned_at": "2026-10-30T09:00:00Z",
        "assignee_updated_at": None,
        "requester_updated_at": "2026-10-30T08:59:00Z",
        "status_updated_at": "2026-11-01T10:00:00Z",
        "custom_status_updated_at": None,
        "latest_comment_added_at": "2026-11-01T10:00:00Z",
        "created_at": "2026-10-30T08:59:00Z",
        "updated_at": f"2026-11-01T10:00:{n % 60:02d}Z",
    }
    record.update(changes)
    return record


def test_declared_nested_objects_become_the_columns_dlt_unnests_them_into() -> None:
    from dlt_pipelines.zendesk.tables import TICKET_METRICS

    records = [ticket_metric(n) for n in range(1, 5)]
    records[1].pop("reply_time_in_seconds")  # an object left out entirely: its columns are null
    good, bad = contracts.split(TICKET_METRICS, records, "evolve", "columns")
    table = arrow_batch(TICKET_METRICS, good, set())
    assert bad == [] and table is not None
    assert "reply_time_in_minutes" not in table.column_names
    assert table.schema.field("reply_time_in_minutes__calendar").type == pa.int64()
    assert table.column("reply_time_in_minutes__business").to_pylist() == [21, 22, 23, 24]
    # {} (n = 3) and a null key (n = 1, 2, 4) both leave a null
    assert table.column("full_resolution_time_in_minutes__calendar").to_pylist() == [601, 602, None, 604]
    assert table.column("full_resolution_time_in_minutes__business").to_pylist() == [None] * 4
    assert table.column("reply_time_in_seconds__calendar").to_pylist() == [1801, None, 1803, None]
    assert table.schema.field("assigned_at").type == pa.timestamp("us", "UTC")


@pytest.mark.parametrize(
    "changes",
    [
        {"reply_time_in_minutes": {"calendar": 30, "business": 20, "wall_clock": 31}},  # a key not declared
        {"reply_time_in_minutes": {"calendar": [30, 31], "business": 20}},  # a list: dlt's child table
        {"reply_time_in_minutes": {"calendar": {"value": 30}, "business": 20}},  # deeper than declared
        {"reply_time_in_minutes": {"calendar": "30", "business": 20}},  # text for a number: dlt coerces
    ],
)
def test_a_nested_object_dlt_must_shape_keeps_the_batch_as_dicts(changes: dict[str, Any]) -> None:
    from dlt_pipelines.zendesk.tables import TICKET_METRICS

    good, bad = contracts.split(TICKET_METRICS, [ticket_metric(1), ticket_metric(2, **changes)], "evolve", "columns")
    assert arrow_batch(TICKET_METRICS, good, set()) is None


def test_flattened_nested_objects_load_as_dlts_normalizer_loads_them(tmp_path: Path) -> None:
    from dlt_pipelines.zendesk.tables import TICKET_METRICS

    batches = [[ticket_metric(n) for n in range(1, 30)], [ticket_metric(n) for n in range(30, 60)]]
    batches[1][5]["reply_time_in_minutes"]["wall_clock"] = 99  # this batch goes as dicts, the first as Arrow
    assert arrow_batch(TICKET_METRICS, copy.deepcopy(batches[0]), set()) is not None
    assert arrow_batch(TICKET_METRICS, copy.deepcopy(batches[1]), set()) is None

    def as_loaded(con: duckdb.DuckDBPyConnection) -> tuple[list[Any], list[Any]]:
        columns = con.execute(
            "select column_name, data_type from duckdb_columns() where table_name = 'ticket_metrics' "
            "order by column_name"
        ).fetchall()
        names = ", ".join(f'"{c}"' for c, _ in columns if c not in ("_dlt_id", "_dlt_load_id"))
        return columns, con.execute(f"select {names} from raw_salesforce.ticket_metrics order by id").fetchall()

    plain = dlt.resource(copy.deepcopy(batches), **TICKET_METRICS.resource_hints())
    arrow = contracts.attach(dlt.resource(copy.deepcopy(batches), **TICKET_METRICS.resource_hints()), TICKET_METRICS)
    expected_columns, expected_rows = as_loaded(_load(tmp_path, "metric_dicts", plain))
    columns, rows = as_loaded(_load(tmp_path, "metric_arrow", arrow))
    assert columns == expected_columns
    assert ("reply_time_in_minutes__calendar", "BIGINT") in columns
    assert ("assigned_at", "TIMESTAMP WITH TIME ZONE") in columns
    assert ("reply_time_in_minutes__wall_clock", "BIGINT") in columns  # dlt's new column, from the dict batch
    assert len(rows) == 59 and rows == expected_rows
