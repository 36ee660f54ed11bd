"""Transformation assets: every dbt model (and seed) of `dbt_project/` is a Dagster asset, dbt tests
are asset checks.

Keys: dbt sources keep dagster-dbt's default `[source_name, table]`, e.g. `["raw_salesforce",
"account"]`, which is exactly the key `ingest.py` gives the dlt asset that loads that table, so each
staging model hangs under its dlt asset in one lineage graph. Models are keyed `[schema, name]`
(`["marts", "customer_360"]`): where they sit in the warehouse, as the raw tables are.

The assets are made from the dbt manifest, which is prepared beforehand, once (`make dbt-parse`),
and only read here: loading fails in one line naming that command when it is missing or stale, except
under `dagster dev`, which parses a changed project again (orchestration/dbt_manifest.py). An analyst
who edited a model runs `make dbt-parse`, or clicks "Reload definitions" under `dagster dev`.

dlt child tables (`tickets__tags`, ...) are sources keyed like their parent table (source meta),
since the same dlt asset loads both.
"""

import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetsDefinition,
    AssetSelection,
    Definitions,
    MaterializeResult,
    Output,
    define_asset_job,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from core.clock import AS_OF_DATE_TAG, parse_as_of_date
from orchestration import dbt_manifest
from orchestration import dbt_unchanged as unchanged
from orchestration.dbt_in_process import InProcessDbtResource
from orchestration.dbt_manifest import DBT_PROJECT_DIR
from orchestration.progress import PROGRESS_EVERY_SECONDS, log_progress
from orchestration.resources import WAREHOUSE_POOL, WAREHOUSE_WRITE_TAG, WarehouseResource

GROUPS = {
    "staging": "transform_staging",
    "intermediate": "transform_intermediate",
    "marts": "marts",
    "activation": "activation",
}

dbt_project = dbt_manifest.dbt_project()


class CopilotDbtTranslator(DagsterDbtTranslator):
    """Default keys (see the module docstring); groups by layer so the UI reads source -> marts."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "transform_config"
        layer = dbt_resource_props.get("fqn", [None, None])[1]
        return GROUPS.get(layer, "transform")


translator = CopilotDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


# The production build: models, seeds, snapshots and data tests. dbt's unit tests check the SQL logic,
# not the data, so they run in the test suite (`tests/transform`) rather than every day.
BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test"]
# One target folder for the daily builds, not dagster-dbt's new folder per invocation: dbt's partial
# parsing (its state lives in the target folder) then skips re-parsing an unchanged project, and
# folders do not pile up. Runs that write the warehouse go one at a time. dbt runs inside the run's
# process (orchestration/dbt_in_process.py): its log and artifacts land here too.
BUILD_TARGET = Path(dbt_project.target_path) / "daily"


# Alert models (tag `alerts`, models/alerts/) read the ML scores, which are computed from the marts:
# they are built by their own dbt step (orchestration/defs/alerts.py) after the scoring. The outbound
# views (tag `activation`, models/activation/) read the alert lifecycle's state: their own dbt step
# (orchestration/defs/reverse_etl.py) runs after it.
ALERTS_SELECTION = "tag:alerts"
ACTIVATION_SELECTION = "tag:activation"


# Read once for both dbt steps: this one and the alert models' (defs/alerts.py). Never parsed here
# (but under `dagster dev`): a missing or stale manifest stops the load with one line.
MANIFEST = dbt_manifest.read_manifest(dbt_project)


def dbt_build(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource) -> Iterator[Any]:
    """The body of every dbt step: the production build of the step's selection; no build, or only
    what reads the changed tables, when little or nothing the step reads changed since its last
    successful build (orchestration/dbt_unchanged.py)."""
    # dbt reads the warehouse path from COPILOT_WAREHOUSE (dbt_project/profiles.yml): the same file
    # the warehouse resource, and so the loaders, use.
    os.environ["COPILOT_WAREHOUSE"] = str(warehouse.file)
    # The configured CRM (var `crm`), and the operator's as-of date for this run if pinned (e.g. to
    # rebuild a past day): dbt's clock takes it, and every later step reads the clock dbt built (core/clock.py).
    pinned = context.run.tags.get(AS_OF_DATE_TAG)
    dbt_vars = {"as_of_date": parse_as_of_date(pinned).isoformat()} if pinned else {}
    args = [*BUILD_ARGS, "--vars", dbt_manifest.dbt_vars(**dbt_vars)]
    step = context.op_def.name
    recording = unchanged.fingerprintable()
    plan = unchanged.Plan(last=None)
    if recording:
        selection = [
            *sorted(k.to_user_string() for k in context.selected_asset_keys),
            *sorted(k.to_user_string() for k in context.selected_asset_check_keys),
        ]
        sources = unchanged.step_sources(context.assets_def, MANIFEST)
        upstream = unchanged.upstream_steps(context.assets_def, DBT_STEPS)
        with warehouse.connect() as con:
            now = unchanged.inputs(con, step, sources, [*args, *selection], DBT_PROJECT_DIR, upstream)
            plan = unchanged.begin(con, step, context.run.run_id, now)
        if plan.skip:
            last = plan.last
            context.log.info(f"dbt: nothing new since run {last.run_id} (as of {last.as_of_date}), models unchanged")
            yield from unchanged.carried_over(context, last)
            return
        if plan.partial:
            context.log.info(
                f"dbt: since run {plan.last.run_id} only {', '.join(plan.changed)} changed: building what reads "
                "them, the other models unchanged"
            )
            yield from unchanged.carried_over(context, plan.last, rebuilt=unchanged.rebuilt_by(context, plan.changed))
    narrow_to = [f"{source}+" for source in plan.changed]
    total = len(context.selected_asset_keys) + len(context.selected_asset_check_keys)
    done, told = 0, time.monotonic()
    checks: list[AssetCheckResult] = []
    for event in dbt.cli(args, context=context, target_path=BUILD_TARGET, narrow_to=narrow_to).stream():
        if isinstance(event, (Output, AssetMaterialization, MaterializeResult, AssetCheckResult, AssetCheckEvaluation)):
            done += 1
            if time.monotonic() - told >= PROGRESS_EVERY_SECONDS:
                log_progress(context, f"dbt: {done} of {total} models, seeds and tests done")
                told = time.monotonic()
        if isinstance(event, AssetCheckResult):
            checks.append(event)
        yield event
    log_progress(context, f"dbt: {done} of {total} models, seeds and tests done")
    if recording:
        # dbt finished without an error (the stream raises otherwise): this build is the step's
        # last successful one.
        with warehouse.connect() as con:
            unchanged.record_built(con, step, context.run.run_id, checks, kept=plan.last.checks if plan.partial else ())


# Every dbt step of the project, as `dbt_step` makes them (this module's, alerts.py's, reverse_etl.py's).
DBT_STEPS: list[AssetsDefinition] = []


def dbt_step(name: str, select: str = "fqn:*", exclude: str | None = None) -> AssetsDefinition:
    """One dbt step of the run: the production build of its selection, one writer at a time. The
    run has three (the marts; the alert models after the scoring; the outbound views after the
    alert lifecycle), each downstream of what its models read. No build when the step's inputs
    (the raw tables, scores and alerts it reads, the builds of the dbt steps before it), code and
    settings are those of its last successful build."""

    @dbt_assets(
        manifest=MANIFEST,
        project=dbt_project,
        dagster_dbt_translator=translator,
        select=select,
        exclude=exclude,
        name=name,
        pool=WAREHOUSE_POOL,
        op_tags=WAREHOUSE_WRITE_TAG,
    )
    def step(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource) -> Iterator[Any]:
        yield from dbt_build(context, dbt, warehouse)

    DBT_STEPS.append(step)
    return step


copilot_dbt_assets = dbt_step("copilot_dbt_assets", exclude=f"{ALERTS_SELECTION} {ACTIVATION_SELECTION}")


def asset_key(model: str, schema: str = "marts") -> AssetKey:
    """The key of a dbt model's asset, for assets downstream of it (ML, alerts, reverse ETL)."""
    return AssetKey([schema, model])


def definitions() -> Definitions:
    job = define_asset_job(
        "daily_transform",
        selection=AssetSelection.assets(copilot_dbt_assets),
        tags=WAREHOUSE_WRITE_TAG,
        description="dbt build: staging, identity, customer 360, daily activity, health scores, ML snapshots.",
    )
    return Definitions(
        assets=[copilot_dbt_assets],
        jobs=[job],
        resources={"dbt": InProcessDbtResource(project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR))},
    )
