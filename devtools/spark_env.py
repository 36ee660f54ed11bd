"""The dbt project's Spark target runs from its own environment, `.venv-spark` (`make spark-env`:
dbt-spark and pyspark, the lock's `spark` group, ~460 MB): no process of the product needs it, and a
deployment without Spark never installs it."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def spark_python() -> Path:
    """The Python of the Spark environment (`COPILOT_SPARK_PYTHON` overrides it)."""
    python = Path(os.environ.get("COPILOT_SPARK_PYTHON") or REPO / ".venv-spark" / "bin" / "python")
    if not python.exists():
        raise RuntimeError(f"the Spark environment is missing ({python}): run `make spark-env`")
    return python


def dbt_on_spark(*args: str) -> list[str]:
    """The command line of `dbt <args>` in the Spark environment."""
    return [str(spark_python()), "-m", "dbt.cli.main", *args]
