"""`python -m ml train|score --warehouse P`: train (and register) the models, or score every account."""

from __future__ import annotations

import argparse
import logging
import sys

from core.warehouse import warehouse_path
from ml.errors import ModelError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml", description=__doc__)
    parser.add_argument("command", choices=["train", "score"])
    parser.add_argument("--warehouse", default=str(warehouse_path()), help="DuckDB file")
    parser.add_argument("--kind", choices=["churn", "expansion", "both"], default="both", help="train: which model")
    parser.add_argument("--models-dir", help="where model files go (default COPILOT_MODELS_DIR or data/models)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "train":
            from ml.train import train

            for kind in ("churn", "expansion") if args.kind == "both" else (args.kind,):
                run = train(args.warehouse, kind, directory=args.models_dir)
                print(f"{run.model_id}: {run.status}; {run.decision}")
        else:
            from ml.score import score

            result = score(args.warehouse)
            print(
                f"scored {result.accounts} accounts as of {result.scored_on} with {result.churn_model_id} "
                f"({result.high_risk} high risk)"
            )
            for warning in result.warnings:
                print(f"warning: {warning}", file=sys.stderr)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
