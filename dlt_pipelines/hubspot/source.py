"""HubSpot through the CRM v3 APIs (v4 for associations), as a dlt source.

- Auth: a private app's access token, sent as a bearer token.
- Objects (companies, contacts, deals, tasks), merged on `id`, incremental on `updatedAt`:
  - the first load lists every record (`GET /crm/v3/objects/{type}?properties=...`, `after` paging);
  - later loads search for the records modified since the last one loaded (`POST .../search`,
    `hs_lastmodifieddate` — `lastmodifieddate` for contacts — GTE the cursor, sorted by it, 200 a page).
    One search query reaches at most 10,000 results: when a window holds more, the window moves
    up to the last modification time read and searching starts again (records read twice are
    dropped). Searches are paced under HubSpot's 5 a second; a 429 is retried like any other.
  - deletes: archived records (`archived=true` lists) arrive with `archived = true` and `archivedAt`;
    the merge flags the row, and staging filters them.
- Owners (with their teams, kept as JSON) are listed whole each run, active and archived.
- Associations: for each contact, deal and task loaded, its companies (v4 batch read), one row per
  pair and association type; a record's rows are replaced whenever the record is loaded again.
- Properties are named explicitly per object (`tables.py`, plus `sources.hubspot.properties.<object>`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa
import requests
from dlt.sources import DltSource

from dlt_pipelines import contracts, http
from dlt_pipelines.contracts import TableSpec
from dlt_pipelines.hubspot.tables import ASSOCIATED, ASSOCIATIONS, CURSOR, OBJECTS, OWNERS, TABLES, modified_property
from dlt_pipelines.settings import SourceSettings

INITIAL_UPDATED_AT = "1970-01-01T00:00:00.000Z"
LIST_PAGE = 100
SEARCH_PAGE = 200
SEARCH_RESULTS_PER_QUERY = 10_000
ASSOCIATION_BATCH = 1000


class WindowStuck(Exception):
    """More records share one modification time than a search query can reach."""


def epoch_ms(value: str) -> int:
    ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return int(ts.astimezone(UTC).timestamp() * 1000)


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """A CRM record as one row: its envelope (id, times, archived) and its properties as columns."""
    row = {key: record.get(key) for key in ("id", "createdAt", "updatedAt", "archived")}
    if record.get("archivedAt"):
        row["archivedAt"] = record["archivedAt"]
    for name, value in (record.get("properties") or {}).items():
        row.setdefault(name, value)
    return row


class HubSpotApi:
    """The calls the source makes, over the product's retrying session."""

    def __init__(self, base_url: str, token: str | None, searches_per_second: float):
        self.base_url = base_url.rstrip("/")
        self.session = http.session()
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.search_interval = 1.0 / searches_per_second if searches_per_second > 0 else 0.0
        self._last_search = 0.0

    def _check(self, resp: requests.Response, ok: tuple[int, ...] = (200,)) -> dict[str, Any]:
        if resp.status_code not in ok:
            raise requests.HTTPError(f"HTTP {resp.status_code}", response=resp)
        return resp.json()

    def get(self, path: str, params: list[tuple[str, Any]]) -> dict[str, Any]:
        return self._check(self.session.get(f"{self.base_url}{path}", params=params, headers=self.headers))

    def post(self, path: str, body: dict[str, Any], ok: tuple[int, ...] = (200,)) -> dict[str, Any]:
        return self._check(self.session.post(f"{self.base_url}{path}", json=body, headers=self.headers), ok)

    def search(self, object_type: str, body: dict[str, Any]) -> dict[str, Any]:
        wait = self._last_search + self.search_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_search = time.monotonic()
        return self.post(f"/crm/v3/objects/{object_type}/search", body)

    def pages(self, path: str, params: list[tuple[str, Any]]) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list endpoint, following `paging.next.after`."""
        after: str | None = None
        while True:
            data = self.get(path, params + ([("after", after)] if after else []))
            yield data.get("results") or []
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return


def list_records(api: HubSpotApi, name: str, properties: list[str], archived: bool) -> Iterator[list[dict[str, Any]]]:
    params = [("limit", LIST_PAGE), ("properties", ",".join(properties)), ("archived", str(archived).lower())]
    for page in api.pages(f"/crm/v3/objects/{name}", params):
        if page:
            yield [flatten(r) for r in page]


def search_changed(
    api: HubSpotApi, name: str, properties: list[str], since: str, cap: int = SEARCH_RESULTS_PER_QUERY
) -> Iterator[list[dict[str, Any]]]:
    """Records modified at or after `since`, oldest first, across as many search windows as needed."""
    prop = modified_property(name)
    window = since
    seen: set[str] = set()
    while True:
        offset, fetched, total, last = 0, 0, 0, None
        while True:
            body: dict[str, Any] = {
                "filterGroups": [
                    {"filters": [{"propertyName": prop, "operator": "GTE", "value": str(epoch_ms(window))}]}
                ],
                "sorts": [{"propertyName": prop, "direction": "ASCENDING"}],
                "properties": properties,
                "limit": min(SEARCH_PAGE, cap - offset),
            }
            if offset:
                body["after"] = str(offset)
            data = api.search(name, body)
            results = data.get("results") or []
            total = int(data.get("total") or 0)
            fetched = offset + len(results)
            if results:
                last = results[-1].get("updatedAt") or (results[-1].get("properties") or {}).get(prop)
            fresh = [flatten(r) for r in results if r.get("id") not in seen]
            seen.update(r.get("id") for r in results)
            if fresh:
                yield fresh
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not after or not results:
                break
            offset = int(after)
        if fetched >= total or last is None:
            return
        # The query's results end here: search again from the last modification time read.
        if epoch_ms(last) <= epoch_ms(window):
            raise WindowStuck(f"more than {cap} {name} were modified at {window}: a search query cannot reach them all")
        window = last


def _object_resource(api: HubSpotApi | None, spec: TableSpec, properties: list[str]) -> Any:
    @dlt.resource(**spec.resource_hints())
    def records(
        # dlt reads a resource's cursor from this default argument (its documented form)
        updated: dlt.sources.incremental[str] = dlt.sources.incremental(  # noqa: B008
            CURSOR, initial_value=INITIAL_UPDATED_AT, on_cursor_value_missing="include"
        ),
    ) -> Iterator[list[dict[str, Any]]]:
        assert api is not None
        start = updated.start_value or INITIAL_UPDATED_AT
        if start == INITIAL_UPDATED_AT:
            yield from list_records(api, spec.name, properties, archived=False)
        else:
            yield from search_changed(api, spec.name, properties, start)
        # Search never returns archived records: the archived list brings the deletes.
        yield from list_records(api, spec.name, properties, archived=True)

    return records


def association_key(from_type: str, from_id: str, to_type: str, to_id: str, type_id: Any) -> str:
    return f"{from_type}:{from_id}:{to_type}:{to_id}:{type_id}"


def association_rows(api: HubSpotApi, from_type: str, to_type: str, ids: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(0, len(ids), ASSOCIATION_BATCH):
        chunk = ids[i : i + ASSOCIATION_BATCH]
        data = api.post(
            f"/crm/v4/associations/{from_type}/{to_type}/batch/read", {"inputs": [{"id": x} for x in chunk]}, (200, 207)
        )
        for result in data.get("results") or []:
            from_id = str((result.get("from") or {}).get("id"))
            for target in result.get("to") or []:
                to_id = str(target.get("toObjectId"))
                for kind in target.get("associationTypes") or []:
                    rows.append(
                        {
                            "association_key": association_key(from_type, from_id, to_type, to_id, kind.get("typeId")),
                            "from_key": f"{from_type}:{from_id}",
                            "from_type": from_type,
                            "from_id": from_id,
                            "to_type": to_type,
                            "to_id": to_id,
                            "type_id": kind.get("typeId"),
                            "category": kind.get("category"),
                            "label": kind.get("label"),
                        }
                    )
    return rows


def _associations_transformer(api: HubSpotApi | None, parent: Any, from_type: str, to_type: str) -> Any:
    hints = ASSOCIATIONS.resource_hints()
    hints["name"] = f"{from_type}_associations"
    hints["table_name"] = ASSOCIATIONS.table
    # A record's associations are replaced as a whole each time the record is loaded again.
    hints["merge_key"] = "from_key"

    @dlt.transformer(data_from=parent, **hints)
    def associations(items: Any) -> Iterator[list[dict[str, Any]]]:
        assert api is not None
        if isinstance(items, pa.Table):  # records that fit the contract arrive as one Arrow table
            items = items.select([c for c in ("id", "archived") if c in items.column_names]).to_pylist()
        if not isinstance(items, list):  # quarantined records travel marked for their own table
            return
        ids = [str(r["id"]) for r in items if isinstance(r, dict) and r.get("id") and not r.get("archived")]
        rows = association_rows(api, from_type, to_type, ids) if ids else []
        if rows:
            yield rows

    return associations


def _owners_resource(api: HubSpotApi | None) -> Any:
    @dlt.resource(**OWNERS.resource_hints())
    def owners() -> Iterator[list[dict[str, Any]]]:
        assert api is not None
        for archived in (False, True):
            params = [("limit", 500), ("archived", str(archived).lower())]
            for page in api.pages("/crm/v3/owners", params):
                if page:
                    yield page

    return owners


def hubspot_source(cfg: SourceSettings, connect: bool = True) -> DltSource:
    """The HubSpot source. With `connect=False` nothing is fetched (used to declare assets)."""
    objects: list[str] = cfg.get("objects", list, list(TABLES))
    unknown = [o for o in objects if o not in TABLES]
    if unknown:
        raise ValueError(f"sources.hubspot.objects: no contract for {unknown}; known: {list(TABLES)}")
    api = (
        HubSpotApi(cfg.url("base_url", connect), cfg.secret("access_token"), cfg.get("searches_per_second", float, 4.0))
        if connect
        else None
    )

    @dlt.source(name="hubspot", max_table_nesting=1)
    def hubspot() -> Any:
        resources: list[Any] = []
        parents: dict[str, Any] = {}
        for name in objects:
            if name in OBJECTS:
                spec = OBJECTS[name]
                extra = cfg.get(f"properties.{name}", list, [])
                properties = list(dict.fromkeys([*spec.extra["properties"], *extra]))
                parents[name] = contracts.attach(_object_resource(api, spec, properties), spec)
                resources.append(parents[name])
            elif name == "owners":
                resources.append(contracts.attach(_owners_resource(api), OWNERS))
        if "associations" in objects:
            for from_type, to_type in ASSOCIATED.items():
                if from_type in parents:
                    resources.append(_associations_transformer(api, parents[from_type], from_type, to_type))
        return resources

    return hubspot()
