"""Where training and scoring read their rows: a stream of Arrow record batches from whichever engine
built the marts. The ML steps ask a source for a relation's columns and for the batches of some of its
columns and rows (`Rows`); what they do with the batches (types, order, encoding: ml/features.py) is
the same whatever the source.

- `DuckDBSource`: the warehouse file (DuckDB's own record-batch reader; the daily job's source).
- `ParquetSource`: tables an engine wrote as Parquet folders, `<root>/<schema>.db/<table>/` (the Spark
  target's `spark.sql.warehouse.dir`, `COPILOT_SPARK_WAREHOUSE`), streamed by pyarrow with the rows'
  filter pushed down to the files. A local folder or any URL pyarrow's filesystems read (s3://, gs://).

Only the warehouse's tables come through a source; the model registry, the scores and the CSMs'
verdicts stay in the product's DuckDB file (ml/registry.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

if TYPE_CHECKING:  # the Spark environment (ml/spark_training.py) has no DuckDB
    import duckdb

BATCH_ROWS = 65_536
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Rows:
    """Which snapshot rows: observed from `first` to `last` (either end open), and, with `complete_on`,
    only those whose label horizon ended on or before that day (`label_is_complete` and
    observation_date + label_horizon_days <= complete_on)."""

    first: date | None = None
    last: date | None = None
    complete_on: date | None = None

    @classmethod
    def observed_on(cls, day: date) -> Rows:
        return cls(first=day, last=day)

    def sql(self) -> str:
        parts = []
        if self.first is not None:
            parts.append(f"observation_date >= date '{self.first.isoformat()}'")
        if self.last is not None:
            parts.append(f"observation_date <= date '{self.last.isoformat()}'")
        if self.complete_on is not None:
            parts.append(
                f"label_is_complete and observation_date + label_horizon_days <= date '{self.complete_on.isoformat()}'"
            )
        return " and ".join(parts) or "true"

    def expression(self) -> pc.Expression | None:
        day = pc.field("observation_date")
        parts = []
        if self.first is not None:
            parts.append(day >= pa.scalar(self.first, pa.date32()))
        if self.last is not None:
            parts.append(day <= pa.scalar(self.last, pa.date32()))
        if self.complete_on is not None:
            # Dates as days since 1970: date + integer days has no Arrow kernel.
            ends = pc.add(day.cast(pa.int32()), pc.field("label_horizon_days").cast(pa.int32()))
            last_day = pa.scalar((self.complete_on - _EPOCH).days, pa.int32())
            parts.append(pc.field("label_is_complete") & (ends <= last_day))
        if not parts:
            return None
        expression = parts[0]
        for part in parts[1:]:
            expression = expression & part
        return expression


class FeatureSource(Protocol):
    """A warehouse's tables as Arrow record batches."""

    def columns(self, relation: str) -> list[str]:
        """The column names of `schema.table` in order; empty when it does not exist."""
        ...

    def batches(self, relation: str, columns: list[str], rows: Rows | None = None) -> pa.RecordBatchReader:
        """`columns` of the rows of `relation` that match `rows` (all without), in no particular order."""
        ...


class DuckDBSource:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def __repr__(self) -> str:
        return "DuckDBSource()"

    def columns(self, relation: str) -> list[str]:
        from core.warehouse import columns

        return columns(self.con, relation)

    def batches(self, relation: str, columns: list[str], rows: Rows | None = None) -> pa.RecordBatchReader:
        where = rows.sql() if rows else "true"
        listed = ", ".join(columns)
        return self.con.execute(f"select {listed} from {relation} where {where}").fetch_record_batch(BATCH_ROWS)


class ParquetSource:
    def __init__(self, root: str | Path) -> None:
        self.root = str(root).rstrip("/")

    def __repr__(self) -> str:
        return f"ParquetSource({self.root!r})"

    def _dataset(self, relation: str) -> ds.Dataset | None:
        schema, _, table = relation.rpartition(".")
        path = f"{self.root}/{schema or 'main'}.db/{table}"
        try:
            # Spark's folders also hold _SUCCESS and .crc files, which the default prefixes skip.
            return ds.dataset(path, format="parquet")
        except (FileNotFoundError, OSError):
            return None

    def columns(self, relation: str) -> list[str]:
        dataset = self._dataset(relation)
        return list(dataset.schema.names) if dataset is not None else []

    def batches(self, relation: str, columns: list[str], rows: Rows | None = None) -> pa.RecordBatchReader:
        dataset = self._dataset(relation)
        if dataset is None:
            raise FileNotFoundError(f"{relation} is not under {self.root}")
        expression = rows.expression() if rows else None
        return dataset.scanner(columns=columns, filter=expression, batch_size=BATCH_ROWS).to_reader()


def source_of(con_or_source: duckdb.DuckDBPyConnection | FeatureSource) -> FeatureSource:
    """The source given, or a DuckDB connection's own."""
    if hasattr(con_or_source, "batches"):
        return con_or_source
    return DuckDBSource(con_or_source)
