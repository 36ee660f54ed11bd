"""`python -m ml train|score --warehouse P`: train (and register) the models, or score every account.

`train` trains whenever it is asked (the daily job trains only when a model is due, see
orchestration/defs/ml.py), as of the data clock's as-of date or the one given with --as-of-date."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date

from core.clock import ClockMissing, require_as_of_date
from core.warehouse import connect, warehouse_path
from ml.errors import ModelError
from ml.feature_source import ParquetSource


def _as_of_date(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date: use YYYY-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml", description=__doc__)
    parser.add_argument("command", choices=["train", "score"])
    parser.add_argument("--warehouse", default=str(warehouse_path()), help="DuckDB file")
    parser.add_argument("--kind", choices=["churn", "expansion", "both"], default="both", help="train: which model")
    parser.add_argument("--models-dir", help="where model files go (default COPILOT_MODELS_DIR or data/models)")
    parser.add_argument(
        "--as-of-date",
        type=_as_of_date,
        help="the as-of date, YYYY-MM-DD (default: the data clock's): train learns from the labels complete "
        "on that day, score scores the snapshots of that day",
    )
    parser.add_argument(
        "--tables",
        help="read the warehouse's tables (snapshots, subscriptions) from the Parquet folders a Spark build wrote "
        "(its COPILOT_SPARK_WAREHOUSE: <schema>.db/<table>/) instead of the DuckDB file; models, scores and "
        "CSM verdicts stay in --warehouse",
    )
    args = parser.parse_args(argv)
    source = ParquetSource(args.tables) if args.tables else None
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        with connect(args.warehouse) as con:
            as_of = args.as_of_date or require_as_of_date(con)
            if args.command == "train":
                from ml.train import train

                for kind in ("churn", "expansion") if args.kind == "both" else (args.kind,):
                    run = train(con, kind, as_of, directory=args.models_dir, source=source)
                    print(f"{run.model_id} (as of {run.as_of_date}): {run.status}; {run.decision}")
                    if "baseline" in run.details:
                        print(f"{run.details['baseline']['model_id']}: scores {kind} until a model passes")
                return 0
            from ml.score import score

            result = score(con, as_of, source=source)
            print(
                f"scored {result.accounts} accounts as of {result.scored_on} with {result.churn_model_id} "
                f"[{result.churn_scorer}] ({result.high_risk} high risk)"
            )
            for warning in result.warnings:
                print(f"warning: {warning}", file=sys.stderr)
    except (ModelError, ClockMissing) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
