"""Preflight: the configuration checked before the daily run does any work.

A wrong credential, a source the product does not know, a health-score weight that is not a number or
weights that sum to 0, an alert threshold in the wrong unit (orchestration/analyst_settings.py) would
otherwise surface minutes into a run, half-way through loading or building, as a stack trace.
Here each becomes one line naming the setting, and nothing has been loaded, built or sent yet.

Run it alone with `python -m orchestration.preflight` (exit 2 and one line per problem); in Dagster
it is the asset `["preflight"]` every ingestion asset depends on, so the daily job runs it first
(it also releases what a killed run left behind, see `release_dead_runs`); `python -m
devtools.demo` (`make demo`) runs it before starting the job.
"""

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import requests
from dagster import (
    AssetExecutionContext,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    Failure,
    MaterializeResult,
    MetadataValue,
    RunsFilter,
    asset,
)
from dagster._core.launcher import DefaultRunLauncher

from core import config, warehouse
from core.auth import LoginRefused, bearer, zendesk_basic_auth
from core.clock import AS_OF_DATE_TAG, parse_as_of_date
from core.config import ConfigError
from dlt_pipelines import http, settings
from orchestration import analyst_settings

# What each part of the daily run needs checked, by the first element of its asset keys.
PARTS = {
    "sources": ("raw_salesforce", "raw_hubspot", "raw_zendesk", "raw_stripe", "raw_product"),
    "health_config": ("config", "staging", "intermediate", "marts"),
    "ml": ("ml",),
    "alerts": ("alerts",),
    "reverse_etl": ("reverse_etl",),
}
TIMEOUT = 15


def parts_for(key_prefixes: Iterable[str]) -> set[str]:
    prefixes = set(key_prefixes)
    return {part for part, owners in PARTS.items() if prefixes & set(owners)}


def problems(parts: Iterable[str] = PARTS) -> list[str]:
    """Every problem found in the configuration the given parts of the run need (all by default)."""
    wanted = set(parts)
    try:
        config.environment()
    except ConfigError as exc:
        return [str(exc)]  # nothing else can be read: the one line that says why
    checks: list[Callable[[], list[str]]] = [warehouse_config]
    if "sources" in wanted:
        checks += [unknown_sources, source_credentials]
    if "health_config" in wanted:
        checks.append(health_score_config)
    if "ml" in wanted:
        checks.append(ml_config)
    if "alerts" in wanted:
        checks.append(alert_owner)
    if "reverse_etl" in wanted:
        checks.append(reverse_etl_credentials)
    found: list[str] = []
    for check in checks:
        try:
            found += check()
        except ConfigError as exc:
            found.append(str(exc))
        except Exception as exc:  # noqa: BLE001  (a check that breaks is one line too, never a traceback)
            first = str(exc).splitlines()[0] if str(exc) else ""
            found.append(f"{check.__name__.replace('_', ' ')}: {exc.__class__.__name__}: {first}")
    return found


# --- the warehouse ---------------------------------------------------------------------------------


def warehouse_config() -> list[str]:
    """The warehouse file's folder can be written, and DuckDB accepts the memory cap every step sets."""
    found = []
    folder = warehouse.warehouse_path().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            found.append(f"the warehouse folder {folder} is not writable: check COPILOT_WAREHOUSE")
    except OSError as exc:
        found.append(f"the warehouse folder {folder} cannot be created ({exc.strerror}): check COPILOT_WAREHOUSE")
    warehouse.memory_limit()  # a ConfigError is reported by problems()
    return found


# --- sources -------------------------------------------------------------------------------------


def _configured_source_names() -> dict[str, str]:
    """Source name -> where it is configured: `[sources.<name>]` in .dlt/*.toml, SOURCES__<NAME>__* env.
    Plain values under `[sources]` (e.g. `quarantine_max_share`) are settings of every source, not names."""
    names: dict[str, str] = {}
    for where, document in config.documents():
        for name, value in document.get("sources", {}).items():
            if isinstance(value, dict):
                names.setdefault(name, f"[sources.{name}] in {where}")
    for var in os.environ:
        parts = var.split("__")
        if len(parts) >= 3 and parts[0] == "SOURCES" and parts[1]:
            names.setdefault(parts[1].lower(), var)
    return names


def unknown_sources() -> list[str]:
    return [
        f"unknown source {name!r} ({where}): the sources are {', '.join(settings.SOURCES)}"
        for name, where in sorted(_configured_source_names().items())
        if name not in settings.SOURCES
    ]


def _refused(resp: requests.Response) -> bool:
    return resp.status_code in (400, 401, 403)


def _salesforce(cfg: settings.SourceSettings) -> str | None:
    from dlt_pipelines.salesforce.source import salesforce_login

    try:
        salesforce_login(cfg).token(http.session(), timeout=TIMEOUT)
    except LoginRefused as exc:
        return f"{exc}: check the SOURCES__SALESFORCE__CREDENTIALS__* secrets"
    return None


def _stripe(cfg: settings.SourceSettings) -> str | None:
    base = cfg.get("base_url", str).rstrip("/")
    headers = bearer(cfg.secret("api_key") or "")
    resp = http.session().get(f"{base}/v1/customers", params={"limit": 1}, headers=headers, timeout=TIMEOUT)
    if _refused(resp):
        return "stripe: the API key was refused: check SOURCES__STRIPE__CREDENTIALS__API_KEY"
    return None


def _zendesk(cfg: settings.SourceSettings) -> str | None:
    base = cfg.get("base_url", str).rstrip("/")
    resp = http.session().get(
        f"{base}/api/v2/organizations.json",
        params={"per_page": 1},
        auth=zendesk_basic_auth(cfg.get("email", str), cfg.secret("api_token") or ""),
        timeout=TIMEOUT,
    )
    if _refused(resp):
        return "zendesk: the API token was refused: check SOURCES__ZENDESK__EMAIL and the API_TOKEN credential"
    return None


def _hubspot(cfg: settings.SourceSettings) -> str | None:
    base = cfg.get("base_url", str).rstrip("/")
    headers = bearer(cfg.secret("access_token") or "")
    resp = http.session().get(f"{base}/crm/v3/owners", params={"limit": 1}, headers=headers, timeout=TIMEOUT)
    if _refused(resp):
        return "hubspot: the access token was refused: check SOURCES__HUBSPOT__CREDENTIALS__ACCESS_TOKEN"
    return None


API_CHECKS = {"salesforce": _salesforce, "hubspot": _hubspot, "stripe": _stripe, "zendesk": _zendesk}


def source_credentials() -> list[str]:
    """One authenticated request to each switched-on API source (retried on 429 and 5xx like the loaders)."""
    found = []
    for name in settings.enabled_sources():
        cfg = settings.source_settings(name)
        if name not in API_CHECKS or cfg.mode != "api":
            continue
        try:
            problem = API_CHECKS[name](cfg)
        except ConfigError as exc:
            problem = f"{name}: {exc}"
        except requests.RequestException as exc:
            problem = f"{name}: cannot reach the API ({exc.__class__.__name__}): check its URL in .dlt/config.toml"
        if problem:
            found.append(problem)
    return found


# --- analysts' configuration (orchestration/analyst_settings.py) ----------------------------------


def health_score_config() -> list[str]:
    return analyst_settings.health_score_problems() + analyst_settings.alert_problems()


def ml_config() -> list[str]:
    return analyst_settings.ml_problems()


def alert_owner() -> list[str]:
    """The owner of the alerts of accounts without a CSM is set (a deployment's setting)."""
    from alerts.lifecycle import default_owner

    default_owner()
    return []


def ml_history_notes() -> list[str]:
    """What the ML split says about the history already loaded (a note, not a problem: the training
    step then says why it cannot train and the run syncs the health scores)."""
    try:
        with warehouse.connect(warehouse.warehouse_path(), read_only=True) as con:
            return analyst_settings.ml_history_notes(con)
    except Exception:  # noqa: BLE001  (no warehouse yet, or another process holds it: nothing to say)
        return []


# --- reverse ETL -----------------------------------------------------------------------------------


def reverse_etl_credentials() -> list[str]:
    """One authenticated request to each switched-on destination (none for a destination that is off)."""
    from reverse_etl import config

    cfg = config.load()
    found = []
    session = http.session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override the configured CA bundle
    if cfg.salesforce_enabled:
        if cfg.ca_bundle and not Path(cfg.ca_bundle).is_file():
            return [
                f"reverse ETL: the CA bundle {cfg.ca_bundle} does not exist: check "
                "REVERSE_ETL__SALESFORCE__CA_BUNDLE (the sandbox writes its CA there when it serves)"
            ]
        session.verify = str(cfg.ca_bundle) if cfg.ca_bundle else True
        try:
            cfg.salesforce_login.token(session, timeout=TIMEOUT)
        except LoginRefused as exc:
            found.append(
                f"reverse ETL: {exc}: check REVERSE_ETL__SALESFORCE__CREDENTIALS__* "
                "(or the loaders' SOURCES__SALESFORCE__CREDENTIALS__*)"
            )
        except requests.RequestException as exc:
            found.append(
                f"reverse ETL: cannot reach Salesforce at {cfg.salesforce_login_url} ({exc.__class__.__name__})"
            )
    if cfg.slack_enabled:
        try:
            resp = session.post(
                f"{cfg.slack_base_url.rstrip('/')}/auth.test",
                headers=bearer(cfg.slack_token),
                timeout=TIMEOUT,
            )
            if _refused(resp) or (resp.ok and not resp.json().get("ok", False)):
                found.append(
                    "reverse ETL: the Slack token was refused: check REVERSE_ETL__SLACK__CREDENTIALS__BOT_TOKEN"
                )
        except requests.RequestException as exc:
            found.append(f"reverse ETL: cannot reach Slack at {cfg.slack_base_url} ({exc.__class__.__name__})")
    return found


# --- in Dagster ----------------------------------------------------------------------------------------

PREFLIGHT_KEY = AssetKey("preflight")


@asset(
    key=PREFLIGHT_KEY,
    group_name="ingestion",
    kinds={"python"},
    description="The configuration checked before any work: sources known, credentials accepted, health-score "
    "weights, alert rules and ML settings valid, the switched-on destinations' credentials accepted (for the parts "
    "the run includes).",
)
def preflight(context: AssetExecutionContext) -> MaterializeResult:
    for line in release_dead_runs(context.instance, context.run.run_id):
        context.log.warning(line)
    parts = parts_for(key.path[0] for key in context.job_def.asset_layer.selected_asset_keys)
    found = problems(parts)
    if pinned := context.run.tags.get(AS_OF_DATE_TAG):
        try:
            parse_as_of_date(pinned)
        except ValueError as exc:
            found.append(str(exc))
    for note in ml_history_notes() if "ml" in parts else []:
        context.log.warning(note)
    if found:
        # The description is the one line the run fails with (and the failure sensor posts).
        raise Failure(description="configuration: " + "; ".join(found))
    return MaterializeResult(metadata={"checked": MetadataValue.json(sorted(parts))})


def release_dead_runs(instance: DagsterInstance, current_run_id: str) -> list[str]:
    """Mark runs whose process died (SIGKILL, a crash, a reboot) as failed and free the warehouse pool
    slot they held. Without this the next run waits for that slot forever: only Dagster's run
    monitoring daemon frees it, and `dagster job execute` and `make demo` run without a daemon. Only
    for the local run launcher, where a run's process is on this machine."""
    if not isinstance(instance.run_launcher, DefaultRunLauncher):
        return []
    released = []
    records = instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]))
    for record in records:
        run = record.dagster_run
        if run.run_id == current_run_id:
            continue
        starts = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_START)
        pid = starts[-1].dagster_event.pid if starts and starts[-1].dagster_event else None
        if pid is None or _alive(pid, since=starts[-1].timestamp):
            continue
        message = (
            f"run {run.run_id[:8]} of {run.job_name} died (process {pid} is gone, or its PID now belongs to a "
            "later process): marked failed, its slots freed"
        )
        instance.report_run_failed(run, message=message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(message)
    return released


def _alive(pid: int, since: float | None = None) -> bool:
    """The process runs and, given `since` (the run's start, Unix time), was started by then: a process
    started later is another program that got the dead run's PID back."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = _process_started_at(pid) if since is not None else None
    # Start times are in clock ticks after a boot time in whole seconds: allow for that rounding.
    return started is None or since is None or started <= since + 2


def _process_started_at(pid: int) -> float | None:
    """When the process started (Unix time), from /proc (Linux); None where that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
    except (OSError, StopIteration):
        return None
    ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, starttime; the name before ")" may hold spaces
    return int(boot.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")


def definitions() -> Definitions:
    return Definitions(assets=[preflight])


def main() -> int:
    found = problems()
    for problem in found:
        print(f"preflight: {problem}", file=sys.stderr)
    if not found:
        print("preflight: configuration ok")
    return 2 if found else 0


if __name__ == "__main__":
    sys.exit(main())
