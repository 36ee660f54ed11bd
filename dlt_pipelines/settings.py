"""Where the loaders read their settings: `.dlt/config.toml`, `.dlt/secrets.toml` and environment variables.

Every value the loaders need is looked up here, by dlt's own config accessors, so that a real
deployment changes only `.dlt/` files or environment variables (for example
`SOURCES__SALESFORCE__LOGIN_URL`, `SOURCES__STRIPE__CREDENTIALS__API_KEY`), never code.

In the sandbox (`COPILOT_ENV` unset or `sandbox`) the committed `.dlt/example.secrets.toml`, which
holds the sandbox's published credentials, is registered as the last, lowest-priority secrets
provider: a real `.dlt/secrets.toml` or an environment variable always wins over it.
"""

from __future__ import annotations

import fcntl
import functools
import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"

# Offline by default: dlt would otherwise phone home on every run.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
# dlt looks for `.dlt/` in the working directory; Dagster and pytest may run from elsewhere.
os.environ.setdefault("DLT_PROJECT_DIR", str(REPO_ROOT))

import dlt  # noqa: E402  (must come after the environment defaults above)
import duckdb  # noqa: E402
from dlt.common.configuration.providers import CustomLoaderDocProvider  # noqa: E402

SOURCES = ("salesforce", "zendesk", "stripe", "product_events")
DATASETS = {
    "salesforce": "raw_salesforce",
    "zendesk": "raw_zendesk",
    "stripe": "raw_stripe",
    "product_events": "raw_product",
}
MODES = ("api", "files")
T = TypeVar("T")

_sandbox_registered = False


def environment() -> str:
    """`sandbox` (default), `ci` or `production`; only the sandbox falls back to the example secrets."""
    return os.environ.get("COPILOT_ENV", "sandbox").strip().lower() or "sandbox"


def configure() -> None:
    """Register the sandbox secrets provider once (a no-op outside the sandbox)."""
    global _sandbox_registered
    if _sandbox_registered or environment() != "sandbox":
        return
    example = REPO_ROOT / ".dlt" / "example.secrets.toml"
    if example.exists():
        provider = CustomLoaderDocProvider(
            "sandbox example.secrets.toml",
            lambda: tomllib.loads(example.read_text()),
            supports_secrets=True,
            locations=[str(example)],
        )
        dlt.config.register_provider(provider)
    _sandbox_registered = True


def setting(key: str, default: T, expected_type: type[T] | None = None) -> T:
    """A config value (env var > secrets.toml > config.toml), or `default` when none is set."""
    configure()
    wanted = expected_type or (type(default) if default is not None else None)
    value = dlt.config.get(key, wanted)
    return default if value is None else value


def secret(key: str, required: bool = True) -> str | None:
    configure()
    value = dlt.secrets.get(key, str)
    if value is None and required:
        env = key.upper().replace(".", "__")
        raise ConfigError(f"missing secret `{key}`: set {env} or add it to .dlt/secrets.toml")
    return value


class ConfigError(Exception):
    """A setting that is missing or wrong, phrased for the person deploying."""


def resolve_path(value: str | Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def warehouse_path() -> Path:
    """The DuckDB file: `COPILOT_WAREHOUSE`, else `[copilot] warehouse` in config.toml."""
    value = os.environ.get("COPILOT_WAREHOUSE") or setting("copilot.warehouse", DEFAULT_WAREHOUSE)
    return resolve_path(value)


# Without a cap DuckDB keeps up to 80 % of the machine's memory in its buffers. The loaders and dbt
# (profiles.yml reads the same variable, with the same default) cap it, so that the whole daily
# run at L stays within 8 GB; DuckDB spills to disk beyond the cap.
DEFAULT_DUCKDB_MEMORY_LIMIT = "5GB"


def duckdb_memory_limit() -> str:
    """DuckDB's memory cap for loads: `COPILOT_DUCKDB_MEMORY_LIMIT`, e.g. "5GB". ConfigError when
    DuckDB does not read it as a size."""
    value = (os.environ.get("COPILOT_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT).strip()
    _check_memory_limit(value)
    return value


def _memory_limit_sql(value: str) -> str:
    return f"SET memory_limit = '{value}'"


@functools.cache
def _check_memory_limit(value: str) -> None:
    """DuckDB itself says what it accepts (5GB, 512MiB, ...): the statement every connection runs,
    tried once per value on an in-memory database."""
    with duckdb.connect(":memory:") as con:
        try:
            con.execute(_memory_limit_sql(value))
        except duckdb.Error as exc:
            reason = str(exc).splitlines()[0]
            raise ConfigError(
                f"COPILOT_DUCKDB_MEMORY_LIMIT={value!r} is not a memory size DuckDB accepts (e.g. 5GB, 512MB): {reason}"
            ) from None


def connect_warehouse(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse with DuckDB's memory cap: every layer opens the file this way."""
    con = duckdb.connect(str(path), read_only=read_only)
    # SET rather than connect(config=...): a second connection in the same process with another
    # config would be refused while the first is open.
    con.execute(_memory_limit_sql(duckdb_memory_limit()))
    return con


def pipelines_dir(warehouse: Path) -> Path:
    """dlt's working folders live next to the warehouse they load, so both share one lifetime: a
    fresh warehouse starts with fresh state, and an interrupted load package is finished on the
    next run against the same warehouse instead of being extracted again."""
    return warehouse.parent / f".{warehouse.stem}.dlt"


@dataclass(frozen=True)
class SourceSettings:
    name: str
    enabled: bool
    mode: str  # api | files
    files_url: str  # the folder/bucket of exported files (mode = files)

    @property
    def dataset(self) -> str:
        return DATASETS[self.name]

    def get(self, key: str, default: T, expected_type: type[T] | None = None) -> T:
        return setting(f"sources.{self.name}.{key}", default, expected_type)

    def secret(self, key: str, required: bool = True) -> str | None:
        return secret(f"sources.{self.name}.credentials.{key}", required)


def source_settings(name: str) -> SourceSettings:
    if name not in SOURCES:
        raise ConfigError(f"unknown source {name!r}: choose one of {', '.join(SOURCES)}")
    mode = setting(f"sources.{name}.mode", "files" if name == "product_events" else "api", str)
    if mode not in MODES:
        raise ConfigError(f"sources.{name}.mode must be one of {', '.join(MODES)}, got {mode!r}")
    return SourceSettings(
        name=name,
        enabled=setting(f"sources.{name}.enabled", True, bool),
        mode=mode,
        files_url=setting(f"sources.{name}.files_url", f"data/exports/{name}", str),
    )


def enabled_sources() -> list[str]:
    return [name for name in SOURCES if source_settings(name).enabled]


def bucket_url(value: str) -> str:
    """A local folder becomes an absolute file URL; bucket URLs (s3://, gs://, az://) pass through."""
    if "://" in value:
        return value
    return resolve_path(value).as_uri()


@contextmanager
def open_warehouse(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse held for loading: its write lock, and one open connection that every loader
    and check of this process shares (each thread through its own cursor). DuckDB runs their
    transactions side by side, and the file is opened and checkpointed once instead of once per
    load."""
    with warehouse_write_lock(warehouse), connect_warehouse(warehouse) as con:
        yield con


@contextmanager
def warehouse_write_lock(warehouse: Path) -> Iterator[None]:
    """Hold the warehouse for writing. DuckDB lets one process at a time open the file (even to read
    while another writes), so a process that loads waits here for another one to finish. An OS file
    lock (flock) beside the warehouse: released by the OS when its holder dies, so a killed run
    never leaves it stuck."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with open(warehouse.parent / f".{warehouse.name}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
