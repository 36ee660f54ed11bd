"""The product-event export's layout is checked before anything loads: a folder with no file or no
rows, an id column that is not text, a file outside a date folder and a missing date folder each stop
the load with one line naming the folder or file (small synthetic Parquet files, no world)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dlt_pipelines import runner
from dlt_pipelines.http import SourceFailure


def _events(day: date, rows: int, integer_ids: bool = False) -> pa.Table:
    ids = [day.toordinal() * 100 + i for i in range(rows)] if integer_ids else [f"{day}-{i}" for i in range(rows)]
    return pa.table(
        {
            "event_id": pa.array(ids, pa.int64() if integer_ids else pa.string()),
            "account_id": pa.array(["acc-1"] * rows, pa.string()),
            "user_id": pa.array(["user-1"] * rows, pa.string()),
            "event_name": pa.array(["login"] * rows, pa.string()),
            "event_timestamp": pa.array([datetime(day.year, day.month, day.day, 10, tzinfo=UTC)] * rows,
                                        pa.timestamp("us", "UTC")),
            "properties": pa.array(["{}"] * rows, pa.string()),
        }
    )  # fmt: skip


def _write(folder: Path, day: date, table: pa.Table) -> Path:
    path = folder / f"event_date={day}" / "events.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


@pytest.fixture
def export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "exports"
    folder.mkdir()
    monkeypatch.setenv("SOURCES__PRODUCT_EVENTS__FILES_URL", str(folder))
    monkeypatch.setenv("SOURCES__PRODUCT_EVENTS__ENABLED", "true")
    return folder


def _load(tmp_path: Path) -> SourceFailure:
    with pytest.raises(SourceFailure) as failure:
        runner.run_source("product_events", warehouse=tmp_path / "warehouse" / "warehouse.duckdb")
    message = str(failure.value)
    assert "\n" not in message and message.startswith("product_events: ")
    return failure.value


def _loaded_rows(tmp_path: Path) -> int:
    path = tmp_path / "warehouse" / "warehouse.duckdb"
    if not path.exists():
        return 0
    con = duckdb.connect(str(path), read_only=True)
    try:
        found = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'raw_product' and table_name = 'events'"
        ).fetchone()[0]
        return con.execute("select count(*) from raw_product.events").fetchone()[0] if found else 0
    finally:
        con.close()


DAY = date(2026, 3, 1)


def test_a_complete_export_loads(export: Path, tmp_path: Path) -> None:
    for i in range(3):
        _write(export, DAY + timedelta(days=i), _events(DAY + timedelta(days=i), 2))
    report = runner.run_source("product_events", warehouse=tmp_path / "warehouse" / "warehouse.duckdb")
    assert report.tables["events"].rows_loaded == 6 and _loaded_rows(tmp_path) == 6


def test_an_empty_folder_stops_the_load_naming_it(export: Path, tmp_path: Path) -> None:
    failure = _load(tmp_path)
    assert failure.endpoint == str(export) and "no file matches event_date=*/*.parquet" in failure.problem
    assert _loaded_rows(tmp_path) == 0


def test_files_without_rows_stop_the_load_naming_the_folder(export: Path, tmp_path: Path) -> None:
    for i in range(2):
        _write(export, DAY + timedelta(days=i), _events(DAY + timedelta(days=i), 0))
    failure = _load(tmp_path)
    assert failure.endpoint == str(export) and "2 event file(s) hold no rows" in failure.problem
    assert _loaded_rows(tmp_path) == 0


def test_integer_ids_stop_the_load_naming_the_file(export: Path, tmp_path: Path) -> None:
    _write(export, DAY, _events(DAY, 2))
    bad = _write(export, DAY + timedelta(days=1), _events(DAY + timedelta(days=1), 2, integer_ids=True))
    failure = _load(tmp_path)
    assert failure.endpoint == f"{export}/{bad.relative_to(export).as_posix()}"
    assert failure.problem == "column `event_id` is int64, expected string (ids are text)"
    assert _loaded_rows(tmp_path) == 0


def test_a_missing_date_folder_stops_the_load_naming_the_day(export: Path, tmp_path: Path) -> None:
    for i in (0, 1, 3, 5):
        _write(export, DAY + timedelta(days=i), _events(DAY + timedelta(days=i), 1))
    failure = _load(tmp_path)
    assert failure.endpoint == f"{export}/event_date=2026-03-03"
    assert "between event_date=2026-03-01 and event_date=2026-03-06 and 1 more day(s)" in failure.problem
    assert _loaded_rows(tmp_path) == 0


def test_a_file_outside_a_date_folder_stops_the_load_naming_it(export: Path, tmp_path: Path) -> None:
    _write(export, DAY, _events(DAY, 1))
    (export / "event_date=latest").mkdir()
    pq.write_table(_events(DAY, 1), export / "event_date=latest" / "events.parquet")
    failure = _load(tmp_path)
    assert failure.endpoint == f"{export}/event_date=latest/events.parquet"
    assert failure.problem == "not in an event_date=YYYY-MM-DD folder"
