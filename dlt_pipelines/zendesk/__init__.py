"""zendesk ingestion: see source.py."""
