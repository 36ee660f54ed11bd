"""Writes to Salesforce with simple-salesforce: sObject Collections upserts (200 records a call)
for small changes, one Bulk API 2.0 upsert job above the configured size. Both report per-record
results, so one bad record never fails the others.

Retries: the requests session under simple-salesforce retries 429 (honouring Retry-After) and 5xx
with exponential backoff (urllib3's Retry); a session that ends mid-sync (401 `INVALID_SESSION_ID`)
is logged into again once and the call re-sent, and 403 `REQUEST_LIMIT_EXCEEDED` (no Retry-After)
is retried with backoff (`core.auth.SalesforceSession`). When they are exhausted the call raises
and the sync stops cleanly; upserts are by key, so resending after a crash never creates a second
record.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceOperationError
from urllib3.util.retry import Retry

from core.auth import SalesforceSession
from reverse_etl.config import SyncConfig

COLLECTION_SIZE = 200
RETRY_STATUSES = (429, 500, 502, 503, 504)

# (record keys of one batch, {key: error or None}, {key: Salesforce Id}) after each batch
BatchDone = Callable[[dict[str, str | None], dict[str, str]], None]


class BulkJobFailed(Exception):
    """A Bulk API 2.0 job ended Failed (or Aborted, or did not finish): `str()` is Salesforce's reason."""


def _job_failure(exc: SalesforceOperationError) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first.removeprefix("Job failure. Response content: ")[:400]


def retrying_session(cfg: SyncConfig) -> requests.Session:
    session = requests.Session()
    retry = Retry(
        total=cfg.max_attempts - 1,
        backoff_factor=cfg.backoff_factor,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # upserts by key are idempotent: PATCH and POST may be retried
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if cfg.ca_bundle:
        session.verify = str(cfg.ca_bundle)
        session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override `verify`
    return session


def connect(cfg: SyncConfig) -> Salesforce:
    """OAuth client-credentials token, then a client on the instance URL the token names; its
    requests carry the session's current token (a new one after a re-login)."""
    salesforce_session = SalesforceSession(
        cfg.salesforce_login,
        retrying_session(cfg),
        limit_attempts=cfg.max_attempts,
        limit_backoff=cfg.backoff_factor,
    )
    token = salesforce_session.current()
    session = salesforce_session.attach(retrying_session(cfg))
    return Salesforce(
        instance_url=token.instance_url,
        session_id=token.access_token,
        session=session,
        version=cfg.salesforce_api_version,
    )


def _errors_text(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors) or "failed"


def _chunks(records: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(records), size):
        yield records[i : i + size]


def upsert_collections(
    sf: Salesforce, sobject: str, key_field: str, records: list[dict[str, Any]], on_batch: BatchDone
) -> None:
    for batch in _chunks(records, COLLECTION_SIZE):
        body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}, **r} for r in batch]}
        results = sf.restful(f"composite/sobjects/{sobject}/{key_field}", method="PATCH", json=body)
        outcome: dict[str, str | None] = {}
        ids: dict[str, str] = {}
        for record, result in zip(batch, results, strict=True):
            key = str(record[key_field])
            outcome[key] = None if result.get("success") else _errors_text(result.get("errors") or [])
            if result.get("id"):
                ids[key] = result["id"]
        on_batch(outcome, ids)


def upsert_bulk(
    sf: Salesforce, sobject: str, key_field: str, records: list[dict[str, Any]], on_batch: BatchDone
) -> None:
    # Bulk CSV: an empty cell leaves a field as it is, #N/A clears it.
    rows = [{k: "#N/A" if v is None else v for k, v in r.items()} for r in records]
    try:
        jobs = getattr(sf.bulk2, sobject).upsert(records=rows, external_id_field=key_field, wait=0.2)
    except SalesforceOperationError as exc:
        # The job ended Failed or Aborted (a bad header, a field Salesforce does not know, a timeout):
        # no record of it was written. Each is logged with the job's reason and retried next run.
        reason = _job_failure(exc)
        on_batch({str(r[key_field]): f"Bulk API job failed: {reason}" for r in records}, {})
        raise BulkJobFailed(reason) from exc
    outcome: dict[str, str | None] = {str(r[key_field]): None for r in records}
    ids: dict[str, str] = {}
    for job in jobs:
        client = getattr(sf.bulk2, sobject)
        for row in csv.DictReader(io.StringIO(client.get_failed_records(job["job_id"]))):
            outcome[row[key_field]] = row.get("sf__Error") or "failed"
        for row in csv.DictReader(io.StringIO(client.get_successful_records(job["job_id"]))):
            ids[row[key_field]] = row["sf__Id"]
    on_batch(outcome, ids)
