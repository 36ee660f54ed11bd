"""Benchmark: how long the Salesforce emulator takes to serve one 2,000-record query page.

Starts the real server (`python -m sandbox serve`) in a subprocess and times full pages of
`SELECT <every field> FROM <object>` over HTTP: the first page of a query (parse, cursor, page) and
the following `nextRecordsUrl` pages. Target: <= 100 ms per page on 2 cores.

    python -m sandbox.emulators.bench [--data-dir data/sandbox] [--object Contact]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from sandbox.emulators import fixture_world
from sandbox.emulators.app import world_path
from sandbox.emulators.credentials import SALESFORCE
from sandbox.emulators.process import start_server, stop_server
from sandbox.schema import SALESFORCE_OBJECTS
from sandbox.store import Store

PAGE = 2000
TARGET_MS = 100.0


def _enough(data_dir: Path, object_name: str) -> bool:
    path = world_path(data_dir)
    if not path.exists():
        return False
    store = Store.open(path)
    try:
        return store.count(SALESFORCE_OBJECTS[object_name], 'COALESCE("IsDeleted", 0) = 0') >= 2 * PAGE
    finally:
        store.close()


def measure(data_dir: Path, object_name: str = "Contact", rounds: int = 15) -> dict[str, Any]:
    """Per-page times in ms for `rounds` queries over the world in `data_dir`."""
    proc, base = start_server(data_dir)
    try:
        http = requests.Session()
        token = http.post(
            f"{base}/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": SALESFORCE["client_id"],
                "client_secret": SALESFORCE["client_secret"],
            },
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        fields = ", ".join(SALESFORCE_OBJECTS[object_name].field_names)
        first: list[float] = []
        more: list[float] = []
        for _ in range(rounds + 1):  # the first round warms caches and is not counted
            t0 = time.perf_counter()
            resp = http.get(f"{base}/services/data/v61.0/query", params={"q": f"SELECT {fields} FROM {object_name}"})
            body = resp.content
            t1 = time.perf_counter()
            page = resp.json()
            assert len(page["records"]) == PAGE, "the world has too few records for a full page"
            t2 = time.perf_counter()
            nxt = http.get(base + page["nextRecordsUrl"])
            body = nxt.content
            t3 = time.perf_counter()
            if len(nxt.json()["records"]) == PAGE:
                more.append((t3 - t2) * 1000)
            first.append((t1 - t0) * 1000)
        first, more = first[1:], more[1:]
        return {
            "object": object_name,
            "page_bytes": len(body),
            "first_page_ms": statistics.median(first),
            "next_page_ms": statistics.median(more) if more else None,
        }
    finally:
        stop_server(proc)


def bench_query_page(data_dir: Path | str | None = None, object_name: str = "Contact", rounds: int = 15) -> float:
    """Median ms to serve the first 2,000-record page of a query (the slower kind: it also parses the
    SOQL and opens the cursor). Uses the emulators' fixture world when `data_dir` has too few records."""
    if data_dir is not None and _enough(Path(data_dir), object_name):
        return measure(Path(data_dir), object_name, rounds)["first_page_ms"]
    with tempfile.TemporaryDirectory(prefix="emulator-bench-") as tmp:
        fixture_world.build(Path(tmp), fixture_world.Sizes(contacts=6000, accounts=2500))
        return measure(Path(tmp), object_name, rounds)["first_page_ms"]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox.emulators.bench", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--object", default="Contact", choices=["Account", "Contact"])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    for name in (args.object, "Account" if args.object == "Contact" else "Contact"):
        ms = bench_query_page(args.data_dir, name, args.rounds)
        print(f"{name}: median {ms:.1f} ms per 2,000-record page (target <= {TARGET_MS:.0f} ms)")


if __name__ == "__main__":
    main()
