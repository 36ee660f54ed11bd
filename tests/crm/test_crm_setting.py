"""The `crm` setting reaches every part: dbt gets it as a var, a manifest parsed for the other CRM is
stale, only the configured CRM's write-back runs, and the demo refuses a company of the other CRM."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from devtools.demo import crm_mismatch
from orchestration.dbt_manifest import CRM_PROBE, dbt_vars, manifest_crm, manifest_problem
from reverse_etl import sync
from tests.sync.conftest import sync_config


def _project(tmp_path: Path, parsed_for: str) -> tuple[Path, Path]:
    project = tmp_path / "dbt_project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: x\n")
    manifest = project / "target" / "manifest.json"
    manifest.parent.mkdir()
    parent = f"model.customer_success_copilot.stg_{parsed_for}__accounts"
    manifest.write_text(json.dumps({"nodes": {CRM_PROBE: {"depends_on": {"nodes": [parent]}}}}))
    return project, manifest


@pytest.mark.parametrize("crm", ["salesforce", "hubspot"])
def test_dbt_gets_the_configured_crm_and_a_manifest_of_the_other_crm_is_stale(
    crm: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM", crm)
    assert json.loads(dbt_vars(as_of_date="2026-10-01")) == {"crm": crm, "as_of_date": "2026-10-01"}
    other = "hubspot" if crm == "salesforce" else "salesforce"
    project, manifest = _project(tmp_path / "same", crm)
    assert manifest_crm(manifest) == crm and manifest_problem(project, manifest) is None
    project, manifest = _project(tmp_path / "other", other)
    problem = manifest_problem(project, manifest)
    assert problem is not None and f'parsed for crm = "{other}"' in problem and f'crm = "{crm}"' in problem


def test_only_the_configured_crm_is_written_to(tmp_path: Path) -> None:
    class Em:  # sync_config reads only these
        https = http = "http://127.0.0.1:9"
        ca = None

    hubspot = sync_config(Em, crm="hubspot", salesforce_enabled=False, hubspot_base_url=Em.http, hubspot_token="t")
    assert sync.destinations(hubspot) == ("hubspot_company", "hubspot_task", "slack")
    assert not hubspot.enabled("salesforce_account") and hubspot.enabled("hubspot_task")
    assert hubspot.off_message("salesforce_task") == 'not the configured CRM (crm = "hubspot"): nothing sent'
    salesforce = sync_config(Em)
    assert sync.destinations(salesforce) == ("salesforce_account", "salesforce_task", "slack")
    assert not salesforce.enabled("hubspot_company")


def test_the_demo_refuses_a_company_of_the_other_crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = tmp_path / "world.sqlite"
    con = sqlite3.connect(world)
    con.execute("CREATE TABLE _meta (key TEXT PRIMARY KEY, value TEXT)")
    con.execute("""INSERT INTO _meta VALUES ('world', '{"size": "S", "seed": 7, "crm": "hubspot"}')""")
    con.commit()
    con.close()
    monkeypatch.setenv("CRM", "salesforce")
    problem = crm_mismatch(tmp_path)
    assert problem is not None and "runs on hubspot" in problem and "make demo CRM=hubspot" in problem
    monkeypatch.setenv("CRM", "hubspot")
    assert crm_mismatch(tmp_path) is None
