"""The transformation tests use the session's loaded and built S world from tests/conftest.py."""
