"""The dbt project as the code location reads it: the manifest `dbt parse` writes
(`dbt_project/target/manifest.json`), from which dagster-dbt makes an asset per model.

Parsing the project (`dbt parse`, ~10 s on two cores, in a process of its own) is a preparation step
made once, not at import of the definitions: `make dbt-parse` (`python -m devtools.prepare_dbt`)
writes the manifest, and `make demo`, `make test`, `make dagster` and `make bench` run it first. The
definitions only read it: when it is missing, or older than a file of the project, loading them
fails with one line naming that command.

Under `dagster dev` a stale manifest is parsed again instead (dagster-dbt's convention for
development, `DbtProject.prepare_if_dev`, here only when a project file changed), so an analyst who
edits a model sees the change after "Reload definitions" in the UI.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagster_dbt import DbtProject

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO / "dbt_project"
# dbt_project.yml's target-path: where `dbt parse` writes the manifest.
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
PREPARE_COMMAND = "make dbt-parse"

# What dbt reads of a project: a change in any of these files makes the parsed project stale.
PROJECT_SOURCE_DIRS = ("models", "macros", "seeds", "tests", "snapshots", "analyses")


# The neutral staging model whose parent names the CRM a manifest was parsed for (var `crm`).
CRM_PROBE = "model.customer_success_copilot.stg_crm__accounts"


def configured_crm() -> str:
    """The CRM the configuration names (`crm` in .dlt/config.toml): dbt's var `crm`."""
    from core.crm import crm

    return crm()


def dbt_vars(**extra: str) -> str:
    """The `--vars` every dbt invocation of the product passes: the configured CRM, and `extra`."""
    return json.dumps({"crm": configured_crm(), **extra})


def manifest_crm(manifest: Path) -> str | None:
    """The CRM the manifest was parsed for (its neutral staging reads that CRM's model), or None."""
    try:
        node = json.loads(manifest.read_text())["nodes"][CRM_PROBE]
    except (KeyError, ValueError, OSError):
        return None
    parents = [p.rsplit(".", 1)[-1] for p in node.get("depends_on", {}).get("nodes", [])]
    return next((p.removeprefix("stg_").split("__")[0] for p in parents if p.startswith("stg_")), None)


class ManifestNotReady(Exception):
    """The manifest is missing or stale: one line, naming the command that makes it."""


def project_files(project_dir: Path) -> list[Path]:
    """The files dbt reads of the project (dbt_project.yml, profiles.yml, models, macros, ...)."""
    files = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    files += [p for d in PROJECT_SOURCE_DIRS for p in (project_dir / d).rglob("*") if p.is_file()]
    return [p for p in files if p.exists()]


def newest_project_change(project_dir: Path) -> float:
    """The latest modification time among the project's files."""
    return max(p.stat().st_mtime for p in project_files(project_dir))


def manifest_problem(project_dir: Path = DBT_PROJECT_DIR, manifest: Path = MANIFEST) -> str | None:
    """Why the project's manifest cannot be read as it is (missing, or older than a project file), or
    None when it is current. Only looks at files: cheap enough for every process that loads the
    definitions, and imports neither dbt nor Dagster."""
    if not manifest.exists():
        return f"no dbt manifest yet ({_shown(manifest)})"
    made = manifest.stat().st_mtime
    newer = [p for p in project_files(project_dir) if p.stat().st_mtime > made]
    if newer:
        changed = max(newer, key=lambda p: p.stat().st_mtime)
        more = f" and {len(newer) - 1} other file(s)" if len(newer) > 1 else ""
        return f"the dbt manifest ({_shown(manifest)}) is older than {_shown(changed)}{more}"
    parsed_for, configured = manifest_crm(manifest), configured_crm()
    if parsed_for is not None and parsed_for != configured:
        said = f'the configuration says crm = "{configured}"'
        return f'the dbt manifest ({_shown(manifest)}) was parsed for crm = "{parsed_for}", {said}'
    return None


@functools.cache
def dbt_project() -> DbtProject:
    """The project as dagster-dbt describes it (its manifest path is `MANIFEST`)."""
    from dagster_dbt import DbtProject

    # dagster-dbt runs `dbt` from PATH (for `dbt parse`, and its resource checks it is there): prefer
    # the one installed beside this Python, so the project's venv works without being activated.
    here = Path(sys.executable).parent
    if (here / "dbt").exists() and shutil.which("dbt") != str(here / "dbt"):
        os.environ["PATH"] = f"{here}{os.pathsep}{os.environ.get('PATH', '')}"
    # The manifest depends on the configured CRM (var `crm`: which staging models the neutral layer reads).
    return DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        prepare_project_cli_args=["parse", "--quiet", "--vars", dbt_vars()],
    )


def parse(project: DbtProject | None = None) -> None:
    """`dbt parse` of the project into its manifest: dagster-dbt's preparer (the `dbt` CLI, under a
    lock, so two processes never write the manifest at once). Raises dbt's error when it fails."""
    project = project or dbt_project()
    project.preparer.prepare(project)


def read_manifest(project: DbtProject) -> Path:
    """The manifest to build the dbt assets from, as prepared: never parsed here, except under
    `dagster dev` when a project file changed since (see the module docstring)."""
    project_dir, manifest = Path(project.project_dir), Path(project.manifest_path)
    problem = manifest_problem(project_dir, manifest)
    if problem and project.preparer.using_dagster_dev():
        parse(project)
        problem = manifest_problem(project_dir, manifest)
    if problem:
        raise ManifestNotReady(
            f"{problem}: run `{PREPARE_COMMAND}` (or `python -m devtools.prepare_dbt`) once after each change "
            "to the dbt project, then load the definitions again"
        )
    return manifest


def _shown(path: Path) -> str:
    """The path relative to the repository when it is inside it."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
