"""salesforce ingestion: see source.py."""
