"""Tests of the Evidence reports (reports/). A package, so that its conftest never shadows tests/conftest.py."""
