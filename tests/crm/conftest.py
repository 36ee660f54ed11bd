"""The S world as a HubSpot shop, loaded and built by dbt with `crm = "hubspot"` (once a session).

The same company as the session's Salesforce build (`built_warehouse`): the world keeps one CRM,
which the HubSpot emulator serves as companies, contacts, deals, tasks and owners. What a HubSpot
shop changes in the company's other systems (sandbox/world/crm_shop.py) is applied to a copy of the
world and of its loaded Stripe and Zendesk rows: customers carry `metadata.hubspot_company_id`,
organizations the company id as `external_id`. No Salesforce data is loaded. The HubSpot source
then loads the portal from the emulator, and dbt builds everything with var crm = hubspot.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from sandbox.emulators.credentials import HUBSPOT
from sandbox.world.crm_shop import hubspot_id
from tests.conftest import REPO, copy_world, start_emulator, stop_emulator
from tests.pipeline import DbtRun, LoadedWorld, _env, dbt

HUBSPOT_VARS = '{"crm": "hubspot"}'


def hubspot_env(base_url: str, warehouse: Path) -> dict[str, str]:
    return _env(
        CRM="hubspot",
        SOURCES__HUBSPOT__BASE_URL=base_url,
        SOURCES__HUBSPOT__CREDENTIALS__ACCESS_TOKEN=HUBSPOT["access_token"],
        COPILOT_WAREHOUSE=str(warehouse),
    )


def load_hubspot(base_url: str, warehouse: Path) -> None:
    """The HubSpot source (the project's dlt pipeline) into `warehouse`."""
    cmd = [sys.executable, "-m", "dlt_pipelines", "run", "hubspot", "--warehouse", str(warehouse)]
    proc = subprocess.run(cmd, cwd=REPO, env=hubspot_env(base_url, warehouse), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]


def make_world_a_hubspot_shop(world: Path) -> None:
    """What `generate --crm hubspot` writes differently, applied to a Salesforce world's copy."""
    con = sqlite3.connect(world)
    try:
        rows = con.execute("SELECT id, metadata FROM st_customers").fetchall()
        for key, raw in rows:
            meta = json.loads(raw) if raw else {}
            if "salesforce_account_id" in meta:
                meta = {"hubspot_company_id": hubspot_id(meta.pop("salesforce_account_id")), **meta}
                con.execute(
                    "UPDATE st_customers SET metadata = ? WHERE id = ?", (json.dumps(meta, separators=(",", ":")), key)
                )
        orgs = con.execute("SELECT id, external_id FROM zd_organizations WHERE external_id IS NOT NULL").fetchall()
        con.executemany(
            "UPDATE zd_organizations SET external_id = ? WHERE id = ?", [(hubspot_id(e), k) for k, e in orgs]
        )
        world_meta = json.loads(con.execute("SELECT value FROM _meta WHERE key = 'world'").fetchone()[0])
        con.execute("UPDATE _meta SET value = ? WHERE key = 'world'", (json.dumps({**world_meta, "crm": "hubspot"}),))
        con.commit()
    finally:
        con.close()


def make_raw_a_hubspot_shops(warehouse: Path) -> None:
    """The same change in the loaded Stripe and Zendesk rows; the Salesforce rows go."""
    con = duckdb.connect(str(warehouse))
    try:
        con.create_function("hs_id", lambda v: hubspot_id(v) if v else None, ["VARCHAR"], "VARCHAR")
        con.execute("ALTER TABLE raw_stripe.customers ADD COLUMN metadata__hubspot_company_id VARCHAR")
        con.execute(
            "UPDATE raw_stripe.customers SET metadata__hubspot_company_id = hs_id(metadata__salesforce_account_id), "
            "metadata__salesforce_account_id = NULL"
        )
        con.execute("UPDATE raw_zendesk.organizations SET external_id = hs_id(external_id)")
        con.execute("DROP SCHEMA raw_salesforce CASCADE")
    finally:
        con.close()


@dataclass
class HubSpotBuild:
    data_dir: Path  # the world as a HubSpot shop (read-only: copy it)
    raw_warehouse: Path  # Stripe, Zendesk, product events and HubSpot loaded (read-only)
    warehouse: Path  # built by dbt with crm = hubspot (read-only: copy it)
    run: DbtRun


@pytest.fixture(scope="session")
def hubspot_build(loaded_s_world: LoadedWorld, tmp_path_factory: pytest.TempPathFactory) -> HubSpotBuild:
    root = tmp_path_factory.mktemp("hubspot-shop")
    data_dir = copy_world(loaded_s_world.data_dir, root / "sandbox")
    make_world_a_hubspot_shop(data_dir / "world.sqlite")
    raw = loaded_s_world.copy_warehouse(root / "raw" / "warehouse.duckdb")
    make_raw_a_hubspot_shops(raw)
    em = start_emulator(data_dir)
    try:
        load_hubspot(em.http, raw)
    finally:
        stop_emulator(em)
    built = root / "built" / "warehouse.duckdb"
    built.parent.mkdir()
    built.write_bytes(raw.read_bytes())
    run = dbt(built, "build", "--vars", HUBSPOT_VARS)
    return HubSpotBuild(data_dir, raw, built, run)
