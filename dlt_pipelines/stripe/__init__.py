"""stripe ingestion: see source.py."""
