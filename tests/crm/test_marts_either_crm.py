"""The marts are the same whichever CRM feeds them: the S world built from Salesforce (the session's
`built_warehouse`) and the same company run from HubSpot by the daily job (`hubspot_build`) give
every mart the same columns and types, and the same rows once each Salesforce id is read as its
HubSpot id."""

from __future__ import annotations

import math
import re
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from sandbox.world import generate
from sandbox.world.crm_shop import hubspot_id
from tests.crm.conftest import HubSpotBuild
from tests.pipeline import DbtRun

SF_ID = re.compile(r"\b[0-9A-Za-z]{18}\b")
# What names the CRM itself (identity methods and keys): read as one word on both sides.
CRM_WORDS = re.compile(r"metadata_salesforce_id|metadata_hubspot_company_id|\bsalesforce\b|\bhubspot\b")


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1", [schema]
    ).fetchall()
    return [r[0] for r in rows]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'marts' "
        "AND table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()


def _salesforce_ids(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    ids: dict[str, str] = {}
    for table in ("account", "contact", "opportunity", "user", "task"):
        for (key,) in con.execute(f'SELECT DISTINCT id FROM raw_salesforce."{table}"').fetchall():
            ids[key] = hubspot_id(key)
    return ids


def _normal(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        if value in ids:
            return ids[value]
        text = SF_ID.sub(lambda m: ids.get(m.group(0), m.group(0)), value)
        return CRM_WORDS.sub("crm", text)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, list):
        return tuple(_normal(v, ids) for v in value)
    return value


def _rows(con: duckdb.DuckDBPyConnection, table: str, ids: dict[str, str]) -> list[tuple]:
    rows = con.execute(f"SELECT * FROM marts.{table}").fetchall()
    return sorted((tuple(_normal(v, ids) for v in row) for row in rows), key=repr)


def test_the_marts_have_one_shape_and_the_same_values_from_salesforce_and_from_hubspot(
    built_warehouse: tuple[Path, DbtRun], hubspot_build: HubSpotBuild
) -> None:
    assert built_warehouse[1].returncode == 0, built_warehouse[1].output[-3000:]
    sf = duckdb.connect(str(built_warehouse[0]), read_only=True)
    hs = duckdb.connect(str(hubspot_build.warehouse), read_only=True)
    try:
        marts = _tables(sf, "marts")
        assert marts and _tables(hs, "marts") == marts
        # Only the configured CRM's staging is built: no Salesforce code path in a HubSpot warehouse,
        # and none of HubSpot's in a Salesforce one.
        assert hs.execute("SELECT count(*) FROM staging.stg_crm__accounts").fetchone()[0] > 0
        assert [t for t in _tables(hs, "staging") if "salesforce" in t] == []
        assert [t for t in _tables(sf, "staging") if "hubspot" in t] == []
        assert "stg_salesforce__accounts" in _tables(sf, "staging")
        ids = _salesforce_ids(sf)
        different = {}
        for table in marts:
            assert _columns(hs, table) == _columns(sf, table), table
            expected, got = _rows(sf, table, ids), _rows(hs, table, ids)
            assert got, table
            if got != expected:
                names = [c for c, _ in _columns(sf, table)]
                only_sf = [dict(zip(names, r, strict=True)) for r in expected if r not in set(got)][:2]
                only_hs = [dict(zip(names, r, strict=True)) for r in got if r not in set(expected)][:2]
                different[table] = (len(expected), len(got), only_sf, only_hs)
        assert not different, different
    finally:
        sf.close()
        hs.close()


def test_a_hubspot_shop_is_the_same_company_with_hubspot_ids(
    s_world: Path, tmp_path: Path, hubspot_build: HubSpotBuild
) -> None:
    """`generate --crm hubspot` with the S world's seed makes the company the HubSpot build used: every
    record as in the Salesforce world, but Stripe customers and Zendesk organizations keep HubSpot
    company ids (what `hubspot_build` applied to its copy)."""
    made = tmp_path / "sandbox"
    generate(made, size="S", seed=7, end_date=date(2026, 10, 31), crm="hubspot")
    got, base, used = (sqlite3.connect(p / "world.sqlite") for p in (made, s_world, hubspot_build.data_dir))
    try:
        tables = [r[0] for r in base.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")]
        for table in tables:
            if table in ("_meta", "st_events"):  # the clock's bookkeeping; Stripe events quote customers
                continue
            query = f'SELECT * FROM "{table}" ORDER BY 1'
            if table in ("st_customers", "zd_organizations"):
                assert got.execute(query).fetchall() == used.execute(query).fetchall(), table
                assert got.execute(query).fetchall() != base.execute(query).fetchall(), table
            else:
                assert got.execute(query).fetchall() == base.execute(query).fetchall(), table
        linked = got.execute(
            "SELECT count(*) FROM st_customers WHERE json_extract(metadata, '$.hubspot_company_id') IS NOT NULL"
        ).fetchone()[0]
        assert linked > 0
    finally:
        for con in (got, base, used):
            con.close()
