"""Developer commands: what a developer runs around the product, never loaded by the Dagster code location.

`python -m devtools.demo` (`make demo`): the daily run on the sandbox company, then the UI and reports.
`python -m devtools.prepare_dbt` (`make dbt-parse`): the dbt manifest the code location reads, made once.
"""
