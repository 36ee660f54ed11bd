"""The one error the ML part raises for bad input: its message is one readable line."""


class ModelError(Exception):
    """Training or scoring cannot go on (too few examples, a missing feature, an unreadable model file)."""
