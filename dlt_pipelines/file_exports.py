"""Loading a system from exported files instead of its API, into the same raw tables.

Teams often have exports before they have API credentials. Set `sources.<system>.mode = "files"`
and `sources.<system>.files_url` to a folder or bucket URL laid out as

    <files_url>/<Object>/<any name>.csv | .jsonl | .ndjson | .parquet

where `<Object>` is the API's object name (`Account`, `tickets`, `invoices`, ...) and the columns
or keys are the API's field names (nested values such as Stripe `metadata` or Zendesk `tags` as
JSON text in CSV). Files are listed with dlt's filesystem source, read, typed by the table's
contract, checked (bad records go to `quarantine`) and merged on the primary key, exactly as the
API path does. A file is read again only when its size or modification time changes.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

import dlt
import orjson
import pyarrow.parquet as pq
from dlt.common.storages.fsspec_filesystem import FileItemDict
from dlt.sources import DltSource
from dlt.sources.filesystem import filesystem

from dlt_pipelines import contracts
from dlt_pipelines.contracts import TableSpec
from dlt_pipelines.settings import SourceSettings, bucket_url

FORMATS = (".csv", ".jsonl", ".ndjson", ".parquet")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def typed(spec: TableSpec, record: dict[str, Any]) -> dict[str, Any]:
    """Give text values their contract types (CSV has only text). A value that does not convert
    stays as it is, so the contract check reports it instead of it being lost."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        ftype = spec.fields.get(key)
        if isinstance(value, str) and ftype and ftype != "str":
            text = value.strip()
            if text == "":
                value = None
            elif ftype in ("int", "unix"):
                with contextlib.suppress(ValueError):
                    value = int(text) if text.lstrip("-").isdigit() else int(float(text))
            elif ftype == "float":
                with contextlib.suppress(ValueError):
                    value = float(text)
            elif ftype == "bool":
                value = True if text.lower() in _TRUE else False if text.lower() in _FALSE else value
            elif ftype == "json":
                with contextlib.suppress(orjson.JSONDecodeError):
                    value = orjson.loads(text)
        elif value == "" and ftype == "str":
            value = None
        out[key] = value
    return out


def read_records(item: FileItemDict) -> Iterator[dict[str, Any]]:
    name = item["file_name"].lower()
    if name.endswith(".parquet"):
        with item.open() as f:
            yield from pq.read_table(f).to_pylist()
    elif name.endswith((".jsonl", ".ndjson")):
        with item.open() as f:
            for line in f:
                if line.strip():
                    yield orjson.loads(line)
    elif name.endswith(".csv"):
        with item.open() as f:
            yield from csv.DictReader(io.TextIOWrapper(f, encoding="utf-8-sig", newline=""))


def table_resource(spec: TableSpec, url: str) -> Any:
    files = filesystem(bucket_url=url, file_glob=f"{spec.name}/*").with_name(f"{spec.table}_files")

    @dlt.transformer(data_from=files, **spec.resource_hints())
    def rows(items: list[FileItemDict]) -> Iterator[list[dict[str, Any]]]:
        state = dlt.current.resource_state()
        seen: dict[str, str] = state.setdefault("files", {})
        for item in sorted(items, key=lambda i: i["relative_path"]):
            if not item["file_name"].lower().endswith(FORMATS):
                continue
            version = f"{item.get('size_in_bytes')}@{item['modification_date']}"
            if seen.get(item["relative_path"]) == version:
                continue
            batch: list[dict[str, Any]] = []
            for record in read_records(item):
                batch.append(typed(spec, record))
                if len(batch) >= 5000:
                    yield batch
                    batch = []
            if batch:
                yield batch
            seen[item["relative_path"]] = version

    return contracts.attach(rows, spec)


def export_source(cfg: SourceSettings, tables: Mapping[str, TableSpec]) -> DltSource:
    objects: list[str] = cfg.get("objects", list, list(tables))
    url = bucket_url(cfg.files_url)

    @dlt.source(name=cfg.name, max_table_nesting=1 if cfg.name != "stripe" else None)
    def exported() -> Any:
        return [table_resource(tables[o], url) for o in objects]

    return exported()
