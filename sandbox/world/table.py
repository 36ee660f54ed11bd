"""Growable column tables of numpy arrays: the simulation's hidden state is a handful of these."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np

ColumnSpec = Mapping[str, tuple[str, Any]]  # name -> (numpy dtype, default for new rows)


class Table:
    """Columns of equal length. Rows are appended (capacity doubles) and dropped with `keep`."""

    def __init__(self, spec: ColumnSpec, capacity: int = 16):
        self.spec = dict(spec)
        self.n = 0
        self._cols = {name: np.full(capacity, default, dtype=dtype) for name, (dtype, default) in spec.items()}

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, name: str) -> np.ndarray:
        return self._cols[name][: self.n]

    def __setitem__(self, name: str, values: Any) -> None:
        self._cols[name][: self.n] = values

    def append(self, count: int, **values: Any) -> np.ndarray:
        """Add `count` rows (columns not given take their defaults); returns the new row indices."""
        unknown = set(values) - set(self._cols)
        if unknown:
            raise KeyError(f"unknown columns {sorted(unknown)}")
        needed = self.n + count
        capacity = len(next(iter(self._cols.values())))
        if needed > capacity:
            new_cap = max(needed, capacity * 2)
            for name, (dtype, default) in self.spec.items():
                grown = np.full(new_cap, default, dtype=dtype)
                grown[: self.n] = self._cols[name][: self.n]
                self._cols[name] = grown
        idx = np.arange(self.n, needed)
        for name, (_, default) in self.spec.items():
            # Rows dropped by `keep` leave old values behind: every new row starts from the defaults.
            self._cols[name][self.n : needed] = values.get(name, default)
        self.n = needed
        return idx

    def keep(self, mask: np.ndarray) -> None:
        """Drop the rows where mask is False, keeping the order of the others."""
        kept = int(mask.sum())
        for name in self._cols:
            self._cols[name][:kept] = self._cols[name][: self.n][mask]
        self.n = kept

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, **{name: col[: self.n] for name, col in self._cols.items()})
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, spec: ColumnSpec, data: bytes) -> Table:
        table = cls(spec, capacity=1)
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            missing = set(spec) - set(arrays.files)
            if missing:
                raise ValueError(f"saved table lacks columns {sorted(missing)}")
            n = len(arrays[next(iter(spec))])
            table._cols = {}
            for name, (dtype, _) in spec.items():
                col = arrays[name]
                table._cols[name] = np.asarray(col, dtype=dtype).copy() if n else np.zeros(1, dtype=dtype)
            table.n = n
        return table
