"""Population stability index (PSI) of features and scores against the training data.

The training data's distribution is stored in the model file as decile edges and the share of rows
in each bin (missing values are a bin of their own), so scoring never re-reads the training rows."""

from __future__ import annotations

import numpy as np

EPSILON = 1e-4  # keeps a bin that is empty on one side from making PSI infinite
SCORE = "__score__"


def reference(values: np.ndarray, bins: int = 10) -> dict[str, list[float]]:
    """Decile edges of the training values and the share of rows in each bin, missing last."""
    present = values[~np.isnan(values)]
    edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1])) if len(present) else np.array([])
    return {"edges": edges.tolist(), "shares": _shares(values, edges).tolist()}


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    missing = np.isnan(values)
    counts = np.bincount(np.searchsorted(edges, values[~missing], side="right"), minlength=len(edges) + 1)
    counts = np.append(counts, missing.sum()).astype(float)
    return counts / max(len(values), 1)


def psi(ref: dict[str, list[float]], values: np.ndarray) -> float:
    expected = np.asarray(ref["shares"]) + EPSILON
    actual = _shares(values, np.asarray(ref["edges"])) + EPSILON
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def level(value: float, moderate: float, major: float) -> str:
    if value >= major:
        return "major"
    return "moderate" if value >= moderate else "none"
