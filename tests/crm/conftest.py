"""The S company as a HubSpot shop, as the daily job left it after its first run with `crm = "hubspot"`
(the session's `hubspot_days`, tests/end_to_end/hubspot.py).

The same company as the session's Salesforce build (`built_warehouse`): the world keeps one CRM,
which the HubSpot emulator serves as companies, contacts, deals, tasks and owners. What a HubSpot
shop changes in the company's other systems (sandbox/world/crm_shop.py) is applied to a copy of the
world: customers carry `metadata.hubspot_company_id`, organizations the company id as `external_id`.
The daily job then loaded it (no Salesforce data), built everything with var crm = hubspot, scored,
raised the alerts and wrote them back.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.emulators.credentials import HUBSPOT
from tests.conftest import REPO
from tests.end_to_end.hubspot import HubSpotDays
from tests.pipeline import _env


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


@dataclass
class HubSpotBuild:
    data_dir: Path  # the world as a HubSpot shop, before any sync (read-only: copy it)
    warehouse: Path  # as the daily job's first run left it (read-only: copy it)


@pytest.fixture(scope="session")
def hubspot_build(hubspot_days: HubSpotDays) -> HubSpotBuild:
    return HubSpotBuild(hubspot_days.company, hubspot_days.first_warehouse)
