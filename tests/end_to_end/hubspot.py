"""The S company as a HubSpot shop with Microsoft Teams as its alert channel, run by the real daily job:
the first run from an empty warehouse, then the same day again after a CSM recorded an outcome on one
of the tasks in HubSpot. What the CSMs see is read back through HubSpot's own API.

The daily job's dbt assets come from a manifest parsed for the configured CRM, so the job runs from a
copy of the code whose dbt project is parsed with `crm = "hubspot"` (the repository's own manifest,
parsed for Salesforce, stays as it is for the other scenarios)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from reverse_etl.records import HUBSPOT_COMPANY_PROPERTIES, HUBSPOT_SCORED_AT
from sandbox.emulators.credentials import HUBSPOT, teams_urls
from sandbox.world.crm_shop import hubspot_id
from tests.conftest import copy_world
from tests.end_to_end.harness import REPO, Deployment, JobRun

# The Copilot properties, and the company's CSM (the owner of its alerts' tasks).
COMPANY_PROPERTIES = (*HUBSPOT_COMPANY_PROPERTIES.values(), HUBSPOT_SCORED_AT, "customer_success_manager")
TASK_PROPERTIES = (
    "copilot_alert_id",
    "hubspot_owner_id",
    "hs_task_subject",
    "hs_task_priority",
    "hs_task_status",
    "hs_timestamp",
    "copilot_outcome",
)
# The outcome a CSM records on one task between the two runs.
OUTCOME = "Confirmed risk"


def make_world_a_hubspot_shop(world: Path) -> None:
    """What `generate --crm hubspot` writes differently, applied to a Salesforce world's copy: Stripe
    customers carry `metadata.hubspot_company_id`, Zendesk organizations the company id as
    `external_id`, and the world says it runs on HubSpot (sandbox/world/crm_shop.py)."""
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


def code_parsed_for_hubspot(dst: Path) -> Path:
    """A copy of the product's code (the files git knows, as they are now) whose dbt manifest is parsed
    with `crm = "hubspot"`, as `make dbt-parse` does with that setting."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = REPO / name
        if src.is_file() and not name.startswith(("tests/", "docs/", "benchmarks/")):
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(dst),
        "CRM": "hubspot",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "devtools.prepare_dbt"],
        cwd=dst,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return dst


def hubspot_settings(deployment: Deployment) -> dict[str, str]:
    """HubSpot as the CRM (loaded and written back through the emulator), Teams as the only alert
    channel (every card through the CS Alerts flow)."""
    em = deployment.emulator
    return {
        "CRM": "hubspot",
        "SOURCES__HUBSPOT__BASE_URL": em.http,
        "SOURCES__HUBSPOT__CREDENTIALS__ACCESS_TOKEN": HUBSPOT["access_token"],
        "REVERSE_ETL__ALERT_CHANNEL": "teams",
        "REVERSE_ETL__TEAMS__CREDENTIALS__WEBHOOKS__DEFAULT": teams_urls(em.http)["workflows"]["CS Alerts"],
    }


@dataclass(frozen=True)
class Portal:
    """What the CSMs see in HubSpot, read through its CRM v3 API: every company's Copilot properties and
    owner, every Copilot task with its company."""

    companies: dict[str, dict[str, str | None]]  # company id -> COMPANY_PROPERTIES
    tasks: dict[str, dict[str, Any]]  # copilot_alert_id -> TASK_PROPERTIES, id and "companies"
    tasks_per_alert: dict[str, int]

    @classmethod
    def read(cls, base_url: str) -> Portal:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {HUBSPOT['access_token']}"
        listed = _listed(session, f"{base_url}/crm/v3/objects/companies", COMPANY_PROPERTIES)
        companies = {r["id"]: r["properties"] for r in listed}
        tasks: dict[str, dict[str, Any]] = {}
        per_alert: dict[str, int] = {}
        for r in _listed(session, f"{base_url}/crm/v3/objects/tasks", TASK_PROPERTIES, associations="companies"):
            alert_id = r["properties"].get("copilot_alert_id")
            if not alert_id:
                continue
            linked = r.get("associations", {}).get("companies", {}).get("results", [])
            tasks[alert_id] = {**r["properties"], "id": r["id"], "companies": sorted({a["id"] for a in linked})}
            per_alert[alert_id] = per_alert.get(alert_id, 0) + 1
        return cls(companies, tasks, per_alert)


def _listed(
    session: requests.Session, url: str, properties: tuple[str, ...], associations: str | None = None
) -> Iterator[dict[str, Any]]:
    params: dict[str, Any] = {"limit": 100, "properties": ",".join(properties)}
    if associations:
        params["associations"] = associations
    while True:
        answer = session.get(url, params=params, timeout=30)
        answer.raise_for_status()
        body = answer.json()
        yield from body["results"]
        after = body.get("paging", {}).get("next", {}).get("after")
        if not after:
            return
        params["after"] = after


def record_outcome(base_url: str, alert_id: str, outcome: str) -> None:
    """A CSM completes the alert's task in HubSpot and records the outcome on it."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {HUBSPOT['access_token']}"
    answer = session.post(
        f"{base_url}/crm/v3/objects/tasks/batch/update",
        json={
            "inputs": [
                {
                    "idProperty": "copilot_alert_id",
                    "id": alert_id,
                    "properties": {"hs_task_status": "COMPLETED", "copilot_outcome": outcome},
                }
            ]
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


@dataclass(frozen=True)
class HubSpotDays:
    company: Path  # the S company as a HubSpot shop, as generated (read-only: copy it)
    deployment: Deployment
    first: JobRun
    first_warehouse: Path  # a copy of the warehouse as the first run left it, named as dbt's views expect
    # (read-only: copy it)
    first_portal: Portal
    first_requests: dict[str, Any]
    completed_alert: str  # the alert whose task the CSM completed with OUTCOME before the rerun
    rerun: JobRun
    rerun_portal: Portal
    rerun_requests: dict[str, Any]


def hubspot_days(s_world: Path, root: Path) -> Iterator[HubSpotDays]:
    """The first daily run, then the same day again after a CSM recorded an outcome in HubSpot; the
    deployment stays up until the session ends."""
    company = copy_world(s_world, root / "hubspot-company")
    make_world_a_hubspot_shop(company / "world.sqlite")
    code = code_parsed_for_hubspot(root / "code")
    deployment = Deployment.create(company, root / "deployment", code=code, crm_setting="hubspot")
    try:
        deployment.extra_env.update(hubspot_settings(deployment))
        first = deployment.run()
        assert first.succeeded, first.tail()
        (root / "after-first-run").mkdir()
        kept = Path(shutil.copyfile(deployment.warehouse, root / "after-first-run" / deployment.warehouse.name))
        first_portal, first_requests = Portal.read(deployment.emulator.http), deployment.requests()
        completed = min(first_portal.tasks)
        record_outcome(deployment.emulator.http, completed, OUTCOME)
        deployment.reset_requests()
        rerun = deployment.run()
        assert rerun.succeeded, rerun.tail()
        yield HubSpotDays(
            company,
            deployment,
            first,
            kept,
            first_portal,
            first_requests,
            completed,
            rerun,
            Portal.read(deployment.emulator.http),
            deployment.requests(),
        )
    finally:
        deployment.stop()
