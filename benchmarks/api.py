"""The Copilot API under load (target on M, 2 cores: p95 <= 50 ms and >= 300 requests/s at 50
concurrent clients, while a daily run writes).

`run(warehouse, work)`:

1. publishes a serving snapshot of the warehouse and starts `python -m api serve` on it, with a
   signing key of its own (the issuer's JWKS as a file) and a token for each CSM;
2. starts the writing side of a daily run on the same warehouse: the production `dbt build` under the
   warehouse's write lock, then a new serving snapshot, again and again while the load lasts (the API
   swaps each one in);
3. runs locust headless: 50 clients (CSMs), each opening their book once for three account pages, at
   a steady pace, for `seconds`; reads locust's figures (p95 over all requests, requests/s, failures).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import psutil

from api.snapshot import publish
from benchmarks.transform import dbt_build
from core.warehouse import write_lock
from sandbox.emulators import oidc
from sandbox.emulators.process import free_port

REPO = Path(__file__).resolve().parent.parent
USERS = 50
P95_MS = 50.0
REQUESTS_PER_S = 300.0
ISSUER = "https://issuer.bench.invalid"
AUDIENCE = "copilot-api"
# The daily run's CPU priority below the API's (nice), as api/README.md advises for one machine.
RUN_NICE = 10


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the API's workers) so far."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _cpu_while(proc: subprocess.Popen) -> float:
    """The CPU seconds a process used until it ended (sampled, so the last reading before exit)."""
    used = 0.0
    while proc.poll() is None:
        used = max(used, _cpu_seconds(proc.pid))
        time.sleep(0.5)
    return used


def _writer(
    warehouse: Path, serving: Path, stop: threading.Event, done: list[float], errors: list[str], nice: int
) -> None:
    """The daily run's writes, repeated until told to stop: the production dbt build (staging to the
    marts) under the warehouse's write lock, then a new serving snapshot.

    `nice`: the run's CPU priority below the API's, as on a machine that serves both (see api/README.md).
    On Linux a priority belongs to a thread and is inherited by what it starts: this thread and its
    dbt processes run lower, the API and the load tool do not."""
    if nice:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + nice)
    try:
        while not stop.is_set():
            start = time.perf_counter()
            with write_lock(warehouse):
                dbt_build(warehouse)
            with duckdb.connect(str(warehouse), read_only=True) as con:
                publish(con, serving, run_id=f"bench-{len(done) + 1}")
            done.append(time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 - reported with the figures
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        # dbt's own error line, not a warning printed after it
        errors.append(next((x for x in lines if "Error" in x or "Failure" in x), lines[-1] if lines else "failed"))


def run(
    warehouse: str | Path,
    work: str | Path,
    seconds: int = 60,
    workers: int = 2,
    with_run: bool = True,
    run_nice: int = RUN_NICE,
) -> dict[str, Any]:
    """The figures of one load test; `with_run=False` measures the API without the daily run beside it,
    `run_nice=0` with the run at the API's CPU priority."""
    warehouse, work = Path(warehouse), Path(work)
    work.mkdir(parents=True, exist_ok=True)
    serving = work / "serving"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        publish(con, serving, run_id="bench-0")
        books = con.execute(
            "SELECT csm_user_id, list(account_id ORDER BY account_id) FROM marts.customer_360 "
            "WHERE csm_user_id IS NOT NULL GROUP BY 1 ORDER BY 1"
        ).fetchall()
        emails = dict(con.execute("SELECT user_id, email FROM staging.stg_crm__users").fetchall())
    key = oidc.signing_key(work / "issuer")
    (work / "jwks.json").write_text(json.dumps({"keys": [oidc.public_jwk(key)]}))
    users = [
        {"token": oidc.mint(key, ISSUER, emails[user_id], None, AUDIENCE, 3600), "user_id": user_id, "accounts": ids}
        for user_id, ids in books
        if emails.get(user_id)
    ]
    (work / "users.json").write_text(json.dumps(users))
    port = free_port()
    env = os.environ | {
        "PYTHONPATH": str(REPO),
        "API__SERVING_DIR": str(serving),
        "API__DATABASE_URL": f"sqlite:///{work / 'app.sqlite'}",
        "API__ACCESS_FILE": str(work / "access.toml"),
        "API__AUTH__ISSUER": ISSUER,
        "API__AUTH__AUDIENCE": AUDIENCE,
        "API__AUTH__JWKS_URL": f"file://{work / 'jwks.json'}",
        # The load is 50 clients on few tokens: the per-token limit is not what is measured.
        "API__RATE_LIMIT__PER_MINUTE": "10000000",
        "API__RATE_LIMIT__BURST": "100000",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    stop, runs, errors = threading.Event(), [], []
    writer = threading.Thread(target=_writer, args=(warehouse, serving, stop, runs, errors, run_nice), daemon=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the API did not start: " + (server.stderr.read() if server.poll() is not None else ""))
        if with_run:
            writer.start()
            time.sleep(3)  # the run is writing before the load starts
        prefix = work / "locust"
        load_before = os.getloadavg()[0]
        server_cpu = _cpu_seconds(server.pid)
        locust = subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", str(REPO / "benchmarks" / "api_locustfile.py"), "--headless",
             "-u", str(USERS), "-r", str(USERS), "-t", f"{seconds}s", "-H", base, "--csv", str(prefix),
             "--only-summary", "--loglevel", "WARNING"],
            cwd=REPO, env=env | {"COPILOT_BENCH_API_USERS": str(work / "users.json")},
            stdout=subprocess.DEVNULL, stderr=open(work / "locust.log", "w"),  # noqa: SIM115
        )  # fmt: skip
        client_cpu = _cpu_while(locust)
        locust_err = (work / "locust.log").read_text()
        server_cpu = _cpu_seconds(server.pid) - server_cpu
        load_after = os.getloadavg()[0]
        swapped_to = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {users[0]['token']}"}).json()
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=30)
    if with_run:
        writer.join(timeout=600)
    rows = {row["Name"]: row for row in csv.DictReader(open(f"{prefix}_stats.csv"))}  # noqa: SIM115
    total = rows.get("Aggregated")
    if total is None or int(total["Request Count"]) == 0:
        raise RuntimeError(f"locust made no requests: {locust_err[-2000:]}")
    p95 = float(total["95%"])
    rps = float(total["Requests/s"])
    figures = {
        "p95_ms": p95,
        "requests_per_s": round(rps, 1),
        "p50_ms": float(total["50%"]),
        "p99_ms": float(total["99%"]),
        "failures": int(total["Failure Count"]),
        "requests": int(total["Request Count"]),
        "account_page_p95_ms": float(rows["/v1/accounts/{id}"]["95%"]),
        "book_p95_ms": float(rows["/v1/csms/{id}/book"]["95%"]),
        # CPU per request (ms): the server's (all its workers) and the load tool's, steadier figures
        # than latency on a shared machine; the load average says how busy the machine was.
        "server_cpu_ms_per_request": round(1000 * server_cpu / int(total["Request Count"]), 3),
        "client_cpu_ms_per_request": round(1000 * client_cpu / int(total["Request Count"]), 3),
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "clients": USERS,
        "api_workers": workers,
        "with_run": with_run,
        "run_nice": run_nice if with_run else None,
        "runs_during_load": len(runs),
        "run_seconds": [round(x, 1) for x in runs],
        "run_error": errors[0] if errors else None,
        "snapshot_served_at_end": swapped_to.get("as_of", {}).get("run_id"),
    }
    figures["met"] = p95 <= P95_MS and rps >= REQUESTS_PER_S and figures["failures"] == 0 and not errors
    return figures


if __name__ == "__main__":
    # python -m benchmarks.api WAREHOUSE WORK [--without-run] [--seconds N] [--workers N] [--run_nice N]
    args = sys.argv[1:]
    options = {k: int(args[args.index(f"--{k}") + 1]) for k in ("seconds", "workers", "run_nice") if f"--{k}" in args}
    figures = run(Path(args[0]).resolve(), Path(args[1]).resolve(), with_run="--without-run" not in args, **options)
    print(json.dumps(figures, indent=2))
