"""Table contracts: what each raw table expects from its API, and where records that break it go.

Each raw table has a `TableSpec`: the API object's field names and types, its primary key, its
modification cursor and a contract mode chosen per table (overridable in config as
`sources.<source>.contracts.<table> = "evolve" | "quarantine"`):

- `evolve`: the API may add fields or stop sending some (they load as NULL). Records whose key,
  cursor or a declared field's value is unusable (a missing id, a timestamp that does not parse,
  letters where a number belongs) are quarantined.
- `quarantine`: the table's types are strict. On top of the checks above, a value of another type
  (even a coercible one, like "12" for 12) is quarantined. Used where a silent change would
  corrupt money.

A field the contract does not know never quarantines a record: APIs add fields all the time (a
real Stripe customer has forty, the contract names ten). Where it goes is the table's
`unknown_fields` setting (overridable as `sources.<source>.unknown_fields.<table>`):

- `columns`: it becomes a new column (nested objects unnest, lists become child tables).
- `json`: the table's columns stay as declared and unknown fields are kept together, as one JSON
  object per record, in the `_extra_fields` column (NULL when there are none).

The default is `columns` for `evolve` tables and `json` for `quarantine` ones. Either way the load
report names the new fields.

Quarantined records land in the source's `quarantine` table, in the same load as the good ones,
with the table, the record's key, the reason and the record as received (JSON text); nothing is
dropped. Run reports count them per table and reason. Later runs fetch them again by id until they
load or an operator discards them (`recovery.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal

import dlt
import orjson
from dlt.extract.items_transform import ItemTransform

from core import config

FieldType = Literal["str", "int", "float", "bool", "timestamp", "date", "unix", "json"]
Contract = Literal["evolve", "quarantine"]
CONTRACTS: tuple[Contract, ...] = ("evolve", "quarantine")
UnknownFields = Literal["columns", "json"]
UNKNOWN_FIELDS: tuple[UnknownFields, ...] = ("columns", "json")
EXTRA_COLUMN = "_extra_fields"

QUARANTINE_TABLE = "quarantine"

# dlt data types of the raw columns. Nested JSON gets no hint: dlt unnests dicts into columns
# (`metadata__salesforce_account_id`) and lists into child tables (`tickets__tags`), which any
# warehouse can query without JSON functions.
DLT_TYPES: dict[str, str] = {
    "str": "text",
    "int": "bigint",
    "float": "double",
    "bool": "bool",
    "timestamp": "timestamp",
    "date": "date",
    "unix": "bigint",
}


@dataclass(frozen=True)
class TableSpec:
    source: str
    name: str  # the API's object name; also the folder name of file exports
    table: str  # the raw table (dlt resource) name
    primary_key: str
    cursor: str | None  # the modification field incremental loads filter on
    fields: Mapping[str, FieldType]
    contract: Contract = "evolve"
    unknown_fields: UnknownFields | None = None  # None: `columns` for evolve, `json` for quarantine
    json_columns: tuple[str, ...] = ()  # nested values kept whole, as one JSON column
    non_negative: tuple[str, ...] = ()  # amounts and counts the quality checks bound below by 0
    envelope: tuple[str, ...] = ()  # API bookkeeping dropped before loading (Salesforce `attributes`)
    optional: tuple[str, ...] = ()  # fields the API leaves out when they do not apply
    # Types of known keys inside nested objects, by their flattened column name, so a key that is
    # null in every record of a load still gets its column.
    nested: Mapping[str, FieldType] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def effective_contract(self) -> Contract:
        value = config.get(f"sources.{self.source}.contracts.{self.table}", str, self.contract)
        if value not in CONTRACTS:
            raise config.ConfigError(
                f"sources.{self.source}.contracts.{self.table} must be one of {', '.join(CONTRACTS)}, got {value!r}"
            )
        return value  # type: ignore[return-value]

    @property
    def effective_unknown_fields(self) -> UnknownFields:
        default = self.unknown_fields or ("json" if self.contract == "quarantine" else "columns")
        value = config.get(f"sources.{self.source}.unknown_fields.{self.table}", str, default)
        if value not in UNKNOWN_FIELDS:
            raise config.ConfigError(
                f"sources.{self.source}.unknown_fields.{self.table} must be one of {', '.join(UNKNOWN_FIELDS)}, "
                f"got {value!r}"
            )
        return value  # type: ignore[return-value]

    def column_hints(self) -> dict[str, dict[str, Any]]:
        hints: dict[str, dict[str, Any]] = {}
        for name, ftype in self.fields.items():
            if name in self.json_columns:
                hints[name] = {"data_type": "json"}
            elif ftype in DLT_TYPES:
                hints[name] = {"data_type": DLT_TYPES[ftype]}
        for name, ftype in self.nested.items():
            hints[name] = {"data_type": DLT_TYPES[ftype]}
        if self.effective_unknown_fields == "json":
            hints[EXTRA_COLUMN] = {"data_type": "json"}
        hints[self.primary_key] = {**hints.get(self.primary_key, {}), "nullable": False}
        if self.cursor:
            # Several versions of one record in a load (file exports, overlapping pages): keep the newest.
            hints[self.cursor] = {**hints.get(self.cursor, {}), "dedup_sort": "desc"}
        return hints

    def resource_hints(self) -> dict[str, Any]:
        """Hints for `dlt.resource` / rest_api resources: merge on the key, typed columns."""
        return {
            "name": self.table,
            "primary_key": self.primary_key,
            "write_disposition": {"disposition": "merge", "strategy": "delete-insert"},
            "columns": self.column_hints(),
        }

    def empty_table(self) -> Any:
        """A zero-row Arrow table of the scalar columns: loading it creates the raw table, so a
        table the API had nothing for yet (no Tasks before the copilot writes any) still exists
        for the models that read it."""
        import pyarrow as pa

        arrow = {
            "text": pa.string(),
            "bigint": pa.int64(),
            "double": pa.float64(),
            "bool": pa.bool_(),
            "timestamp": pa.timestamp("us", "UTC"),
            "date": pa.date32(),
        }
        cols = {n: h["data_type"] for n, h in self.column_hints().items() if h.get("data_type") in arrow}
        fields = [pa.field(n, arrow[t]) for n, t in cols.items()]
        # The columns dlt adds to every row it normalizes from API records, NOT NULL as it declares
        # them: DuckDB cannot add a column with a constraint to an existing table, so the table must
        # have them from the start, or the first real records (the first Tasks) fail to load.
        fields += [pa.field(name, pa.string(), nullable=False) for name in ("_dlt_load_id", "_dlt_id")]
        return pa.Table.from_pylist([], schema=pa.schema(fields))

    @property
    def timestamp_fields(self) -> list[str]:
        return [n for n, t in self.fields.items() if t in ("timestamp", "unix")]


# --- checking one record -------------------------------------------------------------------------


def _parse_timestamp(value: str) -> datetime | None:
    text = value.strip().replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():  # Salesforce's +0000 form
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _is_number_text(value: str, integral: bool) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    return not integral or number.is_integer()


def value_problem(ftype: FieldType, value: Any, strict: bool) -> str | None:
    """Why `value` cannot load as `ftype` (None when it can). Lenient mode accepts what dlt coerces
    without loss: numeric text for numbers, true/false text for booleans, scalars for text."""
    if value is None:
        return None
    kind = type(value).__name__
    if ftype == "json":
        return None if isinstance(value, dict | list) else f"expected an object or list, got {kind}"
    if isinstance(value, dict | list):
        return f"expected {ftype}, got a nested {kind}"
    if ftype == "str":
        return None if isinstance(value, str) or not strict else f"expected text, got {kind}"
    if ftype == "bool":
        if isinstance(value, bool):
            return None
        if not strict and isinstance(value, str) and value.lower() in ("true", "false"):
            return None
        return f"expected true/false, got {value!r}"
    if ftype in ("int", "unix", "float"):
        integral = ftype != "float"
        if isinstance(value, bool):
            return f"expected a number, got {value!r}"
        if isinstance(value, int) or (isinstance(value, float) and (not integral or value.is_integer())):
            return None if not strict or isinstance(value, int) or not integral else f"expected int, got {value!r}"
        if not strict and isinstance(value, str) and _is_number_text(value, integral):
            return None
        return f"expected {'an integer' if integral else 'a number'}, got {value!r}"
    if ftype == "timestamp":
        if isinstance(value, datetime):
            return None
        if isinstance(value, str) and _parse_timestamp(value) is not None:
            return None
        return f"expected a timestamp, got {value!r}"
    if ftype == "date":
        if isinstance(value, date):
            return None
        if isinstance(value, str):
            try:
                date.fromisoformat(value[:10])
                return None
            except ValueError:
                pass
        return f"expected a date, got {value!r}"
    return None


def record_problems(spec: TableSpec, record: Any, contract: Contract) -> list[str]:
    if not isinstance(record, dict):
        return [f"not a JSON object ({type(record).__name__})"]
    out: list[str] = []
    if record.get(spec.primary_key) in (None, ""):
        out.append(f"missing primary key `{spec.primary_key}`")
    if spec.cursor and record.get(spec.cursor) in (None, ""):
        out.append(f"missing modification field `{spec.cursor}`")
    strict = contract == "quarantine"
    for name, ftype in spec.fields.items():
        if name in record:
            value = record[name]
            if value is None or type(value) in _FITS[ftype]:
                continue
            problem = value_problem(ftype, value, strict)
            if problem:
                out.append(f"`{name}`: {problem}")
    return out


# The value types every contract takes as they are (`value_problem` finds nothing), checked first:
# nearly every value of every record is one of them.
_FITS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "unix": (int,),
    "float": (float, int),
    "bool": (bool,),
    "json": (dict, list),
    "timestamp": (datetime,),
    "date": (date,),
}


def quarantine_row(spec: TableSpec, record: Any, reason: str) -> dict[str, Any]:
    key = record.get(spec.primary_key) if isinstance(record, dict) else None
    return {
        "source_table": spec.table,
        "record_key": None if key is None else str(key),
        "reason": reason,
        "record": orjson.dumps(record, default=str).decode(),
        "quarantined_at": datetime.now(UTC),
    }


# A table variant starts from a copy of its resource's hints (typed columns, primary key, merge);
# empty columns and keys reset them, so the quarantine table has only its own five columns
# (source_table, record_key, reason, record as JSON text, quarantined_at), typed from the rows.
QUARANTINE_HINTS = dlt.mark.make_hints(
    table_name=QUARANTINE_TABLE,
    write_disposition="append",
    primary_key=[],
    merge_key=[],
    columns={},
)


def split(
    spec: TableSpec, records: list[Any], contract: Contract, unknown_fields: UnknownFields = "columns"
) -> tuple[list[Any], list[dict[str, Any]]]:
    good: list[Any] = []
    bad: list[dict[str, Any]] = []
    for record in records:
        problems = record_problems(spec, record, contract)
        if problems:
            bad.append(quarantine_row(spec, record, "; ".join(problems)))
        else:
            if spec.envelope:
                for key in spec.envelope:
                    record.pop(key, None)
            if unknown_fields == "json":
                extra = {k: record.pop(k) for k in [k for k in record if k not in spec.fields]}
                record[EXTRA_COLUMN] = extra or None
            good.append(record)
    return good, bad


def quarantine_step(spec: TableSpec) -> Callable[..., Iterator[Any]]:
    """A pipe step that passes good records on as one batch and routes bad ones to `quarantine`.

    It must run before dlt's incremental step (which needs a usable cursor on every record), so
    callers insert it right after the resource's generator (`attach`)."""
    contract = spec.effective_contract
    unknown_fields = spec.effective_unknown_fields

    def step(items: Any, meta: Any = None) -> Iterator[Any]:
        batch = items if isinstance(items, list) else [items]
        good, bad = split(spec, batch, contract, unknown_fields)
        good = keep_vanished_fields(spec, good)
        if good:
            yield good
        if bad:
            yield dlt.mark.with_hints(bad, QUARANTINE_HINTS, create_table_variant=True)

    return step


def keep_vanished_fields(spec: TableSpec, good: list[Any]) -> list[Any]:
    """Declared fields a good record does not carry keep their stored values (`drift.py`)."""
    from dlt_pipelines import drift

    return drift.keep_stored(spec, good)


def attach(resource: Any, spec: TableSpec) -> Any:
    """Insert the contract check right after the resource's generator (before incremental), and
    the hand-over as Arrow tables (`ArrowBatches`) after dlt's incremental step."""
    resource.add_step(quarantine_step(spec), insert_at=1)
    resource.add_step(ArrowBatches(spec))
    return resource


# --- records as Arrow tables ---------------------------------------------------------------------
#
# dlt normalizes dict records one value at a time (every null and every timestamp text coerced in
# Python); an Arrow table it writes to Parquet as it is, and DuckDB reads that in bulk. At L a
# typical day re-reads the 16 k Accounts the sync wrote scores to, and their normalization was half
# of the Salesforce load. So a batch whose records fit the contract's columns exactly goes on as one
# Arrow table. A nested object whose keys the contract declares (`TableSpec.nested`: Zendesk's
# `reply_time_in_minutes`, a Stripe event's `request`) is flattened into the columns dlt would
# unnest it into (`reply_time_in_minutes__calendar`). A batch with anything dlt must shape itself (a
# field the contract does not know, an undeclared key or a list in a nested object, a value of
# another type to coerce, a timestamp without an offset) stays as dicts, so dlt's rules for new
# columns, child tables and coercion apply unchanged.


class _JsonAsTextNotice(logging.Filter):
    """JSON columns travel as JSON text in the Arrow tables, which dlt's schema types `json` and
    DuckDB casts on insert; dlt warns at every load that the Arrow type (text) differs from the
    declared one. That difference is intended, so its warning is dropped, nothing else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "when merging arrow schema with dlt schema" not in record.getMessage()


logging.getLogger("dlt").addFilter(_JsonAsTextNotice())


class ArrowBatches(ItemTransform[Any, dict[str, Any]]):
    """The pipe step that turns each batch of good records into an Arrow table (`arrow_batch`).

    It sits after dlt's incremental step: that step keeps one cursor per kind of item (dicts,
    Arrow), and the last kind it saw in a run would set the stored cursor, so everything it sees
    stays dicts (the quarantine rows too). Quarantine rows, which carry their table variant as
    meta, pass unchanged."""

    placement_affinity: ClassVar[float] = 1.2  # after incremental (1) and add_limit (1.1)

    def __init__(self, spec: TableSpec) -> None:
        super().__init__(lambda item: item)
        self.spec = spec
        self.json_columns = set(spec.json_columns)
        if spec.effective_unknown_fields == "json":
            self.json_columns.add(EXTRA_COLUMN)

    def __call__(self, item: Any, meta: Any = None) -> Any:
        if meta is not None or not isinstance(item, list):
            return item
        table = arrow_batch(self.spec, item, self.json_columns)
        return item if table is None else table


def _checked_column(ftype: FieldType, values: list[Any]) -> Any:
    """A column Arrow's conversion would not check strictly enough (it truncates 45.5 into an
    integer column and takes true for 1.0): JSON, integers, floats. Each value must be of a type the
    field takes as it is (`_FITS`); None when one is not."""
    import pyarrow as pa

    fits = _FITS[ftype]
    if not all(v is None or type(v) in fits for v in values):
        return None
    if ftype == "json":
        return pa.array([None if v is None else orjson.dumps(v).decode() for v in values], pa.string())
    return pa.array(values, pa.float64() if ftype == "float" else pa.int64())


def _flattened(value: Any, prefix: str, leaves: Mapping[str, FieldType], out: dict[str, Any]) -> bool:
    """Put a nested object's values into `out` under the names dlt unnests them into (`prefix__key`);
    False when it holds a list or a key `leaves` does not declare (dlt's own path then)."""
    for key, item in value.items():
        name = f"{prefix}__{key}"
        if type(item) is dict:
            if not _flattened(item, name, leaves, out):
                return False
        elif name in leaves and type(item) is not list:
            out[name] = item
        else:
            return False
    return True


def _flat_records(records: list[Any], nested_fields: list[str], leaves: Mapping[str, FieldType]) -> list[Any] | None:
    """The records with each nested object replaced by its declared leaf columns (None: one does
    not fit, see `_flattened`). A missing or null object leaves them null, as dlt does."""
    out = []
    for record in records:
        flat = {k: v for k, v in record.items() if k not in nested_fields}
        for name in nested_fields:
            value = record.get(name)
            if value is not None and (type(value) is not dict or not _flattened(value, name, leaves, flat)):
                return None
        out.append(flat)
    return out


def arrow_batch(spec: TableSpec, records: list[Any], json_columns: set[str]) -> Any:
    """`records` as one Arrow table with a column per declared field (typed by the contract; nested
    objects as their declared leaf columns) and dlt's row ids, or None when any record needs dlt's
    own normalization (see above)."""
    import pyarrow as pa
    from dlt.common.normalizers.utils import generate_dlt_ids

    if not records:
        return None
    nested_fields = [n for n, t in spec.fields.items() if t == "json" and n not in json_columns]
    leaves = {leaf: t for leaf, t in spec.nested.items() if any(leaf.startswith(f"{n}__") for n in nested_fields)}
    if any(not any(leaf.startswith(f"{n}__") for leaf in leaves) for n in nested_fields):
        return None  # nested fields with keys only dlt knows (Stripe's free-form `metadata`): its own path
    known = set(spec.fields) | json_columns
    if not all(type(r) is dict and r.keys() <= known for r in records):
        return None
    if nested_fields:
        records = _flat_records(records, nested_fields, leaves)
        if records is None:
            return None
    types: dict[str, FieldType] = {n: t for n, t in spec.fields.items() if n not in nested_fields} | leaves
    names = [*types, *sorted(json_columns - set(spec.fields))]
    # Text, booleans, and timestamps and dates (as text, parsed below) go through Arrow's own
    # conversion, which refuses a value of any other type; the other columns are checked in Python.
    converted = {n: t for n, t in types.items() if n not in json_columns and t in ("str", "bool", "timestamp", "date")}
    try:
        plain = pa.Table.from_pylist(
            records, schema=pa.schema([(n, pa.bool_() if t == "bool" else pa.string()) for n, t in converted.items()])
        )
        columns: dict[str, Any] = {}
        for name in names:
            ftype = "json" if name in json_columns else types[name]
            if name in converted:
                column = plain.column(name)
                # Arrow parses ISO 8601 with any offset (Salesforce's +0000 too) and refuses text
                # without one: such values go through dlt, which reads them as UTC.
                if ftype == "timestamp":
                    column = column.cast(pa.timestamp("us", "UTC"))
                elif ftype == "date":
                    column = column.cast(pa.date32())
            else:
                column = _checked_column(ftype, [r.get(name) for r in records])
                if column is None:
                    return None
            columns[name] = column
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None
    fields = [pa.field(n, c.type, nullable=n != spec.primary_key) for n, c in columns.items()]
    # dlt gives every row it normalizes a `_dlt_id` (the raw tables declare it NOT NULL); the Arrow
    # path leaves that to the producer. `_dlt_load_id` is added by dlt (`.dlt/config.toml`).
    fields.append(pa.field("_dlt_id", pa.string(), nullable=False))
    arrays = [*columns.values(), pa.array(generate_dlt_ids(len(records)), pa.string())]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def by_name(resources: list[Any]) -> dict[str, Any]:
    """rest_api's resources keyed by name."""
    return {r.name: r for r in resources}
