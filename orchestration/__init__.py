"""The Dagster code location of the Customer Success Copilot (`orchestration.definitions`).

Its dbt assets are made from the dbt manifest, which is prepared once beforehand, never at import:
`make dbt-parse` (`python -m devtools.prepare_dbt`). After editing a dbt model, run it again, or
under `dagster dev` (`make dagster`) click "Reload definitions", which parses a changed project
(orchestration/dbt_manifest.py). Loading with a missing or stale manifest fails in one line that
says so. Developer commands (`make demo`'s runner, the parse) live in `devtools/`, outside it.
"""
