"""The one direction imports flow: the ground floor (`core`) imports no layer; the layers (ingestion,
ML, alerts, activation, the API) stand on it and not on each other, except activation reading the
alerts' lifecycle; only the orchestration wires them together; product code never imports the
sandbox, the benchmarks, the tests or the developer commands."""

import ast
from pathlib import Path

from core.config import REPO_ROOT

PRODUCT = ("core", "dlt_pipelines", "ml", "alerts", "reverse_etl", "api", "orchestration")
ALLOWED = {
    "core": {"core"},
    "dlt_pipelines": {"core", "dlt_pipelines"},
    "ml": {"core", "ml"},
    "alerts": {"core", "alerts"},
    "reverse_etl": {"core", "reverse_etl", "alerts"},
    "api": {"core", "api"},
    "orchestration": {"core", "dlt_pipelines", "ml", "alerts", "reverse_etl", "api", "orchestration"},
}
PROJECT_PACKAGES = {*PRODUCT, "sandbox", "benchmarks", "tests", "devtools"}


def imported_packages(file: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & PROJECT_PACKAGES


def test_every_layer_imports_only_what_lies_below_it() -> None:
    wrong = []
    for package in PRODUCT:
        for file in sorted((REPO_ROOT / package).rglob("*.py")):
            for imported in sorted(imported_packages(file) - ALLOWED[package]):
                wrong.append(f"{file.relative_to(REPO_ROOT)} imports {imported}")
    assert wrong == []
