"""Keep every benchmark run in history.jsonl and render BENCHMARKS.md from it, newest first."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HISTORY = ROOT / "benchmarks" / "history.jsonl"
MARKDOWN = ROOT / "BENCHMARKS.md"


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cores": os.cpu_count(), "memory_gb": round(mem_gb, 1), "cpu": cpu, "python": platform.python_version()}


def commit() -> str:
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
        return sha + ("+changes" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record(run: dict[str, Any]) -> None:
    run = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit(), "machine": machine(), **run}
    with HISTORY.open("a") as f:
        f.write(json.dumps(run) + "\n")
    render()


def render() -> None:
    runs = [json.loads(line) for line in HISTORY.read_text().splitlines() if line.strip()] if HISTORY.exists() else []
    lines = [
        "# Benchmarks",
        "",
        'Written by `make bench` (`make bench SIZES="M L"` adds the scale run). Every run is kept in',
        "`benchmarks/history.jsonl`; this page shows each stage's latest figures per size and every stage's trend.",
        "",
    ]
    if not runs:
        MARKDOWN.write_text("\n".join([*lines, "No run yet.", ""]))
        return
    # Each stage's latest measurement, per size: M and L are run separately (L takes most of an
    # hour), and a stage may be re-measured on its own.
    for size in ("S", "M", "L"):
        latest: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for run in runs:
            for st in run["stages"]:
                if st["size"] == size:
                    latest[st["stage"]] = (run, st)
        if not latest:
            continue
        lines += [
            f"## Latest {size} figures",
            "",
            "| stage | measured | wall time (s) | peak memory (MB) | figures | target | met |",
            "|---|---|---|---|---|---|---|",
        ]
        for run, st in sorted(latest.values(), key=lambda rs: rs[0]["date"]):
            figures = ", ".join(f"{k}: {_fmt(v)}" for k, v in st.get("figures", {}).items())
            met = {True: "yes", False: "**no**", None: ""}[st.get("met")]
            lines.append(
                f"| {st['stage']} | {run['date']}, `{run['commit']}` | {_fmt(st.get('seconds'))} "
                f"| {_fmt(st.get('peak_mb'))} | {figures} | {st.get('target', '')} | {met} |"
            )
        lines.append("")
        if "daily run" in latest:
            lines += _day_costs(size, latest["daily run"][1])
        if "history length" in latest:
            lines += _history_chart(size, latest["history length"][1])
    m = runs[-1]["machine"]
    lines += [
        f"Machine of the latest run: {m['cores']} cores, {m['memory_gb']} GB RAM, {m['cpu']}, Python {m['python']}.",
        "",
    ]
    lines += [
        "## Trend",
        "",
        "| date | commit | size | stage | wall time (s) | peak memory (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for run in reversed(runs):
        for st in run["stages"]:
            lines.append(
                f"| {run['date']} | `{run['commit']}` | {st['size']} | {st['stage']} "
                f"| {_fmt(st.get('seconds'))} | {_fmt(st.get('peak_mb'))} |"
            )
    MARKDOWN.write_text("\n".join(lines) + "\n")


# The daily run stage's runs: figure prefix -> label.
DAY_RUNS = {"full": "from scratch", "incremental": "typical day", "retraining_day": "retraining day",
            "after_sync": "after the sync", "no_change": "nothing new"}  # fmt: skip
STAGE_ORDER = ("ingest", "dbt", "train", "score", "alerts", "sync", "reports", "other")


def _day_costs(size: str, stage: dict[str, Any]) -> list[str]:
    """The daily run stage's runs split by stage (seconds of the run's steps), one row each."""
    figures = stage.get("figures", {})
    rows = [(label, figures.get(f"{key}_s"), figures.get(f"{key}_stages_s")) for key, label in DAY_RUNS.items()]
    rows = [(label, total, split) for label, total, split in rows if isinstance(split, dict)]
    if not rows:
        return []
    names = [n for n in STAGE_ORDER if any(n in split for _, _, split in rows)]
    names += sorted({n for _, _, split in rows for n in split} - set(names))
    return [
        f"Cost of a {size} run by stage (s, the daily run stage):",
        "",
        "| run | total | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
        *(
            f"| {label} | {_fmt(total)} | " + " | ".join(_fmt(split.get(n)) for n in names) + " |"
            for label, total, split in rows
        ),
        "",
    ]


def _history_chart(size: str, stage: dict[str, Any]) -> list[str]:
    """A typical day's cost against the months of history (the history length stage), as a chart
    (Mermaid, drawn where the page is shown) and a table."""
    points = stage.get("figures", {}).get("points") or []
    if not points:
        return []
    months = ", ".join(str(p["months"]) for p in points)
    days = ", ".join(f"{p['day_s']:.1f}" for p in points)
    top = max(p["day_s"] for p in points)
    names = [n for n in STAGE_ORDER if any(n in p["day_stages_s"] for p in points)]
    return [
        f"A typical day's run against the length of history ({size}, the history length stage):",
        "",
        "```mermaid",
        "xychart-beta",
        f'    title "A typical day ({size}) against the months of history"',
        f'    x-axis "months of history" [{months}]',
        f'    y-axis "seconds" 0 --> {max(10, int(top * 1.25) + 1)}',
        f"    bar [{days}]",
        "```",
        "",
        "| months | events | full run (s) | typical day (s) | " + " | ".join(names) + " |",
        "|---|---|---|---|" + "---|" * len(names),
        *(
            f"| {p['months']} | {_fmt(p.get('events'))} | {_fmt(p['full_s'])} | {_fmt(p['day_s'])} | "
            + " | ".join(_fmt(p["day_stages_s"].get(n)) for n in names)
            + " |"
            for p in points
        ),
        "",
    ]


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if abs(value) < 1:
            return f"{value:,.3f}"
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
