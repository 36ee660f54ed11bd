"""The definitions read the dbt manifest and never parse the project themselves (only `make dbt-parse`
does, and `dagster dev` when a project file changed): a missing or stale manifest stops them in one
line that names the command to run."""

import os
import shutil
from pathlib import Path

import pytest
from dagster_dbt import DbtProject

from orchestration import dbt_manifest
from orchestration.dbt_manifest import DBT_PROJECT_DIR, MANIFEST, ManifestNotReady, manifest_problem, read_manifest


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DbtProject:
    """A copy of the dbt project without its target folder (a fresh clone), outside `dagster dev`."""
    monkeypatch.delenv("DAGSTER_IS_DEV_CLI", raising=False)
    copy = shutil.copytree(DBT_PROJECT_DIR, tmp_path / "dbt_project", ignore=shutil.ignore_patterns("target", "logs"))
    return DbtProject(project_dir=copy, profiles_dir=copy)


def _problem(project: DbtProject) -> str | None:
    return manifest_problem(Path(project.project_dir), Path(project.manifest_path))


def _write_manifest(project: DbtProject) -> Path:
    manifest = Path(project.manifest_path)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text("{}")
    return manifest


def _touch_later(path: Path, than: Path) -> None:
    later = than.stat().st_mtime + 5
    os.utime(path, (later, later))


def test_the_check_and_dagster_dbt_agree_on_where_the_manifest_is() -> None:
    assert Path(dbt_manifest.dbt_project().manifest_path) == MANIFEST


def test_a_missing_manifest_stops_the_load_in_one_line_naming_the_command(project: DbtProject) -> None:
    with pytest.raises(ManifestNotReady) as raised:
        read_manifest(project)
    message = str(raised.value)
    assert message.startswith("no dbt manifest yet (")
    assert "run `make dbt-parse`" in message
    assert "\n" not in message


def test_a_current_manifest_is_read_as_it_is(project: DbtProject, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = _write_manifest(project)
    monkeypatch.setattr(dbt_manifest, "parse", lambda project: pytest.fail("parsed at load"))
    assert _problem(project) is None
    assert read_manifest(project) == manifest


def test_a_model_edited_after_the_parse_makes_the_manifest_stale(project: DbtProject) -> None:
    manifest = _write_manifest(project)
    model = Path(project.project_dir) / "models" / "marts" / "core" / "customer_360.sql"
    _touch_later(model, than=manifest)
    problem = _problem(project)
    assert problem is not None and problem.endswith("customer_360.sql")
    with pytest.raises(ManifestNotReady, match="is older than .*customer_360.sql: run `make dbt-parse`"):
        read_manifest(project)


def test_dagster_dev_parses_a_changed_project_on_load(project: DbtProject, monkeypatch: pytest.MonkeyPatch) -> None:
    manifest = _write_manifest(project)
    _touch_later(Path(project.project_dir) / "dbt_project.yml", than=manifest)
    parsed: list[DbtProject] = []

    def fake_parse(project: DbtProject) -> None:
        parsed.append(project)
        _touch_later(manifest, than=Path(project.project_dir) / "dbt_project.yml")

    monkeypatch.setattr(dbt_manifest, "parse", fake_parse)
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    assert read_manifest(project) == manifest
    assert parsed == [project]
    # Unchanged since: no parse on the next reload.
    assert read_manifest(project) == manifest
    assert len(parsed) == 1


def test_a_failed_parse_is_dbt_s_own_error_in_one_line() -> None:
    from devtools.prepare_dbt import failure_line

    error = RuntimeError(
        "The dbt CLI process with command\n\n`dbt parse --quiet`\n\nfailed with exit code `2`.\n\n"
        "Errors parsed from dbt logs:\n\nEncountered an error:\nCompilation Error\n"
        "  Model 'model.x.broken' (models/broken.sql) depends on a node named 'nothing' which was not found"
    )
    assert failure_line(error) == (
        "Compilation Error: Model 'model.x.broken' (models/broken.sql) depends on a node named 'nothing' "
        "which was not found"
    )
