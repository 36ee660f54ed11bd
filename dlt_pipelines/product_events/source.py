"""Product usage events: the warehouse export's Parquet files, one immutable file per day.

Layout (`sources.product_events.files_url`, a folder or bucket URL):
`event_date=YYYY-MM-DD/events.parquet`, columns event_id, account_id, user_id, event_name,
event_timestamp (timestamp, UTC), properties (JSON text).

- Files are listed with dlt's filesystem source (local folders, s3://, gs://, az://).
- Each new file is read with pyarrow (several files per read, multi-threaded; the next read runs
  in a thread while dlt writes the previous table) and handed to dlt as Arrow tables, which dlt
  writes to Parquet and DuckDB reads in bulk: rows never become Python dicts.
- Incremental by file: the resource state remembers every file loaded (path, size, rows), so a
  file is loaded exactly once even if it arrives late for an old date. State commits with the load.
- Contract per file: the columns above with those types must be present (extra columns evolve into
  new columns). A file that breaks it is not loaded; it is recorded in `quarantine` with the reason
  and retried only if its size changes.
- Layout checks that stop the load with one line naming the folder or file (`LayoutError`, phrased
  by the runner as a `SourceFailure`) instead of loading nothing or the wrong thing: a file outside
  an `event_date=YYYY-MM-DD` folder, a missing day between the first and the last date folder, an id
  column (event_id, account_id, user_id) that is not text (integer ids would not join the CRM's), and
  a folder whose files hold no rows at all. The runner also stops a first load that finds no file.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dlt
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from dlt.common.storages.fsspec_filesystem import FileItemDict
from dlt.sources import DltSource
from dlt.sources.filesystem import filesystem

from dlt_pipelines import contracts
from dlt_pipelines.http import SourceFailure
from dlt_pipelines.settings import SourceSettings, bucket_url

DEFAULT_GLOB = "event_date=*/*.parquet"
TABLE = "events"
# Rows read per Arrow batch: large enough for DuckDB to load in parallel, small enough for memory.
ROWS_PER_BATCH = 1_000_000
# Files listed per call of the transformer (dlt's default is 100).
FILES_PER_PAGE = 10_000

ID_COLUMNS = ("event_id", "account_id", "user_id")
PARTITION = "event_date="


class LayoutError(SourceFailure):
    """The export folder does not have the documented layout: `str()` is one line naming where."""

    def __init__(self, where: str, problem: str):
        super().__init__("product_events", where, problem)


def partition_problems(folder: str, relative_paths: list[str]) -> LayoutError | None:
    """The first layout problem of the listed files: a file outside an `event_date=YYYY-MM-DD` folder,
    or a day missing between the first and the last date folder (a day without events still has its
    folder, possibly with an empty file)."""
    days: set[date] = set()
    for path in relative_paths:
        part = next((p for p in path.split("/") if p.startswith(PARTITION)), None)
        try:
            days.add(date.fromisoformat(part[len(PARTITION) :]) if part else None)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return LayoutError(f"{folder}/{path}", "not in an event_date=YYYY-MM-DD folder")
    if not days:
        return None
    first, last = min(days), max(days)
    missing = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    missing = [d for d in missing if d not in days]
    if missing:
        more = f" and {len(missing) - 1} more day(s)" if len(missing) > 1 else ""
        return LayoutError(
            f"{folder}/{PARTITION}{missing[0]}",
            f"date folder missing between {PARTITION}{first} and {PARTITION}{last}{more}: "
            "the export is incomplete, nothing loaded",
        )
    return None


def id_type_problems(schema: pa.Schema) -> list[str]:
    """Id columns that exist but are not text: a contract breach that stops the load (not quarantine)."""
    return [
        f"column `{name}` is {schema.field(name).type}, expected string (ids are text)"
        for name in ID_COLUMNS
        if name in schema.names
        and not (pa.types.is_string(schema.field(name).type) or pa.types.is_large_string(schema.field(name).type))
    ]


EXPECTED: dict[str, str] = {
    "event_id": "string",
    "account_id": "string",
    "user_id": "string",
    "event_name": "string",
    "event_timestamp": "timestamp",
    "properties": "string",
}


def empty_events_table() -> pa.Table:
    types = {"string": pa.string(), "timestamp": pa.timestamp("us", "UTC")}
    return pa.table({name: pa.array([], types[kind]) for name, kind in EXPECTED.items()})


def schema_problems(schema: pa.Schema) -> list[str]:
    problems = []
    for name, kind in EXPECTED.items():
        if name not in schema.names:
            problems.append(f"missing column `{name}`")
            continue
        t = schema.field(name).type
        ok = pa.types.is_timestamp(t) if kind == "timestamp" else (pa.types.is_string(t) or pa.types.is_large_string(t))
        if not ok:
            problems.append(f"column `{name}` is {t}, expected {kind}")
    return problems


def _path(item: FileItemDict) -> str:
    if item["file_url"].startswith("file://"):
        return item.local_file_path
    return item.fsspec._strip_protocol(item["file_url"])


def _read(group: list[FileItemDict]) -> pa.Table:
    paths = [_path(i) for i in group]
    fs = None if group[0]["file_url"].startswith("file://") else group[0].fsspec
    return pq.read_table(paths, filesystem=fs)


def _quarantine(item: FileItemDict, reason: str, schema: pa.Schema | None) -> Any:
    row = {
        "source_table": TABLE,
        "record_key": item["relative_path"],
        "reason": reason,
        "record": orjson.dumps({"file": item["file_url"], "schema": str(schema) if schema else None}).decode(),
        "quarantined_at": datetime.now(UTC),
    }
    return dlt.mark.with_hints([row], contracts.QUARANTINE_HINTS, create_table_variant=True)


def product_events_source(cfg: SourceSettings, connect: bool = True) -> DltSource:
    url = bucket_url(cfg.files_url)
    glob = cfg.get("file_glob", str, DEFAULT_GLOB)

    @dlt.source(name="product_events")
    def product_events() -> Any:
        # Every new file in one call of the transformer (not dlt's default pages of 100 files), so
        # that reads are grouped in full batches and the next group is read while dlt writes this one.
        files = filesystem(bucket_url=url, file_glob=glob, files_per_page=FILES_PER_PAGE)

        @dlt.transformer(name=TABLE, data_from=files, write_disposition="append")
        def events(items: list[FileItemDict]) -> Iterator[Any]:
            state = dlt.current.resource_state()
            seen: dict[str, dict[str, Any]] = state.setdefault("files", {})
            layout = partition_problems(cfg.files_url.rstrip("/"), [i["relative_path"] for i in items])
            if layout:
                raise layout
            new_rows = 0
            batches: list[list[FileItemDict]] = []  # groups in the order they are read
            groups: dict[str, list[FileItemDict]] = {}
            rows: dict[str, int] = {}
            for item in sorted(items, key=lambda i: i["relative_path"]):
                key = item["relative_path"]
                size = item.get("size_in_bytes")
                known = seen.get(key)
                if known and (known.get("status") == "loaded" or known.get("size") == size):
                    continue
                try:
                    meta = pq.read_metadata(
                        _path(item), filesystem=None if item["file_url"].startswith("file://") else item.fsspec
                    )
                    schema = meta.schema.to_arrow_schema()
                    problems = schema_problems(schema)
                except (OSError, pa.ArrowInvalid) as exc:
                    schema, problems = None, [f"not a readable Parquet file: {exc}"]
                ids = id_type_problems(schema) if schema is not None else []
                if ids:
                    raise LayoutError(f"{cfg.files_url.rstrip('/')}/{key}", "; ".join(ids))
                if problems:
                    seen[key] = {"status": "quarantined", "size": size, "reason": "; ".join(problems)}
                    yield _quarantine(item, "; ".join(problems), schema)
                    continue
                # Files with other shapes (an added column) are read apart: a multi-file read takes
                # the first file's schema and would drop the extra column silently.
                shape = str(schema)
                if rows.get(shape, 0) + meta.num_rows > ROWS_PER_BATCH and groups.get(shape):
                    batches.append(groups.pop(shape))
                    rows[shape] = 0
                groups.setdefault(shape, []).append(item)
                rows[shape] = rows.get(shape, 0) + meta.num_rows
                seen[key] = {"status": "loaded", "size": size, "rows": meta.num_rows}
                new_rows += meta.num_rows
            if new_rows == 0 and rows and not any(f.get("rows") for f in seen.values()):
                raise LayoutError(
                    cfg.files_url.rstrip("/"), f"the {len(items)} event file(s) hold no rows: nothing to load"
                )
            batches += groups.values()
            yield from _read_ahead(batches)

        return events

    return product_events()


def _read_ahead(batches: list[list[FileItemDict]]) -> Iterator[pa.Table]:
    """Arrow tables of `batches` in order, reading the next one in a thread while the caller (dlt
    writing the Parquet file) handles this one: pyarrow reads and writes without holding the GIL."""
    if not batches:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="product-events-read") as pool:
        pending = pool.submit(_read, batches[0])
        for batch in batches[1:]:
            table = pending.result()
            pending = pool.submit(_read, batch)
            yield table
            del table
        yield pending.result()
