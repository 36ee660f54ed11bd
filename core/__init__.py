"""The ground floor every layer stands on (ingestion, dbt, models, alerts, activation, orchestration):
what they share and nothing of theirs. It imports no other package of the product."""
