"""The benchmark page: a day's cost by stage, and against the length of history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import benchmark_page

MACHINE = {"cores": 2, "memory_gb": 24.0, "cpu": "test", "python": "3.11"}


def test_the_page_draws_a_days_cost_against_the_months_of_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    points = [
        {"months": 6, "events": 60_000, "full_s": 40.0, "day_s": 12.5, "day_stages_s": {"ingest": 3.0, "dbt": 4.0}},
        {"months": 24, "events": 250_000, "full_s": 70.0, "day_s": 13.25, "day_stages_s": {"ingest": 3.1, "dbt": 4.6}},
    ]
    stage = {"size": "S", "stage": "history length", "seconds": 300.0, "peak_mb": 900.0, "met": None,
             "figures": {"points": points, "day_growth": 1.06, "full_growth": 1.75}, "target": ""}  # fmt: skip
    history = tmp_path / "history.jsonl"
    history.write_text(json.dumps({"date": "d", "commit": "c", "machine": MACHINE, "stages": [stage]}) + "\n")
    monkeypatch.setattr(benchmark_page, "HISTORY", history)
    monkeypatch.setattr(benchmark_page, "MARKDOWN", tmp_path / "BENCHMARKS.md")
    benchmark_page.render()
    page = (tmp_path / "BENCHMARKS.md").read_text()
    assert 'x-axis "months of history" [6, 24]' in page and "bar [12.5, 13.2]" in page
    assert "| 6 | 60,000 | 40.0 | 12.5 | 3.00 | 4.00 |" in page
    assert "| 24 | 250,000 | 70.0 | 13.2 | 3.10 | 4.60 |" in page
