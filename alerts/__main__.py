"""`python -m alerts [--warehouse PATH]`: run today's alert evaluation on the warehouse."""

from __future__ import annotations

import argparse
import sys

import duckdb

from alerts import lifecycle
from core import warehouse
from core.clock import ClockMissing, require_as_of_date
from core.config import resolve_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alerts", description=__doc__)
    parser.add_argument("--warehouse", default=None, help="DuckDB file (default: COPILOT_WAREHOUSE or config)")
    args = parser.parse_args(argv)
    path = resolve_path(args.warehouse) if args.warehouse else warehouse.warehouse_path()
    try:
        with warehouse.connect(path) as con:
            print(lifecycle.evaluate(con, require_as_of_date(con)).line())
    except (duckdb.Error, ClockMissing) as exc:
        print(f"alerts: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
