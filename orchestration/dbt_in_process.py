"""dbt inside the run's own process, behind dagster-dbt's resource.

dagster-dbt starts a dbt process for every dbt step: Python starts, imports dbt (~1.5 s), parses the
project (~1 s), and the resource builds a second dbt adapter of its own to read metadata (~0.5 s),
all before the first model. The daily run has two dbt steps (the marts, then the alert models after
the scoring), so on an incremental day about 7 of its ~24 s went there.

Here each step runs dbt through its programmatic entry point (`dbtRunner`) on a thread of the run
process, with the project parsed once per process (again only when its files change). dbt's events
are turned into the same JSON records `dbt --log-format json` prints, and those feed dagster-dbt's
own `DbtCliInvocation`: materializations, asset checks, subset selection and error reporting are
dagster-dbt's, unchanged; only the process is replaced. The dbt CLI stays what analysts use.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Iterator, Sequence
from functools import cached_property
from importlib.metadata import version
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, OpExecutionContext
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, DbtCliResource
from dagster_dbt.asset_utils import extract_runtime_selection_from_args, get_updated_cli_invocation_params_for_context
from dagster_dbt.dbt_manifest import validate_manifest
from packaging.version import Version

from orchestration.dbt_manifest import newest_project_change


class _ParsedProjects:
    """dbt's parsed project (its `Manifest`), once per process and project folder, parsed again when
    a project file changed since. dbt reuses a passed manifest instead of parsing (dbt's documented
    "reusing objects" for programmatic invocations)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsed: dict[tuple[Path, str | None], tuple[float, Any]] = {}

    def get(self, project_dir: Path, parse_args: Sequence[str], cli_vars: str | None) -> Any:
        """`parse_args`: a `dbt parse` command line for the project; `cli_vars`: its `--vars`, which
        the parsed project depends on."""
        from dbt.cli.main import dbtRunner

        key = (project_dir, cli_vars)
        with self._lock:
            changed = newest_project_change(project_dir)
            cached = self._parsed.get(key)
            if cached and cached[0] >= changed:
                return cached[1]
            result = dbtRunner().invoke([*parse_args, *(["--vars", cli_vars] if cli_vars else [])])
            if not result.success:
                # The build then parses for itself, and its error reaches the step's log.
                return None
            self._parsed[key] = (changed, result.result)
            return result.result


PARSED = _ParsedProjects()


class _Lines:
    """The dbt process's stdout as DbtCliInvocation reads it: JSON lines, until dbt has finished."""

    def __init__(self, lines: queue.SimpleQueue[bytes | None]) -> None:
        self._lines = lines
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        while not self.closed and (line := self._lines.get()) is not None:
            yield line

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True


class DbtThread:
    """The part of `subprocess.Popen` DbtCliInvocation uses (args, stdout, wait, returncode,
    send_signal), backed by one dbtRunner invocation on a thread."""

    def __init__(self, args: Sequence[str], manifest: Any, run_results: Path) -> None:
        from dbt.cli.main import dbtRunner

        self.args = ["dbt", *args]
        self._run_results = run_results
        self.returncode: int | None = None
        self._lines: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.stdout = _Lines(self._lines)
        runner = dbtRunner(manifest=manifest, callbacks=[self._forward])
        self._thread = threading.Thread(target=self._invoke, args=(runner, list(args)), name="dbt", daemon=True)
        self._thread.start()

    def _forward(self, msg: Any) -> None:
        # What `dbt` prints: debug events (every SQL statement) are left out, as the CLI leaves them.
        if msg.info.level != "debug":
            from dbt_common.events.functions import msg_to_json

            self._lines.put(msg_to_json(msg).encode())

    def _invoke(self, runner: Any, args: list[str]) -> None:
        try:
            result = runner.invoke(args)
            if hasattr(result.result, "write"):  # what ran and how long, as dbt itself would write it
                result.result.write(str(self._run_results))
            if result.exception is not None:
                self._lines.put(_error_line(result.exception))
            # dbt's exit codes: 1 when a node failed, 2 when dbt itself could not run.
            self.returncode = 0 if result.success else 2 if result.exception is not None else 1
        except BaseException as exc:  # noqa: BLE001 - whatever stopped dbt must reach the step's error
            self._lines.put(_error_line(exc))
            self.returncode = 2
        finally:
            _close_warehouse()
            self._lines.put(None)

    def wait(self, timeout: float | None = None) -> int | None:
        self._thread.join(timeout)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """A terminated run: dbt cannot be stopped from another thread, so its thread (a daemon)
        ends with the run's process; DuckDB rolls back the statement it was in."""


def _close_warehouse() -> None:
    """dbt-duckdb keeps its database open after the invocation, for the life of the process. The next
    steps open the same file with settings of their own (read-only, for one), which DuckDB refuses
    while it is open: so the invocation ends by closing it, as the end of a dbt process would."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with contextlib.suppress(Exception):  # nothing was opened: nothing to close
        DuckDBConnectionManager.env().close()
    DuckDBConnectionManager.close_all_connections()


def _error_line(exc: BaseException) -> bytes:
    message = str(exc).strip() or type(exc).__name__
    return json.dumps({"info": {"level": "error", "msg": message, "name": "DbtError"}, "data": {}}).encode()


class InProcessDbtResource(DbtCliResource):
    """dagster-dbt's dbt resource, running dbt in the run's process (see the module docstring)."""

    @cached_property
    def _cli_version(self) -> Version:
        # dagster-dbt asks `dbt --version`: another dbt process (2 s) and a request to PyPI for the
        # newest release. The installed dbt-core package gives the same answer.
        return Version(version("dbt-core"))

    def cli(
        self,
        args: Sequence[str],
        *,
        raise_on_error: bool = True,
        manifest: Any = None,
        dagster_dbt_translator: DagsterDbtTranslator | None = None,
        context: OpExecutionContext | AssetExecutionContext | None = None,
        target_path: Path | None = None,
        narrow_to: Sequence[str] = (),
    ) -> DbtCliInvocation:
        """dagster-dbt's `cli`, in this process; `narrow_to` (dbt selectors) builds only the part of the
        step's selection they select (a runtime `--select` would replace the step's selection instead)."""
        cleaned_args, selects, excludes = extract_runtime_selection_from_args(args)
        params = get_updated_cli_invocation_params_for_context(
            context=context,
            manifest=validate_manifest(manifest) if manifest else {},
            dagster_dbt_translator=dagster_dbt_translator or DagsterDbtTranslator(),
            runtime_selects=selects,
            runtime_excludes=excludes,
        )
        project_dir = Path(params.dbt_project.project_dir if params.dbt_project else self.project_dir)
        target_path = Path(target_path or self._get_unique_target_path(context=context))
        if not target_path.is_absolute():
            target_path = project_dir / target_path
        base_args, project_args = self._flags(project_dir, target_path)
        indirect = ["--indirect-selection", params.indirect_selection] if params.indirect_selection else []
        selection = _narrowed(params.selection_args, narrow_to)
        dbt_args = [*base_args, *cleaned_args, *project_args, *selection, *indirect]
        parsed = self._parsed(project_dir, target_path, cleaned_args)
        return DbtCliInvocation(
            process=DbtThread(dbt_args, parsed, target_path / "run_results.json"),  # type: ignore[arg-type]
            manifest=params.manifest,
            dagster_dbt_translator=params.dagster_dbt_translator,
            project_dir=project_dir,
            target_path=target_path,
            raise_on_error=raise_on_error,
            context=context,
            adapter=None,
            cli_version=self._cli_version,
            project=params.dbt_project,
        )

    def _parsed(self, project_dir: Path, target_path: Path, args: Sequence[str]) -> Any:
        """dbt's parsed project for a command line (once per process, PARSED)."""
        base_args, project_args = self._flags(project_dir, target_path)
        cli_vars = next((v for flag, v in zip(args, args[1:], strict=False) if flag == "--vars"), None)
        return PARSED.get(project_dir, [*base_args, "parse", *project_args], cli_vars)

    def _flags(self, project_dir: Path, target_path: Path) -> tuple[list[str], list[str]]:
        """dbt's global flags, and the flags naming the project, profile and target folder."""
        # What dagster-dbt passes its dbt process through the environment, as flags: the environment
        # is the run's own here.
        base_args = [
            *self.global_config_flags,
            "--no-send-anonymous-usage-stats",
            # dagster-dbt prints dbt's messages to the step's log itself. dbt.log keeps what ran, how
            # long and any error; the SQL each node ran is in the target folder's run/. Debug level
            # (every statement, ~0.6 s of a daily build) is one flag away when investigating.
            "--log-level",
            "none",
            "--log-level-file",
            "info",
            "--log-path",
            str(target_path),
            # No manifest.json: a copy of the parsed project that nothing reads (Dagster's assets come
            # from target/manifest.json, made by `make dbt-parse`), ~0.5 s after a parse and ~0.4 s
            # after each build. A build's run_results.json is written all the same (`DbtThread`).
            "--no-write-json",
        ]
        project_args = [
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(self.profiles_dir or project_dir),
            "--target-path",
            str(target_path),
            *(["--profile", self.profile] if self.profile else []),
            *(["--target", self.target] if self.target else []),
        ]
        return base_args, project_args


def _narrowed(selection_args: Sequence[str], narrow_to: Sequence[str]) -> list[str]:
    """A step's dbt selection intersected with `narrow_to`: `--select "a b"` and `x y` give
    `--select "a,x a,y b,x b,y"` (dbt's intersection, then union); its `--exclude` stays. A generated
    selector file (dagster-dbt's for large subsets) is left whole: the step builds all of it."""
    args = list(selection_args)
    if not narrow_to or "--selector" in args:
        return args
    if "--select" not in args:
        return ["--select", " ".join(narrow_to), *args]
    at = args.index("--select") + 1
    args[at] = " ".join(f"{s},{n}" for s in args[at].split() for n in narrow_to)
    return args
