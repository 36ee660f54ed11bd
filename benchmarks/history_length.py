"""A day's cost against the length of history: the same company (one size, one seed) generated with
histories of different lengths, each run through the whole daily run from scratch and then on the
next day (`benchmarks/daily_run.py`, the same runs as the daily run stage).

The typical day should cost about the same whatever the history: the models whose inputs only grow
are incremental, the loaders fetch only what is new. What grows with the history is the full run
(everything is read once) and any model still rebuilt from all of it every day; the stage records
both, with the day's cost split by stage, so such a model shows as a rising column. The benchmark
page draws the day's cost against the months of history."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from benchmarks import daily_run

# From a year: with less, a small company's first runs have too little history to train the churn model
# (its labels look 90 days ahead and its test rows are the last months), and a day without scoring
# would not compare.
HISTORY_MONTHS = (12, 18, 24, 36)
# The benchmark's world ends here (benchmarks/sandbox_stages.py).
END_DATE = date(2026, 10, 31)


def run(root: Path | str, size: str = "S", seed: int = 42, months: tuple[int, ...] = HISTORY_MONTHS) -> dict[str, Any]:
    from sandbox.world import generate

    points: list[dict[str, Any]] = []
    for length in months:
        folder = Path(root) / "history-length" / f"{length}-months"
        world = folder / "world"
        summary = generate(world, size=size, seed=seed, end_date=END_DATE, force=True, months=length)
        measured = daily_run.run(world, folder, incremental_days=1, size=size, same_day_runs=False)
        points.append(
            {
                "months": length,
                "events": summary.get("events"),
                "full_s": measured["full_s"],
                "day_s": measured["incremental_s"],
                "day_stages_s": measured["incremental_stages_s"],
            }
        )
    first, last = points[0], points[-1]
    return {
        "points": points,
        # How much a typical day grew from the shortest history to the longest.
        "day_growth": round(last["day_s"] / first["day_s"], 2),
        "full_growth": round(last["full_s"] / first["full_s"], 2),
    }
