"""A field the contract does not know never puts a record aside: it is kept (in `_extra_fields` or as
a new column, per the table's setting) and only a missing key or cursor or an unusable value of a
declared field quarantines."""

from __future__ import annotations

import pytest

from core import config
from dlt_pipelines.contracts import EXTRA_COLUMN, split
from dlt_pipelines.stripe.tables import CUSTOMERS, EVENTS


def customer(**extra: object) -> dict[str, object]:
    return {
        "id": "cus_1",
        "object": "customer",
        "name": "Acme",
        "email": "billing@acme.test",
        "currency": "usd",
        "delinquent": False,
        "metadata": {},
        "livemode": False,
        "created": 1700000000,
        **extra,
    }


def test_an_added_field_loads_the_record_and_is_kept_in_extra_fields() -> None:
    assert CUSTOMERS.effective_unknown_fields == "json"
    record = customer(balance=0, address={"city": "Lyon", "country": "FR"})
    good, bad = split(CUSTOMERS, [record], CUSTOMERS.effective_contract, CUSTOMERS.effective_unknown_fields)
    assert bad == []
    [row] = good
    assert row[EXTRA_COLUMN] == {"balance": 0, "address": {"city": "Lyon", "country": "FR"}}
    assert "balance" not in row and row["name"] == "Acme"
    assert CUSTOMERS.column_hints()[EXTRA_COLUMN] == {"data_type": "json"}


def test_a_record_without_unknown_fields_has_null_extra_fields_and_missing_fields_do_not_quarantine() -> None:
    record = customer()
    del record["delinquent"]
    good, bad = split(CUSTOMERS, [record], "quarantine", "json")
    assert bad == [] and good[0][EXTRA_COLUMN] is None


def test_only_key_cursor_and_unusable_values_quarantine() -> None:
    records = [customer(id=None), customer(created="yesterday"), customer(delinquent="no"), customer(extra=1)]
    good, bad = split(CUSTOMERS, records, "quarantine", "json")
    assert [g[EXTRA_COLUMN] for g in good] == [{"extra": 1}]
    reasons = [b["reason"] for b in bad]
    assert "missing primary key `id`" in reasons[0]
    assert "`created`" in reasons[1] and "`delinquent`" in reasons[2]
    no_cursor = {"id": "evt_1", "object": "event", "type": "invoice.paid"}
    assert split(EVENTS, [no_cursor], "evolve")[1][0]["reason"] == "missing modification field `created`"


def test_columns_mode_leaves_unknown_fields_in_place_and_the_setting_is_configurable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good, bad = split(CUSTOMERS, [customer(balance=3)], "quarantine", "columns")
    assert bad == [] and good[0]["balance"] == 3 and EXTRA_COLUMN not in good[0]
    monkeypatch.setenv("SOURCES__STRIPE__UNKNOWN_FIELDS__CUSTOMERS", "columns")
    spec = CUSTOMERS
    assert spec.effective_unknown_fields == "columns"
    assert EXTRA_COLUMN not in spec.column_hints()
    monkeypatch.setenv("SOURCES__STRIPE__UNKNOWN_FIELDS__CUSTOMERS", "sideways")
    with pytest.raises(config.ConfigError):
        _ = spec.effective_unknown_fields
