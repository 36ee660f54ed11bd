"""`make dbt-parse`: parse the dbt project once, before anything loads the Dagster definitions.

The code location builds its dbt assets from the manifest `dbt parse` writes
(`dbt_project/target/manifest.json`) and only reads it: when it is missing, or older than a file of
the project, loading the definitions fails with one line naming this command
(orchestration/dbt_manifest.py). `make demo`, `make test`, `make dagster` and `make bench` run it
first; after editing the dbt project, run it again (`dagster dev` parses a changed project itself when
it reloads the definitions). It does nothing when the manifest is current; `--force` parses anyway.
"""

import argparse
import sys
import time

from orchestration.dbt_manifest import manifest_problem, parse


def prepare(force: bool = False) -> bool:
    """`dbt parse` when the manifest is missing or stale (or `force`), with a line saying so and how
    long it took; True when it parsed. Raises dbt's error when the project does not parse."""
    problem = manifest_problem()
    if problem is None and not force:
        return False
    print(f"preparing the dbt project with dbt parse: {problem or 'asked to (--force)'}...", flush=True)
    started = time.perf_counter()
    parse()
    print(f"  dbt project parsed in {time.perf_counter() - started:.0f} s", flush=True)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.prepare_dbt", description=__doc__)
    parser.add_argument("--force", action="store_true", help="parse even when the manifest is current")
    args = parser.parse_args()
    try:
        prepare(args.force)
    except Exception as exc:  # noqa: BLE001 - dbt's error, in one line, is the whole answer
        print(f"dbt parse failed: {failure_line(exc)}", file=sys.stderr)
        return 1
    return 0


def failure_line(exc: Exception) -> str:
    """dbt's own error (dagster-dbt quotes it after "Errors parsed from dbt logs:"), in one line."""
    text = str(exc)
    _, quoted, errors = text.partition("Errors parsed from dbt logs:")
    lines = [line.strip() for line in (errors if quoted else text).splitlines() if line.strip()]
    lines = [line for line in lines if line != "Encountered an error:"]
    return ": ".join(lines[:2]) if quoted and lines else (lines or [type(exc).__name__])[0]


if __name__ == "__main__":
    raise SystemExit(main())
