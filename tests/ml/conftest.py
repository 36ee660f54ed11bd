"""The ML tests train on copies of the session's built S warehouse, with settings small enough for S."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from core.clock import require_as_of_date
from core.warehouse import connect
from ml.config import MlConfig, load_config
from ml.registry import TrainingRun
from ml.score import ScoreResult, score
from ml.train import train
from tests.pipeline import DbtRun

# S has 12 months: three test and three validation weeks leave a few weeks to train on after the two gaps.
S_SETTINGS = {
    "split": {"test_weeks": 3, "valid_weeks": 3},
    "min_positives": {"train": 3, "valid": 3, "test": 3},
    "xgboost": {
        "fixed": {"objective": "binary:logistic", "tree_method": "hist", "eval_metric": "auc", "learning_rate": 0.1,
                  "nthread": 2},
        "grid": [{"max_depth": 3, "min_child_weight": 1}, {"max_depth": 2, "min_child_weight": 1}],
        "max_rounds": 200,
        "early_stopping_rounds": 20,
    },
    "promotion": {"tolerance": 0.0, "min_roc_auc": 0.0},
    "calibration": "platt",
}  # fmt: skip


@pytest.fixture(scope="session")
def s_config() -> MlConfig:
    return load_config(**S_SETTINGS)


@pytest.fixture
def warehouse(built_warehouse: tuple[Path, DbtRun], tmp_path: Path) -> Path:
    """A private copy of the built S warehouse."""
    path, run = built_warehouse
    assert run.returncode == 0, run.output[-3000:]
    return Path(shutil.copyfile(path, tmp_path / "warehouse.duckdb"))


@pytest.fixture
def models(tmp_path: Path) -> Path:
    return tmp_path / "models"


def train_on(
    path: Path, kind: str, config: MlConfig, models: Path, as_of: date | None = None, features: list[str] | None = None
) -> TrainingRun:
    """Train on the warehouse file as of `as_of` (default: its data clock), as the daily job does."""
    with connect(path) as con:
        return train(
            con, kind, as_of or require_as_of_date(con), config, models, **({"features": features} if features else {})
        )


def score_on(path: Path, config: MlConfig) -> ScoreResult:
    """Score the warehouse file as of its data clock, as the daily job does."""
    with connect(path) as con:
        return score(con, require_as_of_date(con), config)
