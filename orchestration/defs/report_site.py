"""The Evidence report site as a Dagster asset: `["reports", "site"]`, built after the marts, the
scores, the alerts and the CRM sync have been written.

It only reads the warehouse, through the read copy `reports/scripts/snapshot-warehouse.mjs` makes
(attached READ_ONLY: it fails at once, naming the lock, when a writer holds the file), so it is not in
the warehouse write pool. The build's own error (a missing table, a broken query) fails the asset with
its first error line and the path of the full build log.
"""

import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, Definitions, Failure, MaterializeResult, MetadataValue, asset

from orchestration import dbt_manifest
from orchestration.progress import PROGRESS_EVERY_SECONDS, log_progress
from orchestration.resources import WarehouseResource
from reverse_etl.sync import CRM_DESTINATIONS, SYNC_ASSETS

REPO = Path(__file__).resolve().parents[2]

# What the pages read; the keys of parts not defined yet still order the daily job correctly.
UPSTREAM = [
    AssetKey(["marts", name])
    for name in (
        "customer_360",
        "health_scores",
        "health_score_history",
        "account_daily_activity",
        "renewals",
        "expansion_signals",
        "ml_account_snapshots",
    )
] + [
    AssetKey(["ml", "account_scores"]),
    AssetKey(["alerts", "alerts"]),
    # The data-quality page shows the day's syncs: the site is built after them.
    *(AssetKey(["reverse_etl", SYNC_ASSETS[d]]) for d in CRM_DESTINATIONS[dbt_manifest.configured_crm()]),
    AssetKey(["reverse_etl", "slack_alerts"]),
    AssetKey(["reverse_etl", "teams_alerts"]),
]

# Lines of the build's output that name what went wrong (the first one is the failure's reason).
# Evidence prints its own summary ("Run npm run preview ...") after an error, so the last line is
# never the reason.
ERROR_LINE = re.compile(r"(error|failed|cannot|could not|ENOENT|exception|lacks tables|not patched)", re.IGNORECASE)
# Lines that match the pattern above without being a failure.
NOT_AN_ERROR = re.compile(r"(0 errors|without errors|errors?: 0|emptySet|\bwarn(ing)?\b)", re.IGNORECASE)
QUERY_WRITTEN = re.compile(r"^\s*(?P<query>\S+) . Finished, wrote (?P<rows>[\d,]+) rows")
# Evidence's last line about sources, before it compiles and prerenders the pages.
SOURCES_DONE = re.compile(r"Evaluated sources")


def reports_dir() -> Path:
    """The Evidence project to build: `COPILOT_REPORTS_DIR`, else `reports/` in the repository."""
    return Path(os.environ.get("COPILOT_REPORTS_DIR") or REPO / "reports").resolve()


@dataclass(frozen=True)
class SiteBuild:
    output: str
    pages: int
    size_mb: float
    build_dir: Path


class ReportBuildError(Exception):
    """The site did not build: the first error line of the build, and where its full log is."""

    def __init__(self, reason: str, log_file: Path, exit_code: int):
        super().__init__(f"report build failed (exit {exit_code}): {reason} (full log: {log_file})")


def first_error_line(output: str) -> str:
    """The build's first line that names an error (a heading that ends in ":" is not one). Evidence
    reports a failed page query as "<query> | Error in Query!" with the reason on the next line: both."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if ERROR_LINE.search(line) and not NOT_AN_ERROR.search(line) and not line.endswith(":"):
            if line.endswith("Error in Query!") and i + 1 < len(lines):
                line = f"{line} {lines[i + 1]}"
            return line[:300]
    return (lines[-1:] or ["no output"])[0][:300]


def build_site(warehouse: Path, log_file: Path, on_progress: Callable[[str], None] | None = None) -> SiteBuild:
    """Run reports/scripts/build.sh on `warehouse`, its output written to `log_file` as it comes.
    `on_progress` hears, as the build goes: the read copy made, the queries written, and the pages
    prerendered of all the site will have."""
    project = reports_dir()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    tell = on_progress or (lambda _: None)
    lines: list[str] = []
    rows_per_query: dict[str, int] = {}
    pages = PageCounter(project)
    with log_file.open("w") as log:
        proc = subprocess.Popen(
            [str(project / "scripts" / "build.sh"), str(Path(warehouse).resolve())],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            log.flush()
            lines.append(line)
            text = _plain(line)
            if text.startswith("snapshot-warehouse:"):
                tell("read copy of the warehouse made" + text[text.rfind(" (") :])
            elif m := QUERY_WRITTEN.match(text):
                rows_per_query[m.group("query")] = int(m.group("rows").replace(",", ""))
            elif SOURCES_DONE.search(text) and not pages.started:
                tell(f"{len(rows_per_query)} queries written ({sum(rows_per_query.values()):,} rows); building pages")
                pages.start(rows_per_query, tell)
        code = proc.wait()
    pages.stop()
    output = _plain("".join(lines))
    if code != 0:
        raise ReportBuildError(first_error_line(output), log_file, code)
    build_dir = project / "build"
    size_mb = sum(f.stat().st_size for f in build_dir.rglob("*") if f.is_file()) / 1e6
    built = sum(1 for _ in build_dir.rglob("index.html"))
    tell(f"{built} pages built, {size_mb:.0f} MB")
    return SiteBuild(output, built, size_mb, build_dir)


class PageCounter:
    """Counts the pages prerendered so far, every few seconds, against the pages the site will have:
    each page file, and for a templated page (`pages/csms/[csm_user_id].md`) one page per row of the
    query named after its folder (`csms`), the query whose rows link to those pages."""

    def __init__(self, project: Path):
        self.project = project
        self.started = False
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def expected(self, rows_per_query: dict[str, int]) -> int:
        total = 0
        for page in (self.project / "pages").rglob("*.md"):
            total += rows_per_query.get(page.parent.name, 0) if page.stem.startswith("[") else 1
        return total

    def start(self, rows_per_query: dict[str, int], tell: Callable[[str], None]) -> None:
        self.started = True
        total = self.expected(rows_per_query)
        prerendered = self.project / ".evidence" / "template" / ".svelte-kit" / "output" / "prerendered" / "pages"

        started = time.monotonic()

        def watch() -> None:
            while not self._done.wait(PROGRESS_EVERY_SECONDS):
                done = sum(1 for _ in prerendered.rglob("index.html")) if prerendered.exists() else 0
                seconds = time.monotonic() - started
                tell(f"pages prerendered: {done} of {total}" if done else f"compiling {total} pages ({seconds:.0f} s)")

        self._thread = threading.Thread(target=watch, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()


def _plain(text: str) -> str:
    """Without the terminal colour codes and spinner frames Evidence writes."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).strip("\r\n")


def build_log_file(warehouse: Path) -> Path:
    """The full log of the latest report build: beside the warehouse's other run files."""
    return warehouse.resolve().parent / "logs" / "reports-build.log"


@asset(
    key=["reports", "site"],
    deps=UPSTREAM,
    group_name="reports",
    description="The Evidence report site for CS ops (reports/build/), built from a read copy of the warehouse.",
)
def report_site(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    log_file = build_log_file(warehouse.file)
    try:
        site = build_site(warehouse.file, log_file, lambda line: log_progress(context, line))
    except ReportBuildError as error:
        raise Failure(description=str(error), metadata={"log_file": MetadataValue.path(str(log_file))}) from None
    summary = next((line for line in reversed(site.output.splitlines()) if line.startswith("reports: built")), "")
    return MaterializeResult(
        metadata={
            "summary": summary,
            "pages": site.pages,
            "pages_dir": MetadataValue.path(str(site.build_dir)),
            "size_mb": round(site.size_mb, 1),
            "log_file": MetadataValue.path(str(log_file)),
        }
    )


def definitions() -> Definitions:
    return Definitions(assets=[report_site])
