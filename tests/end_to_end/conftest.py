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
    site: Path  # a copy of the report site the clean run built
    checksums: dict[str, tuple[int, int]]
    crm: Crm
    requests: dict


@pytest.fixture(scope="session")
def clean_run(s_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CleanRun]:
    """The daily job's first run, the whole job with the report site, from an empty warehouse on a
    private copy of the S world (as `make demo` does on a fresh machine). Its deployment lives on for
    the scenarios that continue from it (same input again, the next day); what the run left is kept apart."""
    root = tmp_path_factory.mktemp("e2e-clean")
    deployment = Deployment.create(s_world, root)
    try:
        run = deployment.run(with_reports=True)
        assert run.succeeded, run.tail()
        kept = Path(shutil.copyfile(deployment.warehouse, root / "after-clean-run.duckdb"))
        site = Path(shutil.copytree(deployment.site, root / "site-after-clean-run"))
        yield CleanRun(deployment, run, kept, site, table_checksums(kept), deployment.crm(), deployment.requests())
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
    site: Path | None = None  # a copy of the report site, when the run built it


@pytest.fixture(scope="session")
def second_run(clean_run: CleanRun) -> FollowingRun:
    """The daily job again on the clean run's deployment, nothing changed in the sources."""
    deployment = clean_run.deployment
    deployment.reset_requests()
    run = deployment.run()
    assert run.succeeded, run.tail()
    return FollowingRun(run, clean_run.crm, deployment.crm(), deployment.requests())


# The next day, some source records change shape or arrive broken (see dlt_pipelines/README.md).
DRIFT_AND_BROKEN_RECORDS = [
    {"system": "salesforce", "kind": "schema_drift", "change": "added"},
    {"system": "stripe", "kind": "schema_drift", "change": "added"},
    {"system": "zendesk", "kind": "malformed", "breakage": "bad_timestamp", "fraction": 0.5},
]


@pytest.fixture(scope="session")
def third_run(clean_run: CleanRun, second_run: FollowingRun) -> FollowingRun:
    """The daily job once more on the same day. The second run loaded what the first run's sync wrote
    to the CRM (the Copilot fields on the Accounts, the Tasks; dbt built what reads the Tasks) and wrote
    nothing itself: this run finds nothing new in any source."""
    deployment = clean_run.deployment
    deployment.reset_requests()
    run = deployment.run()
    assert run.succeeded, run.tail()
    return FollowingRun(run, second_run.crm, deployment.crm(), deployment.requests())


@pytest.fixture(scope="session")
def next_day(clean_run: CleanRun, third_run: FollowingRun) -> FollowingRun:
    """The whole daily job, report site included, after the world moved on a day, with some source
    records drifting or broken."""
    deployment = clean_run.deployment
    deployment.advance(days=1)
    deployment.reset_requests()
    deployment.add_faults(DRIFT_AND_BROKEN_RECORDS)
    run = deployment.run(with_reports=True)
    spent = deployment.clear_faults()
    assert run.succeeded, run.tail()
    site = Path(shutil.copytree(deployment.site, deployment.root / "site-after-next-day"))
    return FollowingRun(run, third_run.crm, deployment.crm(), deployment.requests(), tuple(spent), site)
