"""When the models train: the retraining policy, and the Dagster assets that apply it once per run on
the run's as-of date. A model asset materializes only in a run that trained it; every run scores."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml
from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult, materialize

from ml.config import CONFIG_FILE
from ml.registry import training_due
from orchestration.defs.ml import MODEL_KEYS, SCORES, ml_assets
from orchestration.resources import WarehouseResource
from tests.ml.conftest import S_SETTINGS

CHURN, EXPANSION = MODEL_KEYS["churn"], MODEL_KEYS["expansion"]


def test_a_model_is_due_without_a_champion_or_once_the_as_of_date_moved_on_by_the_setting() -> None:
    monday = date(2026, 10, 19)
    assert training_due("churn", monday, None, 7) == "no champion churn model yet"
    assert training_due("churn", monday, monday - timedelta(days=6), 7) is None
    assert "7 days past the latest churn model's as-of date 2026-10-12" in training_due(
        "churn", monday, monday - timedelta(days=7), 7
    )
    # An operator rebuilding a day before the latest model: never due.
    assert training_due("expansion", monday - timedelta(days=30), monday, 7) is None
    # retrain_every_days 0: every run with new or the same data trains.
    assert training_due("churn", monday, monday, 0) is not None


@dataclass
class MlRuns:
    """Runs of the ML assets (training when due, then scoring) on a warehouse, recorded in one Dagster
    instance, as the daily job runs them once dbt has built the day."""

    warehouse: Path
    instance: DagsterInstance

    def __call__(self) -> ExecuteInProcessResult:
        resources = {"warehouse": WarehouseResource(path=str(self.warehouse))}
        result = materialize([ml_assets], instance=self.instance, resources=resources)
        assert result.success
        return result


@pytest.fixture
def ml_run(warehouse: Path, models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MlRuns]:
    config = yaml.safe_load(CONFIG_FILE.read_text()) | S_SETTINGS
    (tmp_path / "ml_config.yml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("COPILOT_ML_CONFIG", str(tmp_path / "ml_config.yml"))
    monkeypatch.setenv("COPILOT_MODELS_DIR", str(models))
    runs = MlRuns(warehouse, DagsterInstance.ephemeral())
    yield runs
    runs.instance.dispose()


def materialized(result: ExecuteInProcessResult) -> list[AssetKey]:
    """The asset keys the run materialized, in the order it did."""
    return [event.asset_key for event in result.get_asset_materialization_events()]


def pin_as_of_date(warehouse: Path, day: date, models_as_of: date | None = None) -> None:
    """The clock as dbt leaves it for a run tagged copilot/as_of_date=`day`; optionally the registered
    models' as-of dates moved to `models_as_of` (as if they had been trained then)."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("update marts.data_clock set as_of_date = ?", [day])
        if models_as_of:
            con.execute("update ml.model_registry set as_of_date = ?", [models_as_of])
    finally:
        con.close()


def test_models_materialize_only_in_the_runs_that_train_them_and_every_run_scores(ml_run: MlRuns) -> None:
    # The first run (no model yet): both models trained, then the accounts scored with them.
    first = ml_run()
    assert materialized(first) == [CHURN, EXPANSION, SCORES]
    metadata = {e.asset_key: e.materialization.metadata for e in first.get_asset_materialization_events()}
    assert metadata[CHURN]["trained"].value is True and metadata[CHURN]["status"].value == "champion"
    assert metadata[SCORES]["churn_model_id"].value == metadata[CHURN]["model_id"].value
    assert metadata[SCORES]["expansion_model_id"].value == metadata[EXPANSION]["model_id"].value

    # The next run on the same day: nothing due, no model materialization, the scores still made.
    second = ml_run()
    assert materialized(second) == [SCORES]
    instance = ml_run.instance
    assert instance.get_latest_materialization_event(CHURN).run_id == first.run_id
    assert instance.get_latest_materialization_event(EXPANSION).run_id == first.run_id
    assert instance.get_latest_materialization_event(SCORES).run_id == second.run_id
    steps = {e.step_key: e.event_type_value for e in second.all_events if e.is_step_success or e.is_step_skipped}
    assert set(steps.values()) == {"STEP_SUCCESS"} and len(steps) == 3


def test_the_due_decision_and_the_training_use_the_runs_as_of_date(warehouse: Path, ml_run: MlRuns) -> None:
    ml_run()  # the models of the data clock's day
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (clock,) = con.execute("select as_of_date from marts.data_clock").fetchone()
        # A past observation day (a Monday) at least a week before the clock: it has snapshot rows to score.
        (pinned,) = con.execute(
            "select max(observation_date) from marts.ml_account_snapshots where observation_date <= ?",
            [clock - timedelta(days=7)],
        ).fetchone()
    assert (clock - pinned).days >= 7

    # Models as of the pinned day: not due on it, though the data reaches a week and more past them.
    pin_as_of_date(warehouse, pinned, models_as_of=pinned)
    assert materialized(ml_run()) == [SCORES]

    # Models a week older than the pinned day: due, and trained on the labels complete on that day.
    pin_as_of_date(warehouse, pinned, models_as_of=pinned - timedelta(days=7))
    due = ml_run()
    assert materialized(due) == [CHURN, EXPANSION, SCORES]
    trained = [e.materialization.metadata["model_id"].value for e in due.get_asset_materialization_events()[:2]]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        registered = con.execute(
            "select as_of_date, test_end from ml.model_registry where model_id in (?, ?)", trained
        ).fetchall()
    assert len(registered) == 2 and all(as_of == pinned for as_of, _ in registered)
    assert all(test_end + timedelta(days=90) <= pinned for _, test_end in registered)
    assert due.get_asset_materialization_events()[2].materialization.metadata["scored_on"].value == str(pinned)


def test_the_latest_models_as_of_date_comes_from_the_registry_older_registries_included() -> None:
    from ml import registry

    con = duckdb.connect()
    # A registry from before the as-of date was recorded: one champion, no as_of_date column.
    con.execute("create schema ml")
    con.execute(
        "create table ml.model_registry (model_id varchar primary key, model_kind varchar not null, "
        "trained_at timestamp not null, train_start date, train_end date, valid_start date, valid_end date, "
        "test_start date, test_end date, features varchar, params varchar, metrics varchar, "
        "data_fingerprint varchar, file_path varchar, file_sha256 varchar, status varchar not null, "
        "decision varchar, decided_at timestamp)"
    )
    con.execute(
        "insert into ml.model_registry (model_id, model_kind, trained_at, test_end, status, decided_at) values "
        "('churn-old', 'churn', timestamp '2026-12-01 06:00', date '2026-07-27', 'champion', "
        "timestamp '2026-12-01 06:00')"
    )
    registry.ensure_tables(con)
    assert registry.latest_as_of(con, "churn") == date(2026, 7, 27)  # counts from its test period's end
    assert registry.latest_as_of(con, "expansion") is None  # no champion: due
    con.execute(
        "insert into ml.model_registry (model_id, model_kind, trained_at, test_end, status, decided_at, as_of_date) "
        "values ('churn-new', 'churn', timestamp '2026-12-02 06:00', date '2026-08-03', 'challenger', "
        "timestamp '2026-12-02 06:00', date '2026-10-31')"
    )
    assert registry.latest_as_of(con, "churn") == date(2026, 10, 31)  # a challenger was trained too
    con.close()
