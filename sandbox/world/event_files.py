"""Writing the daily event files on a background thread.

Parquet encoding and compression release the GIL, so the file of day D is written on the second
core while day D+1 is simulated. At most a couple of days are in flight, which bounds memory.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

MAX_IN_FLIGHT = 2


def write_atomically(table: pa.Table, path: Path) -> None:
    """Write to a temporary name and rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(
        table,
        tmp,
        compression="zstd",
        use_dictionary=["account_id", "user_id", "event_name"],
        write_statistics=["event_timestamp", "account_id", "event_name"],
    )
    os.replace(tmp, path)


class EventFiles:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="event-files")
        self._pending: deque[Future[None]] = deque()

    def submit(self, table: pa.Table, path: Path) -> None:
        while len(self._pending) >= MAX_IN_FLIGHT:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(write_atomically, table, path))

    def wait(self) -> None:
        """Block until every submitted file is on disk (re-raising a failed write)."""
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._pool.shutdown(wait=True)
