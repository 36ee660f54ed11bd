"""What one simulated day's code works with: the store, the state, the day's randomness and stamps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from sandbox.schema import ObjectSchema
from sandbox.store import Store
from sandbox.world.calendar import LAST_SECOND, date_of, day_start_unix, to_datetime
from sandbox.world.rng import Stream, day_rng
from sandbox.world.state import H, World


@dataclass
class Day:
    store: Store
    world: World
    day: int
    # Hidden happenings of the day that several parts of the company react to (account rows).
    today: dict[str, np.ndarray] = field(default_factory=dict)
    # Event files written, records written: for the progress lines and the summary.
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def date(self) -> date:
        return date_of(self.day)

    @property
    def t0(self) -> int:
        """Unix seconds at 00:00 UTC of the day."""
        return day_start_unix(self.day)

    def rng(self, stream: Stream, sub: int = 0) -> np.random.Generator:
        return day_rng(self.world.seed, self.day, stream, sub)

    def clip(self, ts: np.ndarray | int) -> np.ndarray:
        """Keep unix stamps inside the simulated part of the day: [00:00, 23:00)."""
        return np.clip(np.asarray(ts, dtype=np.int64), self.t0, self.t0 + LAST_SECOND)

    def stamps(self, ts: np.ndarray) -> list[datetime]:
        return [to_datetime(t) for t in self.clip(ts).tolist()]

    def historic(self, day: int, seconds: int) -> int | None:
        """Unix time `seconds` into an earlier `day`; None for today, when a record's creation time
        is simply the stamp of the write that creates it."""
        return day_start_unix(int(day)) + seconds if day < self.day else None

    def write(
        self, obj: ObjectSchema, records: list[dict], ts: np.ndarray | int, event_type: str | list[str] | None = None
    ) -> None:
        """Write records stamped at unix times `ts` (clipped into the day), inside the day's transaction."""
        if records:
            stamps = self.stamps(np.broadcast_to(np.asarray(ts, dtype=np.int64), (len(records),)))
            self.store.write(obj, records, stamps, event_type=event_type, commit=False, returning=False)

    def work_hours(self, rng: np.random.Generator, n: int, start_h: float = 7.0, end_h: float = 21.0) -> np.ndarray:
        """n unix stamps spread over the working part of the day, in order."""
        secs = np.sort(rng.uniform(start_h * 3600, end_h * 3600, n)).astype(np.int64)
        return self.t0 + secs

    def log(
        self, kind: str, accounts: np.ndarray, values: np.ndarray | float = 0.0, contacts: np.ndarray | int = -1
    ) -> None:
        """Record hidden happenings for the ground truth."""
        accounts = np.asarray(accounts)
        if len(accounts):
            self.world.history.append(
                len(accounts), day=self.day, account=accounts, kind=H[kind], value=values, contact=contacts
            )

    def count(self, key: str, n: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + n
