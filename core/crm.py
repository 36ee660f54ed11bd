"""The CRM the company runs its customers in: the `crm` setting, "salesforce" (default) or "hubspot".

Every layer reads it here: the loaders load only that CRM, dbt gets it as its var `crm` (the
CRM-neutral staging reads that CRM's models), the alert lifecycle names that CRM's default owner,
and the reverse ETL writes back to that CRM only."""

from __future__ import annotations

from core import config
from core.config import ConfigError

CRMS = ("salesforce", "hubspot")


def crm() -> str:
    """`crm` from the settings (the `CRM` environment variable, .dlt/*.toml), checked."""
    value = config.get("crm", str, "salesforce")
    if value not in CRMS:
        raise ConfigError(f"crm must be one of {', '.join(CRMS)}, got {value!r}")
    return value
