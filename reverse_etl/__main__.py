"""`python -m reverse_etl [--dry-run] [--warehouse PATH] [--destination NAME]`: the gate, then push
scores and alerts to Salesforce and Slack / Microsoft Teams (only what changed since the last successful sync)."""

from __future__ import annotations

import argparse
import sys

import duckdb

from core import warehouse
from core.config import ConfigError, resolve_path
from reverse_etl import config, state, sync


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reverse_etl", description=__doc__)
    parser.add_argument("--dry-run", action="store_true", help="print what would change, send nothing")
    parser.add_argument("--warehouse", default=None, help="DuckDB file (default: COPILOT_WAREHOUSE or config)")
    parser.add_argument("--destination", choices=sync.DESTINATIONS, action="append", help="only these (repeatable)")
    args = parser.parse_args(argv)
    path = resolve_path(args.warehouse) if args.warehouse else warehouse.warehouse_path()
    try:
        cfg = config.load()
        with warehouse.connect(path) as con:
            checked = sync.gate_for_run(con, cfg, state.new_run_id())
            print(checked.summary())
            clients: dict = {}
            runs = [
                sync.sync(con, d, cfg, dry_run=args.dry_run, gate_result=checked, clients=clients)
                for d in args.destination or sync.destinations(cfg)
            ]
    except (ConfigError, duckdb.Error) as exc:
        print(f"reverse_etl: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    for run in runs:
        print(run.line())
    return 0 if all(r.status in ("ok", "partial", "skipped") for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
