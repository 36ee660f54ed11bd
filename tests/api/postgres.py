"""A throwaway PostgreSQL cluster for the tests of the API's database by URL: initdb in a temporary
folder, a server on a free loopback port (trust authentication, its socket in that folder, a time zone
far from UTC), stopped and removed afterwards. As root the server runs as the `postgres` system user (PostgreSQL
refuses to run as root).

The binaries are looked for in POSTGRES_BIN_DIR, then on PATH, then under /usr/lib/postgresql/*/bin;
without them the tests that need the cluster fail, saying so: they are not skipped.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox.emulators.process import free_port

SYSTEM_USER = "postgres"


def bin_dir() -> Path:
    candidates = []
    if os.environ.get("POSTGRES_BIN_DIR"):
        candidates.append(Path(os.environ["POSTGRES_BIN_DIR"]))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise RuntimeError(
        "PostgreSQL's server binaries (initdb, pg_ctl) were not found: install PostgreSQL (e.g. the "
        "postgresql-15 package) or set POSTGRES_BIN_DIR to the folder holding them"
    )


@contextmanager
def cluster() -> Iterator[str]:
    """A running cluster; yields its SQLAlchemy URL (psycopg 3)."""
    binaries = bin_dir()
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="copilot-pg-"))
    if as_root:
        try:
            account = pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            raise RuntimeError(f"running as root, PostgreSQL needs the system user {SYSTEM_USER!r}") from None
        os.chown(folder, account.pw_uid, account.pw_gid)
        prefix = ["runuser", "-u", SYSTEM_USER, "--"]
    data, log = folder / "data", folder / "server.log"
    port = free_port()

    def run(*cmd: str) -> None:
        done = subprocess.run([*prefix, *cmd], capture_output=True, text=True, cwd=folder)
        if done.returncode != 0:
            detail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{Path(cmd[0]).name} failed: {done.stdout[-2000:]}{done.stderr[-2000:]}{detail}")

    try:
        run(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off -c TimeZone=Pacific/Auckland"
        run(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
