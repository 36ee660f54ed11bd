"""`python -m dlt_pipelines run [source ...] [--warehouse PATH]`: load sources and print what happened."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.warehouse import open_for_writing, warehouse_path
from dlt_pipelines import settings
from dlt_pipelines.http import SourceFailure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlt_pipelines", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="load the given sources (default: all that are switched on)")
    run.add_argument("sources", nargs="*", choices=[*settings.SOURCES, []], metavar="SOURCE")
    run.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: COPILOT_WAREHOUSE)")
    run.add_argument("--checks", action="store_true", help="run the data-quality suites after loading")
    args = parser.parse_args(argv)

    from dlt_pipelines import quality, runner

    warehouse = args.warehouse.resolve() if args.warehouse else warehouse_path()
    failed = False
    with open_for_writing(warehouse) as con:
        for name in args.sources or list(settings.SOURCES):
            try:
                report = runner.run_source(name, warehouse, con)
            except SourceFailure as exc:
                print(f"FAILED {exc}", file=sys.stderr)
                failed = True
                continue
            print("\n".join(report.lines()))
            if args.checks and not report.skipped:
                for result in quality.run_and_store(con, name, run_id="cli", load_ids=report.load_ids):
                    if not result.success:
                        print(f"  check failed: {result.table}.{result.check}: {result.summary}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
