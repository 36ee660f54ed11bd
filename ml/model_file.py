"""A trained model as one JSON file: the XGBoost booster (its own UBJSON format, base64), the
calibration fitted on validation, the feature list, and the training data's distributions that drift
is measured against. JSON rather than pickle: loading a file never runs code from it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ml.errors import ModelError

if TYPE_CHECKING:
    import xgboost as xgb


def _xgboost() -> Any:
    """XGBoost, imported where a booster is used (~1 s): a run that trains and scores nothing, and
    reads only the registry, never loads it."""
    import xgboost

    return xgboost


FORMAT = "copilot-model/1"
BASELINE_FORMAT = "copilot-baseline/1"


@dataclass
class CalibratedModel:
    booster: xgb.Booster | None
    features: list[str]
    calibration: dict[str, Any]
    reference: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def margin(self, matrix: np.ndarray) -> np.ndarray:
        return self.booster.predict(_xgboost().DMatrix(matrix, feature_names=self.features), output_margin=True)

    def calibrate(self, margin: np.ndarray) -> np.ndarray:
        if self.calibration["method"] == "platt":
            return 1 / (1 + np.exp(-(self.calibration["a"] * margin + self.calibration["b"])))
        raw = 1 / (1 + np.exp(-margin))
        return np.interp(raw, self.calibration["x"], self.calibration["y"])

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        return np.clip(self.calibrate(self.margin(matrix)), 0.0, 1.0)

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Per-feature contributions to the margin (log-odds), last column the bias. The approximate
        (Saabas) path: exact SHAP on every account is too slow for the daily run."""
        dmatrix = _xgboost().DMatrix(matrix, feature_names=self.features)
        return self.booster.predict(dmatrix, pred_contribs=True, approx_contribs=True)

    def to_bytes(self) -> bytes:
        document = {
            "format": FORMAT,
            "features": self.features,
            "calibration": self.calibration,
            "reference": self.reference,
            "booster": base64.b64encode(bytes(self.booster.save_raw("ubj"))).decode(),
        }
        return json.dumps(document).encode()


@dataclass
class BaselineModel(CalibratedModel):
    """A logistic regression on standardised features (missing values take the training median),
    calibrated like the booster: the scorer of last resort while no XGBoost model passes the
    promotion floor. Same interface as CalibratedModel; its contributions are exact (coefficient x
    standardised value), last column the intercept."""

    linear: dict[str, list[float] | float] = field(default_factory=dict)  # median, mean, scale, coef, intercept
    scorer: str = "logistic_regression"

    def _standardised(self, matrix: np.ndarray) -> np.ndarray:
        median = np.asarray(self.linear["median"], dtype=float)
        filled = np.where(np.isnan(matrix.astype(float)), median, matrix.astype(float))
        return (filled - np.asarray(self.linear["mean"])) / np.asarray(self.linear["scale"])

    def margin(self, matrix: np.ndarray) -> np.ndarray:
        return self._standardised(matrix) @ np.asarray(self.linear["coef"]) + float(self.linear["intercept"])

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        parts = self._standardised(matrix) * np.asarray(self.linear["coef"])
        return np.column_stack([parts, np.full(len(matrix), float(self.linear["intercept"]))])

    def to_bytes(self) -> bytes:
        document = {
            "format": BASELINE_FORMAT,
            "features": self.features,
            "calibration": self.calibration,
            "reference": self.reference,
            "linear": self.linear,
            "scorer": self.scorer,
        }
        return json.dumps(document).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(model: CalibratedModel, path: Path) -> str:
    """Write atomically (temporary file, then rename); return the file's SHA-256."""
    data = model.to_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return sha256(data)


def read(path: str | Path, expected_sha256: str | None = None) -> CalibratedModel:
    """Load a model file; a missing, altered or unreadable file raises one ModelError line."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"model file {path} is missing")
    data = path.read_bytes()
    if expected_sha256 and sha256(data) != expected_sha256:
        raise ModelError(f"model file {path} is corrupt (its checksum differs from the registry's)")
    xgb = _xgboost()
    try:
        document = json.loads(data)
        if document.get("format") == BASELINE_FORMAT:
            return BaselineModel(
                None, list(document["features"]), document["calibration"], document["reference"],
                document["linear"], document["scorer"],
            )  # fmt: skip
        if document.get("format") != FORMAT:
            raise ValueError("unknown format")
        booster = xgb.Booster()
        booster.load_model(bytearray(base64.b64decode(document["booster"])))
        return CalibratedModel(booster, list(document["features"]), document["calibration"], document["reference"])
    except (ValueError, KeyError, TypeError, xgb.core.XGBoostError) as exc:
        raise ModelError(f"model file {path} is corrupt ({exc.__class__.__name__})") from exc
