"""The clean daily run every end-to-end scenario is measured against: the S world, served by its own
emulator, run by the real daily job from an empty warehouse."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.end_to_end.harness import Crm, Deployment, JobRun, table_checksums


@dataclass(frozen=True)
class CleanRun:
    deployment: Deployment
    run: JobRun
    warehouse: Path  # a copy of the warehouse as the clean run left it
    checksums: dict[str, tuple[int, int]]
    crm: Crm
    requests: dict


@pytest.fixture(scope="session")
def clean_run(s_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CleanRun]:
    """The daily job's first run on a private copy of the S world. Its deployment lives on for the
    scenarios that continue from it (same input again, the next day); what the run left is kept apart."""
    root = tmp_path_factory.mktemp("e2e-clean")
    deployment = Deployment.create(s_world, root)
    try:
        run = deployment.run()
        assert run.succeeded, run.tail()
        kept = Path(shutil.copyfile(deployment.warehouse, root / "after-clean-run.duckdb"))
        yield CleanRun(deployment, run, kept, table_checksums(kept), deployment.crm(), deployment.requests())
    finally:
        deployment.stop()


@pytest.fixture
def deployment(s_world: Path, tmp_path: Path) -> Iterator[Deployment]:
    """A fresh deployment of the S world (its own copy, emulator, warehouse and Dagster instance)."""
    deployment = Deployment.create(s_world, tmp_path / "deployment")
    try:
        yield deployment
    finally:
        deployment.stop()


@dataclass(frozen=True)
class FollowingRun:
    run: JobRun
    crm_before: Crm
    crm: Crm
    requests: dict
    faults: tuple[dict, ...] = ()  # the faults the run met, with how often each fired


@pytest.fixture(scope="session")
def second_run(clean_run: CleanRun) -> FollowingRun:
    """The daily job again on the clean run's deployment, nothing changed in the sources."""
    deployment = clean_run.deployment
    deployment.reset_requests()
    run = deployment.run()
    assert run.succeeded, run.tail()
    return FollowingRun(run, clean_run.crm, deployment.crm(), deployment.requests())
