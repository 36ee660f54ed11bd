"""Definitions grouped by what they do: ingest (dlt), later transform, ml, alerts, activation, reports."""
