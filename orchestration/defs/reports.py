"""The Evidence report site as a Dagster asset: `["reports", "site"]`, built after the marts, the
scores, the alerts and the CRM sync have been written.

It only reads the warehouse, through the read copy `reports/scripts/snapshot-warehouse.mjs` makes
(attached READ_ONLY: it fails at once, naming the lock, when a writer holds the file), so it is not in
the warehouse write pool. The build's own error (a missing table, a broken query) fails the asset.
"""

import subprocess
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, Definitions, Failure, MaterializeResult, MetadataValue, asset

from orchestration.resources import WarehouseResource

REPORTS_DIR = Path(__file__).resolve().parents[2] / "reports"
BUILD_SCRIPT = REPORTS_DIR / "scripts" / "build.sh"
BUILD_DIR = REPORTS_DIR / "build"

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
    AssetKey(["reverse_etl", "salesforce_accounts"]),
    AssetKey(["reverse_etl", "salesforce_tasks"]),
    AssetKey(["reverse_etl", "slack_alerts"]),
]


def build_site(warehouse: Path, log_tail_lines: int = 40) -> tuple[str, float]:
    """Run reports/scripts/build.sh on `warehouse`; its output, or Failure with the build's error."""
    proc = subprocess.run(
        [str(BUILD_SCRIPT), str(Path(warehouse).resolve())],
        cwd=REPORTS_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        tail = "\n".join(output.splitlines()[-log_tail_lines:])
        reason = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "no output")
        raise Failure(description=f"report build failed (exit {proc.returncode}): {reason}", metadata={"log": tail})
    size_mb = sum(f.stat().st_size for f in BUILD_DIR.rglob("*") if f.is_file()) / 1e6
    return output, size_mb


@asset(
    key=["reports", "site"],
    deps=UPSTREAM,
    group_name="reports",
    description="The Evidence report site for CS ops (reports/build/), built from a read copy of the warehouse.",
)
def report_site(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    output, size_mb = build_site(warehouse.file)
    summary = next((line for line in reversed(output.splitlines()) if line.startswith("reports: built")), "")
    context.log.info(summary)
    return MaterializeResult(
        metadata={
            "summary": summary,
            "pages_dir": MetadataValue.path(str(BUILD_DIR)),
            "size_mb": round(size_mb, 1),
        }
    )


def definitions() -> Definitions:
    return Definitions(assets=[report_site])


DEFAULT_PORT = 3001  # the Dagster UI has 3000


def serve_site(port: int = DEFAULT_PORT) -> subprocess.Popen:
    """Serve reports/build/ on 127.0.0.1:`port` in the background (reports/scripts/serve.sh); the
    caller stops it with terminate(). Prints the address."""
    if not (BUILD_DIR / "index.html").exists():
        raise FileNotFoundError(f"no report site in {BUILD_DIR}: build it first (make reports)")
    proc = subprocess.Popen([str(REPORTS_DIR / "scripts" / "serve.sh"), str(port)], cwd=REPORTS_DIR)
    print(f"Reports: http://127.0.0.1:{port}/", flush=True)
    return proc


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Build or serve the Evidence report site.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build reports/build/ from a warehouse")
    build.add_argument("--warehouse", type=Path, default=None, help="default: COPILOT_WAREHOUSE")
    serve = sub.add_parser("serve", help="serve reports/build/ on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args()
    if args.command == "build":
        from dlt_pipelines.settings import warehouse_path

        try:
            print(build_site((args.warehouse or warehouse_path()).resolve())[0])
        except Failure as failure:
            raise SystemExit(f"{failure.metadata['log'].value}\n{failure.description}") from None
    else:
        server = serve_site(args.port)
        try:
            server.wait()
        except KeyboardInterrupt:
            server.terminate()
            server.wait()
