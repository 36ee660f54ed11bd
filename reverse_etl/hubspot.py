"""Writes to HubSpot's CRM v3 API (a private app's access token, bearer auth), 100 inputs a call.

- Company properties: `POST /crm/v3/objects/companies/batch/update` by company id. Updating a
  record by id is idempotent, so a resend after a crash writes the same values again.
- Alert tasks: `POST /crm/v3/objects/tasks/batch/upsert` with `idProperty = copilot_alert_id` (a
  custom task property with unique values: the alert's stable external id), so a rerun updates the
  task it made and never creates a second one; then
  `POST /crm/v4/associations/tasks/companies/batch/associate/default` ties each task to its company
  (making an association again changes nothing). A task counts as delivered only once both answered.

Retries: the requests session retries 429 (honouring Retry-After) and 5xx with exponential backoff
(`salesforce.retrying_session`); when they are exhausted the call raises and the sync stops cleanly.
HubSpot refuses a whole batch for one bad input (400 VALIDATION_ERROR, or 404 for an update of a
company that no longer exists): such a batch is sent again one input at a time, so only the bad
record fails, with HubSpot's message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import requests

from reverse_etl.config import SyncConfig
from reverse_etl.salesforce import retrying_session

BATCH_SIZE = 100  # HubSpot's limit of inputs per batch call
TASK_KEY = "copilot_alert_id"

# ({record key: error or None}, {record key: HubSpot id}) after each batch
BatchDone = Callable[[dict[str, str | None], dict[str, str]], None]


class Client:
    """A session on the portal's API base URL carrying the private app's token."""

    def __init__(self, cfg: SyncConfig) -> None:
        self.base_url = cfg.hubspot_base_url.rstrip("/")
        self.session = retrying_session(cfg)
        self.session.headers["Authorization"] = f"Bearer {cfg.hubspot_token}"

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        response = self.session.post(f"{self.base_url}{path}", json=body, timeout=60)
        if response.status_code in (401, 403, 429) or response.status_code >= 500:
            # No token, a missing scope, or retries exhausted: the sync stops (what was delivered is saved).
            response.raise_for_status()
        return response


def connect(cfg: SyncConfig) -> Client:
    return Client(cfg)


def _chunks(records: list[dict[str, Any]], size: int = BATCH_SIZE) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(records), size):
        yield records[i : i + size]


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    return f"{body.get('category', response.status_code)}: {body.get('message', '')}"[:500]


def update_companies(client: Client, records: list[dict[str, Any]], on_batch: BatchDone) -> None:
    """`records`: {"id": company id, "properties": {...}}."""
    for batch in _chunks(records):
        inputs = [{"id": str(r["id"]), "properties": r["properties"]} for r in batch]
        outcome: dict[str, str | None] = {str(r["id"]): "no result from HubSpot" for r in batch}
        ids: dict[str, str] = {}
        for i, (result, error) in enumerate(_answers(client, "/crm/v3/objects/companies/batch/update", inputs)):
            if result is not None:
                outcome[str(result["id"])] = None
                ids[str(result["id"])] = str(result["id"])
            elif error is not None:
                outcome[inputs[i]["id"]] = error
        on_batch(outcome, ids)


def _answers(client: Client, path: str, inputs: list[dict[str, Any]]) -> list[tuple[dict[str, Any] | None, str | None]]:
    """Each input's result or error: the batch in one call, and when HubSpot refuses the whole batch
    (a 4xx), each input alone, so one bad record does not fail the others. A refused input's error
    is at its input's position; results carry their own ids."""
    response = client.post(path, {"inputs": inputs})
    if response.status_code < 400:
        return [(r, None) for r in response.json().get("results", [])]
    if len(inputs) == 1:
        return [(None, _message(response))]
    out: list[tuple[dict[str, Any] | None, str | None]] = []
    for one in inputs:
        answer = _answers(client, path, [one])
        out.append(answer[0] if answer else (None, "no result from HubSpot"))
    return out


def upsert_tasks(client: Client, records: list[dict[str, Any]], on_batch: BatchDone) -> None:
    """`records`: {"alert_id", "company_id", "properties"}: upsert by the alert id, then associate."""
    for batch in _chunks(records):
        keys = [str(r["alert_id"]) for r in batch]
        outcome: dict[str, str | None] = dict.fromkeys(keys, "no result from HubSpot")
        inputs = [
            {"idProperty": TASK_KEY, "id": k, "properties": r["properties"]} for k, r in zip(keys, batch, strict=True)
        ]
        task_ids: dict[str, str] = {}
        for i, (result, error) in enumerate(_answers(client, "/crm/v3/objects/tasks/batch/upsert", inputs)):
            if result is not None:
                key = str((result.get("properties") or {}).get(TASK_KEY) or "")
                if key in outcome:
                    task_ids[key] = str(result["id"])
            elif error is not None:
                outcome[keys[i]] = error
        company = {str(r["alert_id"]): r["company_id"] for r in batch}
        pairs = [{"from": {"id": task_ids[k]}, "to": {"id": str(company[k])}} for k in task_ids if company[k]]
        associated: set[str] = set()
        if pairs:
            response = client.post("/crm/v4/associations/tasks/companies/batch/associate/default", {"inputs": pairs})
            if response.status_code < 400:
                associated = {str(r["from"]["id"]) for r in response.json().get("results", [])}
            else:
                error = f"task written, company association refused: {_message(response)}"
                for k in task_ids:
                    outcome[k] = error
        for k, task_id in task_ids.items():
            if not company[k] or task_id in associated:
                outcome[k] = None
            elif outcome[k] == "no result from HubSpot":
                outcome[k] = f"task written, not associated with company {company[k]} (it may be deleted)"
        on_batch(outcome, {k: v for k, v in task_ids.items() if outcome[k] is None})
