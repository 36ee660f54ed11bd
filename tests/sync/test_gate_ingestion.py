"""The gate blocks activation when a raw table's ingestion checks failed: too many of its records
in quarantine, or a field that vanished upstream."""

from __future__ import annotations

from dlt_pipelines import quality
from reverse_etl import sync
from tests.sync.conftest import SyncWorld


def test_a_table_mostly_in_quarantine_blocks_the_push_naming_table_and_reason(sync_world: SyncWorld) -> None:
    with sync_world.connect() as con:
        # Half the invoices were quarantined by a later load than the one that stored them.
        con.execute(
            """CREATE TABLE raw_stripe.quarantine AS
               SELECT 'invoices' AS source_table, id AS record_key, '`amount_due`: expected an integer' AS reason,
                      '{}' AS record, now() AS quarantined_at,
                      CAST((SELECT max(CAST(_dlt_load_id AS DOUBLE)) FROM raw_stripe.invoices) + 1 AS VARCHAR)
                        AS _dlt_load_id,
                      id AS _dlt_id
               FROM raw_stripe.invoices USING SAMPLE 50 PERCENT (bernoulli, 7)"""
        )
        checked = {(r.table, r.check): r for r in quality.run_and_store(con, "stripe", run_id="ingest-1")}
    assert not checked[("invoices", "quarantine_share")].success
    assert all(r.success for (table, _), r in checked.items() if table != "invoices")
    sync_world.reset_requests()
    with sync_world.connect() as con:
        runs = {r.destination: r for r in sync.sync_all(con, sync_world.cfg, echo=lambda _line: None)}
    assert {r.status for r in runs.values()} == {"blocked"}
    message = runs["salesforce_account"].message
    assert "raw_stripe.invoices" in message and "in quarantine" in message, message
    assert sync_world.writes() == 0
