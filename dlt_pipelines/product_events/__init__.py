"""product_events ingestion: see source.py."""
