"""Run the benchmarks for the chosen world sizes and record them in BENCHMARKS.md."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmarks import report, sandbox_stages
from benchmarks.measure import run_stage

BENCH_DIR = Path("data/bench")


def bench_size(size: str, seed: int) -> list[dict[str, Any]]:
    world = BENCH_DIR / size / "sandbox"
    stages: list[dict[str, Any]] = []

    print(f"[{size}] generating the sandbox company...", flush=True)
    gen = run_stage("generate", "benchmarks.sandbox_stages:generate", data_dir=str(world), size=size, seed=seed)
    target_s = sandbox_stages.GENERATE_SECONDS.get(size)
    target_mb = sandbox_stages.GENERATE_PEAK_MB.get(size)
    met = None
    if target_s is not None:
        met = gen.seconds <= target_s and (target_mb is None or gen.peak_rss_mb <= target_mb)
    stages.append(
        {
            "size": size,
            "stage": "generate",
            "seconds": gen.seconds,
            "peak_mb": gen.peak_rss_mb,
            "figures": _headline(gen.value),
            "target": (f"<= {target_s:.0f} s" if target_s else "")
            + (f", <= {target_mb / 1024:.0f} GB" if target_mb else ""),
            "met": met,
        }
    )
    print(f"[{size}] generate: {gen.seconds:.1f} s, peak {gen.peak_rss_mb:,.0f} MB", flush=True)
    return stages


def _headline(summary: Any) -> dict[str, Any]:
    if not isinstance(summary, dict):
        return {}
    keep = ("accounts", "events", "churn_rate_annual", "tickets", "invoices")
    return {k: summary[k] for k in keep if k in summary}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--sizes", nargs="+", default=["M"], choices=["S", "M", "L"])
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    stages: list[dict[str, Any]] = []
    for size in args.sizes:
        stages += bench_size(size, args.seed)
    report.record({"sizes": args.sizes, "stages": stages})
    print(f"wrote {report.MARKDOWN}")


if __name__ == "__main__":
    main()
