"""The first run a new user makes: `make demo`'s daily job, the report site included, from a fresh data
folder (a new copy of the world, an empty warehouse, no model, a new Dagster instance), started and
followed the way `make demo` does it (`dagster job execute`, read back through the instance).

`met` only when the run succeeded and the site was built: a failure here is the failure a stranger
would meet on day one, shown on the benchmark page with its reason.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from benchmarks.sandbox_stages import deployment_env
from sandbox.emulators.process import free_port, start_server, stop_server

# Where the project's dagster.yaml keeps each storage, under the instance's home.
STORAGE_FOLDERS = {
    "run_storage": "storage/history",
    "event_log_storage": "storage/history/runs",
    "schedule_storage": "storage/schedules",
}


def _project_config() -> dict[str, Any]:
    return yaml.safe_load((Path(__file__).resolve().parents[1] / "dagster.yaml").read_text())


def storage_config(home: Path) -> dict[str, Any]:
    """The project's dagster.yaml storages (runs, event log, schedules), their folders in `home`."""
    config = _project_config()
    out = {storage: config[storage] for storage in STORAGE_FOLDERS}
    for storage, folder in STORAGE_FOLDERS.items():
        out[storage]["config"]["base_dir"] = str(home / folder)
    return out


def dagster_yaml(home: Path) -> str:
    """The project's dagster.yaml with every path in `home`."""
    config = {**_project_config(), **storage_config(home)}
    config["local_artifact_storage"]["config"]["base_dir"] = str(home)
    config["compute_logs"]["config"]["base_dir"] = str(home / "compute_logs")
    return yaml.safe_dump(config)


def run(data_dir: Path | str, root: Path | str) -> dict[str, Any]:
    data_dir, root = Path(data_dir).resolve(), Path(root).resolve()
    work = root / "first-run"  # absolute: Dagster refuses a relative DAGSTER_HOME
    shutil.rmtree(work, ignore_errors=True)
    world = work / "sandbox"
    shutil.copytree(data_dir, world, ignore=shutil.ignore_patterns("truth", "*.log"))
    home = work / "dagster"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(dagster_yaml(home))
    warehouse = work / "warehouse" / "warehouse.duckdb"
    tls = free_port()
    server, url = start_server(world, tls_port=tls)
    try:
        os.environ.update({**deployment_env(url, tls, world, warehouse, work / "models"), "DAGSTER_HOME": str(home)})
        from devtools.demo import run_daily_job
        from orchestration.defs.report_site import reports_dir

        outcome = run_daily_job(work / "dagster-console.log")
    finally:
        stop_server(server)
    site = reports_dir() / "build"
    site_step = outcome.steps.get("reports__site")
    site_built = site_step is not None and site_step.status == "ok" and (site / "index.html").exists()
    failed = {f.step: f.reason for f in outcome.failures()}
    if outcome.problem:
        failed["run"] = outcome.problem
    return {
        "ok": outcome.ok,
        "seconds": round(outcome.wall_seconds, 1),
        "stages_s": {k: round(v, 1) for k, v in outcome.seconds_per_stage().items()},
        "pages": sum(1 for _ in site.rglob("index.html")) if site_built else 0,
        "failed": failed,
        "met": outcome.ok and site_built,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(Path(sys.argv[1]), Path(sys.argv[2])), indent=2))
