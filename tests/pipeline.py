"""Helpers that run the product's own pipelines in tests: load a served world with the dlt
pipelines, run the dbt CLI against a warehouse."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sandbox.emulators.process import start_server, stop_server

REPO = Path(__file__).resolve().parents[1]
DBT_DIR = REPO / "dbt_project"
END_DATE = "2026-10-31"


def _env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        **extra,
    }


def load_world(data_dir: Path, warehouse: Path) -> None:
    """Serve the world and load every source into `warehouse` with the project's dlt pipelines."""
    proc, url = start_server(data_dir, stderr=(data_dir / "emulator.log").open("ab"), env=_env())
    try:
        env = _env(
            SOURCES__SALESFORCE__LOGIN_URL=url,
            SOURCES__ZENDESK__BASE_URL=url,
            SOURCES__STRIPE__BASE_URL=url,
            SOURCES__PRODUCT_EVENTS__FILES_URL=str(data_dir / "exports" / "events"),
            COPILOT_WAREHOUSE=str(warehouse),
        )
        cmd = [sys.executable, "-m", "dlt_pipelines", "run", "--warehouse", str(warehouse)]
        subprocess.run(cmd, cwd=REPO, env=env, check=True, capture_output=True, timeout=600)
    finally:
        stop_server(proc)


@dataclass
class DbtRun:
    returncode: int
    output: str
    results: list[dict]


def dbt(warehouse: Path, *args: str, target_path: Path | None = None, project_dir: Path = DBT_DIR) -> DbtRun:
    """Run the dbt CLI on the project against `warehouse`; the run's results from run_results.json."""
    target = target_path or warehouse.parent / "dbt_target"
    cmd = [
        sys.executable,
        "-m",
        "dbt.cli.main",
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(target),
    ]
    proc = subprocess.run(
        cmd, cwd=REPO, env=_env(COPILOT_WAREHOUSE=str(warehouse)), capture_output=True, text=True, timeout=900
    )
    results_file = target / "run_results.json"
    results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
    return DbtRun(proc.returncode, proc.stdout + proc.stderr, results)


@dataclass
class LoadedWorld:
    data_dir: Path
    raw_warehouse: Path  # only what dlt loaded: copy it before building

    @property
    def world(self) -> Path:
        return self.data_dir / "world.sqlite"

    def copy_warehouse(self, dst: Path) -> Path:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.raw_warehouse, dst)
        return dst


def export_world(world: Path, root: Path) -> None:
    """Write the world's Salesforce, Zendesk and Stripe records as a team's exports would look
    (Salesforce CSV, Zendesk Parquet, Stripe JSONL), one folder per source under `root`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sandbox.schema import SALESFORCE_OBJECTS, STRIPE_OBJECTS, ZENDESK_OBJECTS
    from sandbox.store import Store

    store = Store.open(world)
    try:
        for name, obj in SALESFORCE_OBJECTS.items():
            folder = root / "salesforce" / name
            folder.mkdir(parents=True)
            with (folder / f"{name}.csv").open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=obj.field_names)
                writer.writeheader()
                for rec in store.select(obj):
                    writer.writerow(
                        {k: ("true" if v else "false") if isinstance(v, bool) else v for k, v in rec.items()}
                    )
        for name, obj in ZENDESK_OBJECTS.items():
            folder = root / "zendesk" / name
            folder.mkdir(parents=True)
            rows = [
                {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in rec.items()}
                for rec in store.select(obj)
            ]
            pq.write_table(pa.Table.from_pylist(rows), folder / "part-0.parquet")
        for name, obj in STRIPE_OBJECTS.items():
            folder = root / "stripe" / name
            folder.mkdir(parents=True)
            with (folder / "export.jsonl").open("w") as f:
                for rec in store.select(obj):
                    f.write(json.dumps(rec) + "\n")
    finally:
        store.close()
