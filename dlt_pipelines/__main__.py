"""`python -m dlt_pipelines run [source ...] [--warehouse PATH] [--checks]`: load sources and print what
happened (with `--checks`, the exit status is 1 when a check failed).

`python -m dlt_pipelines quarantine list [source] [--table T]`: the quarantined records still open
(fetched again by every run until they load or are discarded).
`python -m dlt_pipelines quarantine discard SOURCE TABLE [KEY ...] [--keyless] [--all] [--note TEXT]`:
stop fetching them and stop counting them as quarantined.

`python -m dlt_pipelines export-parquet FOLDER [--warehouse PATH]`: write every raw table as Parquet,
`FOLDER/<schema>/<table>/data.parquet` (a path or an object-store URL), for an engine that reads
files (the dbt project on Spark: dbt_project/README.md, "On Apache Spark")."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.warehouse import connect, open_for_writing, warehouse_path, write_lock
from dlt_pipelines import settings
from dlt_pipelines.http import SourceFailure

API_SOURCES = [s for s in settings.SOURCES if s != "product_events"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlt_pipelines", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="load the given sources (default: all that are switched on)")
    run.add_argument("sources", nargs="*", choices=[*settings.SOURCES, []], metavar="SOURCE")
    run.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: COPILOT_WAREHOUSE)")
    run.add_argument("--checks", action="store_true", help="run the data-quality suites after loading")
    quarantine = sub.add_parser("quarantine", help="list or discard quarantined records")
    qsub = quarantine.add_subparsers(dest="action", required=True)
    listing = qsub.add_parser("list", help="quarantined records not loaded since nor discarded")
    listing.add_argument("source", nargs="?", choices=[*API_SOURCES, None], metavar="SOURCE")
    listing.add_argument("--table", default=None)
    drop = qsub.add_parser("discard", help="discard quarantined records: they are not fetched again")
    drop.add_argument("source", choices=API_SOURCES, metavar="SOURCE")
    drop.add_argument("table")
    drop.add_argument("keys", nargs="*", metavar="KEY", help="record keys as `list` shows them")
    drop.add_argument("--keyless", action="store_true", help="the records quarantined without a key")
    drop.add_argument("--all", action="store_true", dest="everything", help="every open record of the table")
    drop.add_argument("--note", default=None, help="why (kept with the discard)")
    export = sub.add_parser("export-parquet", help="write every raw table as Parquet, one folder per table")
    export.add_argument("folder", help="local folder or object-store URL")
    for p in (listing, drop, export):
        p.add_argument("--warehouse", type=Path, default=None, help="DuckDB file (default: COPILOT_WAREHOUSE)")
    args = parser.parse_args(argv)
    if args.command == "quarantine":
        return _quarantine(args)
    if args.command == "export-parquet":
        return _export_parquet(args)

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
                        failed = True
    return 1 if failed else 0


def _export_parquet(args: argparse.Namespace) -> int:
    from dlt_pipelines.parquet_export import export_raw

    warehouse = args.warehouse.resolve() if args.warehouse else warehouse_path()
    # After any load in progress (the lock), reading only.
    with write_lock(warehouse), connect(warehouse, read_only=True) as con:
        exported = export_raw(con, args.folder)
    for t in exported:
        print(f"{t.schema}.{t.table}\t{t.rows} rows\t{t.path}")
    print(f"{len(exported)} raw tables written to {args.folder}")
    return 0


def _quarantine(args: argparse.Namespace) -> int:
    from dlt_pipelines import recovery

    warehouse = args.warehouse.resolve() if args.warehouse else warehouse_path()
    with open_for_writing(warehouse) as con:
        if args.action == "list":
            for source in [args.source] if args.source else API_SOURCES:
                for r in recovery.open_records(con, source, args.table):
                    key = r.key if r.key is not None else "(no key)"
                    print(f"{source}\t{r.table}\t{key}\t{r.quarantined_at:%Y-%m-%d %H:%M:%S}\t{r.reason}")
            return 0
        if not (args.keys or args.keyless or args.everything):
            print("name the keys to discard, or --keyless, or --all", file=sys.stderr)
            return 2
        try:
            n = recovery.discard(con, args.source, args.table, args.keys, args.keyless, args.everything, args.note)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    print(f"{args.source}.{args.table}: {n} quarantined record(s) discarded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
