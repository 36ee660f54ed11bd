"""Benchmark stages of the sandbox: generating the company and serving its APIs."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

# Targets from the foundation issue, on 2 cores.
GENERATE_SECONDS = {"M": 60.0, "L": 600.0}
GENERATE_PEAK_MB = {"L": 8 * 1024}
QUERY_PAGE_MS = 100.0


def source_env(url: str, world: Path) -> dict[str, str]:
    """The loaders' settings for a served world: its APIs at `url`, its product-event files on disk."""
    return {
        "SOURCES__SALESFORCE__LOGIN_URL": url,
        "SOURCES__ZENDESK__BASE_URL": url,
        "SOURCES__STRIPE__BASE_URL": url,
        "SOURCES__PRODUCT_EVENTS__FILES_URL": str(world / "exports" / "events"),
    }


def deployment_env(url: str, tls_port: int, world: Path, warehouse: Path, models: Path) -> dict[str, str]:
    """Everything the daily job needs to run on a served world: the loaders' sources, the warehouse and
    model folder, the CRM (HTTPS with the world's CA) and Slack."""
    return {
        **source_env(url, world),
        "COPILOT_WAREHOUSE": str(warehouse),
        "COPILOT_MODELS_DIR": str(models),
        "REVERSE_ETL__SALESFORCE__LOGIN_URL": f"https://127.0.0.1:{tls_port}",
        "REVERSE_ETL__SALESFORCE__CA_BUNDLE": str(world / "tls" / "ca.pem"),
        "REVERSE_ETL__SLACK__BASE_URL": f"{url}/api/",
    }


def generate(data_dir: str, size: str, seed: int) -> dict[str, Any]:
    from sandbox.world import generate as generate_world

    return generate_world(Path(data_dir), size=size, seed=seed, end_date=date(2026, 10, 31), force=True)


def query_page(data_dir: str) -> dict[str, Any]:
    from sandbox.emulators.bench import measure

    return measure(Path(data_dir), "Contact", rounds=15)
