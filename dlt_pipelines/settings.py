"""The loaders' settings: which sources run, how, and where their raw data lands.

Every value is read through the product's one settings loader (`core/config.py`: environment
variables, `.dlt/secrets.toml`, `.dlt/config.toml`, and in the sandbox `.dlt/sandbox.toml`), so a
real deployment changes only `.dlt/` files or environment variables (for example
`SOURCES__SALESFORCE__LOGIN_URL`, `SOURCES__STRIPE__CREDENTIALS__API_KEY`), never code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from core import config
from core.config import ConfigError, resolve_path
from core.crm import CRMS, crm
from core.warehouse import RAW_DATASETS

SOURCES = ("salesforce", "hubspot", "zendesk", "stripe", "product_events")
DATASETS = RAW_DATASETS
MODES = ("api", "files")
# The CRM sources (core/crm.py `CRMS`): the one named by the `crm` setting runs, the other is off.
# The base URL of a source built only to declare its assets: never requested.
DECLARE_ONLY_URL = "https://declare-only.invalid"
T = TypeVar("T")
REQUIRED = config.REQUIRED

__all__ = [
    "CRMS",
    "ConfigError",
    "SourceSettings",
    "bucket_url",
    "crm",
    "enabled_sources",
    "pipelines_dir",
    "source_settings",
]


def pipelines_dir(warehouse: Path) -> Path:
    """dlt's working folders live next to the warehouse they load, so both share one lifetime: a
    fresh warehouse starts with fresh state, and an interrupted load package is finished on the
    next run against the same warehouse instead of being extracted again."""
    return warehouse.parent / f".{warehouse.stem}.dlt"


@dataclass(frozen=True)
class SourceSettings:
    name: str
    enabled: bool
    mode: str  # api | files
    files_url: str  # the folder/bucket of exported files (mode = files)
    why_off: str = ""  # why a source that is off is off

    @property
    def dataset(self) -> str:
        return DATASETS[self.name]

    def get(self, key: str, kind: type[T], default: T = REQUIRED) -> T:
        """`sources.<name>.<key>`; without a default a missing value is a ConfigError naming it."""
        return config.get(f"sources.{self.name}.{key}", kind, default)

    def secret(self, key: str, required: bool = True) -> str | None:
        return config.secret(f"sources.{self.name}.credentials.{key}", required)

    def url(self, key: str, connect: bool) -> str:
        """A service URL setting (no trailing slash). Declaring assets (`connect=False`) sends no
        request, so it needs no URL: a deployment can load its definitions before it is configured."""
        return config.get(f"sources.{self.name}.{key}", str).rstrip("/") if connect else DECLARE_ONLY_URL


def source_settings(name: str) -> SourceSettings:
    if name not in SOURCES:
        raise ConfigError(f"unknown source {name!r}: choose one of {', '.join(SOURCES)}")
    mode = config.get(f"sources.{name}.mode", str, "files" if name == "product_events" else "api")
    if mode not in MODES:
        raise ConfigError(f"sources.{name}.mode must be one of {', '.join(MODES)}, got {mode!r}")
    enabled = config.get(f"sources.{name}.enabled", bool, True)
    why_off = "" if enabled else f"switched off: sources.{name}.enabled = false"
    if enabled and name in CRMS and name != crm():
        enabled, why_off = False, f'not the configured CRM (crm = "{crm()}")'
    return SourceSettings(
        name=name,
        enabled=enabled,
        mode=mode,
        files_url=config.get(f"sources.{name}.files_url", str, f"data/exports/{name}"),
        why_off=why_off,
    )


def enabled_sources() -> list[str]:
    return [name for name in SOURCES if source_settings(name).enabled]


def bucket_url(value: str) -> str:
    """A local folder becomes an absolute file URL; bucket URLs (s3://, gs://, az://) pass through."""
    if "://" in value:
        return value
    return resolve_path(value).as_uri()
