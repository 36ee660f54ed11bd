"""Ingestion: one dlt source per system (Salesforce, Zendesk, Stripe, product events) into DuckDB.

See README.md in this folder for the layout, contracts, file exports and state handling.
"""
