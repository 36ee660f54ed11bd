"""Files holding personal data or credentials are readable by their owner only from the moment they
exist: the warehouse and everything beside it (write-ahead log, dlt's state), the sandbox's generated
credentials and its TLS key."""

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from core.config import REPO_ROOT
from sandbox.emulators.credentials import write_credentials
from sandbox.emulators.tls import ensure_certificates


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_warehouse_and_what_lies_beside_it_are_private(tmp_path: Path) -> None:
    """In a process of its own with the usual umask 022 (the umask is the process's)."""
    script = textwrap.dedent(f"""
        import os
        os.umask(0o022)
        from pathlib import Path
        from core import warehouse
        path = Path({str(tmp_path / "data" / "warehouse.duckdb")!r})
        with warehouse.write_lock(path), warehouse.connect(path) as con:
            con.execute("CREATE TABLE contacts AS SELECT 'Ada' AS name, 'ada@example.com' AS email")
            (path.parent / "pipelines").mkdir()
            (path.parent / "pipelines" / "state.json").write_text("{{}}")
            assert oct(os.stat(str(path) + ".wal").st_mode & 0o777) == "0o600"
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=REPO_ROOT, timeout=120)
    data = tmp_path / "data"
    assert {p.name: oct(mode(p)) for p in sorted(data.rglob("*"))} == {
        ".warehouse.duckdb.lock": "0o600",
        "pipelines": "0o700",
        "state.json": "0o600",
        "warehouse.duckdb": "0o600",
    }
    assert oct(mode(data)) == "0o700"


def test_the_sandbox_credentials_and_tls_key_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        credentials = write_credentials(tmp_path, "http://127.0.0.1:8765", "https://127.0.0.1:8766")
        files = ensure_certificates(tmp_path)
    finally:
        os.umask(old)
    assert oct(mode(credentials)) == "0o600"
    assert oct(mode(files.key)) == "0o600"
    # written again (another port): replaced by a new private file, never widened
    credentials.chmod(0o644)
    assert oct(mode(write_credentials(tmp_path, "http://127.0.0.1:9000", None))) == "0o600"
