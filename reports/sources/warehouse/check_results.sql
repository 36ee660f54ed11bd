-- Ingestion data-quality checks.
select cast(checked_at as timestamp) as checked_at, run_id, source, table_name, check_name, expectation,
    column_name, success, observed, details
from raw_quality.check_results
