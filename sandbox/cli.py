"""`python -m sandbox ...`: generate the sandbox company, move it forward in time, serve its APIs."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from sandbox.store import StoreError

DEFAULT_DATA_DIR = Path("data/sandbox")
DEFAULT_END_DATE = date(2026, 10, 31)
SIZES = ("S", "M", "L")


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be a whole number, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"seed must be between 0 and {2**32 - 1}, got {value}")
    return value


def _size(text: str) -> str:
    if text.upper() not in SIZES:
        raise argparse.ArgumentTypeError(f"unknown size {text!r}: choose one of {', '.join(SIZES)}")
    return text.upper()


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"days must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"days must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="sandbox data folder")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="generate the sandbox company's history")
    gen.add_argument("--size", type=_size, default="M", help="S (~200 accounts), M (~2,000), L (~20,000)")
    gen.add_argument("--seed", type=_seed, default=42)
    gen.add_argument(
        "--end-date",
        type=date.fromisoformat,
        default=DEFAULT_END_DATE,
        help="last simulated day (the sandbox's 'today')",
    )
    gen.add_argument("--force", action="store_true", help="replace an existing world")
    gen.add_argument(
        "--crm",
        choices=("salesforce", "hubspot"),
        default="salesforce",
        help="the CRM the company runs its customers in (its Stripe and Zendesk records keep that CRM's ids)",
    )
    gen.add_argument("--months", type=int, default=None, help="length of the history (default: the size's)")

    adv = sub.add_parser("advance", help="move the world forward by N days")
    adv.add_argument("--days", type=_days, default=1)

    serve = sub.add_parser("serve", help="serve the Salesforce, HubSpot, Zendesk, Stripe and Slack emulators")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8765, help="plain HTTP port")
    serve.add_argument("--tls-port", type=_port, default=8766, help="HTTPS port (0 to disable)")
    serve.add_argument("--faults", type=Path, default=None, help="YAML file of faults to switch on")

    sub.add_parser("info", help="print the world's size, clock and record counts")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "generate":
            from sandbox.world import generate

            generate(
                args.data_dir,
                size=args.size,
                seed=args.seed,
                end_date=args.end_date,
                force=args.force,
                crm=args.crm,
                months=args.months,
            )
        elif args.command == "advance":
            from sandbox.world import advance

            advance(args.data_dir, days=args.days)
        elif args.command == "serve":
            from sandbox.emulators import serve

            serve(args.data_dir, host=args.host, port=args.port, tls_port=args.tls_port or None, faults=args.faults)
        elif args.command == "info":
            from sandbox.world import info

            info(args.data_dir)
    except StoreError as exc:
        print(f"sandbox: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0
