"""Report site build speed and size on a warehouse (target on M, ~2,000 accounts: <= 120 s).

`run(warehouse)` runs reports/scripts/build.sh (read copy, sources, site build) on the warehouse and
times each step from the script's output, then measures the site. The warehouse must hold the
tables the pages read (marts, ml, alerts, reverse_etl, raw_quality); the build only reads it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import duckdb

from orchestration.defs.report_site import build_log_file, build_site

TARGET_SECONDS = 120.0


def run(warehouse: Path) -> dict[str, Any]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (accounts,) = con.execute("select count(*) from marts.customer_360").fetchone()
        (csms,) = con.execute("select count(distinct csm_user_id) from marts.customer_360").fetchone()
    start = time.perf_counter()
    site = build_site(warehouse, build_log_file(warehouse))
    seconds = time.perf_counter() - start
    snapshot = re.search(r"snapshot-warehouse: .* ([\d.]+) s\)", site.output)
    data_mb = sum(f.stat().st_size for f in (site.build_dir / "data").rglob("*") if f.is_file()) / 1e6
    return {
        "accounts": accounts,
        "csms": csms,
        "build_seconds": round(seconds, 1),
        "snapshot_seconds": float(snapshot.group(1)) if snapshot else None,
        "html_pages": site.pages,
        "site_mb": round(site.size_mb, 1),
        "data_mb": round(data_mb, 1),
        "within_target": seconds <= TARGET_SECONDS,
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(Path(sys.argv[1] if len(sys.argv) > 1 else "data/warehouse.duckdb").resolve()), indent=2))
