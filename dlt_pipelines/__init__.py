"""Ingestion: one dlt source per system (Salesforce, Zendesk, Stripe, product events) into DuckDB.

See README.md in this folder for the layout, contracts, file exports and state handling.
"""

import os

from core.config import REPO_ROOT

# Set before any module of this package imports dlt. Offline by default: dlt would otherwise phone
# home on every run.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
# dlt reads its own settings (`[runtime]` retries, writers) from `.dlt/` in the working directory;
# Dagster and pytest may run from elsewhere.
os.environ.setdefault("DLT_PROJECT_DIR", str(REPO_ROOT))
