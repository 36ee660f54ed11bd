"""Dagster's SQLite event log, with its database connections kept open.

Every event a run records (a step starting, each asset materialized, each check's result: ~900 in a
full daily run, ~600 in a run with nothing new) is a write to the run's SQLite file and, for asset
and check events, to the index file. Dagster's SQLite storage opens a new connection for every
write and closes it after: each close of the last connection to a database in WAL mode checkpoints
the WAL back into the file and deletes it, and each commit waits for the disk. On two cores that is
about 10 ms an event, a third of a run with nothing new.

This storage is Dagster's own (`SqliteEventLogStorage`: same files, same schema, readable by the
webserver and the daemon as before) except that each database keeps one connection pool for the
life of the process, and commits without waiting for the disk (`synchronous=NORMAL`, SQLite's
recommended setting under WAL: a process that is killed loses nothing; only a power cut can lose
the last events, never corrupt the file). The pools of the few most recently used run databases
stay open (a webserver reads many runs' logs).

Configured in `dagster.yaml` (`event_log_storage`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

# How long SQLite waits on another process's write lock (Dagster's own setting for its SQLite files).
BUSY_TIMEOUT_SECONDS = 30
# Run databases whose connections stay open at once (the index database always does).
OPEN_RUN_DATABASES = 8


def _tune(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` keeping its connections open (see the module docstring)."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = create_engine(self.conn_string_for_shard(shard), connect_args={"timeout": BUSY_TIMEOUT_SECONDS})
        event.listen(engine, "connect", _tune)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        runs = [s for s in self._engines if s != "index"]
        for stale in runs[:-OPEN_RUN_DATABASES]:
            self._engines.pop(stale).dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock, self._engine(shard).connect() as conn, conn.begin():
            yield conn

    def delete_events(self, run_id: str) -> None:
        with self._db_lock:
            engine = self._engines.pop(run_id, None)
        if engine is not None:
            engine.dispose()
        super().delete_events(run_id)

    def wipe(self) -> None:
        self._close_all()
        super().wipe()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()
