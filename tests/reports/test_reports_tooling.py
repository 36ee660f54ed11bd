"""The report tooling without a site build: the offline DuckDB patch (applies to the pinned upstream
code, refuses anything else) and the read copy of the warehouse."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from .reports_testlib import REPORTS

PATCH = REPORTS / "scripts" / "patch-offline-duckdb.mjs"
UNIVERSAL_SQL = Path("@evidence-dev") / "universal-sql"


def run_node(*args: str | Path, cwd: Path = REPORTS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture
def pristine_tree(reports_node_modules: Path, tmp_path: Path) -> Path:
    """A node_modules tree whose universal-sql is the unpatched upstream copy; all other packages are
    links to reports/node_modules."""
    tree = tmp_path / "node_modules"
    tree.mkdir()
    for entry in reports_node_modules.iterdir():
        if entry.name != "@evidence-dev":
            (tree / entry.name).symlink_to(entry)
    (tree / "@evidence-dev").mkdir()
    for entry in (reports_node_modules / "@evidence-dev").iterdir():
        if entry.name != "universal-sql":
            (tree / "@evidence-dev" / entry.name).symlink_to(entry)
    copy = tree / UNIVERSAL_SQL
    shutil.copytree(reports_node_modules / UNIVERSAL_SQL, copy, ignore=shutil.ignore_patterns("offline"))
    for backup in copy.rglob("*.orig"):
        backup.rename(backup.with_suffix(""))
    return tree


def test_installed_universal_sql_is_patched(reports_node_modules: Path) -> None:
    proc = run_node(PATCH, "--check")
    assert proc.returncode == 0, proc.stderr
    assert "self-test passed" in proc.stdout
    for name in ("build-parquet.js", "client-duckdb/node.js", "client-duckdb/browser.js"):
        code = (reports_node_modules / UNIVERSAL_SQL / "src" / name).read_text()
        assert "read_parquet(" not in code, name


def test_patch_applies_to_pristine_upstream_and_is_idempotent(pristine_tree: Path) -> None:
    proc = run_node(PATCH, "--node-modules", pristine_tree)
    assert proc.returncode == 0, proc.stderr
    assert "self-test passed" in proc.stdout
    again = run_node(PATCH, "--node-modules", pristine_tree, "--skip-self-test")
    assert again.returncode == 0, again.stderr
    check = run_node(PATCH, "--check", "--node-modules", pristine_tree, "--skip-self-test")
    assert check.returncode == 0, check.stderr


def test_patch_refuses_changed_upstream_code(pristine_tree: Path) -> None:
    target = pristine_tree / UNIVERSAL_SQL / "src" / "client-duckdb" / "browser.js"
    target.write_text(target.read_text().replace("read_parquet", "read_parquet_v2"))
    before = {p: p.read_text() for p in (pristine_tree / UNIVERSAL_SQL / "src").rglob("*.js")}

    proc = run_node(PATCH, "--node-modules", pristine_tree)

    assert proc.returncode == 1
    assert "FAILED" in proc.stderr
    assert "client-duckdb/browser.js is not the upstream code this patch edits" in proc.stderr
    # Nothing was half-patched.
    assert {p: p.read_text() for p in (pristine_tree / UNIVERSAL_SQL / "src").rglob("*.js")} == before


def test_patch_refuses_another_version(pristine_tree: Path) -> None:
    manifest = pristine_tree / UNIVERSAL_SQL / "package.json"
    manifest.write_text(manifest.read_text().replace('"version": "3.0.1"', '"version": "3.0.2"'))

    proc = run_node(PATCH, "--node-modules", pristine_tree)

    assert proc.returncode == 1
    assert "is version 3.0.2; the patch was written for 3.0.1" in proc.stderr


def test_check_fails_on_an_unpatched_tree(pristine_tree: Path) -> None:
    proc = run_node(PATCH, "--check", "--node-modules", pristine_tree)
    assert proc.returncode == 1
    assert "is not patched (run npm ci)" in proc.stderr


@pytest.fixture
def project_copy(reports_node_modules: Path, tmp_path: Path) -> Path:
    project = tmp_path / "reports"
    shutil.copytree(REPORTS / "scripts", project / "scripts")
    (project / "sources" / "warehouse").mkdir(parents=True)
    (project / "node_modules").symlink_to(reports_node_modules)
    return project


def test_snapshot_copies_what_the_pages_read(project_copy: Path, report_warehouse: Path) -> None:
    proc = run_node(project_copy / "scripts" / "snapshot-warehouse.mjs", report_warehouse, cwd=project_copy)

    assert proc.returncode == 0, proc.stderr
    with duckdb.connect(str(project_copy / "sources" / "warehouse" / "warehouse.duckdb"), read_only=True) as con:
        names = con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
        tables = {t for (t,) in names}
        (accounts,) = con.execute("select count(*) from marts.customer_360").fetchone()
        loaded = {s for (s,) in con.execute("select distinct source from load_info.raw_loads").fetchall()}
    with duckdb.connect(str(report_warehouse), read_only=True) as con:
        (want_accounts,) = con.execute("select count(*) from marts.customer_360").fetchone()
    assert {"marts.customer_360", "ml.account_scores_latest", "alerts.alerts", "reverse_etl.sync_runs"} <= tables
    assert "staging.stg_zendesk__tickets" in tables and "staging.stg_product__events" not in tables
    assert not any(t.startswith("raw_") and not t.startswith("raw_quality.") for t in tables)
    assert accounts == want_accounts
    assert loaded == {"salesforce", "zendesk", "stripe", "product"}


def test_snapshot_names_the_missing_tables(project_copy: Path, report_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(report_warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop schema alerts cascade")

    proc = run_node(project_copy / "scripts" / "snapshot-warehouse.mjs", warehouse, cwd=project_copy)

    assert proc.returncode == 1
    assert "lacks tables the reports read: alerts.alerts, alerts.rule_precision" in proc.stderr
    assert not (project_copy / "sources" / "warehouse" / "warehouse.duckdb").exists()


def test_snapshot_fails_while_a_writer_holds_the_warehouse(
    project_copy: Path, report_warehouse: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(report_warehouse, warehouse)
    writer = duckdb.connect(str(warehouse))  # holds DuckDB's file lock, as a pipeline run would
    try:
        proc = run_node(project_copy / "scripts" / "snapshot-warehouse.mjs", warehouse, cwd=project_copy)
    finally:
        writer.close()
    assert proc.returncode == 1
    assert "cannot open" in proc.stderr and "read-only" in proc.stderr
    assert not (project_copy / "sources" / "warehouse" / "warehouse.duckdb").exists()
